//! Containers with a lifecycle: run -d, ps, logs, stop, kill, rm, create and
//! start, wait, inspect, prune — with real supervisor processes, killed and
//! raced the way users and machines do it.

use wbox_test_harness as harness;

use std::fs;
use std::time::{Duration, Instant};

use harness::images::push_image;
use harness::registry::Registry;
use harness::{Wbox, code, guest, ok, probe_image, stderr, stdout, wait_for};

fn inspect(wbox: &Wbox, container: &str) -> serde_json::Value {
    let out = ok(wbox.run(&["inspect", container]));
    serde_json::from_str::<serde_json::Value>(&out).unwrap()[0].clone()
}

fn container_dirs(wbox: &Wbox) -> Vec<String> {
    fs::read_dir(wbox.root.path().join("containers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.starts_with('.'))
        .collect()
}

#[test]
fn a_detached_container_runs_logs_stops_and_is_removed() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let id = ok(wbox.run(&["run", "-d", "--name", "ticker", &image, "tick", "0"])).trim().to_owned();
    assert!(id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");

    let ps = ok(wbox.run(&["ps"]));
    let line = ps.lines().find(|l| l.contains("ticker")).unwrap_or_else(|| panic!("{ps}"));
    assert!(
        line.starts_with(&id[..12]) && line.contains("Up ") && line.contains("\"/app.wasm tick 0\""),
        "{ps}"
    );

    // Its output is in the log while it runs, each stream on its own.
    wait_for("three ticks in the log", || stdout(&wbox.run(&["logs", "ticker"])).contains("tick 3\n"));
    let logs = wbox.run(&["logs", "--tail", "2", "-t", &id[..6]]);
    // The last two lines of both streams: a tick and its tock.
    assert_eq!(stdout(&logs).lines().count() + stderr(&logs).lines().count(), 2, "{logs:?}");
    assert!(stdout(&logs).lines().all(|l| l.contains("Z tick ")), "{}", stdout(&logs));
    assert!(stderr(&logs).lines().all(|l| l.contains("Z tock ")), "{}", stderr(&logs));
    assert_eq!(inspect(&wbox, "ticker")["State"]["Running"], true);

    // It ignores the request (a wasm guest cannot see it), so it is
    // interrupted after the grace period.
    let start = Instant::now();
    assert_eq!(ok(wbox.run(&["stop", "-t", "1", "ticker"])), "ticker\n");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(2), "{took:?}");
    assert_eq!(ok(wbox.run(&["ps", "-q"])), "");
    let all = ok(wbox.run(&["ps", "-a"]));
    assert!(all.contains("Exited (137)"), "{all}");
    let state = &inspect(&wbox, &id)["State"];
    assert_eq!((state["Status"].as_str(), state["ExitCode"].as_i64()), (Some("exited"), Some(137)));

    assert_eq!(ok(wbox.run(&["rm", "ticker"])), "ticker\n");
    assert!(container_dirs(&wbox).is_empty(), "record, log and state are gone");
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])), "");
    let out = wbox.run(&["logs", "ticker"]);
    assert!(code(&out) == 1 && stderr(&out).contains("No such container: ticker"), "{}", stderr(&out));
}

#[test]
fn a_killed_supervisor_leaves_a_dead_container_not_a_running_one() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "-d", "--name", "victim", &image, "sleep", "60"]));
    let pid = inspect(&wbox, "victim")["State"]["Pid"].as_i64().unwrap();
    assert!(pid > 0);
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
    // A zombie leader may still have threads exiting, which hold its files
    // (and so its run lock) until the last is gone.
    wait_for("the supervisor to die", || {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let threads = fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.count()).unwrap_or(0);
        status.is_empty() || (status.contains("zombie") && threads <= 1)
    });

    assert_eq!(ok(wbox.run(&["ps", "-q"])), "", "not running");
    let all = ok(wbox.run(&["ps", "-a"]));
    assert!(all.contains("Dead (its supervisor was killed)"), "{all}");
    let state = &inspect(&wbox, "victim")["State"];
    assert_eq!(state["Status"], "dead");
    assert!(state["Error"].as_str().unwrap().contains(&format!("pid {pid}")), "{state}");
    // It can be started again, and removed.
    ok(wbox.run(&["start", "victim"]));
    assert_eq!(inspect(&wbox, "victim")["State"]["Running"], true);
    ok(wbox.run(&["rm", "-f", "victim"]));
    assert!(container_dirs(&wbox).is_empty());
}

