//! A real containerd (Debian's), with its own root, state and socket in a
//! temporary directory, stopped when dropped.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
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
        Self::start_with_env(&[])
    }

    /// A containerd that finds the wbox shim `shim` (on its PATH), whose
    /// compile cache is under `wbox_root`.
    pub fn with_shim(shim: &Path, wbox_root: &Path) -> Self {
        let mut path = OsString::from(shim.parent().expect("the shim's directory"));
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        Self::start_with_env(&[("PATH", path), ("WBOX_ROOT", wbox_root.into())])
    }

    fn start_with_env(env: &[(&str, OsString)]) -> Self {
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
            .envs(env.iter().map(|(k, v)| (k, v)))
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

    /// `ctr` with `input` on its stdin (which `ctr run` hands to the task).
    pub fn ctr_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["--namespace", "wbox-test"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running ctr");
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().expect("running ctr")
    }

    /// Processes of the wbox shim serving this containerd (their command
    /// line names its socket).
    pub fn shim_processes(&self) -> Vec<u32> {
        let socket = self.socket.to_string_lossy().into_owned();
        fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|entry| {
                let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
                let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                (cmdline.contains("containerd-shim-wbox-v1") && cmdline.contains(&socket)).then_some(pid)
            })
            .collect()
    }

    /// This containerd's root and state directories.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// containerd's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // A failed test's shims would outlive it.
        for pid in self.shim_processes() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
