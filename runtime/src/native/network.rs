//! A native container's network: the host's (`--network host`), loopback
//! only (`--network none`), or, by default as in Docker, a private network
//! namespace with outbound access through `slirp4netns` (user-mode TCP/IP,
//! as rootless Podman uses), whose port forwarding publishes `-p` ports.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::rootfs::fs_error as rootfs_error;
use crate::plan::PublishedPort;
use crate::{Error, Result};

/// slirp4netns' fixed addresses: the container's, and its DNS forwarder.
pub(super) const CONTAINER_ADDRESS: &str = "10.0.2.100";
pub(super) const DNS_ADDRESS: &str = "10.0.2.3";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Host,
    /// Its own namespace with only loopback.
    None,
    /// Its own namespace, with outbound access and published ports.
    Private,
}

/// Sets the loopback interface of `pid`'s network namespace up, as Docker
/// does for every container: a new namespace has it down. A child process
/// does it: setns(2) into a user namespace (a rootless container's, whose
/// root owns the network) is refused to a process with threads.
pub(super) fn loopback_up(pid: i32, rootless: bool) -> Result<()> {
    let open = |kind: &str| {
        fs::File::open(format!("/proc/{pid}/ns/{kind}")).map_err(|e| {
            Error::Internal(anyhow::anyhow!("cannot open the container's {kind} namespace: {e}"))
        })
    };
    let netns = open("net")?;
    let userns = if rootless { Some(open("user")?) } else { None };
    // SAFETY: the child only makes system calls (no allocation, no locks)
    // and leaves with _exit.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: as above; every pointer is to this frame's own data.
        unsafe {
            let fail = |step: i32| libc::_exit(step);
            if let Some(userns) = &userns
                && libc::setns(userns.as_raw_fd(), libc::CLONE_NEWUSER) != 0
            {
                fail(1);
            }
            if libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                fail(2);
            }
            let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
            if socket < 0 {
                fail(3);
            }
            let mut request: libc::ifreq = std::mem::zeroed();
            request.ifr_name[0] = b'l' as libc::c_char;
            request.ifr_name[1] = b'o' as libc::c_char;
            if libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request) != 0 {
                fail(4);
            }
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(socket, libc::SIOCSIFFLAGS, &request) != 0 {
                fail(5);
            }
            libc::_exit(0);
        }
    }
    if child < 0 {
        return Err(Error::Internal(anyhow::anyhow!("cannot fork: {}", std::io::Error::last_os_error())));
    }
    let code = super::process::wait_for(child).code;
    if code != 0 {
        let step =
            ["", "join its user namespace", "join its network namespace", "make a socket", "read", "set"];
        return Err(Error::Internal(anyhow::anyhow!(
            "cannot set the container's loopback up: could not {}",
            step.get(code as usize).unwrap_or(&"do it")
        )));
    }
    Ok(())
}

/// Host ports the container will publish, checked free before it starts (a
/// port given as 0 gets a free one), so that a port in use is a clear
/// error and nothing runs.
pub(super) fn claim_ports(ports: &[PublishedPort]) -> Result<Vec<PublishedPort>> {
    let mut claimed = Vec::new();
    for port in ports {
        let ip = port.host_ip.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let bound = if port.udp {
            UdpSocket::bind((ip, port.host_port)).and_then(|s| s.local_addr())
        } else {
            TcpListener::bind((ip, port.host_port)).and_then(|s| s.local_addr())
        };
        let address = bound.map_err(|e| {
            Error::usage(format!(
                "cannot publish {}: host port {} is not free ({e}); choose another with -p",
                port.display(),
                port.host_port
            ))
        })?;
        claimed.push(PublishedPort { host_port: address.port(), ..port.clone() });
    }
    Ok(claimed)
}

/// A running slirp4netns attached to a container's network namespace.
pub(super) struct Slirp {
    child: Child,
    /// The directory of its API socket, held open: a socket's path must be
    /// short (108 bytes), so it is reached as /proc/self/fd/N/slirp.sock.
    dir: fs::File,
}

