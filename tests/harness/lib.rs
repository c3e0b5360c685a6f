//! What the end-to-end tests share: a wbox with its own state directory, and
//! the guests that examples/build.sh compiled; for the pull tests, a real
//! registry (registry.rs) and the images pushed to it (images.rs); a private
//! Docker daemon to compare with (dockerd.rs).

pub mod api;
pub mod containerd;
pub mod dockerd;
pub mod images;
pub mod registry;
pub mod wine;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// The workspace's top directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A binary of the workspace, built beside the running test (Cargo builds
/// a package's binaries before its integration tests): the test is
/// `target/PROFILE/deps/NAME-HASH`, the binary `target/PROFILE/NAME`.
pub fn binary(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    test.parent().and_then(Path::parent).expect("a test lives in target/PROFILE/deps").join(name)
}

/// A directory for what tests keep between runs: Cargo's `target/tmp`.
pub fn target_tmpdir() -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    let target = test.ancestors().nth(3).expect("a test lives in target/PROFILE/deps");
    let dir = target.join("tmp");
    std::fs::create_dir_all(&dir).expect("target/tmp");
    dir
}

/// A wbox whose state lives in a fresh temporary root.
pub struct Wbox {
    pub root: TempDir,
}

impl Default for Wbox {
    fn default() -> Self {
        Wbox::new()
    }
}

impl Wbox {
    pub fn new() -> Self {
        Wbox { root: tempfile::tempdir().expect("temporary root") }
    }

    /// A wbox whose compile cache is shared by every test that asks for
    /// it, so that a large guest (an 18 MB Python component) compiles once
    /// per build of the tests, not once per test. Entries are keyed by the
    /// module's digest and written atomically, so sharing is safe.
    pub fn with_shared_compile_cache() -> Self {
        let wbox = Wbox::new();
        let shared = target_tmpdir().join("compile-cache");
        std::fs::create_dir_all(&shared).unwrap();
        std::fs::create_dir_all(wbox.root.path().join("cache")).unwrap();
        std::os::unix::fs::symlink(&shared, wbox.root.path().join("cache/compiled")).unwrap();
        wbox
    }

    /// A `wbox` command with this root and nothing of the test's own
    /// environment that could change what wbox prints.
    pub fn command(&self) -> Command {
        let mut command = Command::new(binary("wbox"));
        command
            .env("WBOX_ROOT", self.root.path())
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("running wbox")
    }

    /// Runs wbox with `input` on its stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut command = self.command();
        command.args(args);
        output_with_stdin(command, input)
    }

    /// The compiled entries in the compile cache.
    pub fn cache_entries(&self) -> Vec<PathBuf> {
        let base = self.root.path().join("cache/compiled");
        let mut entries = Vec::new();
        for engine_dir in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            for entry in std::fs::read_dir(engine_dir.path()).into_iter().flatten().flatten() {
                if entry.path().extension().is_some_and(|e| e == "cwasm") {
                    entries.push(entry.path());
                }
            }
        }
        entries
    }
}

impl Drop for Wbox {
    /// A test that failed halfway leaves no supervisor running on.
    fn drop(&mut self) {
        if !self.root.path().join("containers").exists() {
            return;
        }
        let Ok(running) = self.command().args(["ps", "-q", "--no-trunc"]).output() else { return };
        let ids: Vec<String> = String::from_utf8_lossy(&running.stdout).lines().map(str::to_owned).collect();
        if !ids.is_empty() {
            let _ = self.command().args(["rm", "-f"]).args(&ids).output();
        }
    }
}

/// A guest built by examples/build.sh, e.g. `guest("hello.wasm")`.
/// Runs `command` with `input` on its stdin; returns what it printed.
pub fn output_with_stdin(mut command: Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the command");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("waiting for the command");
    writer.join().unwrap().expect("writing the command's stdin");
    output
}

pub fn guest(name: &str) -> String {
    let path = workspace().join("examples/out").join(name);
    assert!(path.exists(), "{} is missing: run examples/build.sh first", path.display());
    path.to_str().unwrap().to_owned()
}

/// Both builds of a guest: the WASI preview-1 module and the WASI 0.2 component.
pub fn both(name: &str) -> [String; 2] {
    [guest(&format!("{name}.wasm")), guest(&format!("{name}.component.wasm"))]
}

