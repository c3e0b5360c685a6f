//! Docker's Engine API served by `wbox system service`, driven by the real
//! `docker` CLI (and raw requests where a client would hide the answer).
//! What wbox serves is what it holds: the CLI and the service see the same
//! containers at the same time.

use wbox_test_harness as harness;

use harness::api::Service;
use std::process::Output;

use harness::{Wbox, busybox_image, code, ok, probe_image, stderr, stdout, wait_for};

#[test]
fn docker_run_pulls_attaches_and_exits_as_the_guest_does() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    assert_eq!(ok(service.run(&["version", "--format", "{{.Server.APIVersion}}"])), "1.44\n");

    // Not in the store: the CLI is told so, pulls through the service, and
    // runs it, its stdout and stderr each on its own stream.
    let out = service.run(&["run", "--rm", &image, "args", "a", "b c"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("Unable to find image"), "{}", stderr(&out));
    assert_eq!(stdout(&out), ok(wbox.run(&["run", "--rm", &image, "args", "a", "b c"])));
    let out = service.run(&["run", "--rm", &image, "err", "3"]);
    let direct = wbox.run(&["run", "--rm", &image, "err", "3"]);
    assert_eq!((stdout(&out), stderr(&out), code(&out)), (stdout(&direct), stderr(&direct), 0));

    // The guest's exit code is docker's.
    assert_eq!(code(&service.run(&["run", "--rm", &image, "exit", "3"])), 3);
    // `--rm` left nothing.
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])), "");

    // Without --rm the container stays, for both to see.
    let out = service.run(&["run", "--name", "kept", &image, "args", "x"]);
    assert_eq!(stdout(&out), ok(wbox.run(&["run", "--rm", &image, "args", "x"])));
    assert_eq!(
        ok(wbox.run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])).split(" Exited").next(),
        Some("kept")
    );
    assert_eq!(ok(service.run(&["logs", "kept"])), stdout(&out));
    assert_eq!(ok(service.run(&["rm", "kept"])), "kept\n");
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])), "");
}