impl Slirp {
    /// Gives `pid`'s namespace a `tap0` interface with outbound access and
    /// DNS; returns once it is configured. slirp4netns lives in the network
    /// namespace its host ports are opened in: this thread's, or `host`.
    pub fn start(pid: i32, dir: &Path, rootless: bool, host: Option<&fs::File>) -> Result<Slirp> {
        let _ = fs::remove_file(dir.join("slirp.sock"));
        let log = fs::File::create(dir.join("slirp.log")).map_err(|e| rootfs_error(dir, e))?;
        let held = fs::File::open(dir).map_err(|e| rootfs_error(dir, e))?;
        let (mut ready, ready_writer) =
            std::io::pipe().map_err(|e| Error::Internal(anyhow::anyhow!("cannot make a pipe: {e}")))?;
        let ready_fd = ready_writer.as_raw_fd();
        let host_fd = host.map(|h| h.as_raw_fd());
        let mut command = Command::new("slirp4netns");
        command
            .args(["--configure", "--mtu=65520", "--ready-fd=3", "--api-socket", "slirp.sock"])
            .args(rootless.then(|| format!("--userns-path=/proc/{pid}/ns/user")))
            .arg(pid.to_string())
            .arg("tap0")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: between fork and exec only async-signal-safe calls: the
        // ready pipe becomes fd 3, the host's network namespace is joined,
        // and slirp4netns dies with its supervisor.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(ready_fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(host) = host_fd
                    && libc::setns(host, libc::CLONE_NEWNET) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().map_err(|e| {
            Error::Internal(anyhow::anyhow!(
                "cannot start slirp4netns for the container's network ({e}); install it (apt-get install \
                 slirp4netns), or run with --network host or --network none"
            ))
        })?;
        drop(ready_writer);
        let mut slirp = Slirp { child, dir: held };
        let mut byte = [0u8];
        if ready.read_exact(&mut byte).is_err() {
            let _ = slirp.child.wait();
            let said = fs::read_to_string(dir.join("slirp.log")).unwrap_or_default();
            return Err(Error::Internal(anyhow::anyhow!(
                "slirp4netns could not set up the container's network: {}",
                said.trim()
            )));
        }
        Ok(slirp)
    }

    /// Forwards a host port to the container's port.
    pub fn publish(&self, port: &PublishedPort) -> Result<()> {
        let ip = port.host_ip.map_or("0.0.0.0".to_owned(), |ip| ip.to_string());
        let request = serde_json::json!({
            "execute": "add_hostfwd",
            "arguments": {
                "proto": if port.udp { "udp" } else { "tcp" },
                "host_addr": ip,
                "host_port": port.host_port,
                "guest_addr": CONTAINER_ADDRESS,
                "guest_port": port.container_port,
            },
        });
        let answer = self.ask(&request).map_err(|e| {
            Error::Internal(anyhow::anyhow!("cannot publish {}: slirp4netns: {e}", port.display()))
        })?;
        if let Some(error) = answer.get("error") {
            return Err(Error::usage(format!(
                "cannot publish {}: {}",
                port.display(),
                error.get("desc").and_then(|d| d.as_str()).unwrap_or("refused")
            )));
        }
        Ok(())
    }

    fn ask(&self, request: &serde_json::Value) -> std::io::Result<serde_json::Value> {
        let api = format!("/proc/self/fd/{}/slirp.sock", self.dir.as_raw_fd());
        // The socket appears a moment after slirp4netns says it is ready.
        let start = Instant::now();
        let mut stream = loop {
            match UnixStream::connect(&api) {
                Ok(stream) => break stream,
                Err(_) if start.elapsed() < Duration::from_secs(2) => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => return Err(e),
            }
        };
        stream.write_all(request.to_string().as_bytes())?;
        stream.shutdown(std::net::Shutdown::Write)?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        serde_json::from_str(&answer).map_err(std::io::Error::other)
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
