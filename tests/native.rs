//! Native containers (Linux): a busybox image built from Debian's
//! busybox-static with umoci, pushed to a real registry, run by youki's
//! libcontainer through the same verbs as wasm guests. The tests run as root,
//! as CI does; they check isolation, limits, grants, the network and that
//! nothing is left behind.
#![cfg(target_os = "linux")]

use wbox_test_harness as harness;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use harness::images::{push_busybox_image, push_debian_python_image};
use harness::registry::Registry;
use harness::{
    Wbox, busybox_image, code, ok, one_at_a_time, require_package_registries, stderr, stdout, text_server,
};

fn inspect(wbox: &Wbox, container: &str) -> serde_json::Value {
    let out = ok(wbox.run(&["inspect", container]));
    serde_json::from_str::<serde_json::Value>(&out).unwrap()[0].clone()
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// GET / on a host port, the body or the error.
fn http_get(port: u16) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(stream, "GET / HTTP/1.0\r\nHost: x\r\n\r\n").map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).ok_or(answer)
}

/// What a native container could leave on the host: mounts, cgroups and
/// processes of wbox's containers, network helpers.
fn host_traces() -> BTreeSet<String> {
    let mut traces = BTreeSet::new();
    for line in fs::read_to_string("/proc/self/mountinfo").unwrap().lines() {
        traces.insert(format!("mount {}", line.split(' ').nth(4).unwrap()));
    }
    for controller in fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let wbox = controller.path().join("wbox");
        for cgroup in fs::read_dir(&wbox).into_iter().flatten().flatten() {
            if cgroup.path().is_dir() {
                traces.insert(format!("cgroup {}", cgroup.path().display()));
            }
        }
    }
    for process in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = process.file_name().into_string().unwrap().parse::<u32>() else { continue };
        let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let command = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if cgroups.contains("/wbox/") || command.starts_with("slirp4netns") {
            traces.insert(format!("process {pid} {}", command.replace('\0', " ")));
        }
    }
    traces
}

