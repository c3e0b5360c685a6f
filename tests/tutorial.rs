//! The Docker tutorials' Python apps, built and run by wbox from their
//! Dockerfiles as the tutorials write them: a Flask server started with
//! `python`, and a Flask model service under gunicorn. Only the FROM line
//! differs: it names the harness's Debian image (bookworm's Python 3.11,
//! with pip, shaped like the official `python:3.11-slim`) in a test
//! registry. pip installs from PyPI, so the build's RUN steps need the
//! network (a native stage gets the host's). As root, as CI runs them.
#![cfg(target_os = "linux")]

use wbox_test_harness as harness;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use harness::images::push_debian_python_image;
use harness::registry::Registry;
use harness::{Wbox, code, ok, require_package_registries, stderr, stdout};

/// The base image the tutorials start from; the tests push the Debian
/// image under this name and point FROM at it.
const TUTORIAL_BASE: &str = "python:3.11-slim";

/// A registry holding the base image under the tutorials' name.
fn registry_with_base() -> Registry {
    let registry = Registry::start();
    push_debian_python_image(&registry, TUTORIAL_BASE);
    registry
}

/// The tutorial's Dockerfile with its FROM line naming the base image in
/// `registry`; not a byte else changes.
fn pointed_at(dockerfile: &str, registry: &Registry) -> String {
    let from = format!("FROM {TUTORIAL_BASE}\n");
    assert!(dockerfile.starts_with(&from));
    format!("FROM {}/{TUTORIAL_BASE}\n{}", registry.addr, &dockerfile[from.len()..])
}

/// A copy of a tutorial app of `tests/tutorial/`, the Dockerfile pointed
/// at the base image in `registry`.
fn context_of(app: &str, registry: &Registry) -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tutorial").join(app);
    let context = tempfile::tempdir().unwrap();
    let copied =
        std::process::Command::new("cp").arg("-r").arg(source.join(".")).arg(context.path()).status();
    assert!(copied.unwrap().success(), "copying {}", source.display());
    let dockerfile = context.path().join("Dockerfile");
    fs::write(&dockerfile, pointed_at(&fs::read_to_string(&dockerfile).unwrap(), registry)).unwrap();
    context
}

/// A free TCP port on the host, for `-p`.
fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port()
}

/// Builds `context` (plain progress) and returns what it printed and the
/// image's digest.
fn build(wbox: &Wbox, tag: &str, context: &Path) -> (String, String) {
    let out = wbox.run(&["build", "--progress", "plain", "-t", tag, context.to_str().unwrap()]);
    let printed = stdout(&out);
    assert_eq!(code(&out), 0, "{printed}{}", stderr(&out));
    let digest = printed
        .lines()
        .find_map(|line| line.strip_prefix("Successfully built "))
        .unwrap_or_else(|| panic!("no digest in:\n{printed}"))
        .to_owned();
    (printed, digest)
}

/// Sends `request` to the host port and returns the response's status line
/// and body, or the error.
fn exchange(port: u16, request: &str) -> Result<(String, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or_else(|| format!("no HTTP answer: {answer:?}"))?;
    Ok((head.lines().next().unwrap_or_default().to_owned(), body.to_owned()))
}

