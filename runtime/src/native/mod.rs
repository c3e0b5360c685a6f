//! Native containers: images of Linux binaries run as namespace containers
//! by youki's `libcontainer` (Linux only), through the same container
//! records, supervisor and verbs as wasm guests.
//!
//! A container's native files live in its directory: `rootfs/` (the
//! overlay of the image's unpacked layers and `upper/`, its writable
//! layer, mounted while it runs), `etc/` (its own hostname, hosts and
//! resolv.conf), `bundle/config.json` (the OCI runtime spec) and `runtime/`
//! (libcontainer's state).

use serde::{Deserialize, Serialize};

#[cfg(target_os = "linux")]
mod build_step;
#[cfg(target_os = "linux")]
mod command;
#[cfg(target_os = "linux")]
mod exec;
#[cfg(target_os = "linux")]
mod network;
#[cfg(target_os = "linux")]
mod rootfs;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
mod seccomp;
#[cfg(target_os = "linux")]
mod spec;
#[cfg(target_os = "linux")]
mod terminal;

#[cfg(target_os = "linux")]
pub use build_step::{BUILD_STEP_STATE, BuildStep, run_build_step};
#[cfg(target_os = "linux")]
pub use exec::{Exec, exec, is_native};
#[cfg(target_os = "linux")]
pub use rootfs::{Rootfs, mount_described, unmount, unmount_rootfs_in};
#[cfg(target_os = "linux")]
pub use run::{
    Created, Ended, FromBundle, Running, Signaller, Start, clean_up, create_from_bundle, processes,
    remove_state, start,
};

/// What only a native container takes from the command line; the grants
/// (`-v`, `-e`, `-w`, `-p`, `--network`) and `--memory` are shared with wasm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// `--hostname` (default: the container's short id, as Docker).
    #[serde(default)]
    pub hostname: Option<String>,
    /// `-u USER[:GROUP]`, names or numbers (default: the image's USER, else root).
    #[serde(default)]
    pub user: Option<String>,
    /// `--read-only`: the root filesystem is mounted read-only.
    #[serde(default)]
    pub read_only: bool,
    /// `--tmpfs PATH[:OPTIONS]`.
    #[serde(default)]
    pub tmpfs: Vec<String>,
    /// `--pids-limit N`.
    #[serde(default)]
    pub pids_limit: Option<i64>,
    /// `--cpus N.N`.
    #[serde(default)]
    pub cpus: Option<f64>,
    /// `--privileged`: every capability, no syscall filter, devices and
    /// /sys writable. Only when asked for by name.
    #[serde(default)]
    pub privileged: bool,
    /// Whether `--network` was given: without it a native container gets a
    /// private network with outbound access, as Docker's default bridge.
    #[serde(default)]
    pub network_given: bool,
}

impl Options {
    /// Refuses limits no container could have.
    pub fn check(&self) -> crate::Result<()> {
        if self.cpus.is_some_and(|cpus| !(cpus > 0.0 && cpus.is_finite())) {
            return Err(crate::Error::usage("--cpus takes a positive number, e.g. 0.5 or 2"));
        }
        if self.pids_limit.is_some_and(|n| n < 1) {
            return Err(crate::Error::usage("--pids-limit takes a positive number of processes"));
        }
        Ok(())
    }
}