#[test]
fn a_native_command_runs_isolated() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    assert_eq!(ok(wbox.run(&["run", "--rm", image, "echo", "native"])), "native\n");
    assert_eq!(ok(wbox.run(&["run", "--rm", "--hostname", "box", image, "hostname"])), "box\n");

    // Its own pid namespace: the command is PID 1 and sees no host process.
    let ps = ok(wbox.run(&["run", "--rm", image, "ps", "-o", "pid,comm"]));
    let processes: Vec<&str> = ps.lines().skip(1).map(str::trim).collect();
    assert_eq!(processes, ["1 ps"], "{ps}");

    // The image's CMD (sh) with -i reads stdin.
    let out = wbox.run_with_stdin(&["run", "--rm", "-i", image], b"echo from stdin; exit 3\n");
    assert_eq!((code(&out), stdout(&out).as_str()), (3, "from stdin\n"), "{}", stderr(&out));

    // Environment and working directory, the image's and the user's.
    let env = ok(wbox.run(&[
        "run",
        "--rm",
        "-e",
        "GREETING=hi",
        "-w",
        "/tmp",
        image,
        "sh",
        "-c",
        "echo $GREETING $PWD $PATH",
    ]));
    assert_eq!(env, "hi /tmp /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
    // A working directory the image lacks is made, as Docker's daemon makes
    // it (a WORKDIR that no later step fills is one).
    let made = ok(wbox.run(&["run", "--rm", "-w", "/not/yet", image, "sh", "-c", "pwd; ls -ld /not/yet"]));
    assert!(made.starts_with("/not/yet\ndrwxr-xr-x") && made.contains(" root "), "{made}");
    let file = wbox.run(&["run", "--rm", "-w", "/etc/passwd", image, "pwd"]);
    assert_eq!(code(&file), 125);
    assert!(stderr(&file).contains("cannot make the working directory /etc/passwd"), "{}", stderr(&file));
    let id = ok(wbox.run(&["run", "--rm", "-u", "nobody", image, "id"]));
    assert!(id.starts_with("uid=65534(nobody) gid=65534(nogroup)"), "{id}");
    let entry = ok(wbox.run(&["run", "--rm", "--entrypoint", "/bin/echo", image, "via", "entrypoint"]));
    assert_eq!(entry, "via entrypoint\n");

    // Docker's capability set: no CAP_SYS_ADMIN (bit 21), so no mounts.
    let status = ok(wbox.run(&["run", "--rm", image, "grep", "CapEff", "/proc/self/status"]));
    let caps = u64::from_str_radix(status.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(caps & (1 << 21), 0, "{status}");
    let mount_tmpfs = "mkdir -p /mnt && mount -t tmpfs none /mnt";
    let mount = wbox.run(&["run", "--rm", image, "sh", "-c", mount_tmpfs]);
    assert_ne!(code(&mount), 0);
    assert!(stderr(&mount).contains("permission denied"), "{}", stderr(&mount));
    // --privileged, asked for by name, gives them (and lifts the filter).
    let status = ok(wbox.run(&["run", "--rm", "--privileged", image, "grep", "CapEff", "/proc/self/status"]));
    let caps = u64::from_str_radix(status.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_ne!(caps & (1 << 21), 0, "{status}");
    ok(wbox.run(&["run", "--rm", "--privileged", image, "sh", "-c", mount_tmpfs]));
}

#[test]
fn grants_are_the_only_host_files_it_sees() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    let data = tempfile::tempdir().unwrap();
    fs::write(data.path().join("in.txt"), "host data\n").unwrap();
    let rw = format!("{}:/data", data.path().display());
    let ro = format!("{}:/data:ro", data.path().display());

    assert_eq!(ok(wbox.run(&["run", "--rm", "-v", &rw, image, "cat", "/data/in.txt"])), "host data\n");
    ok(wbox.run(&["run", "--rm", "-v", &rw, image, "sh", "-c", "echo new > /data/out.txt"]));
    assert_eq!(fs::read_to_string(data.path().join("out.txt")).unwrap(), "new\n");

    // Read-only is the kernel's: the write fails and the host file is unchanged.
    let write = wbox.run(&["run", "--rm", "-v", &ro, image, "sh", "-c", "echo changed > /data/in.txt"]);
    assert_ne!(code(&write), 0);
    assert!(stderr(&write).contains("Read-only file system"), "{}", stderr(&write));
    assert_eq!(fs::read_to_string(data.path().join("in.txt")).unwrap(), "host data\n");

    // Besides the grant and the container's own /etc files, every mount
    // is the container's own (its root, proc, dev, sys, masked paths).
    let mountinfo = ok(wbox.run(&["run", "--rm", "-v", &ro, image, "cat", "/proc/self/mountinfo"]));
    let host_root = wbox.root.path().display().to_string();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let (source_root, target) = (fields[3], fields[4]);
        let allowed = ["/data", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];
        if source_root != "/" && !target.starts_with("/proc/") && !target.starts_with("/sys/") {
            assert!(allowed.contains(&target), "a host mount leaked in: {line}");
        }
        // wbox's own files show only as the container's /etc files.
        if source_root.contains(&host_root) {
            assert!(target.starts_with("/etc/"), "{line}");
        }
    }
    // Nothing of the host's root is there: / is the image's.
    let root = ok(wbox.run(&["run", "--rm", image, "ls", "/"]));
    assert!(!root.contains("usr\n") && root.contains("bin\n"), "{root}");

    // --read-only: the root cannot be written, a --tmpfs can.
    let ro_root = wbox.run(&["run", "--rm", "--read-only", image, "touch", "/file"]);
    assert_ne!(code(&ro_root), 0);
    ok(wbox.run(&["run", "--rm", "--read-only", "--tmpfs", "/scratch", image, "touch", "/scratch/file"]));
}

#[test]
fn a_changed_file_stays_in_the_container_not_the_image() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "--name", "writer", image, "sh", "-c", "echo mine > /etc/motd"]));
    // A fresh container of the same image does not see it…
    let other = wbox.run(&["run", "--rm", image, "cat", "/etc/motd"]);
    assert_ne!(code(&other), 0);
    // …while the container keeps it across a restart, as in Docker.
    ok(wbox.run(&["start", "-a", "writer"]));
    let log = ok(wbox.run(&["logs", "writer"]));
    assert_eq!(log, "");
    ok(wbox.run(&["rm", "writer"]));
}

