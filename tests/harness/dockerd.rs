//! A private Docker daemon, the reference for behaviour that imitates
//! Docker: Debian's docker.io (Engine 20.10, BuildKit built in) with its
//! own data root, exec root, pid file and socket in a temporary directory.
//! It never touches the host's dockerd (/var/run/docker.sock) nor the
//! host's network: no bridge, no iptables, so builds use `--network host`.
//! Dropping it stops the daemon and everything it started (its containerd,
//! shims, build containers), unmounts what it left mounted and removes the
//! directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The 20.10 client from docker.io: it builds with BuildKit when
/// DOCKER_BUILDKIT=1, without buildx (a newer client in /usr/local/bin
/// would need buildx for that).
pub const DOCKER: &str = "/usr/bin/docker";
const DOCKERD: &str = "/usr/sbin/dockerd";

pub struct Dockerd {
    /// "unix://DIR/d.sock", for DOCKER_HOST.
    pub host: String,
    child: Mutex<Child>,
    dir: Option<TempDir>,
}

impl Dockerd {
    pub fn start() -> Self {
        // Short: containerd's socket lives below it, and a unix socket's
        // path has at most 107 bytes.
        let dir = tempfile::Builder::new().prefix("dockerd").tempdir_in("/tmp").expect("dockerd directory");
        let path = dir.path();
        let host = format!("unix://{}", path.join("d.sock").display());
        let log = fs::File::create(path.join("dockerd.log")).expect("dockerd log");
        let child = Command::new(DOCKERD)
            .arg("--data-root")
            .arg(path.join("data"))
            .arg("--exec-root")
            .arg(path.join("exec"))
            .arg("--pidfile")
            .arg(path.join("pid"))
            .args(["-H", &host])
            .args(["--storage-driver", "vfs", "--bridge=none", "--iptables=false", "--ip6tables=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting dockerd (scripts/install-deps.sh installs docker.io)");
        let dockerd = Dockerd { host, child: Mutex::new(child), dir: Some(dir) };

        let started = Instant::now();
        loop {
            if let Some(status) = dockerd.exited() {
                panic!("dockerd exited ({status}) before it answered:\n{}", dockerd.log());
            }
            let answer =
                dockerd.command().arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status();
            if answer.is_ok_and(|s| s.success()) {
                return dockerd;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "dockerd did not answer:\n{}",
                dockerd.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A `docker` command for this daemon, building with BuildKit, with a
    /// client configuration of its own (none of the user's ~/.docker).
    pub fn command(&self) -> Command {
        let mut command = Command::new(DOCKER);
        command
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_BUILDKIT", "1")
            .env("DOCKER_CONFIG", self.dir().join("client"))
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .stdin(Stdio::null());
        command
    }

    /// How dockerd ended, if it did.
    pub fn exited(&self) -> Option<ExitStatus> {
        self.child.lock().unwrap().try_wait().expect("polling dockerd")
    }

    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("the directory lives as long as the daemon").path()
    }

    /// What dockerd has logged so far, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("dockerd.log")).unwrap_or_default()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let dir = self.dir().to_owned();
        // SIGTERM lets dockerd stop its containers and its containerd.
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();

        // Whatever outlived it: its containerd, shims and the processes of
        // build steps, found by the directory they run from or name.
        for _ in 0..50 {
            let left = processes_under(&dir);
            if left.is_empty() {
                break;
            }
            for pid in left {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        unmount_under(&dir);
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_owned();
            if let Err(e) = dir.close() {
                eprintln!("removing {}: {e}", path.display());
            }
        }
    }
}

/// Processes whose command line names `dir`, or whose root or working
/// directory lies below it.
fn processes_under(dir: &Path) -> Vec<libc::pid_t> {
    let needle = dir.to_string_lossy().into_owned();
    let me = std::process::id() as libc::pid_t;
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<libc::pid_t>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let names_dir = String::from_utf8_lossy(&cmdline).contains(&needle);
        let below = |link: &str| fs::read_link(entry.path().join(link)).is_ok_and(|p| p.starts_with(dir));
        if names_dir || below("root") || below("cwd") {
            found.push(pid);
        }
    }
    found
}

/// Detaches every mount below `dir`, deepest first.
fn unmount_under(dir: &Path) {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        // The fifth field is the mount point, with spaces as \040.
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in points {
        let Ok(c) = std::ffi::CString::new(point.to_string_lossy().as_bytes()) else { continue };
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}