/// The stdout of a command that must have succeeded.
pub fn ok(output: Output) -> String {
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    stdout(&output)
}

pub fn code(output: &Output) -> i32 {
    output.status.code().expect("wbox ended by a signal")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `GET path` over a connection of its own (HTTP/1.0, so the body ends with
/// the connection): the status and the body.
pub fn get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("connect to {port}: {e}"));
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost:{port}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head in {response:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{head}"));
    (status, body.to_owned())
}

/// A server on a free loopback port that answers every request with `body`.
pub fn text_server(body: &'static str) -> u16 {
    serve_bytes(body.as_bytes().to_vec(), "text/plain")
}

/// A server on a free loopback port that answers every request with the
/// bytes of a file.
pub fn file_server(bytes: Vec<u8>) -> u16 {
    serve_bytes(bytes, "application/octet-stream")
}

fn serve_bytes(body: Vec<u8>, content_type: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = Vec::new();
            let mut byte = [0u8];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                request.push(byte[0]);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .and_then(|()| stream.write_all(&body));
        }
    });
    port
}

/// Fails the test, saying why, unless Debian's mirror and PyPI answer: the
/// Debian Python base image needs the one, a build that pip installs the
/// other (a build reaches them with the host's network).
pub fn require_package_registries() {
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;
    for host in ["deb.debian.org:80", "pypi.org:443", "files.pythonhosted.org:443"] {
        let reachable = host
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_ok());
        assert!(reachable, "{host} cannot be reached: this test builds from Debian's mirror and PyPI");
    }
}

/// A registry holding the probe guest (tests/guests/probe.c) as an image
/// whose entrypoint it is, and the image's name.
pub fn probe_image() -> (registry::Registry, String) {
    let registry = registry::Registry::start();
    let probe = format!("/app.wasm={}", guest("probe.wasm"));
    images::push_image(&registry, "probe:1", &["--entrypoint", "/app.wasm", "--file", &probe]);
    let name = format!("{}/probe:1", registry.addr);
    (registry, name)
}

/// Waits up to 10 s for `condition`.
pub fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !condition() {
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A registry holding the busybox image (`images::push_busybox_image`) and
/// the image's name.
pub fn busybox_image() -> (registry::Registry, String) {
    let registry = registry::Registry::start();
    images::push_busybox_image(&registry, "busybox:latest");
    let name = format!("{}/busybox:latest", registry.addr);
    (registry, name)
}

/// One test of a binary at a time, for tests that check what is left on the
/// host after them (another's containers would be seen).
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Builds the hello-http wasm image (examples/hello-http; its component is
/// made by examples/build-python.sh) as `tag` in `wbox`.
pub fn build_hello_http(wbox: &Wbox, tag: &str) {
    let dockerfile = workspace().join("examples/hello-http/Dockerfile");
    let context = workspace().join("examples/out");
    ok(wbox.run(&["build", "-q", "-t", tag, "-f", dockerfile.to_str().unwrap(), context.to_str().unwrap()]));
}

/// What of `ids` (container IDs) and of `root` is still on the host:
/// processes in the containers' cgroups or run with that root (supervisors,
/// slirp4netns), and mounts under the root (rootfs, bound namespaces).
pub fn leftovers(root: &std::path::Path, ids: &[String]) -> std::collections::BTreeSet<String> {
    let mut traces = std::collections::BTreeSet::new();
    let root_env = format!("WBOX_ROOT={}\0", root.display());
    for process in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = process.file_name().into_string().unwrap().parse::<u32>() else { continue };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            continue;
        }
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let in_container = ids.iter().any(|id| cgroup.contains(id.as_str()));
        let with_root = String::from_utf8_lossy(&environ).contains(&root_env);
        if (in_container || with_root) && pid != std::process::id() {
            let command = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            traces.insert(format!("process {pid} {}", command.replace('\0', " ")));
        }
    }
    let root = root.to_string_lossy().into_owned();
    for line in std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines() {
        if let Some(point) = line.split(' ').nth(4).filter(|p| p.starts_with(&root)) {
            traces.insert(format!("mount {point}"));
        }
    }
    traces
}
