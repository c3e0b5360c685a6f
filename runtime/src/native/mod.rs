//! Native containers: images of Linux binaries run as namespace containers
//! by youki's `libcontainer` (Linux only), through the same container
//! records, supervisor and verbs as wasm guests.
//!
//! A container's native files live in its directory: `rootfs/` (the
//! overlay of the image's unpacked layers and `upper/`, its writable
//! layer, mounted while it runs), `etc/` (its own hostname, hosts and
//! resolv.conf), `bundle/config.json` (the OCI runtime spec) and `runtime/`
//! (libcontainer's state).

#[cfg(target_os = "linux")]
mod cgroup;
#[cfg(target_os = "linux")]
mod command;
#[cfg(target_os = "linux")]
mod exec;
#[cfg(target_os = "linux")]
mod from_bundle;
#[cfg(target_os = "linux")]
mod from_image;
#[cfg(target_os = "linux")]
mod network;
#[cfg(target_os = "linux")]
mod process;
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
pub use cgroup::{clean_up, processes, remove_state};
#[cfg(target_os = "linux")]
pub use exec::{Exec, exec, is_native};
#[cfg(target_os = "linux")]
pub use from_bundle::clean_up_bundle;
#[cfg(target_os = "linux")]
pub use from_image::STATE_DIR;
#[cfg(target_os = "linux")]
pub use rootfs::{Rootfs, mount_described, unmount, unmount_rootfs_in};
#[cfg(target_os = "linux")]
pub use run::{NativeTask, create};