/// Asks until the container answers (the app takes a moment to start
/// listening; until then the port forwarder drops the connection).
fn until_it_answers(port: u16, request: &str) -> (String, String) {
    let start = Instant::now();
    loop {
        match exchange(port, request) {
            Ok(answer) => return answer,
            Err(e) if start.elapsed() > Duration::from_secs(60) => panic!("no answer on port {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// A tutorial's app built in a fresh wbox from its Dockerfile and files.
struct Built {
    wbox: Wbox,
    context: tempfile::TempDir,
    tag: &'static str,
    digest: String,
    /// Keeps the base image reachable while the test runs.
    _registry: Registry,
}

impl Built {
    /// Builds the app of `tests/tutorial/APP` and checks that pip installed
    /// its requirements.
    fn from(app: &str, tag: &'static str) -> Built {
        require_package_registries();
        let registry = registry_with_base();
        let context = context_of(app, &registry);
        let wbox = Wbox::new();
        let (printed, digest) = build(&wbox, tag, context.path());
        assert!(printed.contains("Successfully installed"), "pip did not install:\n{printed}");
        Built { wbox, context, tag, digest, _registry: registry }
    }

    /// `run -d --name NAME -p HOSTPORT:PORT` of the image; returns HOSTPORT.
    fn run_published(&self, name: &str, port: u16) -> u16 {
        let host_port = free_port();
        let publish = format!("{host_port}:{port}");
        ok(self.wbox.run(&["run", "-d", "--name", name, "-p", &publish, self.tag]));
        host_port
    }

    /// Stops and removes the container; returns how it exited.
    fn stop_and_remove(&self, name: &str) -> i64 {
        ok(self.wbox.run(&["stop", name]));
        let out = ok(self.wbox.run(&["inspect", name]));
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        let exit_code =
            value[0]["State"]["ExitCode"].as_i64().unwrap_or_else(|| panic!("no exit code in {out}"));
        ok(self.wbox.run(&["rm", name]));
        exit_code
    }

    /// Builds the same Dockerfile and context again: every step that makes
    /// a layer (COPY, RUN) says CACHED on the line after its own, nothing
    /// runs, and the image is the same.
    fn assert_rebuild_is_cached(&self) {
        let (printed, again) = build(&self.wbox, self.tag, self.context.path());
        let lines: Vec<&str> = printed.lines().collect();
        let mut layer_steps = 0;
        for (i, line) in lines.iter().enumerate() {
            let Some((_, instruction)) = line.split_once(" : ") else { continue };
            if line.starts_with("Step ")
                && (instruction.starts_with("RUN ") || instruction.starts_with("COPY "))
            {
                layer_steps += 1;
                assert_eq!(
                    lines.get(i + 1).copied(),
                    Some(" ---> CACHED"),
                    "{line} was not cached:\n{printed}"
                );
            }
        }
        assert_eq!(layer_steps, 3, "{printed}");
        assert!(!printed.contains("Collecting"), "pip ran again:\n{printed}");
        assert_eq!(again, self.digest, "the rebuild made another image:\n{printed}");
    }
}

#[test]
fn the_flask_tutorial_builds_unchanged_and_serves() {
    let app = Built::from("flask", "tutorial/flask");
    let port = app.run_published("flask", 5000);
    let (status, body) = until_it_answers(port, "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
    assert!(status.ends_with(" 200 OK"), "{status}: {body}");
    assert_eq!(body, "Hello from the Docker tutorial, built by wbox!\n");
    // python as PID 1 has no SIGTERM handler, so the kernel ignores the
    // signal and stop kills it after the grace period: 137, as in Docker.
    assert_eq!(app.stop_and_remove("flask"), 137);
    app.assert_rebuild_is_cached();
}

#[test]
fn the_gunicorn_tutorial_builds_unchanged_and_predicts() {
    let app = Built::from("gunicorn", "tutorial/churn");
    let inspect = ok(app.wbox.run(&["inspect", app.tag]));
    assert!(inspect.contains("9696/tcp"), "EXPOSE is not in the image:\n{inspect}");

    let port = app.run_published("churn", 9696);
    let customer = r#"{"tenure": 2, "monthlycharges": 80, "contract_monthly": 1}"#;
    let request = format!(
        "POST /predict HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \
         {}\r\n\r\n{customer}",
        customer.len()
    );
    let (status, body) = until_it_answers(port, &request);
    assert!(status.ends_with(" 200 OK"), "{status}: {body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let z: f64 = -1.5 + -0.05 * 2.0 + 0.03 * 80.0 + 1.2 * 1.0;
    let expected = 1.0 / (1.0 + (-z).exp());
    let probability = answer["churn_probability"].as_f64().unwrap_or_else(|| panic!("{body}"));
    assert!((probability - expected).abs() < 1e-9, "{body}, expected {expected}");
    assert_eq!(answer["churn"], serde_json::json!(true), "{body}");
    // gunicorn stops its workers on SIGTERM and exits 0.
    assert_eq!(app.stop_and_remove("churn"), 0);
    app.assert_rebuild_is_cached();
}