#[test]
fn kill_gives_the_signal_at_once_and_stop_lets_a_guest_finish() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    // A guest that never calls the host is interrupted too.
    ok(wbox.run(&["run", "-d", "--name", "spinner", &image, "spin"]));
    ok(wbox.run(&["kill", "-s", "TERM", "spinner"]));
    assert_eq!(ok(wbox.run(&["wait", "spinner"])), "143\n");
    ok(wbox.run(&["run", "-d", "--name", "sleeper", &image, "sleep", "60"]));
    ok(wbox.run(&["kill", "sleeper"]));
    assert_eq!(inspect(&wbox, "sleeper")["State"]["ExitCode"], 137);

    // Within the grace period the guest ends by itself, with its own code.
    ok(wbox.run(&["run", "-d", "--name", "short", &image, "tick", "5"]));
    ok(wbox.run(&["stop", "-t", "5", "short"]));
    assert_eq!(inspect(&wbox, "short")["State"]["ExitCode"], 0);

    let out = wbox.run(&["kill", "short"]);
    assert!(code(&out) == 1 && stderr(&out).contains("is not running"), "{}", stderr(&out));
    let out = wbox.run(&["kill", "-s", "STOP", "short"]);
    assert!(code(&out) == 1 && stderr(&out).contains("cannot be paused"), "{}", stderr(&out));
}

#[test]
fn create_and_start_attached_match_run() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &image]));
    let run = wbox.run(&["run", "--name", "direct", &image, "tick", "3"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    assert_eq!(stdout(&run), "tick 1\ntick 2\ntick 3\n");

    let id = ok(wbox.run(&["create", "--name", "job", &image, "tick", "3"])).trim().to_owned();
    assert!(ok(wbox.run(&["ps", "-a"])).lines().any(|l| l.starts_with(&id[..12]) && l.contains("Created")));
    let started = wbox.run(&["start", "-a", "job"]);
    assert_eq!((code(&started), stdout(&started)), (code(&run), stdout(&run)));
    assert_eq!(stderr(&started), stderr(&run));

    ok(wbox.run(&["create", "--name", "fails", &image, "exit", "7"]));
    assert_eq!(code(&wbox.run(&["start", "-a", "fails"])), 7);
    assert_eq!(code(&wbox.run(&["run", &image, "exit", "7"])), 7);
    // A second start -a shows only its own run's output.
    let again = wbox.run(&["start", "-a", "job"]);
    assert_eq!(stdout(&again), "tick 1\ntick 2\ntick 3\n");
}

#[test]
fn names_are_unique_and_ids_resolve_by_prefix() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let id = ok(wbox.run(&["create", "--name", "web", &image])).trim().to_owned();
    let out = wbox.run(&["create", "--name", "web", &image]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("\"web\" is already in use") && stderr(&out).contains(&id[..12]),
        "{}",
        stderr(&out)
    );
    let out = wbox.run(&["create", "--name=.bad", &image]);
    assert!(stderr(&out).contains("invalid container name"), "{}", stderr(&out));

    let made_up = ok(wbox.run(&["create", &image])).trim().to_owned();
    let name = inspect(&wbox, &made_up)["Name"].as_str().unwrap().to_owned();
    assert!(name.starts_with('/') && name.contains('_'), "{name}");
    assert_eq!(inspect(&wbox, &id[..5])["Id"], id.as_str());

    // Names follow renames and removals; a root from before the names'
    // index still refuses a name in use.
    ok(wbox.run(&["rename", "web", "site"]));
    assert_eq!(inspect(&wbox, "site")["Id"], id.as_str());
    let other = ok(wbox.run(&["create", "--name", "web", &image])).trim().to_owned();
    ok(wbox.run(&["rm", "web"]));
    std::fs::remove_dir_all(wbox.root.path().join("containers/.names")).unwrap();
    let out = wbox.run(&["create", "--name", "site", &image]);
    assert!(stderr(&out).contains("\"site\" is already in use"), "{}", stderr(&out));
    assert!(code(&wbox.run(&["inspect", &other])) != 0, "removed");
    assert_eq!(ok(wbox.run(&["rm", &id[..5]])), format!("{}\n", &id[..5]));
    ok(wbox.run(&["create", "--name", "site", &image]));
}

