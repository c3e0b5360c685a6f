//! `native` off Linux: native images need Linux's namespaces, so running
//! one says so, and what a build or a container's removal would clean up
//! after a native container there is nothing. A build stage over an image's
//! files gets a copy of them, as on Linux where overlayfs is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::plan::{Exec, RunPlan, Task};
use crate::{Error, Result};

pub const STATE_DIR: &str = "native/runtime";

pub fn create(_plan: RunPlan) -> Result<Arc<dyn Task>> {
    Err(Error::NotRunnable(format!(
        "native (linux) images run on Linux only; wbox on {} runs wasm images (--platform wasi/wasm)",
        std::env::consts::OS
    )))
}

/// A build stage's files over an image's: a copy, made once.
pub struct Rootfs {
    pub path: PathBuf,
}

impl Rootfs {
    pub fn mount(dir: &Path, image: &Path, _renames: bool) -> Result<Rootfs> {
        let path = dir.join("upper");
        crate::rootdir::copy_dir(image, &path).map_err(|e| {
            Error::Internal(anyhow::anyhow!("copying the image into {} failed: {e}", path.display()))
        })?;
        Ok(Rootfs { path })
    }

    /// Where the files of a stage or container in `dir` are: the copy.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join("upper")
    }

    pub fn unmount(self) {}
}

pub fn unmount_rootfs_in(_dir: &Path) {}

pub fn remove_state(_state: &Path, _id: &str) {}

pub fn clean_up(_dir: &Path, _id: &str) {}

pub fn clean_up_bundle(_id: &str, _dir: &Path) {}

pub fn is_native(_dir: &Path, _id: &str) -> bool {
    false
}

pub fn processes(_cgroup: &str) -> Option<Vec<u32>> {
    None
}

pub fn usage(_id: &str) -> Option<crate::plan::CgroupUsage> {
    None
}

pub fn network(_pid: u32) -> (u64, u64) {
    (0, 0)
}

pub fn exec(_dir: &Path, _id: &str, _exec: Exec) -> Result<i32> {
    Err(Error::usage("exec runs commands in native (Linux) containers, which run on Linux only"))
}

/// Held while a wasm guest on networks runs; networks need Linux.
pub struct GuestNetwork {
    pub published: Vec<crate::plan::PublishedPort>,
}

pub fn enter_networks(
    _networks: &crate::network::Networks,
    _joined: &crate::network::Memberships,
    _dir: &Path,
    _hosts: &Path,
    _ports: &[crate::plan::PublishedPort],
) -> Result<GuestNetwork> {
    Err(Error::usage("user-defined networks need Linux (network namespaces and bridges)"))
}