#[test]
fn limits_hold_memory_and_processes() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    // dd asks for a 64 MiB buffer under a 32 MiB limit.
    let hog = wbox.run(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "32m",
        image,
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=64M",
        "count=1",
    ]);
    assert_eq!(code(&hog), 137, "{}", stderr(&hog));
    let state = &inspect(&wbox, "hog")["State"];
    assert_eq!(state["OOMKilled"], true, "{state}");
    assert_eq!(state["ExitCode"], 137);

    // A fork bomb under --pids-limit stays in its 20 processes; the host
    // goes on, and the container is killed and removed.
    let before = host_traces();
    ok(wbox.run(&[
        "run",
        "-d",
        "--name",
        "bomb",
        "--pids-limit",
        "20",
        image,
        "sh",
        "-c",
        "f() { f | f & }; f; sleep 60",
    ]));
    std::thread::sleep(Duration::from_secs(2));
    let start = Instant::now();
    assert!(std::process::Command::new("true").status().unwrap().success());
    assert!(start.elapsed() < Duration::from_secs(2));
    let bomb = inspect(&wbox, "bomb")["Id"].as_str().unwrap().to_owned();
    let current = cgroup_file(&bomb, "pids", "pids.current");
    assert!(current.trim().parse::<u32>().unwrap() <= 20, "{current}");
    ok(wbox.run(&["rm", "-f", "bomb"]));
    wait_for("the bomb's processes to end", || host_traces() == before);

    // --cpus is the cgroup's CPU quota: half of each 100 ms period.
    let id = ok(wbox.run(&["run", "-d", "--cpus", "0.5", image, "sleep", "60"])).trim().to_owned();
    let quota = cgroup_file(&id, "cpu", "cpu.cfs_quota_us");
    assert!(quota == "50000\n" || quota == "50000 100000\n", "{quota}");
    ok(wbox.run(&["rm", "-f", &id]));
}

/// A file of a container's cgroup on the host: cgroup v1's
/// CONTROLLER/wbox/ID/FILE, else v2's wbox/ID/ (where cpu.max stands for
/// cpu.cfs_quota_us).
fn cgroup_file(id: &str, controller: &str, file: &str) -> String {
    let v1 = format!("/sys/fs/cgroup/{controller}/wbox/{id}/{file}");
    let v2_file = if file == "cpu.cfs_quota_us" { "cpu.max" } else { file };
    let v2 = format!("/sys/fs/cgroup/wbox/{id}/{v2_file}");
    fs::read_to_string(&v1)
        .or_else(|_| fs::read_to_string(&v2))
        .unwrap_or_else(|e| panic!("{v1} or {v2}: {e}"))
}

#[test]
fn published_ports_answer_and_networks_are_kept_apart() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    for (name, port) in [("web1", 18181u16), ("web2", 18182)] {
        let publish = format!("{port}:80");
        ok(wbox.run(&[
            "run", "-d", "--name", name, "-p", &publish, image, "httpd", "-f", "-p", "80", "-h", "/var/www",
        ]));
    }
    for port in [18181, 18182] {
        wait_for("httpd to answer", || http_get(port).is_ok());
        assert_eq!(http_get(port).unwrap(), "hello from busybox httpd\n");
    }
    let ps = ok(wbox.run(&["ps"]));
    assert!(ps.contains("0.0.0.0:18181->80/tcp"), "{ps}");

    // A port in use: a clear error before anything runs.
    let taken = wbox.run(&["run", "--rm", "-p", "18181:80", image, "true"]);
    assert_eq!(code(&taken), 125);
    assert!(stderr(&taken).contains("18181"), "{}", stderr(&taken));

    // Stopped, its port is closed.
    ok(wbox.run(&["stop", "-t", "1", "web1", "web2"]));
    assert!(http_get(18181).is_err());

    // Outbound: the default network reaches the host (slirp4netns' 10.0.2.2
    // is the host's loopback); --network none reaches nothing; host is the
    // host's own.
    let port = text_server("from the host");
    let url = format!("http://10.0.2.2:{port}/");
    assert_eq!(ok(wbox.run(&["run", "--rm", image, "wget", "-qO-", &url])), "from the host");
    let none = wbox.run(&["run", "--rm", "--network", "none", image, "wget", "-T", "2", "-qO-", &url]);
    assert_ne!(code(&none), 0);
    let local = format!("http://127.0.0.1:{port}/");
    let none_local =
        wbox.run(&["run", "--rm", "--network", "none", image, "wget", "-T", "2", "-qO-", &local]);
    assert_ne!(code(&none_local), 0);
    assert_eq!(
        ok(wbox.run(&["run", "--rm", "--network", "host", image, "wget", "-qO-", &local])),
        "from the host"
    );
    // Loopback is up inside a private namespace.
    let lo =
        ok(wbox.run(&["run", "--rm", "--network", "none", image, "ping", "-c", "1", "-W", "2", "127.0.0.1"]));
    assert!(lo.contains("1 packets received"), "{lo}");
}

