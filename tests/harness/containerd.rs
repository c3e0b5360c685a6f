//! A real containerd (Debian's), with its own root, state and socket in a
//! temporary directory, stopped when dropped.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Containerd {
    pub socket: PathBuf,
    child: Child,
    dir: TempDir,
}

impl Containerd {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("containerd directory");
        let socket = dir.path().join("containerd.sock");
        let config = dir.path().join("config.toml");
        // The CRI plugin wants a cluster's setup; image pulls need none of it.
        fs::write(
            &config,
            format!(
                "version = 2\nroot = '{}'\nstate = '{}'\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = '{}'\n",
                dir.path().join("root").display(),
                dir.path().join("state").display(),
                socket.display()
            ),
        )
        .expect("writing containerd's configuration");
        let log = fs::File::create(dir.path().join("containerd.log")).expect("containerd log");
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting containerd (scripts/install-deps.sh installs it)");
        let containerd = Containerd { socket, child, dir };
        let started = Instant::now();
        while !containerd.ctr(&["version"]).status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "containerd did not come up:\n{}",
                fs::read_to_string(containerd.dir.path().join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        containerd
    }

    /// Runs `ctr` against this containerd, in the namespace `wbox-test`.
    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["--namespace", "wbox-test"])
            .args(args)
            .output()
            .expect("running ctr")
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