#[test]
fn rm_refuses_a_running_container_without_force_and_run_rm_cleans_up() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "-d", "--name", "busy", &image, "sleep", "60"]));
    let out = wbox.run(&["rm", "busy"]);
    assert!(code(&out) == 1 && stderr(&out).contains("is running"), "{}", stderr(&out));
    assert_eq!(inspect(&wbox, "busy")["State"]["Running"], true, "refused, and untouched");
    ok(wbox.run(&["rm", "-f", "busy"]));

    assert_eq!(stdout(&wbox.run(&["run", "--rm", &image, "tick", "1"])), "tick 1\n");
    ok(wbox.run(&["run", "-d", "--rm", "--name", "gone", &image, "tick", "2"]));
    wait_for("the --rm container to go", || container_dirs(&wbox).is_empty());
}

#[test]
fn a_container_that_cannot_start_says_why() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let out = wbox.run(&["run", "-d", "--name", "broken", &image, "--entrypoint-is-not-a-flag-here"]);
    // The arguments are the guest's: it starts, and fails by itself.
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(ok(wbox.run(&["wait", "broken"])), "2\n");

    // An image whose entrypoint is missing: 127, recorded on the container.
    let registry = Registry::start();
    let other = format!("/other.wasm={}", guest("probe.wasm"));
    push_image(&registry, "nothing:1", &["--entrypoint", "/missing.wasm", "--file", &other]);
    let nothing = format!("{}/nothing:1", registry.addr);
    let out = wbox.run(&["run", "-d", "--name", "missing", &nothing]);
    assert_eq!(code(&out), 127, "{}", stderr(&out));
    assert!(stderr(&out).contains("missing.wasm"), "{}", stderr(&out));
    let state = &inspect(&wbox, "missing")["State"];
    assert_eq!((state["Status"].as_str(), state["ExitCode"].as_i64()), (Some("created"), Some(127)));
    ok(wbox.run(&["rm", "missing"]));
    // With --rm, one that cannot start is removed too.
    assert_eq!(code(&wbox.run(&["run", "--rm", &nothing])), 127);
    assert!(
        container_dirs(&wbox)
            .iter()
            .all(|id| !inspect(&wbox, id)["Config"]["Image"].as_str().unwrap().contains("nothing"))
    );
}

#[test]
fn a_hundred_detached_containers_stop_together_and_prune_away() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &image]));
    for _ in 0..100 {
        ok(wbox.run(&["run", "-d", &image, "sleep", "600"]));
    }
    let ids = ok(wbox.run(&["ps", "-q"]));
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 100);
    let start = Instant::now();
    let mut stop = vec!["stop", "-t", "1"];
    stop.extend(&ids);
    assert_eq!(ok(wbox.run(&stop)).lines().count(), 100);
    assert!(start.elapsed() < Duration::from_secs(10), "stopped together: {:?}", start.elapsed());
    assert_eq!(ok(wbox.run(&["ps", "-q"])), "");
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])).lines().count(), 100);

    let pruned = ok(wbox.run(&["container", "prune", "-f"]));
    let ids = pruned.lines().filter(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit())).count();
    assert_eq!(ids, 100, "{pruned}");
    assert!(container_dirs(&wbox).is_empty());
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])), "");
}

#[test]
fn racing_rm_and_stop_on_one_container_never_corrupt_it() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    for round in 0..5 {
        let name = format!("both{round}");
        ok(wbox.run(&["run", "-d", "--name", &name, &image, "sleep", "600"]));
        let rm =
            wbox.command().args(["rm", "-f", &name]).stderr(std::process::Stdio::piped()).spawn().unwrap();
        let stop = wbox
            .command()
            .args(["stop", "-t", "0", &name])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for child in [rm, stop] {
            let out = child.wait_with_output().unwrap();
            assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
            assert!(code(&out) == 0 || code(&out) == 1, "{}", stderr(&out));
        }
    }
    // Whatever is left reads, and removes.
    let left = ok(wbox.run(&["ps", "-a", "-q"]));
    for id in left.lines() {
        inspect(&wbox, id);
        ok(wbox.run(&["rm", "-f", id]));
    }
    assert!(container_dirs(&wbox).is_empty(), "{:?}", container_dirs(&wbox));
}

#[test]
fn images_that_containers_use_are_kept_by_prune() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["create", "--name", "keeper", &image, "tick", "1"]));
    ok(wbox.run(&["rmi", &image]));
    ok(wbox.run(&["image", "prune", "-a", "-f"]));
    let started = wbox.run(&["start", "-a", "keeper"]);
    assert_eq!(stdout(&started), "tick 1\n", "{}", stderr(&started));
    ok(wbox.run(&["rm", "keeper"]));
    ok(wbox.run(&["image", "prune", "-a", "-f"]));
    let blobs = fs::read_dir(wbox.root.path().join("store/blobs/sha256")).unwrap().count();
    assert_eq!(blobs, 0, "once the container is gone, so is its image");
}