#[test]
fn lifecycle_verbs_work_on_native_containers() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    ok(wbox.run(&["run", "-d", "--name", "talker", image, "sh", "-c", "echo one; sleep 0.5; echo two >&2"]));
    let logs = wbox.command().args(["logs", "-f", "talker"]).output().unwrap();
    assert_eq!((stdout(&logs).as_str(), stderr(&logs).as_str()), ("one\n", "two\n"));

    // A process that ignores SIGTERM (sleep as PID 1) is killed after the grace.
    ok(wbox.run(&["run", "-d", "--name", "sleeper", image, "sleep", "60"]));
    let pid = inspect(&wbox, "sleeper")["State"]["Pid"].as_u64().unwrap();
    assert!(pid > 0 && fs::metadata(format!("/proc/{pid}")).is_ok());
    let start = Instant::now();
    ok(wbox.run(&["stop", "-t", "1", "sleeper"]));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{took:?}");
    assert_eq!(inspect(&wbox, "sleeper")["State"]["ExitCode"], 137);

    // A handler runs: stop ends it with its own code.
    ok(wbox.run(&[
        "run",
        "-d",
        "--name",
        "polite",
        image,
        "sh",
        "-c",
        "trap 'exit 3' TERM; while true; do sleep 0.1; done",
    ]));
    ok(wbox.run(&["stop", "polite"]));
    assert_eq!(inspect(&wbox, "polite")["State"]["ExitCode"], 3);

    // kill -s
    ok(wbox.run(&[
        "run",
        "-d",
        "--name",
        "target",
        image,
        "sh",
        "-c",
        "trap 'exit 4' USR1; while true; do sleep 0.1; done",
    ]));
    ok(wbox.run(&["kill", "-s", "USR1", "target"]));
    wait_for("the target to end", || inspect(&wbox, "target")["State"]["Status"] == "exited");
    assert_eq!(inspect(&wbox, "target")["State"]["ExitCode"], 4);

    // A missing command is 127, a file that is not executable 126: clear
    // errors, and nothing runs.
    let missing = wbox.run(&["run", "--rm", image, "nosuchcommand"]);
    assert_eq!(code(&missing), 127);
    assert!(
        stderr(&missing).contains("nosuchcommand: executable file not found in $PATH"),
        "{}",
        stderr(&missing)
    );
    let not_exec = wbox.run(&["run", "--rm", image, "/etc/passwd"]);
    assert_eq!(code(&not_exec), 126);
    assert!(stderr(&not_exec).contains("/etc/passwd: permission denied"), "{}", stderr(&not_exec));

    for name in ["talker", "sleeper", "polite", "target"] {
        ok(wbox.run(&["rm", name]));
    }
}

