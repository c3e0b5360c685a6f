//! The wiring of a network: a network namespace of its own, kept at
//! `ROOT/networks/ID/netns` (a bind mount of it, as `ip netns add` keeps
//! one), holding a bridge with the network's gateway address; each native
//! member gets a veth pair from that bridge to an `eth1` in its own
//! namespace with its address. The host's own network namespace is never
//! touched. Done with iproute2's `ip` and util-linux's `nsenter` and
//! `unshare`, as root.

use std::path::Path;
use std::process::Command;

use super::{Member, Network, Networks};
use crate::{Error, Result};

const BRIDGE: &str = "br0";

/// Wires member `member` of `network`, whose network namespace is that of
/// process `pid`, to the network's bridge, making the bridge first if it is
/// not there.
pub fn attach(networks: &Networks, network: &Network, member: &Member, pid: i32) -> Result<()> {
    let netns = networks.netns_path(network);
    let _lock = networks.lock()?;
    if !is_mounted(&netns) {
        make_namespace(&netns, network)?;
    }
    let ns = format!("--net={}", netns.display());
    // The bridge's end is named after the member, unique within the network.
    let end = format!("v{}", &member.container[..12.min(member.container.len())]);
    let pid = pid.to_string();
    let address = format!("{}/{}", member.address, network.subnet.1);
    run("nsenter", &[&ns, "ip", "link", "add", &end, "type", "veth", "peer", "name", "eth1", "netns", &pid])?;
    run("nsenter", &[&ns, "ip", "link", "set", &end, "master", BRIDGE, "up"])?;
    let inside = ["-t", pid.as_str(), "-n", "ip"];
    run("nsenter", &[&inside[..], &["addr", "add", &address, "dev", "eth1"]].concat())?;
    run("nsenter", &[&inside[..], &["link", "set", "eth1", "address", &member.mac_address(), "up"]].concat())
}

/// Makes the network's namespace and bridge if they are not there. A
/// caller about to enter a mount namespace of its own does it first: the
/// namespace is kept by a mount, which must be the host's.
pub fn ensure_namespace(networks: &Networks, network: &Network) -> Result<()> {
    let netns = networks.netns_path(network);
    let _lock = networks.lock()?;
    if !is_mounted(&netns) {
        make_namespace(&netns, network)?;
    }
    Ok(())
}

/// Forgets the wiring of a member that left: its veth pair went with its
/// network namespace, or goes now.
pub fn detach_all(networks: &Networks, network: &Network, container: &str) {
    let netns = networks.netns_path(network);
    if is_mounted(&netns) {
        let end = format!("v{}", &container[..12.min(container.len())]);
        let _ = Command::new("nsenter")
            .arg(format!("--net={}", netns.display()))
            .args(["ip", "link", "del", &end])
            .output();
    }
}

/// Ends a network's namespace (and its bridge) before its record goes.
pub(super) fn remove(dir: &Path) {
    let netns = dir.join("netns");
    if is_mounted(&netns) {
        let _ = Command::new("umount").arg(&netns).output();
    }
}

/// A new network namespace bound at `netns`, with loopback and the bridge up.
fn make_namespace(netns: &Path, network: &Network) -> Result<()> {
    if !crate::os::process::is_root() {
        return Err(Error::usage(format!(
            "network {}: wiring a network needs root (a network namespace and a bridge of its own)",
            network.name
        )));
    }
    std::fs::write(netns, b"").map_err(|e| Error::Internal(anyhow::anyhow!("{}: {e}", netns.display())))?;
    run("unshare", &[&format!("--net={}", netns.display()), "true"])?;
    let ns = format!("--net={}", netns.display());
    let gateway = format!("{}/{}", network.gateway(), network.subnet.1);
    run("nsenter", &[&ns, "ip", "link", "set", "lo", "up"])?;
    run("nsenter", &[&ns, "ip", "link", "add", BRIDGE, "type", "bridge"])?;
    run("nsenter", &[&ns, "ip", "addr", "add", &gateway, "dev", BRIDGE])?;
    run("nsenter", &[&ns, "ip", "link", "set", BRIDGE, "up"])
}

/// Whether a namespace is bound at `path` (a mount point, not a plain file).
fn is_mounted(path: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else { return false };
    let path = path.to_string_lossy();
    mounts.lines().any(|line| line.split(' ').nth(4) == Some(&path))
}

/// Runs one of the tools that wire a network (`ip`, `nsenter`, `unshare`),
/// in the calling thread's namespaces (a child inherits them).
pub fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program).args(args).output().map_err(|e| {
        Error::Internal(anyhow::anyhow!(
            "cannot run {program} to wire a network: {e}; install iproute2 and util-linux"
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Internal(anyhow::anyhow!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}