#[test]
fn stdin_and_terminal_are_given_only_when_asked() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &image]));
    // Without -i the guest's stdin is empty, whatever wbox's is.
    let out = wbox.run_with_stdin(&["run", "--rm", &image, "cat"], b"typed\n");
    assert_eq!(stdout(&out), "", "{}", stderr(&out));
    let out = wbox.run_with_stdin(&["run", "--rm", "-i", &image, "cat"], b"typed\n");
    assert_eq!(stdout(&out), "typed\n", "{}", stderr(&out));

    // -t: the guest is told its stdio is a terminal, though here it is a pipe.
    assert_eq!(stdout(&wbox.run(&["run", "--rm", &image, "tty"])), "000\n");
    assert_eq!(stdout(&wbox.run(&["run", "--rm", "-t", &image, "tty"])), "011\n");
    assert_eq!(stdout(&wbox.run(&["run", "--rm", "-it", &image, "tty"])), "111\n");
}

#[test]
fn ctrl_c_stops_a_foreground_run_the_way_stop_does() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &image]));
    let child = wbox.command().args(["run", "--name", "fg", &image, "sleep", "60"]).spawn().unwrap();
    wait_for("the foreground run to be listed", || ok(wbox.run(&["ps"])).contains("fg"));
    let sigint = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sigint.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    let state = &inspect(&wbox, "fg")["State"];
    assert_eq!((state["Status"].as_str(), state["ExitCode"].as_i64()), (Some("exited"), Some(130)));
}

#[test]
fn a_log_that_cannot_be_written_is_reported_and_the_guest_runs_on() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let id = ok(wbox.run(&["create", "--name", "full", &image, "tick", "3"])).trim().to_owned();
    // Every write to /dev/full fails as on a full disk.
    let log = wbox.root.path().join("containers").join(&id).join("container.log");
    fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink("/dev/full", &log).unwrap();
    ok(wbox.run(&["start", "full"]));
    assert_eq!(ok(wbox.run(&["wait", "full"])), "0\n", "the guest ran to its end");
    let state = &inspect(&wbox, "full")["State"];
    let error = state["Error"].as_str().unwrap();
    assert!(
        error.contains("log could not be written") && error.contains("No space left on device"),
        "{error}"
    );
}

#[test]
fn logs_follow_restart_json_and_stop_timeout() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &image]));
    // -f prints the lines as they come and ends when the container does.
    ok(wbox.run(&["run", "-d", "--name", "counter", &image, "tick", "5"]));
    let followed = wbox.run(&["logs", "-f", "counter"]);
    assert_eq!(stdout(&followed), "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n", "{}", stderr(&followed));

    // --stop-timeout is the container's own grace period; -t overrides it.
    ok(wbox.run(&["run", "-d", "--name", "quick", "--stop-timeout", "0", &image, "sleep", "60"]));
    let start = Instant::now();
    ok(wbox.run(&["stop", "quick"]));
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    assert_eq!(inspect(&wbox, "quick")["Config"]["StopTimeout"], 0);

    // restart: stopped, then running again, with a new start time.
    let started = inspect(&wbox, "quick")["State"]["StartedAt"].clone();
    assert_eq!(ok(wbox.run(&["restart", "quick"])), "quick\n");
    let state = inspect(&wbox, "quick")["State"].clone();
    assert_eq!(state["Running"], true);
    assert_ne!(state["StartedAt"], started);

    let listed = ok(wbox.run(&["ps", "--format", "json"]));
    let rows: Vec<serde_json::Value> = listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!((rows[0]["Names"].as_str(), rows[0]["State"].as_str()), (Some("quick"), Some("running")));
    assert!(rows[0]["Status"].as_str().unwrap().starts_with("Up "), "{listed}");
    let full = ok(wbox.run(&["ps", "-q", "--no-trunc"]));
    assert_eq!(full.trim(), inspect(&wbox, "quick")["Id"].as_str().unwrap());
}

/// The container's log files (the current one and those rotated), with
/// their sizes.
fn log_files(wbox: &Wbox, id: &str) -> Vec<(String, u64)> {
    let dir = wbox.root.path().join("containers").join(id);
    let mut files: Vec<(String, u64)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("container.log"))
        .map(|e| (e.file_name().into_string().unwrap(), e.metadata().map_or(0, |m| m.len())))
        .collect();
    files.sort();
    files
}

