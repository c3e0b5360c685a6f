//! Where wbox keeps its state. Daemonless, like Podman: one directory holds
//! everything, chosen by `--root`, `$WBOX_ROOT`, or this default.

use std::path::PathBuf;

/// `/var/lib/wbox` for root, `$XDG_DATA_HOME/wbox` (or `~/.local/share/wbox`)
/// for everyone else.
pub fn default_root() -> PathBuf {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/wbox");
    }
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data_home.join("wbox")
}
