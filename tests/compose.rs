//! docker-compose (Debian's 1.29), unchanged, against `wbox system service`:
//! Docker's getting-started app (tests/compose) — a Flask web service built
//! from its Dockerfile, Redis, and the hello-http wasm component — comes up
//! on a network of its own, counts visits, reaches the wasm service by name,
//! and `down -v` leaves nothing behind. As root, as CI runs: a network is a
//! bridge in a network namespace wbox makes.
#![cfg(target_os = "linux")]

use wbox_test_harness as harness;

use harness::api::Service;
use harness::images::{push_debian_python_image, push_debian_redis_image};
use harness::registry::Registry;
use harness::{Wbox, code, ok, stderr, stdout};

#[test]
fn docker_compose_runs_the_getting_started_app() {
    harness::require_package_registries();
    let registry = Registry::start();
    push_debian_python_image(&registry, "python:bookworm");
    push_debian_redis_image(&registry, "redis:bookworm");
    let wbox = Wbox::with_shared_compile_cache();
    harness::build_hello_http(&wbox, "hello-http:compose");
    let service = Service::start(&wbox);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let compose = |args: &[&str]| {
        service
            .client("docker-compose")
            .args(["--ansi", "never", "-p", "gettingstarted", "-f"])
            .arg(harness::workspace().join("tests/compose/docker-compose.yml"))
            .args(args)
            .env("WBOX_PYTHON_IMAGE", format!("{}/python:bookworm", registry.addr))
            .env("WBOX_REDIS_IMAGE", format!("{}/redis:bookworm", registry.addr))
            .env("WBOX_HELLO_IMAGE", "hello-http:compose")
            .env("WBOX_WEB_PORT", port.to_string())
            .output()
            .expect("running docker-compose")
    };

    let up = compose(&["up", "-d"]);
    assert_eq!(code(&up), 0, "{}{}", stdout(&up), stderr(&up));
    assert!(stdout(&up).contains("Successfully installed"), "pip's output in the build's\n{}", stdout(&up));
    let ids: Vec<String> = ok(compose(&["ps", "-q"])).lines().map(str::to_owned).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let ps = ok(compose(&["ps"]));
    for name in ["gettingstarted_web_1", "gettingstarted_redis_1", "gettingstarted_hello_1"] {
        let line = ps.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} in\n{ps}"));
        assert!(line.contains(" Up "), "{line}");
    }
    assert!(ps.contains(&format!("127.0.0.1:{port}->5000/tcp")), "{ps}");

    // The app counts visits in Redis; the first answers may come before
    // Flask listens.
    let mut first = None;
    harness::wait_for("the web service", || {
        let (status, body) = harness::get(port, "/");
        first = (status == 200).then_some(body);
        first.is_some()
    });
    let count = |body: &str| -> u32 {
        let words: Vec<&str> = body.split_whitespace().collect();
        assert_eq!(words[..5], ["Hello", "World!", "I", "have", "been"], "{body}");
        words[6].parse().unwrap()
    };
    let first = count(&first.unwrap());
    assert_eq!(count(&harness::get(port, "/").1), first + 1);
    assert_eq!(harness::get(port, "/wasm"), (200, "Hello from wbox!\n".to_owned()));

    let logs = ok(compose(&["logs", "--no-color", "web"]));
    assert!(logs.contains("\"GET /wasm HTTP/1.0\" 200"), "{logs}");
    assert_eq!(ok(service.run(&["volume", "ls", "-q"])), "gettingstarted_data\n");
    assert!(ok(service.run(&["network", "ls"])).contains("gettingstarted_default"));

    let down = compose(&["down", "-v"]);
    assert_eq!(code(&down), 0, "{}{}", stdout(&down), stderr(&down));
    assert_eq!(ok(wbox.run(&["ps", "-aq"])), "");
    assert_eq!(ok(wbox.run(&["volume", "ls", "-q"])), "");
    assert_eq!(ok(wbox.run(&["network", "ls", "-q", "-f", "type=custom"])), "");
    let mut left = harness::leftovers(wbox.root.path(), &ids);
    left.retain(|trace| !trace.contains(&format!("process {} ", service.pid())));
    assert!(left.is_empty(), "{left:#?}");
}