#[test]
fn fifty_containers_leave_nothing_behind() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", image]));
    ok(wbox.run(&["run", "--rm", image, "true"]));
    let before = host_traces();
    for i in 0..50 {
        let network = if i % 2 == 0 { "none" } else { "bridge" };
        let mut args = vec!["run", "--rm"];
        if network == "none" {
            args.extend(["--network", "none"]);
        }
        args.extend([image, "echo", "hi"]);
        assert_eq!(ok(wbox.run(&args)), "hi\n");
    }
    // Detached, killed and removed by force.
    for _ in 0..5 {
        let id = ok(wbox.run(&["run", "-d", image, "sleep", "60"]));
        ok(wbox.run(&["rm", "-f", id.trim()]));
    }
    // A supervisor killed outright: `rm -f` still cleans up after it.
    let id = ok(wbox.run(&["run", "-d", image, "sleep", "60"])).trim().to_owned();
    let supervisor = fs::read_dir("/proc").unwrap().flatten().find_map(|p| {
        let command = fs::read_to_string(p.path().join("cmdline")).unwrap_or_default();
        (command.contains("supervise") && command.contains(&id)).then(|| p.file_name().into_string().unwrap())
    });
    if let Some(pid) = supervisor {
        std::process::Command::new("kill").args(["-9", &pid]).status().unwrap();
        wait_for("the container to be seen dead", || inspect(&wbox, &id)["State"]["Status"] == "dead");
    }
    ok(wbox.run(&["rm", "-f", &id]));
    wait_for("nothing left behind", || host_traces() == before);
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])), "");
}

#[test]
fn a_corrupt_layer_is_a_clear_error_and_leaves_nothing() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", image]));
    let blobs = wbox.root.path().join("store/blobs/sha256");
    // Corrupt every blob bigger than a config: the layers.
    for blob in fs::read_dir(&blobs).unwrap().flatten() {
        if blob.metadata().unwrap().len() > 100_000 {
            let mut bytes = fs::read(blob.path()).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            fs::write(blob.path(), bytes).unwrap();
        }
    }
    let before = host_traces();
    let run = wbox.run(&["run", "--rm", image, "echo", "hi"]);
    assert_eq!(code(&run), 125, "{}", stderr(&run));
    assert!(stderr(&run).contains("layer"), "{}", stderr(&run));
    assert_eq!(host_traces(), before);
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])), "");
}

#[test]
fn a_terminal_is_a_real_one() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    // script(1) gives wbox a terminal; the shell in the container gets its
    // own pseudo-terminal as its controlling terminal, and reads what is
    // typed at it.
    let command = format!("{} run --rm -it {image} sh", env!("CARGO_BIN_EXE_wbox"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("WBOX_ROOT", wbox.root.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"tty; [ -t 0 ] && echo stdin-is-a-terminal; exit 7\n").unwrap();
    let out = child.wait_with_output().unwrap();
    drop(input);
    let text = stdout(&out);
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("stdin-is-a-terminal"), "{text}");
    assert_eq!(out.status.code(), Some(7), "{text}");

    // Detached with -t: the terminal's output is the log.
    ok(wbox.run(&["run", "-d", "-t", "--name", "teller", image, "sh", "-c", "tty"]));
    wait_for("the container to end", || inspect(&wbox, "teller")["State"]["Status"] == "exited");
    assert!(ok(wbox.run(&["logs", "teller"])).contains("/dev/pts/0"));
}