/// The numbers of the whole lines `probe lines` printed, as they appear. A
/// line cut off when the guest was killed is not a whole line.
fn line_numbers(output: &str) -> Vec<u64> {
    output
        .lines()
        .filter(|l| l.len() == 100)
        .map(|l| l.strip_prefix("line ").and_then(|l| l[..10].parse().ok()).unwrap_or_else(|| panic!("{l}")))
        .collect()
}

fn assert_consecutive(numbers: &[u64]) {
    for pair in numbers.windows(2) {
        assert!(pair[1] == pair[0] + 1, "lines out of order or missing: {} then {}", pair[0], pair[1]);
    }
}

#[test]
fn a_flooding_guests_log_is_rotated_within_max_size_and_max_file() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let id = ok(wbox.run(&[
        "run",
        "-d",
        "--name",
        "flood",
        "--log-opt",
        "max-size=1m",
        "--log-opt",
        "max-file=3",
        &image,
        "lines",
        "0",
        "0",
    ]))
    .trim()
    .to_owned();
    let log_config = &inspect(&wbox, "flood")["HostConfig"]["LogConfig"];
    assert_eq!(
        log_config,
        &serde_json::json!({"Type": "local", "Config": {"max-size": "1m", "max-file": "3"}})
    );

    wait_for("the log to be rotated twice", || log_files(&wbox, &id).len() == 3);
    // It writes on, far more than three files hold.
    std::thread::sleep(Duration::from_secs(3));
    let files = log_files(&wbox, &id);
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["container.log", "container.log.1", "container.log.2"]);
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    assert!(total < 3 << 20, "{files:?}");

    let tail = line_numbers(&ok(wbox.run(&["logs", "--tail", "5", "flood"])));
    assert_eq!(tail.len(), 5, "{tail:?}");
    assert_consecutive(&tail);

    ok(wbox.run(&["kill", "flood"]));
    // What is kept is the newest output, whole and in order across the
    // files, and the tail is its end.
    let kept = line_numbers(&ok(wbox.run(&["logs", "flood"])));
    assert!(
        kept[0] > 1 && kept.len() > 5_000,
        "the oldest output was dropped: {} .. ({})",
        kept[0],
        kept.len()
    );
    assert_consecutive(&kept);
    let tail = line_numbers(&ok(wbox.run(&["logs", "--tail", "5", "flood"])));
    let last_whole = &kept[kept.len() - 5..];
    // The very last entry may be a line cut off by the kill.
    assert!(tail == last_whole || tail[..4] == last_whole[1..], "{tail:?} vs {last_whole:?}");
}

