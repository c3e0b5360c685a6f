//! HTTP services: a `wasi:http/proxy` component (a Python app built with
//! componentize-py) served on published ports from an image pulled from a
//! real registry; a request that traps, overruns `--timeout` or outgrows
//! `--memory` gets a 500 and the service goes on; a stop drains it.

use wbox_test_harness as harness;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use harness::registry::Registry;
use harness::{Wbox, code, get, guest, ok, stderr, stdout, text_server};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn examples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"))
}

/// Builds the hello-http example image as its README says.
fn build_hello_http(wbox: &Wbox, tag: &str) {
    let dockerfile = examples().join("hello-http/Dockerfile");
    let context = examples().join("out");
    ok(wbox.run(&["build", "-q", "-t", tag, "-f", dockerfile.to_str().unwrap(), context.to_str().unwrap()]));
}

/// An image `faults` of the test component that misbehaves on request.
fn build_faults_image(wbox: &Wbox) {
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(guest("httpfaults.wasm"), context.path().join("httpfaults.wasm")).unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nCOPY httpfaults.wasm /faults.wasm\nENTRYPOINT [\"/faults.wasm\"]\n",
    )
    .unwrap();
    ok(wbox.run(&["build", "-q", "-t", "faults", context.path().to_str().unwrap()]));
}

fn inspect(wbox: &Wbox, name: &str) -> serde_json::Value {
    let out: serde_json::Value = serde_json::from_str(&ok(wbox.run(&["inspect", name]))).unwrap();
    out[0].clone()
}

#[test]
fn a_python_component_image_is_served_on_its_published_ports() {
    let registry = Registry::start();
    let wbox = Wbox::with_shared_compile_cache();
    let image = format!("{}/hello-http:1.0", registry.addr);
    build_hello_http(&wbox, &image);
    ok(wbox.run(&["push", "-q", &image]));
    ok(wbox.run(&["rmi", &image]));

    // Two copies of the same container port on two host ports.
    let (port_a, port_b) = (free_port(), free_port());
    let publish_a = format!("{port_a}:80");
    let publish_b = format!("127.0.0.1:{port_b}:80");
    ok(wbox.run(&["run", "-d", "--name", "web-a", "-p", &publish_a, &image]));
    ok(wbox.run(&["run", "-d", "--name", "web-b", "-p", &publish_b, "-e", "GREETING=Hi", &image]));
    assert_eq!(get(port_a, "/"), (200, "Hello from wbox!\n".into()));
    assert_eq!(get(port_b, "/"), (200, "Hi from wbox!\n".into()));
    assert_eq!(get(port_a, "/env?name=GREETING"), (200, "Hello\n".into()));
    assert_eq!(get(port_a, "/nothing-here").0, 404);

    // ps and inspect show the ports as Docker does.
    let ps = ok(wbox.run(&["ps"]));
    assert!(ps.contains(&format!("0.0.0.0:{port_a}->80/tcp")), "{ps}");
    assert!(ps.contains(&format!("127.0.0.1:{port_b}->80/tcp")), "{ps}");
    let b = inspect(&wbox, "web-b");
    assert_eq!(b["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"], port_b.to_string());
    assert_eq!(b["HostConfig"]["PortBindings"]["80/tcp"][0]["HostIp"], "127.0.0.1");

    // A stop drains each service: it ends by itself, well within the
    // grace period, and its port closes.
    let started = Instant::now();
    ok(wbox.run(&["stop", "-t", "20", "web-a", "web-b"]));
    assert!(started.elapsed() < Duration::from_secs(10), "stop took {:?}", started.elapsed());
    for (name, port) in [("web-a", port_a), ("web-b", port_b)] {
        let state = &inspect(&wbox, name)["State"];
        assert_eq!(
            (state["Status"].as_str(), state["ExitCode"].as_i64()),
            (Some("exited"), Some(0)),
            "{name}"
        );
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "{name}'s port is still open");
    }
    assert!(!ok(wbox.run(&["ps", "-a"])).contains("->80/tcp"), "a stopped container shows no ports");
}

