//! Where wbox keeps its state. Daemonless, like Podman: one directory holds
//! everything, chosen by `--root`, `$WBOX_ROOT`, or this default.

use std::path::{Path, PathBuf};

pub use crate::os::dirs::default_root;

/// The root `$WBOX_ROOT` names, else the default: what a process started
/// without a `--root` flag (the containerd shim) uses.
pub fn from_env() -> PathBuf {
    std::env::var_os("WBOX_ROOT").filter(|v| !v.is_empty()).map_or_else(default_root, PathBuf::from)
}

/// Bytes taken by a file or a directory tree, as far as it can be read.
pub(crate) fn disk_usage(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| disk_usage(&e.path())).sum())
            .unwrap_or(0),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}
