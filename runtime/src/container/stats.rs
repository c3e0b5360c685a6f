//! What a running container uses, as `docker stats` reports it: a native
//! container's figures from its cgroup, a wasm container's from its runner
//! process, which holds the guest's memory and runs its code.

use crate::{Error, Result};

use super::Container;

/// One reading of a container's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// CPU time used since it started, in nanoseconds.
    pub cpu_nanos: u64,
    /// Memory in use, in bytes.
    pub memory: u64,
    /// The most memory it may use: its limit, else the host's memory.
    pub memory_limit: u64,
    /// Its processes and threads.
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
        let used = crate::os::process::usage(pids[0]).ok_or_else(unreadable)?;
        Ok(Usage {
            cpu_nanos: used.cpu_nanos,
            memory: used.memory,
            memory_limit: self.config.spec.limits.memory.map_or(host_memory, |m| m.min(host_memory)),
            pids: used.threads,
            network: (0, 0),
        })
    }
}