#[test]
fn a_detached_container_is_the_same_container_to_the_cli_and_the_service() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &image]));
    let service = Service::start(&wbox);
    let id = ok(service.run(&["run", "-d", "--name", "ticker", "-l", "team=a", &image, "tick", "0"]))
        .trim()
        .to_owned();
    assert_eq!(id.len(), 64, "{id}");
    assert_eq!(
        ok(wbox.run(&["ps", "--format", "{{.ID}} {{.Names}} {{.State}}"])),
        format!("{} ticker running\n", &id[..12])
    );
    assert_eq!(
        ok(service.run(&["ps", "--format", "{{.ID}} {{.Names}} {{.Label \"team\"}}"])),
        format!("{} ticker a\n", &id[..12])
    );
    wait_for("ticks in the log", || stdout(&service.run(&["logs", "ticker"])).contains("tick 2\n"));
    let logs = service.run(&["logs", "--tail", "1", "ticker"]);
    assert_eq!(stdout(&logs).lines().count() + stderr(&logs).lines().count(), 1, "{logs:?}");

    // The guest ignores the request, so it is interrupted after the grace period.
    assert_eq!(ok(service.run(&["stop", "-t", "1", "ticker"])), "ticker\n");
    assert_eq!(ok(wbox.run(&["inspect", "--format", "{{.State.ExitCode}}", "ticker"])), "137\n");
    assert_eq!(
        ok(service.run(&["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "ticker"])),
        "exited 137\n"
    );
    assert_eq!(ok(service.run(&["wait", "ticker"])), "137\n");
    assert_eq!(ok(service.run(&["rm", "ticker"])), "ticker\n");
    let out = service.run(&["rm", "ticker"]);
    assert!(code(&out) == 1 && stderr(&out).contains("No such container: ticker"), "{}", stderr(&out));
}

#[test]
fn images_and_volumes_through_the_service() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    let out = service.run(&["pull", &image]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("Status: Downloaded newer image for"), "{}", stdout(&out));
    assert_eq!(ok(service.run(&["images", "--format", "{{.Repository}}:{{.Tag}}"])), format!("{image}\n"));
    ok(service.run(&["tag", &image, "probe:copy"]));
    assert!(ok(wbox.run(&["images"])).contains("probe "), "the CLI sees the tag");
    assert_eq!(ok(service.run(&["rmi", "probe:copy"])), "Untagged: probe:copy\n");
    let out = service.run(&["inspect", "--format", "{{.Os}}/{{.Architecture}}", &image]);
    assert_eq!(stdout(&out), ok(wbox.run(&["inspect", "--format", "{{.Os}}/{{.Architecture}}", &image])));
    // save, rmi, load: the image comes back under its name.
    let saved = wbox.root.path().join("probe.tar");
    ok(service.run(&["save", "-o", saved.to_str().unwrap(), &image]));
    ok(service.run(&["rmi", &image]));
    assert_eq!(ok(service.run(&["load", "-i", saved.to_str().unwrap()])), format!("Loaded image: {image}\n"));
    assert_eq!(ok(wbox.run(&["images", "--format", "{{.Repository}}:{{.Tag}}"])), format!("{image}\n"));

    assert_eq!(ok(service.run(&["volume", "create", "data"])), "data\n");
    assert_eq!(ok(wbox.run(&["volume", "ls", "-q"])), "data\n");
    ok(service.run(&["run", "--rm", "-v", "data:/data", &image, "write", "/data/note", "kept"]));
    assert_eq!(ok(wbox.run(&["run", "--rm", "-v", "data:/data", &image, "show", "/data/note"])), "kept");
    ok(service.run(&["create", "--name", "user", "-v", "data:/data", &image]));
    // The docker CLI's table of what the service reports is wbox's own.
    assert_eq!(ok(service.run(&["system", "df"])), ok(wbox.run(&["system", "df"])));
    let out = service.run(&["volume", "rm", "data"]);
    assert!(code(&out) == 1 && stderr(&out).contains("in use"), "{}", stderr(&out));
    ok(service.run(&["rm", "user"]));
    assert_eq!(ok(service.run(&["volume", "rm", "data"])), "data\n");
    assert_eq!(ok(wbox.run(&["volume", "ls", "-q"])), "");
}

#[test]
fn bad_requests_get_dockers_error_shape_and_the_service_carries_on() {
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    let (status, body) = service.request("GET", "/v1.44/no/such/endpoint", "");
    assert_eq!((status, body.trim()), (404, r#"{"message":"page not found"}"#));
    let (status, body) = service.request("POST", "/v1.44/containers/create", "{not json");
    assert_eq!(status, 400, "{body}");
    assert!(body.starts_with(r#"{"message":"invalid container config: "#), "{body}");
    let (status, body) = service.request("GET", "/containers/nothing/json", "");
    assert_eq!((status, body.trim()), (404, r#"{"message":"No such container: nothing"}"#));
    let (status, body) = service.request("POST", "/containers/create", r#"{"Image":"localhost:1/none:1"}"#);
    assert_eq!(status, 404, "{body}");
    let (status, body) = service.request("POST", "/v1.44/containers/any/pause", "");
    assert_eq!(status, 501, "{body}");
    assert!(body.contains("wbox does not pause containers"), "{body}");
    assert_eq!(ok(service.run(&["ps", "-a", "-q"])), "");
}

#[test]
fn containers_outlive_a_killed_service() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    ok(service.run(&["pull", &image]));
    ok(service.run(&["run", "-d", "--name", "long", &image, "sleep", "60"]));
    service.kill();
    assert_eq!(ok(wbox.run(&["ps", "--format", "{{.Names}} {{.State}}"])), "long running\n");
    let service = Service::start(&wbox);
    assert_eq!(ok(service.run(&["ps", "--format", "{{.Names}} {{.State}}"])), "long running\n");
    assert_eq!(ok(service.run(&["rm", "-f", "long"])), "long\n");
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])), "");
}

/// Clients that go away: the docker CLI killed while attached to a run, and
/// a pull whose connection closes as soon as it is asked. The container
/// runs on and is managed as any; the store holds the whole image or none,
/// and the next pull completes.
#[test]
fn clients_that_go_away_mid_attach_or_mid_pull_leave_consistent_state() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    ok(service.run(&["pull", "-q", &image]));
    let mut attached =
        service.docker().args(["run", "--name", "held", &image, "sleep", "60"]).spawn().unwrap();
    wait_for("the run", || ok(wbox.run(&["ps", "-q", "-f", "name=held"])).len() > 1);
    attached.kill().unwrap();
    attached.wait().unwrap();
    assert_eq!(ok(service.run(&["ps", "--format", "{{.Names}} {{.State}}"])), "held running\n");
    ok(service.run(&["stop", "-t", "1", "held"]));
    assert_eq!(ok(service.run(&["ps", "-a", "--format", "{{.Names}} {{.State}}"])), "held exited\n");
    ok(service.run(&["rm", "held"]));

    ok(service.run(&["rmi", &image]));
    {
        use std::io::Write;
        let mut stream = std::os::unix::net::UnixStream::connect(service.socket()).unwrap();
        let path = format!("/v1.44/images/create?fromImage={image}");
        write!(stream, "POST {path} HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n\r\n").unwrap();
    }
    // The pull may finish or stop without its client; the store shows the
    // whole image or none meanwhile, never a part.
    let listed = || ok(wbox.run(&["images", "-q"]));
    let first = listed();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let then = listed();
    ok(service.run(&["pull", "-q", &image]));
    let whole = listed();
    assert!(!whole.is_empty());
    for seen in [first, then] {
        assert!(seen.is_empty() || seen == whole, "the store listed {seen:?}; the whole image is {whole:?}");
    }
    ok(service.run(&["run", "--rm", &image, "exit", "0"]));
}

#[test]
fn docker_build_push_and_pull_through_the_service() {
    let registry = harness::registry::Registry::start();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(harness::guest("probe.wasm"), context.path().join("probe.wasm")).unwrap();
    let dockerfile = "FROM scratch\nCOPY probe.wasm /app.wasm\nRUN [\"/app.wasm\", \"args\", \"from-a-step\"]\nLABEL stage=built\nCOPY . /context/\nENTRYPOINT [\"/app.wasm\"]\n";
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let image = format!("{}/built:1", registry.addr);

    let out = service.run(&["build", "-t", &image, "--label", "by=api", context.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("Step 2/6 : COPY probe.wasm /app.wasm"), "{}", stdout(&out));
    // A step's output reaches the client, not the service's own stdout.
    assert!(stdout(&out).contains("[from-a-step]\n"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("Successfully tagged {image}")), "{}", stdout(&out));
    let labels = ["inspect", "--format", "{{.Config.Labels.stage}} {{.Config.Labels.by}}", &image];
    assert_eq!(ok(service.run(&labels)), "built api\n");
    assert_eq!(
        ok(service.run(&["run", "--rm", &image, "args", "ok"])),
        ok(wbox.run(&["run", "--rm", &image, "args", "ok"]))
    );
    // The context as the client sent it, nothing of wbox's beside it.
    assert_eq!(ok(service.run(&["run", "--rm", &image, "ls", "/context"])), "Dockerfile\nprobe.wasm\n");
    let history = ["history", "--format", "{{.CreatedBy}}", &image];
    assert_eq!(ok(service.run(&history)), ok(wbox.run(&history)));

    let out = service.run(&["push", &image]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("1: digest: sha256:"), "{}", stdout(&out));
    ok(service.run(&["rmi", &image]));
    assert_eq!(ok(wbox.run(&["images", "-q"])), "");
    ok(service.run(&["pull", &image]));
    assert_eq!(
        ok(service.run(&["run", "--rm", &image, "args", "again"])),
        ok(wbox.run(&["run", "--rm", &image, "args", "again"]))
    );

    // A Dockerfile that fails: the client is told why, and nothing is tagged.
    std::fs::write(context.path().join("Dockerfile"), "FROM scratch\nCOPY missing.txt /\n").unwrap();
    let out = service.run(&["build", "-t", "broken:1", context.path().to_str().unwrap()]);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("missing.txt"), "{}", stderr(&out));
    assert!(!ok(wbox.run(&["images"])).contains("broken"));
}

#[test]
fn rename_prune_and_events_through_the_service() {
    let (_registry, image) = probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &image]));
    let service = Service::start(&wbox);
    let since = format!(
        "{:.3}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() - 1.0
    );
    ok(service.run(&["create", "--name", "first", &image]));
    ok(service.run(&["rename", "first", "second"]));
    assert_eq!(ok(wbox.run(&["ps", "-a", "--format", "{{.Names}}"])), "second\n");
    let out = service.run(&["container", "prune", "-f"]);
    assert!(stdout(&out).starts_with("Deleted Containers:\n"), "{}", stdout(&out));
    assert_eq!(ok(wbox.run(&["ps", "-a", "-q"])), "");
    let until = format!(
        "{:.3}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() + 0.5
    );
    let events = [
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "type=container",
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ];
    let through_service = ok(service.run(&events));
    assert_eq!(
        through_service,
        "container create first\ncontainer rename second\ncontainer destroy second\n"
    );
    assert_eq!(through_service, ok(wbox.run(&events)));
}