#[test]
fn the_roots_config_sets_the_default_log_driver_and_options() {
    let (_registry, image) = probe_image();
    // With nothing configured, Docker's local driver with its own defaults.
    let plain = Wbox::new();
    ok(plain.run(&["create", "--name", "plain", &image, "exit", "0"]));
    assert_eq!(
        inspect(&plain, "plain")["HostConfig"]["LogConfig"],
        serde_json::json!({"Type": "local", "Config": {}})
    );

    let wbox = Wbox::new();
    fs::write(wbox.root.path().join("config.json"), r#"{"log-opts": {"max-size": "200k", "max-file": "2"}}"#)
        .unwrap();
    let id = ok(wbox.run(&["run", "-d", "--name", "flood", &image, "lines", "0", "0"])).trim().to_owned();
    assert_eq!(
        inspect(&wbox, "flood")["HostConfig"]["LogConfig"],
        serde_json::json!({"Type": "local", "Config": {"max-size": "200k", "max-file": "2"}})
    );
    wait_for("the log to be rotated", || log_files(&wbox, &id).len() == 2);
    std::thread::sleep(Duration::from_secs(2));
    let files = log_files(&wbox, &id);
    assert_eq!(files.len(), 2, "{files:?}");
    // Each file is rotated once it reaches 200 kB, so it passes it by one
    // entry at most.
    assert!(files.iter().all(|(_, size)| *size < 200_000 + 1000), "{files:?}");
    ok(wbox.run(&["rm", "-f", "flood"]));

    // As dockerd merges them: the root's options go with the root's driver
    // only; options given win.
    ok(wbox.run(&["create", "--name", "json", "--log-driver", "json-file", &image, "exit", "0"]));
    assert_eq!(
        inspect(&wbox, "json")["HostConfig"]["LogConfig"],
        serde_json::json!({"Type": "json-file", "Config": {}})
    );
    ok(wbox.run(&["create", "--name", "mine", "--log-opt", "max-file=9", &image, "exit", "0"]));
    assert_eq!(
        inspect(&wbox, "mine")["HostConfig"]["LogConfig"],
        serde_json::json!({"Type": "local", "Config": {"max-size": "200k", "max-file": "9"}})
    );

    // A default that is not understood is named, with the file it is in.
    fs::write(wbox.root.path().join("config.json"), r#"{"log-driver": "gelf"}"#).unwrap();
    let out = wbox.run(&["run", "-d", &image, "exit", "0"]);
    assert_eq!(code(&out), 125);
    assert!(stderr(&out).contains("'gelf'") && stderr(&out).contains("config.json"), "{}", stderr(&out));
}

#[test]
fn the_none_log_driver_keeps_nothing_and_logs_says_so() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let id = ok(wbox.run(&["run", "-d", "--name", "quiet", "--log-driver", "none", &image, "tick", "3"]))
        .trim()
        .to_owned();
    assert_eq!(ok(wbox.run(&["wait", "quiet"])), "0\n", "the guest ran to its end");
    assert_eq!(log_files(&wbox, &id), [], "no log file");
    let container = inspect(&wbox, "quiet");
    assert_eq!(container["HostConfig"]["LogConfig"], serde_json::json!({"Type": "none", "Config": {}}));
    assert_eq!(container["LogPath"], "");
    for args in [&["logs", "quiet"][..], &["logs", "-f", "--tail", "1", "quiet"]] {
        let out = wbox.run(args);
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(
            stderr(&out).contains("configured logging driver does not support reading"),
            "{}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");
    }
}

#[test]
fn log_drivers_and_options_that_are_not_understood_make_no_container() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    for (flags, named) in [
        (&["--log-opt", "max-size=abc"][..], "max-size=abc"),
        (&["--log-opt", "bogus=1"], "'bogus'"),
        (&["--log-driver", "syslog"], "'syslog'"),
        (&["--log-opt", "max-size=1m", "--log-opt", "max-file=0"], "max-file=0"),
        (&["--log-opt", "max-size"], "max-size"),
        (&["--log-driver", "none", "--log-opt", "max-size=1m"], "none"),
    ] {
        // Docker's codes: 125 when run fails before the guest, 1 for create.
        for (verb, expected) in [(&["run", "-d"][..], 125), (&["create"], 1)] {
            let out = wbox.command().args(verb).args(flags).args([&image, "exit", "0"]).output().unwrap();
            assert_eq!(code(&out), expected, "{verb:?} {flags:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(named), "{flags:?}: {}", stderr(&out));
        }
    }
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])), "");
    assert!(!wbox.root.path().join("containers").exists() || container_dirs(&wbox).is_empty());
}

#[test]
fn logs_follow_goes_across_rotations_without_losing_or_repeating_lines() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    // 20,000 lines of 100 bytes, in 200 bursts 20 ms apart: some 30
    // rotations at 100 kB while they are followed, and room for them all.
    let id = ok(wbox.run(&[
        "run",
        "-d",
        "--name",
        "stream",
        "--log-opt",
        "max-size=100k",
        "--log-opt",
        "max-file=60",
        &image,
        "lines",
        "20000",
        "20",
    ]))
    .trim()
    .to_owned();
    let follower =
        wbox.command().args(["logs", "-f", "stream"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    assert_eq!(inspect(&wbox, "stream")["State"]["Running"], true, "followed while it runs");
    let out = follower.wait_with_output().unwrap();
    assert_eq!(code(&out), 0);
    let all_lines = |numbers: &[u64]| {
        assert_eq!((numbers.first(), numbers.len()), (Some(&1), 20_000));
        assert_consecutive(numbers);
    };
    all_lines(&line_numbers(&stdout(&out)));
    assert!(log_files(&wbox, &id).len() > 20, "{:?}", log_files(&wbox, &id));
    // And read back afterwards, the same.
    all_lines(&line_numbers(&ok(wbox.run(&["logs", "stream"]))));
}

#[test]
fn logs_since_and_until_version_and_info() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "-d", "--name", "talker", &image, "tick", "2"]));
    assert_eq!(ok(wbox.run(&["wait", "talker"])), "0\n");
    assert_eq!(ok(wbox.run(&["logs", "--since", "1h", "talker"])), "tick 1\ntick 2\n");
    assert_eq!(ok(wbox.run(&["logs", "--until", "1h", "talker"])), "", "nothing was written an hour ago");
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(ok(wbox.run(&["logs", "--since", &later, "talker"])), "");
    assert_eq!(ok(wbox.run(&["logs", "--until", &later, "talker"])), "tick 1\ntick 2\n");
    let told = ok(wbox.run(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "-f",
        "container=talker",
        "--format",
        "{{.Action}} {{.Actor.Attributes.exitCode}}",
    ]));
    assert_eq!(told, "create <no value>\nstart <no value>\ndie 0\n");
    let out = wbox.run(&["logs", "--since", "yesterday", "talker"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("invalid time 'yesterday'"), "{}", stderr(&out));

    let version =
        ok(wbox.run(&["version", "--format", "{{.Client.Version}} {{(index .Server.Components 1).Name}}"]));
    assert_eq!(version, format!("{} wasmtime\n", env!("CARGO_PKG_VERSION")));
    assert!(ok(wbox.run(&["version"])).starts_with("Client:\n Version:"));
    let info = ok(wbox.run(&["info", "--format", "{{.Containers}} {{.ContainersStopped}} {{.Images}}"]));
    assert_eq!(info, "1 1 1\n");
    assert!(ok(wbox.run(&["info"])).contains(" Containers: 1\n"));
}

