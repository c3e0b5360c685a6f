//! A wasm guest on user-defined networks. Its supervisor's thread moves into
//! a network namespace of its own, wired to each network's bridge as a
//! native member is, with outbound access and published ports through
//! slirp4netns, and into a mount namespace of its own whose `/etc/hosts`
//! names the members (the system resolver, which wasi's name lookup uses,
//! reads it). Threads the supervisor starts from then on, the guest's among
//! them, are in both; the host's namespaces are never changed.

use std::path::Path;

use super::network::{Slirp, claim_ports};
use super::rootfs::mount;
use crate::network::{self, Memberships, Networks};
use crate::plan::PublishedPort;
use crate::{Error, Result};

/// Held while the guest runs: its outbound link.
pub struct GuestNetwork {
    _slirp: Slirp,
    /// The ports published on the host.
    pub published: Vec<PublishedPort>,
}

/// Moves the calling thread into namespaces of its own on `joined`, with
/// `hosts` as its `/etc/hosts`; `ports` are published on the host, to the
/// same container ports inside. `dir` keeps slirp4netns' socket and log.
pub fn enter_networks(
    networks: &Networks,
    joined: &Memberships,
    dir: &Path,
    hosts: &Path,
    ports: &[PublishedPort],
) -> Result<GuestNetwork> {
    if !crate::os::process::is_root() {
        return Err(Error::usage(
            "a wasm container on a network needs wbox to run as root (a network namespace of its own)",
        ));
    }
    // The networks' own namespaces are kept by mounts, made in the host's
    // mount namespace before this thread leaves it.
    for (network, _) in joined {
        network::ensure_namespace(networks, network)?;
    }
    // Host ports are chosen while still in the host's namespace, and it is
    // kept, for slirp4netns to open them in.
    let published = claim_ports(ports)?;
    let host = std::fs::File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot open the host's network namespace: {e}")))?;
    // SAFETY: unshare(2) of the network and mount namespaces changes what
    // this thread sees of the system, not its memory.
    if unsafe { libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::Internal(anyhow::anyhow!("cannot make the guest's namespaces: {e}")));
    }
    private_hosts(hosts)?;
    // SAFETY: gettid(2) has no arguments and cannot fail.
    let thread = unsafe { libc::gettid() };
    network::run_tool("ip", &["link", "set", "lo", "up"])?;
    for (network, member) in joined {
        network::attach(networks, network, member, thread)?;
    }
    let slirp = Slirp::start(thread, dir, false, Some(&host))?;
    for port in &published {
        slirp.publish(port)?;
    }
    Ok(GuestNetwork { _slirp: slirp, published })
}

/// Makes this thread's mounts its own, then binds `hosts` over `/etc/hosts`.
fn private_hosts(hosts: &Path) -> Result<()> {
    let failed = |what: &str, e| Error::Internal(anyhow::anyhow!("cannot {what}: {e}"));
    mount(None, Path::new("/"), None, libc::MS_REC | libc::MS_PRIVATE, None)
        .map_err(|e| failed("make the guest's mounts private", e))?;
    mount(Some(&hosts.to_string_lossy()), Path::new("/etc/hosts"), None, libc::MS_BIND, None)
        .map_err(|e| failed("give the guest its /etc/hosts", e))
}