#[test]
fn exec_runs_a_command_in_a_running_container() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    ok(wbox.run(&[
        "run",
        "-d",
        "--name",
        "box",
        "-e",
        "FROM_RUN=1",
        "--hostname",
        "inside",
        image,
        "sleep",
        "60",
    ]));
    // In its pid and uts namespaces: it sees the container's PID 1.
    let ps = ok(wbox.run(&["exec", "box", "ps", "-o", "pid,comm"]));
    assert!(ps.contains("    1 sleep"), "{ps}");
    assert_eq!(ps.lines().count(), 3, "{ps}");
    assert_eq!(ok(wbox.run(&["exec", "box", "hostname"])), "inside\n");
    // The container's environment, plus -e; -u; -w; -i.
    let env = ok(wbox.run(&["exec", "-e", "X=2", "-w", "/tmp", "box", "sh", "-c", "echo $FROM_RUN $X $PWD"]));
    assert_eq!(env, "1 2 /tmp\n");
    assert!(ok(wbox.run(&["exec", "-u", "nobody", "box", "id"])).starts_with("uid=65534(nobody)"));
    let echoed = wbox.run_with_stdin(&["exec", "-i", "box", "cat"], b"typed\n");
    assert_eq!(stdout(&echoed), "typed\n");
    let bad_env = wbox.run(&["exec", "-e", "A B=1", "box", "true"]);
    assert!(stderr(&bad_env).contains("invalid environment variable 'A B=1'"), "{}", stderr(&bad_env));
    let missing = wbox.run(&["exec", "box", "nosuch"]);
    assert_eq!(code(&missing), 127, "{}", stderr(&missing));
    assert_eq!(code(&wbox.run(&["exec", "box", "sh", "-c", "exit 5"])), 5);

    // stats: the cgroup's figures.
    let id = inspect(&wbox, "box")["Id"].as_str().unwrap().to_owned();
    let line = ok(wbox.run(&["stats", "--no-stream", "--format", "{{.MemUsage}} {{.PIDs}}", "box"]));
    let used: f64 = cgroup_file(&id, "memory", "memory.usage_in_bytes").trim().parse().unwrap();
    let shown = line.split_whitespace().next().unwrap();
    let split = shown.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let scale = match &shown[split..] {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1048576.0,
        other => panic!("{other}"),
    };
    let shown: f64 = shown[..split].parse::<f64>().unwrap() * scale;
    assert!(shown > used * 0.5 && shown < used * 2.0 + 65536.0, "{line} vs the cgroup's {used}");
    assert!(line.trim_end().ends_with(" 1"), "one process, sleep: {line}");

    // top: the host's ps, the container's processes only.
    let top = ok(wbox.run(&["top", "box"]));
    assert!(top.starts_with("UID "), "{top}");
    assert!(top.lines().skip(1).any(|l| l.ends_with("sleep 60")), "{top}");
    assert!(!top.contains("wbox"), "nothing but the container's processes: {top}");
    let pid = inspect(&wbox, "box")["State"]["Pid"].as_u64().unwrap();
    let listed = ok(wbox.run(&["container", "top", "box", "-o", "pid,comm"]));
    assert!(listed.lines().any(|l| l.starts_with(&pid.to_string()) || l.contains(" sleep")), "{listed}");

    ok(wbox.run(&["rm", "-f", "box"]));
    ok(wbox.run(&["create", "--name", "idle", image, "true"]));
    let stopped = wbox.run(&["top", "idle"]);
    assert!(stderr(&stopped).contains("is not running"), "{}", stderr(&stopped));
    let stopped = wbox.run(&["exec", "idle", "true"]);
    assert!(stderr(&stopped).contains("not running"), "{}", stderr(&stopped));
}

#[test]
fn an_index_runs_wasm_by_default_and_native_when_asked() {
    let _turn = one_at_a_time();
    let registry = Registry::start();
    let native = push_busybox_image(&registry, "multi:native");
    let wasm = harness::images::push_docker_wasm_image(
        &registry,
        "multi:wasm",
        harness::guest("hello.wasm").as_ref(),
        &[],
    );
    harness::images::push_index(&registry, "multi:latest", &[(&wasm, "wasi/wasm"), (&native, "linux/amd64")]);
    let image = format!("{}/multi:latest", registry.addr);
    let wbox = Wbox::new();
    let wasm_run = ok(wbox.run(&["run", "--rm", &image, "x"]));
    assert!(wasm_run.contains("Hello from wbox!"), "{wasm_run}");
    let out = wbox.run(&["run", "--rm", "--platform", "linux/amd64", &image, "echo", "native"]);
    assert_eq!(stdout(&out), "native\n", "{}", stderr(&out));
    // Now the native one is stored; asking for wasm pulls it back.
    let back = ok(wbox.run(&["run", "--rm", "--platform", "wasi/wasm", &image, "x"]));
    assert!(back.contains("Hello from wbox!"), "{back}");
}