#[test]
fn top_shows_the_runner_of_a_wasm_container() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "-d", "--name", "sleeper", &image, "sleep", "30"]));
    let pid = inspect(&wbox, "sleeper")["State"]["Pid"].as_u64().unwrap().to_string();
    let top = ok(wbox.run(&["top", "sleeper"]));
    let lines: Vec<&str> = top.lines().collect();
    assert_eq!(lines.len(), 2, "{top}");
    assert!(lines[0].starts_with("UID ") && lines[0].ends_with(" CMD"), "{top}");
    assert_eq!(lines[1].split_whitespace().nth(1), Some(pid.as_str()), "{top}");
    let listed = ok(wbox.run(&["top", "sleeper", "-o", "pid,comm"]));
    assert_eq!(
        listed.lines().nth(1).map(|l| l.split_whitespace().next()),
        Some(Some(pid.as_str())),
        "{listed}"
    );
    ok(wbox.run(&["rm", "-f", "sleeper"]));
}

#[test]
fn a_wasm_containers_files_export_and_import_as_an_image() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["create", "--name", "source", &image]));
    assert_eq!(ok(wbox.run(&["diff", "source"])), "", "a wasm container changes no file of its image");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("source.tar");
    ok(wbox.run(&["export", "-o", archive.to_str().unwrap(), "source"]));
    let entries: Vec<String> = tar::Archive::new(fs::File::open(&archive).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(entries, ["app.wasm"]);

    let entrypoint = r#"ENTRYPOINT ["/app.wasm"]"#;
    let id = ok(wbox.run(&[
        "import",
        "-c",
        entrypoint,
        "-c",
        "ENV MODE=imported",
        archive.to_str().unwrap(),
        "snap:1",
    ]));
    assert!(id.starts_with("sha256:"), "{id}");
    let listed = ok(wbox.run(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "snap"]));
    assert_eq!(listed, format!("snap:1 {}\n", &id.trim()["sha256:".len()..][..12]));
    assert_eq!(ok(wbox.run(&["run", "--rm", "snap:1", "ls", "/"])), "app.wasm\n");
    assert_eq!(ok(wbox.run(&["images", "-q", "-f", "dangling=true"])), "", "nothing left over");
    assert!(ok(wbox.run(&["run", "--rm", "snap:1", "env"])).contains("MODE=imported\n"));

    let bad = wbox.run(&["import", "-c", "RUN rm -rf /", archive.to_str().unwrap()]);
    assert_eq!(code(&bad), 1);
    assert!(stderr(&bad).contains("RUN is not an instruction of an image's config"), "{}", stderr(&bad));

    // commit: the same files (a wasm container changes none), one more step.
    let id = ok(wbox.run(&["commit", "-m", "tuned", "-c", "ENV MODE=committed", "source", "tuned:1"]));
    assert!(id.starts_with("sha256:"), "{id}");
    assert!(ok(wbox.run(&["run", "--rm", "tuned:1", "env"])).contains("MODE=committed\n"));
    let layers = |name: &str| ok(wbox.run(&["inspect", "-f", "{{len .RootFS.Layers}}", name]));
    assert_eq!(layers("tuned:1"), layers(&image));
    let steps = ok(wbox.run(&["history", "--format", "{{.Comment}}", "tuned:1"]));
    assert_eq!(steps.lines().next(), Some("tuned"), "{steps}");
}

