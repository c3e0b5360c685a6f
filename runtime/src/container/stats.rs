//! What a running container uses, as `docker stats` reports it: a native
//! container's figures from its cgroup; a wasm container's memory as its
//! guest's linear memories and tables (what `--memory` caps), its PIDs as
//! the guest's live instances (a service has one per request in flight),
//! and its CPU time as its runner's, which runs the guest's code.

use crate::plan::GuestUsage;
use crate::{Error, Result};

use super::Container;

/// One reading of a container's use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time used since it started, in nanoseconds.
    pub cpu_nanos: u64,
    /// Memory in use, in bytes.
    pub memory: u64,
    /// The most memory it may use: its limit, else the host's memory.
    pub memory_limit: u64,
    /// Its processes and threads; a wasm guest's live instances.
    pub pids: u64,
    /// Bytes received and sent on its own network interfaces (a wasm
    /// guest uses the host's network: it has none of its own).
    pub network: (u64, u64),
}

impl Container {
    /// A reading of what the running container uses now.
    pub fn usage(&self) -> Result<Usage> {
        let pids = self.processes()?;
        let host_memory = crate::os::process::host_memory().unwrap_or(u64::MAX);
        let unreadable = || Error::usage(format!("what {} uses cannot be read here", self.config.name));
        if crate::native::is_native(&self.dir, &self.config.id) {
            let used = crate::native::usage(&self.config.id).ok_or_else(unreadable)?;
            return Ok(Usage {
                cpu_nanos: used.cpu_nanos,
                memory: used.memory,
                memory_limit: used.limit.unwrap_or(host_memory).min(host_memory),
                pids: if used.pids > 0 { used.pids } else { pids.len() as u64 },
                network: crate::native::network(pids[0]),
            });
        }
        // The guest's own figures are its runner's to tell; its CPU time
        // is the runner's, which runs nothing else.
        let cpu_nanos = crate::os::process::cpu_time(pids[0]).ok_or_else(unreadable)?;
        let answer = super::control::ask(&self.dir, super::Request::Usage).ok_or_else(unreadable)?;
        let guest = parse_usage(&answer).ok_or_else(unreadable)?;
        Ok(Usage {
            cpu_nanos,
            memory: guest.memory,
            memory_limit: self.config.spec.limits.memory.map_or(host_memory, |m| m.min(host_memory)),
            pids: guest.instances,
            network: (0, 0),
        })
    }
}

/// A runner's answer to `Request::Usage`: `usage BYTES INSTANCES`.
pub(super) fn usage_reply(used: GuestUsage) -> String {
    format!("usage {} {}", used.memory, used.instances)
}

/// What `usage_reply` wrote.
fn parse_usage(answer: &str) -> Option<GuestUsage> {
    let mut words = answer.strip_prefix("usage ")?.split(' ');
    let (memory, instances) = (words.next()?.parse().ok()?, words.next()?.parse().ok()?);
    Some(GuestUsage { memory, instances })
}