#[test]
fn a_multi_stage_build_runs_native_steps_and_ships_wasm() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let wbox = Wbox::new();
    let ctx = tempfile::tempdir().unwrap();
    fs::copy(harness::guest("hello.wasm"), ctx.path().join("hello.wasm")).unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        format!(
            "FROM {image} AS build\n\
             WORKDIR /src\n\
             COPY hello.wasm ./\n\
             RUN mkdir -p /out && cp hello.wasm /out/app.wasm && echo \"built by $(uname -s)\" > /out/note.txt\n\
             RUN rm hello.wasm\n\
             \n\
             FROM scratch\n\
             COPY --from=build /out/app.wasm /app.wasm\n\
             COPY --from=build /out/note.txt /note.txt\n\
             ENTRYPOINT [\"/app.wasm\"]\n"
        ),
    )
    .unwrap();
    let dir = ctx.path().to_str().unwrap();
    let out = wbox.run(&["build", "--progress", "plain", "-t", "local/multi:1", dir]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let run = ok(wbox.run(&["run", "--rm", "local/multi:1", "x"]));
    assert!(run.contains("Hello from wbox!"), "{run}");
    let inspect = ok(wbox.run(&["inspect", "local/multi:1"]));
    assert!(inspect.contains("\"Os\": \"wasi\""), "{inspect}");

    // The native stage alone is a linux image whose layers hold what RUN did.
    ok(wbox.run(&["build", "--target", "build", "-t", "local/multi:build", dir]));
    let note = ok(wbox.run(&["run", "--rm", "local/multi:build", "cat", "/out/note.txt"]));
    assert_eq!(note, "built by Linux\n");
    let gone = wbox.run(&["run", "--rm", "local/multi:build", "ls", "/src"]);
    assert_eq!(stdout(&gone), "", "the second RUN's whiteout hides the file");
    // No /etc file of the step's container leaked into a layer: the
    // unpacked images hold only the image's own.
    for rootfs in fs::read_dir(wbox.root.path().join("rootfs")).unwrap().flatten() {
        if let Ok(etc) = fs::read_dir(rootfs.path().join("etc")) {
            let mut names: Vec<String> =
                etc.flatten().map(|e| e.file_name().into_string().unwrap()).collect();
            names.sort();
            assert_eq!(names, ["group", "passwd"]);
        }
    }
    // Built again: every step cached; a failing RUN stops the build with its code.
    // The result is wasi/wasm: asking for another platform is an error.
    let wrong = wbox.run(&["build", "--platform", "linux/amd64", "-t", "local/multi:3", dir]);
    assert!(stderr(&wrong).contains("the final stage makes a wasi/wasm image"), "{}", stderr(&wrong));
    let again = ok(wbox.run(&["build", "--progress", "plain", "-t", "local/multi:2", dir]));
    assert_eq!(again.matches("CACHED").count(), 5, "{again}");
    fs::write(ctx.path().join("Dockerfile"), format!("FROM {image}\nRUN echo failing; exit 3\n")).unwrap();
    let failed = wbox.run(&["build", "-t", "local/fails", dir]);
    assert_ne!(code(&failed), 0);
    assert!(stderr(&failed).contains("failed with exit code 3"), "{}", stderr(&failed));
    assert!(stdout(&failed).contains("failing"), "{}", stdout(&failed));
}