#[test]
fn attach_follows_a_running_containers_output_to_its_end() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "-d", "--name", "counter", &image, "tick", "3"]));
    let attached = wbox.run(&["attach", "counter"]);
    assert_eq!(code(&attached), 0, "{}", stderr(&attached));
    let seen = stdout(&attached);
    assert!(seen.ends_with("tick 3\n"), "to its end: {seen}");
    let stopped = wbox.run(&["attach", "counter"]);
    assert_eq!(code(&stopped), 1);
    assert!(stderr(&stopped).contains("You cannot attach to a stopped container"), "{}", stderr(&stopped));
}

#[test]
fn attach_feeds_the_stdin_of_a_container_made_with_i() {
    use std::io::{BufRead, Write};
    use std::process::Stdio;
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "-d", "-i", "--name", "echo", &image, "cat"]));
    // One attachment after another: the guest's stdin stays open between.
    for word in ["first", "second"] {
        let mut attach = wbox.command();
        attach.args(["attach", "echo"]).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut attach = attach.spawn().unwrap();
        let mut stdin = attach.stdin.take().unwrap();
        writeln!(stdin, "{word}").unwrap();
        drop(stdin);
        // Read aside, so that a missing echo fails the test, not hangs it.
        let stdout = attach.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(10));
        attach.kill().unwrap();
        attach.wait().unwrap();
        assert_eq!(line, Ok(format!("{word}\n")));
        assert_eq!(inspect(&wbox, "echo")["State"]["Running"], true, "its stdin did not end with ours");
    }
    // With --no-stdin, nothing is fed; an attachment ends with the guest.
    let mut attach = wbox.command();
    attach.args(["attach", "--no-stdin", "echo"]).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut attach = attach.spawn().unwrap();
    writeln!(attach.stdin.take().unwrap(), "third").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    ok(wbox.run(&["kill", "echo"]));
    let out = attach.wait_with_output().unwrap();
    assert_eq!((code(&out), stdout(&out)), (137, String::new()));
}

/// The bytes of a `stats` figure such as `1.5MiB`.
fn bytes_of(figure: &str) -> f64 {
    let split = figure.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(figure.len());
    let (number, unit) = figure.split_at(split);
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unit {other} in {figure}"),
    };
    number.parse::<f64>().unwrap() * scale
}

#[test]
fn stats_of_a_wasm_container_are_its_guests() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "-d", "--name", "hog", "--memory", "64m", &image, "alloc", "20", "30"]));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !ok(wbox.run(&["logs", "hog"])).contains("allocated 20 MiB") {
        assert!(std::time::Instant::now() < deadline, "the guest never allocated");
        std::thread::sleep(Duration::from_millis(50));
    }
    let table = ok(wbox.run(&["stats", "--no-stream"]));
    assert!(table.starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"), "{table}");
    assert_eq!(table.lines().count(), 2, "{table}");
    let format = "{{.Name}} {{.PIDs}} {{.MemUsage}} {{.CPUPerc}}";
    let line = ok(wbox.run(&["stats", "--no-stream", "--format", format, "hog"]));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[0], "hog", "{line}");
    assert_eq!(fields[1], "1", "one instance: {line}");
    // The guest's linear memory: the 20 MiB it holds and a little more,
    // against the cap it may not pass.
    let shown = bytes_of(fields[2]);
    let mib = 1024.0 * 1024.0;
    assert!((20.0 * mib..24.0 * mib).contains(&shown), "{line}");
    assert_eq!(fields[4], "64MiB", "the guest's limit: {line}");
    assert!(fields[5].ends_with('%'), "{line}");
    ok(wbox.run(&["rm", "-f", "hog"]));
}

/// `--restart always` starts a container that ends again, waiting longer
/// each time (Docker's 100 ms, doubling); a stop while it waits for the
/// next start ends the restarting for good, as Docker's does.
#[test]
fn a_stop_between_restarts_ends_the_restarting() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "-d", "--name", "flaky", "--restart", "always", &image, "exit", "3"]));
    let inspect = |format: &str| ok(wbox.run(&["inspect", "-f", format, "flaky"])).trim().to_owned();
    let restarts = || inspect("{{.RestartCount}}").parse::<u32>().unwrap();
    wait_for("three restarts", || restarts() >= 3);
    // From here it waits 800 ms or more between runs.
    wait_for("the run to end", || inspect("{{.State.Status}}") == "exited");
    ok(wbox.run(&["stop", "flaky"]));
    let at_stop = restarts();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        (inspect("{{.State.Status}}"), restarts()),
        ("exited".to_owned(), at_stop),
        "restarted after stop"
    );
}
