//! Where a user's wbox keeps its state by default on each system.

use std::path::PathBuf;

/// `/var/lib/wbox` for root, `$XDG_DATA_HOME/wbox` (or
/// `~/.local/share/wbox`) for everyone else.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn default_root() -> PathBuf {
    if super::process::is_root() {
        return PathBuf::from("/var/lib/wbox");
    }
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data_home.join("wbox")
}

/// `~/Library/Application Support/wbox`, where macOS keeps an
/// application's data.
#[cfg(target_os = "macos")]
pub fn default_root() -> PathBuf {
    home().unwrap_or_else(|| PathBuf::from(".")).join("Library/Application Support/wbox")
}

/// `%LOCALAPPDATA%\wbox`: the user's own, not roaming with the profile
/// (compiled code and images are machine-specific and large).
#[cfg(windows)]
pub fn default_root() -> PathBuf {
    std::env::var_os("LOCALAPPDATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("USERPROFILE").map(|p| PathBuf::from(p).join("AppData\\Local")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("wbox")
}

#[cfg(unix)]
fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Splits a Windows drive (`C:`) off the front of a `-v` spec, as Docker
/// for Windows parses `C:\data:/data:ro`, so that its colon is not taken
/// for a separator. Other systems have no drives.
#[cfg(windows)]
pub fn split_drive(spec: &str) -> (&str, &str) {
    let bytes = spec.as_bytes();
    match bytes {
        [letter, b':', b'\\' | b'/', ..] if letter.is_ascii_alphabetic() => spec.split_at(2),
        _ => ("", spec),
    }
}

#[cfg(unix)]
pub fn split_drive(spec: &str) -> (&str, &str) {
    ("", spec)
}

/// Where `system service` listens unless told: `/run/wbox/wbox.sock` for
/// root's default root (beside Docker's `/run/docker.sock`), else
/// `ROOT/wbox.sock`, the user's own.
pub fn default_socket(root: &std::path::Path) -> PathBuf {
    if cfg!(unix) && super::process::is_root() && root == default_root() {
        return PathBuf::from("/run/wbox/wbox.sock");
    }
    root.join("wbox.sock")
}