#[test]
fn docker_exec_runs_commands_in_a_native_container_only() {
    let registry = harness::registry::Registry::start();
    harness::images::push_busybox_image(&registry, "busybox:latest");
    let busybox = format!("{}/busybox:latest", registry.addr);
    let (_probe_registry, probe) = probe_image();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    ok(service.run(&["run", "-d", "--name", "box", &busybox, "sleep", "60"]));
    assert_eq!(ok(service.run(&["exec", "box", "echo", "hi"])), "hi\n");
    let out = service.run(&["exec", "box", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!((stdout(&out), stderr(&out), code(&out)), ("out\n".into(), "err\n".into(), 3));
    let mut exec = service.docker();
    exec.args(["exec", "-i", "box", "cat"]);
    assert_eq!(stdout(&harness::output_with_stdin(exec, b"typed\n")), "typed\n");
    let out = service.run(&[
        "exec",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "-u",
        "nobody",
        "box",
        "sh",
        "-c",
        "echo $A $(pwd) $(id -un)",
    ]);
    assert_eq!(stdout(&out), "1 /tmp nobody\n", "{}", stderr(&out));
    // `-it` through script(1): the command's stdio is a terminal.
    let mut script = service.client("script");
    script.args(["-qec", "docker exec -it box sh", "/dev/null"]);
    let out = harness::output_with_stdin(script, b"[ -t 0 ] && [ -t 1 ] && echo on-a-$((6*7))\nexit 4\n");
    assert!(stdout(&out).contains("\r\non-a-42\r\n"), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), 4);
    // The client's terminal size reaches the command's (resize).
    let sized = "stty rows 31 cols 101; docker exec -it box sh -c 'sleep 0.5; stty size'";
    let mut script = service.client("script");
    script.args(["-qec", sized, "/dev/null"]);
    let out = script.output().unwrap();
    assert!(stdout(&out).contains("31 101"), "{}{}", stdout(&out), stderr(&out));

    ok(service.run(&["run", "-d", "--name", "wasm", &probe, "sleep", "60"]));
    let out = service.run(&["exec", "wasm", "echo", "hi"]);
    assert!(code(&out) != 0 && stderr(&out).contains("runs a wasm program"), "{}", stderr(&out));
    ok(service.run(&["rm", "-f", "box", "wasm"]));
}

/// tests/python/test_docker_py.py: docker-py, unchanged, against the
/// service (tests/python/install.sh puts it in target/python-venv).
#[test]
fn docker_py_drives_the_service() {
    let (registry, image) = probe_image();
    harness::images::push_busybox_image(&registry, "busybox:latest");
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    let python = harness::workspace().join("target/python-venv/bin/python");
    assert!(python.exists(), "{} is missing: run tests/python/install.sh", python.display());
    let suite = harness::workspace().join("tests/python/test_docker_py.py");
    let out = service
        .client(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(&suite)
        .env("WBOX_PROBE_IMAGE", &image)
        .env("WBOX_BUSYBOX_IMAGE", format!("{}/busybox:latest", registry.addr))
        .env("WBOX_REGISTRY", &registry.addr)
        .env("WBOX_PROBE_WASM", harness::guest("probe.wasm"))
        .current_dir(wbox.root.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

/// tests/python/test_testcontainers.py: testcontainers, unchanged, with the
/// hello-http wasm image (examples/build-python.sh makes its component).
#[test]
fn testcontainers_runs_a_wasm_http_service() {
    let wbox = Wbox::with_shared_compile_cache();
    let tag = "hello-http:tc";
    harness::build_hello_http(&wbox, tag);
    let service = Service::start(&wbox);
    let python = harness::workspace().join("target/python-venv/bin/python");
    let suite = harness::workspace().join("tests/python/test_testcontainers.py");
    let out = service
        .client(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(&suite)
        .env("WBOX_HELLO_HTTP_IMAGE", tag)
        .env("TESTCONTAINERS_RYUK_DISABLED", "true")
        // In a container (this machine has /.dockerenv) testcontainers takes
        // the daemon for Docker-in-Docker and asks for the container's
        // gateway on the default bridge, where wbox's default network has no
        // address: its published ports are the host's, as from outside.
        .env("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
        .current_dir(wbox.root.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

/// `docker cp` both ways, by the archive endpoints: into a directory, to a
/// new name, a directory, a tar on stdin, and out again.
#[test]
fn docker_cp_copies_between_the_host_and_a_container() {
    let (_registry, busybox) = busybox_image();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    ok(service.run(&["run", "-d", "--name", "box", &busybox, "sleep", "60"]));
    let host = tempfile::tempdir().unwrap();
    let file = host.path().join("a.txt");
    std::fs::write(&file, "hello\n").unwrap();
    std::fs::create_dir(host.path().join("d")).unwrap();
    std::fs::write(host.path().join("d/x"), "x\n").unwrap();
    let file = file.to_str().unwrap();
    let dir = host.path().join("d");
    ok(service.run(&["cp", file, "box:/tmp/"]));
    ok(service.run(&["cp", file, "box:/tmp/b.txt"]));
    ok(service.run(&["cp", dir.to_str().unwrap(), "box:/tmp/"]));
    let listed = ok(service.run(&["exec", "box", "sh", "-c", "cat /tmp/a.txt /tmp/b.txt /tmp/d/x"]));
    assert_eq!(listed, "hello\nhello\nx\n");
    // A directory over a file is refused, as Docker refuses it.
    let out = service.run(&["cp", dir.to_str().unwrap(), "box:/tmp/a.txt"]);
    assert!(code(&out) != 0, "{}", stdout(&out));

    let mut tar = service.docker();
    tar.args(["cp", "-", "box:/tmp"]);
    let archive =
        std::process::Command::new("tar").args(["-C", host.path().to_str().unwrap(), "-c", "d"]).output();
    assert_eq!(code(&harness::output_with_stdin(tar, &archive.unwrap().stdout)), 0);

    let out = host.path().join("out");
    std::fs::create_dir(&out).unwrap();
    ok(service.run(&["cp", "box:/tmp/a.txt", out.to_str().unwrap()]));
    ok(service.run(&["cp", "box:/tmp/d", out.join("d2").to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "hello\n");
    assert_eq!(std::fs::read_to_string(out.join("d2/x")).unwrap(), "x\n");
    let out = service.run(&["cp", "box:/nope", host.path().to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("No such container:path: box:/nope"), "{}", stderr(&out));
    ok(service.run(&["rm", "-f", "box"]));
}

/// `docker run -i` (StdinOnce): what is piped in reaches the guest, whose
/// stdin ends with it; `-it` through script(1), a terminal as a user has.
#[test]
fn docker_run_feeds_stdin_and_a_terminal() {
    let (_registry, busybox) = busybox_image();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    ok(service.run(&["pull", "-q", &busybox]));
    let mut run = service.docker();
    run.args(["run", "-i", "--rm", &busybox, "sh", "-c", "cat; echo done"]);
    let out = harness::output_with_stdin(run, b"typed\n");
    assert_eq!((stdout(&out).as_str(), code(&out)), ("typed\ndone\n", 0), "{:?}", out);

    let command = format!("docker run -it --rm --entrypoint=sh {busybox}");
    let mut script = service.client("script");
    script.args(["-qec", &command, "/dev/null"]);
    let out = harness::output_with_stdin(script, b"tty && echo on-a-$((6*7))\nexit 3\n");
    assert!(stdout(&out).contains("/dev/pts/0\r\non-a-42"), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), 3);
    assert_eq!(ok(wbox.run(&["ps", "-aq"])), "");
}

/// `docker top`, `stats`, `diff` and `export` of a native container, and
/// the stats of a wasm one.
#[test]
fn docker_top_stats_diff_and_export() {
    let (_registry, busybox) = busybox_image();
    let (_probe_registry, probe) = probe_image();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    ok(service.run(&[
        "run",
        "-d",
        "--name",
        "box",
        "-m",
        "64m",
        &busybox,
        "sh",
        "-c",
        "touch /made; sleep 60",
    ]));
    wait_for("the file made", || stdout(&service.run(&["exec", "box", "ls", "/made"])) == "/made\n");
    let top = ok(service.run(&["top", "box"]));
    let mut lines = top.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
    assert!(lines.any(|l| l.ends_with("sleep 60")), "{top}");
    assert_eq!(
        ok(service.run(&["top", "box", "-o", "pid,comm"])).lines().filter(|l| l.contains("sleep")).count(),
        1
    );

    let format = "{{.Name}} {{.PIDs}} {{.MemUsage}}";
    let stats = ok(service.run(&["stats", "--no-stream", "--format", format, "box"]));
    let words: Vec<&str> = stats.split_whitespace().collect();
    assert_eq!((words[0], words[1], words[3], words[4]), ("box", "1", "/", "64MiB"), "{stats}");
    let cpu = ok(service.run(&["stats", "--no-stream", "--format", "{{.CPUPerc}}", "box"]));
    assert!(cpu.trim_end().ends_with('%') && cpu.trim_end() != "--", "{cpu}");

    assert_eq!(ok(service.run(&["diff", "box"])), "A /made\n");
    let exported = service.docker().args(["export", "box"]).output().unwrap();
    assert_eq!(code(&exported), 0);
    let listing = harness::output_with_stdin(
        {
            let mut tar = std::process::Command::new("tar");
            tar.arg("-t");
            tar
        },
        &exported.stdout,
    );
    let names = stdout(&listing);
    assert!(names.lines().any(|n| n == "made") && names.lines().any(|n| n == "bin/busybox"), "{names}");

    ok(service.run(&["run", "-d", "--name", "wasm", &probe, "sleep", "60"]));
    let stats = ok(service.run(&["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "wasm"]));
    assert_eq!(stats, "wasm 1\n");
    ok(service.run(&["rm", "-f", "box", "wasm"]));
}

/// The oracle: the same docker CLI, the same commands, against a private
/// dockerd and against the service, over the same busybox image. What they
/// print (stdout) and their exit codes must be the same. Runs use
/// `--network none`: that dockerd has no bridge.
#[test]
fn the_docker_cli_gets_dockers_answers_from_the_service() {
    let (_registry, busybox) = busybox_image();
    let dockerd = harness::dockerd::Dockerd::start();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    let on_dockerd = |args: &[&str]| {
        let mut docker = service.docker();
        docker.env("DOCKER_HOST", &dockerd.host).args(args).output().unwrap()
    };
    let same = |args: &[&str]| -> String {
        let (docker, wbox) = (on_dockerd(args), service.run(args));
        assert_eq!(
            (stdout(&wbox), code(&wbox)),
            (stdout(&docker), code(&docker)),
            "{args:?} through wbox differs from dockerd's\nwbox's stderr: {}\ndockerd's stderr: {}",
            stderr(&wbox),
            stderr(&docker)
        );
        stdout(&docker)
    };
    let both_succeed = |args: &[&str]| {
        let (docker, wbox) = (on_dockerd(args), service.run(args));
        assert_eq!((code(&docker), code(&wbox)), (0, 0), "{args:?}: {}{}", stderr(&docker), stderr(&wbox));
    };
    // `run -d --network none --name NAME FLAGS… busybox COMMAND…` on both.
    let detached = |name: &str, flags: &[&str], command: &[&str]| {
        let run = ["run", "-d", "--network", "none", "--name", name];
        both_succeed(&[&run[..], flags, &[busybox.as_str()], command].concat());
    };

    same(&["pull", "-q", &busybox]);
    same(&["images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"]);
    same(&["inspect", "--format", "{{.Os}} {{.Architecture}} {{.Config.Cmd}} {{.RepoTags}}", &busybox]);
    same(&["tag", &busybox, "copy:1"]);
    same(&["images", "--format", "{{.Repository}}:{{.Tag}}", "copy"]);
    same(&["rmi", "copy:1"]);

    same(&["run", "--rm", "--network", "none", &busybox, "echo", "hi"]);
    same(&["run", "--rm", "--network", "none", &busybox, "sh", "-c", "echo out; echo err >&2; exit 3"]);
    same(&["run", "--rm", "--network", "none", &busybox, "no-such-program"]);
    same(&["volume", "create", "data"]);
    same(&["volume", "ls", "--format", "{{.Driver}} {{.Name}}"]);
    same(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "data:/data",
        &busybox,
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    same(&["run", "--rm", "--network", "none", "-v", "data:/data", &busybox, "cat", "/data/f"]);

    let serve = "echo serving; trap 'exit 0' TERM; sleep 30 & wait";
    detached("web", &["-l", "tier=web"], &["sh", "-c", serve]);
    wait_for("the output on both", || {
        stdout(&on_dockerd(&["logs", "web"])) == "serving\n"
            && stdout(&service.run(&["logs", "web"])) == "serving\n"
    });
    same(&["ps", "--format", "{{.Names}} {{.Image}} {{.Command}} {{.State}} {{.Labels}}"]);
    same(&["inspect", "--format", "{{.Name}} {{.State.Status}} {{.Config.Cmd}} {{.Config.Labels}}", "web"]);
    same(&["exec", "web", "cat", "/data/f"]);
    same(&["stop", "-t", "5", "web"]);
    same(&["ps", "-a", "--format", "{{.Names}} {{.State}} {{.Status}}"]);
    same(&["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}", "web"]);
    same(&["rm", "web"]);
    same(&["volume", "rm", "data"]);

    both_succeed(&[
        "create",
        "--network",
        "none",
        "--name",
        "job",
        &busybox,
        "sh",
        "-c",
        "touch /made; exit 4",
    ]);
    same(&["ps", "-a", "--format", "{{.Names}} {{.State}} {{.Status}}"]);
    same(&["start", "-a", "job"]);
    same(&["wait", "job"]);
    same(&["diff", "job"]);
    same(&["rename", "job", "task"]);
    same(&["inspect", "--format", "{{.Name}} {{.State.ExitCode}} {{.RestartCount}}", "task"]);
    same(&["rm", "task"]);
    detached("long", &[], &["sleep", "30"]);
    same(&["kill", "long"]);
    same(&["wait", "long"]);
    same(&["kill", "long"]);
    same(&["rm", "long"]);

    // Restart policies: on-failure gives up after its count; a stopped
    // `always` container stays stopped.
    detached("flaky", &["--restart", "on-failure:2"], &["sh", "-c", "echo try; exit 3"]);
    let settled = "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}";
    wait_for("both to give up", || {
        let done = |out: Output| stdout(&out) == "exited 2 3\n";
        done(on_dockerd(&["inspect", "-f", settled, "flaky"]))
            && done(service.run(&["inspect", "-f", settled, "flaky"]))
    });
    same(&[
        "inspect",
        "-f",
        "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}",
        "flaky",
    ]);
    same(&["logs", "flaky"]);
    same(&["rm", "flaky"]);
    detached("keeper", &["--restart", "always"], &["sh", "-c", "sleep 0.2"]);
    wait_for("a restart on both", || {
        let restarted = |out: Output| stdout(&out).trim().parse::<u32>().is_ok_and(|n| n >= 1);
        restarted(on_dockerd(&["inspect", "-f", "{{.RestartCount}}", "keeper"]))
            && restarted(service.run(&["inspect", "-f", "{{.RestartCount}}", "keeper"]))
    });
    same(&["stop", "-t", "1", "keeper"]);
    std::thread::sleep(std::time::Duration::from_secs(1));
    same(&["inspect", "-f", "{{.State.Status}}", "keeper"]);
    same(&["rm", "keeper"]);

    // What is not there.
    same(&["inspect", "nothing"]);
    same(&["rm", "nothing"]);
    same(&["logs", "nothing"]);
    same(&["volume", "rm", "nothing"]);
    same(&["rmi", "nothing:1"]);
    same(&["ps", "-a", "-q"]);

    // An image saved by its id comes back without a name; an archive that
    // is none is refused.
    let id = ok(service.run(&["images", "-q", &busybox]));
    let files = tempfile::tempdir().unwrap();
    let [to_docker, to_wbox] =
        ["docker.tar", "wbox.tar"].map(|f| files.path().join(f).to_string_lossy().into_owned());
    assert_eq!(code(&on_dockerd(&["save", "-o", &to_docker, id.trim()])), 0);
    ok(service.run(&["save", "-o", &to_wbox, id.trim()]));
    same(&["rmi", &busybox]);
    let loaded = [on_dockerd(&["load", "-i", &to_docker]), service.run(&["load", "-i", &to_wbox])];
    assert_eq!(stdout(&loaded[1]), stdout(&loaded[0]), "{}", stderr(&loaded[1]));
    same(&["images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"]);
    let garbage = files.path().join("garbage.tar");
    std::fs::write(&garbage, "not an archive").unwrap();
    same(&["load", "-i", garbage.to_str().unwrap()]);
}

/// `run -d -p`, `port`, `network create`, `network connect`, a member by
/// name, and `network rm` refused while in use, through the docker CLI. As
/// root, as CI runs: a network is a bridge in a namespace wbox makes.
#[test]
fn docker_cli_publishes_ports_and_joins_networks() {
    let (_registry, busybox) = busybox_image();
    let wbox = Wbox::new();
    let service = Service::start(&wbox);
    ok(service.run(&["network", "create", "backnet"]));
    let serve = ["httpd", "-f", "-p", "8080", "-h", "/var/www"];
    let run = ["run", "-d", "--name", "web", "--network", "backnet", "-p", "127.0.0.1::8080", &busybox];
    ok(service.run(&[&run[..], &serve].concat()));
    let published = ok(service.run(&["port", "web", "8080/tcp"]));
    let port: u16 = published.trim().rsplit(':').next().unwrap().parse().unwrap();
    wait_for("the published port", || harness::get(port, "/").0 == 200);
    assert_eq!(harness::get(port, "/").1, "hello from busybox httpd\n");

    ok(service.run(&["run", "-d", "--name", "other", &busybox, "sleep", "60"]));
    ok(service.run(&["network", "connect", "backnet", "other"]));
    assert_eq!(
        ok(service.run(&["exec", "other", "wget", "-qO-", "http://web:8080/"])),
        "hello from busybox httpd\n"
    );
    assert_eq!(ok(service.run(&["network", "inspect", "-f", "{{len .Containers}}", "backnet"])), "2\n");
    let out = service.run(&["network", "rm", "backnet"]);
    assert!(code(&out) == 1 && stderr(&out).contains("has active endpoints"), "{}", stderr(&out));
    ok(service.run(&["rm", "-f", "web", "other"]));
    assert_eq!(ok(service.run(&["network", "rm", "backnet"])), "backnet\n");
}
