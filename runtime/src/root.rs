//! Where wbox keeps its state. Daemonless, like Podman: one directory holds
//! everything, chosen by `--root`, `$WBOX_ROOT`, or this default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

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

/// `ROOT/config.json`: settings for everything in one root, under the keys
/// dockerd's `daemon.json` uses, so that a Docker user's file reads the same.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RootConfig {
    /// Registries reached over plain HTTP besides loopback ones.
    #[serde(rename = "insecure-registries", default)]
    pub insecure_registries: Vec<String>,
    /// The log driver of containers created without `--log-driver`.
    #[serde(rename = "log-driver", default)]
    pub log_driver: Option<String>,
    /// The log options that go with `log-driver`.
    #[serde(rename = "log-opts", default)]
    pub log_opts: BTreeMap<String, String>,
}

impl RootConfig {
    /// The root's settings; none when the file does not exist.
    pub fn load(root: &Path) -> Result<RootConfig> {
        let file = root.join("config.json");
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RootConfig::default()),
            Err(e) => return Err(Error::usage(format!("cannot read {}: {e}", file.display()))),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::usage(format!(
                "{} is not valid: {e}; it holds e.g. {{\"insecure-registries\": [\"registry.lan:5000\"], \
                 \"log-driver\": \"local\", \"log-opts\": {{\"max-size\": \"20m\", \"max-file\": \"5\"}}}}",
                file.display()
            ))
        })
    }
}
