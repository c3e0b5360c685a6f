//! Resource limits of a run.

use std::time::Duration;

/// What a guest may use. `None` means unlimited.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// A hard cap, in bytes, on all of the guest's linear memories and tables
    /// together.
    pub memory: Option<u64>,
    /// A wall-clock deadline for the whole run (for a service: each request).
    pub timeout: Option<Duration>,
    /// How many requests one instance of an HTTP service answers in turn;
    /// 1 (or none): a fresh instance per request.
    #[serde(default)]
    pub instance_reuse: Option<u32>,
}

impl Limits {
    /// Limits as the command line writes them: `--memory 64m`, `--timeout 5s`.
    pub fn from_flags(memory: Option<&str>, timeout: Option<&str>) -> crate::Result<Limits> {
        Ok(Limits {
            memory: memory.map(crate::units::parse_size).transpose()?,
            timeout: timeout.map(crate::units::parse_duration).transpose()?,
            instance_reuse: None,
        })
    }
}
