//! Native containers: images of Linux binaries run as namespace containers
//! by youki's `libcontainer`, through the same container records,
//! supervisor and verbs as wasm guests. Linux only: the whole module is.
//!
//! A container's native files live in its directory: `rootfs/` (the
//! overlay of the image's unpacked layers and `upper/`, its writable
//! layer, mounted while it runs), `etc/` (its own hostname, hosts and
//! resolv.conf), `bundle/config.json` (the OCI runtime spec) and `runtime/`
//! (libcontainer's state).

mod cgroup;
mod command;
mod exec;
mod from_bundle;
mod from_image;
mod guest_network;
mod network;
mod process;
mod rootfs;
mod run;
mod seccomp;
mod spec;
mod terminal;

pub use cgroup::{clean_up, network, processes, remove_state, usage};
pub use exec::{exec, is_native};
pub use from_bundle::clean_up_bundle;
pub use from_image::STATE_DIR;
pub use guest_network::{GuestNetwork, enter_networks};
pub use rootfs::{Rootfs, mount_described, unmount, unmount_rootfs_in};
pub use run::create;
