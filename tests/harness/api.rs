//! `wbox system service` started on a private socket for a test, and the
//! real `docker` CLI pointed at it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::Wbox;

pub struct Service {
    child: Child,
    socket: PathBuf,
    /// The docker CLI's own config: none of the user's.
    docker_config: tempfile::TempDir,
}

impl Service {
    /// Serves `wbox`'s root on a socket in that root.
    pub fn start(wbox: &Wbox) -> Service {
        let socket = wbox.root.path().join("api.sock");
        let child = wbox
            .command()
            .args(["system", "service", &format!("unix://{}", socket.display())])
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting wbox system service");
        let service = Service { child, socket, docker_config: tempfile::tempdir().unwrap() };
        service.wait_until_listening();
        service
    }

    fn wait_until_listening(&self) {
        let start = Instant::now();
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the service did not listen on {:?}",
                self.socket
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The `docker` CLI, talking to this service.
    pub fn docker(&self) -> Command {
        self.client("docker")
    }

    /// A Docker client program, told to talk to this service.
    pub fn client(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", self.docker_config.path())
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.docker().args(args).output().expect("running docker")
    }

    /// A raw HTTP/1.0 request on the socket: the status and the body.
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::os::unix::net::UnixStream::connect(&self.socket).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (status, body)
    }

    /// Kills the service outright, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