#[test]
fn the_python_example_builds_from_source_in_a_debian_stage() {
    let _turn = one_at_a_time();
    require_package_registries();
    let registry = Registry::start();
    push_debian_python_image(&registry, "debian-python:bookworm");
    let wbox = Wbox::new();
    let base = format!("BASE={}/debian-python:bookworm", registry.addr);
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/hello-http");
    let dockerfile = format!("{example}/Dockerfile.multistage");
    let out = wbox.run(&[
        "build",
        "--progress",
        "plain",
        "-f",
        &dockerfile,
        "--build-arg",
        &base,
        "-t",
        "local/hello-src:1",
        example,
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let inspect = ok(wbox.run(&["inspect", "local/hello-src:1"]));
    assert!(inspect.contains("\"Os\": \"wasi\""), "{inspect}");

    ok(wbox.run(&["run", "-d", "--name", "hello-src", "-p", "18190:80", "local/hello-src:1"]));
    wait_for("the component to answer", || http_get(18190).is_ok());
    assert_eq!(http_get(18190).unwrap(), "Hello from wbox!\n");
    ok(wbox.run(&["rm", "-f", "hello-src"]));
}

/// wbox run as user 65534 (nobody) through setpriv, with a root it owns.
struct Unprivileged {
    root: tempfile::TempDir,
    binary: std::path::PathBuf,
}

impl Unprivileged {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(root.path(), Some(65534), Some(65534)).unwrap();
        // A copy of wbox that this user may execute wherever the tests live.
        let binary = root.path().join("wbox-bin");
        fs::copy(env!("CARGO_BIN_EXE_wbox"), &binary).unwrap();
        Unprivileged { root, binary }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&self.binary)
            .args(args)
            .env("WBOX_ROOT", self.root.path().join("wbox"))
            .env("HOME", self.root.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }
}

#[test]
fn an_unprivileged_user_runs_rootless_containers() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let image = image.as_str();
    let user = Unprivileged::new();
    let before = host_traces();
    if !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        // cgroup v1 (this CI machine): libcontainer cannot make a container
        // without root there, and wbox says so before anything runs.
        let out = user.run(&["run", "--rm", image, "echo", "rootless"]);
        assert_eq!(code(&out), 125);
        assert!(stderr(&out).contains("native containers need root on this host"), "{}", stderr(&out));
        // Wasm images need no privileges.
        let wasm = user.run(&["run", "--rm", &harness::guest("hello.wasm"), "x"]);
        assert!(stdout(&wasm).contains("Hello from wbox!"), "{}", stderr(&wasm));
        assert_eq!(host_traces(), before);
        return;
    }
    let out = user.run(&["run", "--rm", image, "echo", "rootless"]);
    assert_eq!((code(&out), stdout(&out).as_str()), (0, "rootless\n"), "{}", stderr(&out));
    // Root inside its own user namespace is this user outside.
    let map = user.run(&["run", "--rm", image, "cat", "/proc/self/uid_map"]);
    let map: Vec<String> = stdout(&map).split_whitespace().map(str::to_owned).collect();
    assert_eq!(map, ["0", "65534", "1"]);
    assert!(stdout(&user.run(&["run", "--rm", image, "id", "-u"])).starts_with('0'));

    // Networks: loopback is up with none; the default reaches the host.
    let lo =
        user.run(&["run", "--rm", "--network", "none", image, "ping", "-c", "1", "-W", "2", "127.0.0.1"]);
    assert!(stdout(&lo).contains("1 packets received"), "{}{}", stdout(&lo), stderr(&lo));
    let port = text_server("from the host");
    let url = format!("http://10.0.2.2:{port}/");
    let fetched = user.run(&["run", "--rm", image, "wget", "-qO-", &url]);
    assert_eq!(stdout(&fetched), "from the host", "{}", stderr(&fetched));

    // A grant, read-only: the kernel refuses the write.
    let data = tempfile::tempdir().unwrap();
    fs::write(data.path().join("in.txt"), "host data\n").unwrap();
    std::os::unix::fs::chown(data.path(), Some(65534), Some(65534)).unwrap();
    let ro = format!("{}:/data:ro", data.path().display());
    assert_eq!(stdout(&user.run(&["run", "--rm", "-v", &ro, image, "cat", "/data/in.txt"])), "host data\n");
    assert_ne!(code(&user.run(&["run", "--rm", "-v", &ro, image, "touch", "/data/x"])), 0);

    // What needs root says so, and nothing runs.
    let limited = user.run(&["run", "--rm", "--memory", "32m", image, "true"]);
    assert_eq!(code(&limited), 125);
    assert!(stderr(&limited).contains("need cgroups"), "{}", stderr(&limited));
    let other = user.run(&["run", "--rm", "-u", "nobody", image, "true"]);
    assert_eq!(code(&other), 125);
    assert!(stderr(&other).contains("needs wbox to run as root"), "{}", stderr(&other));
    wait_for("nothing left behind", || host_traces() == before);
}
