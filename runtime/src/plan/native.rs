//! What only a native container takes from the command line.

use serde::{Deserialize, Serialize};

/// What only a native container takes from the command line; the grants
/// (`-v`, `-e`, `-w`, `-p`, `--network`) and `--memory` are shared with wasm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NativeOptions {
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

impl NativeOptions {
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

/// `exec`: another process to run in a running native container.
pub struct Exec<'a> {
    pub args: &'a [String],
    pub env: &'a [(String, String)],
    pub workdir: Option<&'a str>,
    pub user: Option<&'a str>,
    /// Whether it reads the user's stdin (`-i`); else an empty one.
    pub stdin: bool,
}