#[test]
fn a_host_port_in_use_is_an_error_before_the_guest_starts() {
    let wbox = Wbox::with_shared_compile_cache();
    build_hello_http(&wbox, "hello-http");
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = wbox.run(&["run", "-d", "--name", "clash", "-p", &format!("{port}:80"), "hello-http"]);
    assert_eq!(code(&out), 125, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains(&format!("host port 0.0.0.0:{port} is already in use")),
        "{}",
        stderr(&out)
    );
    let state = &inspect(&wbox, "clash")["State"];
    assert_eq!(state["Status"], "created");
    assert!(state["Error"].as_str().unwrap().contains("already in use"));

    // EXPOSE 80 in the image publishes nothing, as in Docker: the service
    // runs, unreachable, and says so.
    ok(wbox.run(&["run", "-d", "--name", "unpublished", "hello-http"]));
    let logs = stderr(&wbox.run(&["logs", "unpublished"]));
    assert!(logs.contains("no port is published"), "{logs}");
    let inspected = inspect(&wbox, "unpublished");
    assert_eq!(inspected["NetworkSettings"]["Ports"], serde_json::json!({}));
    assert_eq!(inspected["State"]["Running"], true);
}

#[test]
fn a_failing_request_gets_a_500_and_the_service_goes_on() {
    let wbox = Wbox::with_shared_compile_cache();
    build_faults_image(&wbox);
    let port = free_port();
    let publish = format!("{port}:8080");
    ok(wbox.run(&[
        "run",
        "-d",
        "--name",
        "faults",
        "-p",
        &publish,
        "--timeout",
        "2s",
        "--memory",
        "256m",
        "faults",
    ]));

    assert_eq!(get(port, "/"), (200, "ok\n".into()));
    assert_eq!(get(port, "/crash").0, 500);
    // A request that spins is interrupted at the deadline; the others are
    // answered meanwhile.
    let spinning = std::thread::spawn(move || {
        let started = Instant::now();
        (get(port, "/spin").0, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(port, "/"), (200, "ok\n".into()));
    let (status, took) = spinning.join().unwrap();
    assert_eq!(status, 500);
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(10), "{took:?}");
    // Past the memory cap: that request fails, the next one has a fresh
    // instance.
    assert_eq!(get(port, "/alloc?mb=512").0, 500);
    assert_eq!(get(port, "/alloc?mb=8"), (200, "allocated 8\n".into()));

    // A fresh instance per request: no request sees an earlier one.
    assert_eq!(get(port, "/count"), (200, "1\n".into()));
    assert_eq!(get(port, "/count"), (200, "1\n".into()));

    let logs = stderr(&wbox.run(&["logs", "faults"])) + &stdout(&wbox.run(&["logs", "faults"]));
    assert!(logs.contains("GET /crash: the guest trapped"), "{logs}");
    assert!(logs.contains("GET /spin: the guest trapped") || logs.contains("timed out"), "{logs}");
    assert_eq!(inspect(&wbox, "faults")["State"]["Status"], "running");
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: i64) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_thousand_requests_from_fifty_clients_are_all_answered_in_bounded_memory() {
    let wbox = Wbox::with_shared_compile_cache();
    build_hello_http(&wbox, "hello-http");
    let port = free_port();
    ok(wbox.run(&["run", "-d", "--name", "load", "-p", &format!("{port}:80"), "hello-http"]));
    let pid = inspect(&wbox, "load")["State"]["Pid"].as_i64().unwrap();
    let hammer = |clients: usize, each: usize| {
        let threads: Vec<_> = (0..clients)
            .map(|_| {
                std::thread::spawn(move || {
                    (0..each).filter(|_| get(port, "/") == (200, "Hello from wbox!\n".into())).count()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum::<usize>()
    };
    assert_eq!(hammer(50, 2), 100, "warm-up");
    let before = rss_kib(pid);
    assert_eq!(hammer(50, 20), 1000, "every request answered with the greeting");
    let after = rss_kib(pid);
    eprintln!("supervisor RSS: {before} KiB after warm-up, {after} KiB after 1,000 more requests");
    assert!(after < before + 64 * 1024, "RSS grew from {before} KiB to {after} KiB");
}

#[test]
fn outgoing_requests_reach_only_granted_destinations() {
    let wbox = Wbox::with_shared_compile_cache();
    let dockerfile = examples().join("fetch-http/Dockerfile");
    let context = examples().join("out");
    ok(wbox.run(&[
        "build",
        "-q",
        "-t",
        "fetch",
        "-f",
        dockerfile.to_str().unwrap(),
        context.to_str().unwrap(),
    ]));
    let granted = text_server("hello from the file server\n");
    let other = text_server("not for the guest\n");
    let fetch =
        |port: u16, target: u16, host: &str| get(port, &format!("/?url=http://{host}:{target}/hello.txt"));
    let denied = |target: u16, host: &str| {
        (502, format!("refused http://{host}:{target}/hello.txt: HTTP-request-denied\n"))
    };

    let port = free_port();
    let grant = format!("127.0.0.1:{granted}");
    ok(wbox.run(&["run", "-d", "-p", &format!("{port}:80"), "--allow-net", &grant, "fetch"]));
    assert_eq!(
        fetch(port, granted, "127.0.0.1"),
        (200, format!("fetched http://127.0.0.1:{granted}/hello.txt: 200\nhello from the file server\n"))
    );
    assert_eq!(fetch(port, other, "127.0.0.1"), denied(other, "127.0.0.1"));

    // By name: the name's addresses, at the granted port.
    let port = free_port();
    let grant = format!("localhost:{granted}");
    ok(wbox.run(&["run", "-d", "-p", &format!("{port}:80"), "--allow-net", &grant, "fetch"]));
    assert_eq!(fetch(port, granted, "localhost").0, 200);
    assert_eq!(fetch(port, other, "localhost"), denied(other, "localhost"));

    // No grant: nothing.
    let port = free_port();
    ok(wbox.run(&["run", "-d", "-p", &format!("{port}:80"), "fetch"]));
    assert_eq!(fetch(port, granted, "127.0.0.1"), denied(granted, "127.0.0.1"));
}

#[test]
fn instance_reuse_lets_one_instance_answer_several_requests_in_turn() {
    let wbox = Wbox::with_shared_compile_cache();
    build_faults_image(&wbox);
    let port = free_port();
    ok(wbox.run(&["run", "-d", "-p", &format!("{port}:80"), "--instance-reuse", "3", "faults"]));
    // Requests one after another share an instance for three requests, then
    // get a fresh one.
    let counts: Vec<String> = (0..4).map(|_| get(port, "/count").1).collect();
    assert_eq!(counts, ["1\n", "2\n", "3\n", "1\n"]);
    // An instance that trapped is never used again.
    assert_eq!(get(port, "/count").1, "2\n");
    assert_eq!(get(port, "/crash").0, 500);
    assert_eq!(get(port, "/count").1, "1\n");
    // `stats`: the one instance kept warm for the next request, and what
    // it holds.
    let stats = ok(wbox.run(&["stats", "--no-stream", "--format", "{{.PIDs}} {{.MemUsage}}"]));
    assert!(stats.starts_with("1 ") && !stats.starts_with("1 0B "), "{stats}");
    let out = wbox.run(&["run", "--instance-reuse", "0", "faults"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
}

#[test]
fn port_names_where_a_services_port_is_published() {
    let wbox = Wbox::with_shared_compile_cache();
    build_hello_http(&wbox, "hello-http");
    let port = free_port();
    ok(wbox.run(&["run", "-d", "--name", "web", "-p", &format!("127.0.0.1:{port}:80"), "hello-http"]));
    assert_eq!(ok(wbox.run(&["port", "web"])), format!("80/tcp -> 127.0.0.1:{port}\n"));
    assert_eq!(ok(wbox.run(&["container", "port", "web", "80"])), format!("127.0.0.1:{port}\n"));
    let out = wbox.run(&["port", "web", "81/tcp"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("No public port '81/tcp' published for web"), "{}", stderr(&out));
    ok(wbox.run(&["stop", "web"]));
    assert_eq!(ok(wbox.run(&["port", "web"])), "", "a stopped container publishes nothing");
}

/// A service ends as servers do on SIGTERM and Ctrl-C (gunicorn, `wasmtime
/// serve`): it drains and exits 0; SIGKILL ends it at once (137).
#[test]
fn a_service_drains_on_sigterm_and_ctrl_c_and_dies_on_sigkill() {
    let wbox = Wbox::with_shared_compile_cache();
    build_hello_http(&wbox, "hello-http");
    for (signal, code) in [("TERM", "0"), ("INT", "0"), ("KILL", "137")] {
        let name = format!("web-{signal}");
        let port = free_port();
        ok(wbox.run(&["run", "-d", "--name", &name, "-p", &format!("127.0.0.1:{port}:80"), "hello-http"]));
        assert_eq!(get(port, "/").0, 200, "{name}");
        ok(wbox.run(&["kill", "-s", signal, &name]));
        assert_eq!(ok(wbox.run(&["wait", &name])), format!("{code}\n"), "{name}");
    }
    // In the foreground too: Ctrl-C ends `wbox run` of a service with 0.
    let port = free_port();
    let app = examples().join("out/hello-http/app.wasm");
    let child = wbox
        .command()
        .args(["run", "-p", &format!("127.0.0.1:{port}:80")])
        .arg(&app)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    harness::wait_for("the foreground service", || TcpStream::connect(("127.0.0.1", port)).is_ok());
    let sigint = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sigint.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// A WASI 0.3 service (`tests/guests/hello-p3`, `wasi:http/service`), from a
/// Docker+Wasm image and from a wasm OCI artifact: 1,000 requests from 50
/// clients are answered, each by a fresh instance; `--memory` and
/// `--timeout` hold per request; `stop` drains it.
#[test]
fn a_wasi_0_3_service_answers_isolates_limits_and_drains() {
    use harness::images::{push_artifact, push_docker_wasm_image};
    let registry = Registry::start();
    let wasm = examples().join("out/hello-p3.wasm");
    push_docker_wasm_image(&registry, "hello-p3:image", &wasm, &[]);
    push_artifact(&registry, "hello-p3:artifact", &wasm);
    let wbox = Wbox::with_shared_compile_cache();
    for kind in ["image", "artifact"] {
        let image = format!("{}/hello-p3:{kind}", registry.addr);
        let (name, port) = (format!("p3-{kind}"), free_port());
        let publish = format!("127.0.0.1:{port}:80");
        ok(wbox.run(&[
            "run",
            "-d",
            "--name",
            &name,
            "-p",
            &publish,
            "--memory",
            "32m",
            "--timeout",
            "2s",
            &image,
        ]));
        let greeting = (200, "Hello from a WASI 0.3 service!\n".to_string());
        let threads: Vec<_> = (0..50)
            .map(|_| {
                let greeting = greeting.clone();
                std::thread::spawn(move || (0..20).filter(|_| get(port, "/") == greeting).count())
            })
            .collect();
        let answered: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(answered, 1000, "{kind}: every request answered with the greeting");
        // A fresh instance each time: no request sees another's state.
        for _ in 0..3 {
            assert_eq!(get(port, "/count"), (200, "1\n".into()), "{kind}");
        }
        assert_eq!(get(port, "/grow?mb=8"), (200, "took 8 MiB\n".into()), "{kind}");
        assert_eq!(get(port, "/grow?mb=64").0, 500, "{kind}: past --memory");
        let started = Instant::now();
        assert_eq!(get(port, "/spin").0, 500, "{kind}: past --timeout");
        assert!(started.elapsed() < Duration::from_secs(10), "{kind}: /spin took {:?}", started.elapsed());
        assert_eq!(get(port, "/"), greeting, "{kind}: the service goes on");
        ok(wbox.run(&["stop", "-t", "20", &name]));
        assert_eq!(ok(wbox.run(&["wait", &name])), "0\n", "{kind}: a stop drains and exits 0");
        let logs = wbox.run(&["logs", &name]);
        assert!(
            stderr(&logs).contains("GET /spin: the guest trapped: timed out after 2s"),
            "{}",
            stderr(&logs)
        );
    }
}
