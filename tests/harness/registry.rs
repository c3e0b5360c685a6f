//! A real OCI registry for the pull tests: Debian's `docker-registry` (the CNCF
//! distribution registry) serving plain HTTP on 127.0.0.1, with its storage in a
//! temporary directory so that tests can reach in and damage what it serves.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A running `docker-registry serve`, stopped when dropped.
pub struct Registry {
    /// "127.0.0.1:PORT", the host part of image references: `{addr}/name:tag`.
    pub addr: String,
    /// The user and password the registry demands, if started with basic auth.
    pub credentials: Option<(String, String)>,
    child: Option<Child>,
    dir: TempDir,
}

impl Registry {
    /// A registry anyone may push to and pull from.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// A registry that answers 401 unless given this user and password.
    pub fn start_with_basic_auth(user: &str, password: &str) -> Self {
        Self::launch(Some((user.to_owned(), password.to_owned())))
    }

    fn launch(credentials: Option<(String, String)>) -> Self {
        let dir = tempfile::tempdir().expect("registry directory");
        let auth = match &credentials {
            None => String::new(),
            Some((user, password)) => {
                // The registry only accepts bcrypt entries.
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("running htpasswd (scripts/install-deps.sh installs apache2-utils)");
                assert!(out.status.success(), "htpasswd: {}", String::from_utf8_lossy(&out.stderr));
                let file = dir.path().join("htpasswd");
                fs::write(&file, &out.stdout).expect("writing htpasswd");
                format!("auth:\n  htpasswd:\n    realm: wbox-test\n    path: '{}'\n", file.display())
            }
        };
        let log = dir.path().join("registry.log");

        // The free port we find may be taken again before the registry binds it;
        // then the registry exits at once, and another port will do.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            fs::write(
                &config,
                format!(
                    "version: 0.1\n\
                     log:\n  level: info\n\
                     storage:\n  filesystem:\n    rootdirectory: '{}'\n  delete:\n    enabled: true\n\
                     http:\n  addr: '{addr}'\n  secret: wbox-test\n\
                     {auth}",
                    dir.path().join("storage").display(),
                ),
            )
            .expect("writing the registry's configuration");

            let log_file = fs::File::create(&log).expect("registry log");
            let mut command = Command::new("docker-registry");
            command
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().unwrap())
                .stderr(log_file);
            // REGISTRY_* variables override the configuration file.
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("REGISTRY_") {
                    command.env_remove(name);
                }
            }
            let mut child =
                command.spawn().expect("starting docker-registry (scripts/install-deps.sh installs it)");
            if wait_until_up(&mut child, &addr, &log) {
                return Registry { addr, credentials, child: Some(child), dir };
            }
        }
        panic!("docker-registry kept failing to start:\n{}", read_log(&log));
    }

    /// "http://127.0.0.1:PORT".
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the registry has logged so far, for assertion messages.
    pub fn log(&self) -> String {
        read_log(&self.dir.path().join("registry.log"))
    }

    /// Where the filesystem storage driver keeps the blob (layer, config or
    /// manifest) with this digest, "sha256:<hex>".
    pub fn blob_data_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or_else(|| panic!("{digest} is not sha256:<hex>"));
        assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "bad digest {digest}");
        self.dir.path().join("storage/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// Flips one byte in the middle of a stored blob. The registry does not
    /// check what it serves: it goes on sending the damaged bytes, with the same
    /// length and the original digest in Docker-Content-Digest, so only the
    /// client's own verification can notice.
    pub fn tamper_blob(&self, digest: &str) {
        let path = self.blob_data_path(digest);
        let mut data = fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        assert!(!data.is_empty(), "{digest} is empty: there is no byte to flip");
        let middle = data.len() / 2;
        data[middle] ^= 0xff;
        fs::write(&path, data).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Stops the registry, e.g. to test a pull from a registry that went away.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits for the registry to answer; false if it exited first (its port was
/// taken), a panic with its log if it neither answers nor exits within 10s.
fn wait_until_up(child: &mut Child, addr: &str, log: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().expect("polling docker-registry").is_some() {
            return false;
        }
        // The log line proves that it was this registry that bound the port,
        // not some other process that answers on it.
        if read_log(log).contains(&format!("listening on {addr}")) && answers(addr) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("docker-registry did not answer on {addr} within 10s:\n{}", read_log(log));
}

/// Whether `GET /v2/` answers as a registry does: 200, or 401 when it wants auth.
fn answers(addr: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /v2/ HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut response = Vec::new();
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_end(&mut response).is_err() {
        return false;
    }
    // "HTTP/1.1 200 OK": the status is the second word.
    let response = String::from_utf8_lossy(&response);
    matches!(response.split_whitespace().nth(1), Some("200" | "401"))
}

fn read_log(log: &Path) -> String {
    fs::read_to_string(log).unwrap_or_default()
}
