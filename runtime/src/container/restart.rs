//! Restart policies (`--restart`, the Engine API's `RestartPolicy`): after
//! its guest ends, a container's supervisor starts a new supervisor for it,
//! as dockerd restarts a container, unless the policy or a user's `stop`
//! or `kill` says not to. Between restarts of a guest that keeps ending
//! within seconds, the wait doubles from 100 ms up to a minute, as
//! dockerd's does.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    #[default]
    No,
    Always,
    /// As `always` here: wbox has no daemon whose start would tell them apart.
    UnlessStopped,
    OnFailure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RestartPolicy {
    pub name: Restart,
    /// For `on-failure`: the most restarts; 0 for no limit.
    #[serde(default)]
    pub max_retries: u32,
}

/// A run shorter than this counts as failing quickly: the next wait doubles.
const QUICK: Duration = Duration::from_secs(10);
const FIRST_WAIT: Duration = Duration::from_millis(100);
const LONGEST_WAIT: Duration = Duration::from_secs(60);

impl RestartPolicy {
    /// `no`, `always`, `unless-stopped`, `on-failure[:MAX]`, as `--restart`
    /// takes them.
    pub fn parse(text: &str) -> Result<RestartPolicy> {
        let (name, max) = text.split_once(':').map_or((text, None), |(n, m)| (n, Some(m)));
        let name = match name {
            "" | "no" => Restart::No,
            "always" => Restart::Always,
            "unless-stopped" => Restart::UnlessStopped,
            "on-failure" => Restart::OnFailure,
            other => return Err(Error::usage(format!("invalid restart policy: {other}"))),
        };
        let max_retries = match max {
            None => 0,
            Some(_) if name != Restart::OnFailure => {
                return Err(Error::usage(format!(
                    "invalid restart policy: maximum retry count cannot be used with restart policy '{text}'"
                )));
            }
            Some(n) => n.parse().map_err(|_| {
                Error::usage(format!("invalid restart policy: maximum retry count must be an integer: {n}"))
            })?,
        };
        Ok(RestartPolicy { name, max_retries })
    }

    pub fn docker_name(&self) -> &'static str {
        match self.name {
            Restart::No => "no",
            Restart::Always => "always",
            Restart::UnlessStopped => "unless-stopped",
            Restart::OnFailure => "on-failure",
        }
    }

    /// Whether a guest that ended with `code`, after `restarts` restarts,
    /// starts again; never after a user's stop or kill.
    pub fn restarts(&self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self.name {
            Restart::No => false,
            Restart::Always | Restart::UnlessStopped => true,
            Restart::OnFailure => code != 0 && (self.max_retries == 0 || restarts < self.max_retries),
        }
    }

    /// How long to wait before the next start, after a run that lasted
    /// `ran`, the `restarts`th in a row.
    pub fn wait(ran: Duration, restarts: u32) -> Duration {
        if ran >= QUICK {
            return FIRST_WAIT;
        }
        FIRST_WAIT.saturating_mul(1 << restarts.min(10)).min(LONGEST_WAIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_as_dockers_flag() {
        assert_eq!(
            RestartPolicy::parse("on-failure:3").unwrap(),
            RestartPolicy { name: Restart::OnFailure, max_retries: 3 }
        );
        assert_eq!(RestartPolicy::parse("always").unwrap().name, Restart::Always);
        assert!(RestartPolicy::parse("always:3").is_err());
        assert!(RestartPolicy::parse("sometimes").is_err());
    }

    #[test]
    fn on_failure_counts_and_a_user_stop_wins() {
        let policy = RestartPolicy::parse("on-failure:2").unwrap();
        assert!(policy.restarts(1, 1, false));
        assert!(!policy.restarts(1, 2, false));
        assert!(!policy.restarts(0, 0, false));
        assert!(!RestartPolicy::parse("always").unwrap().restarts(0, 0, true));
    }

    #[test]
    fn quick_failures_wait_longer_each_time() {
        let quick = Duration::from_secs(1);
        assert_eq!(RestartPolicy::wait(quick, 0), Duration::from_millis(100));
        assert_eq!(RestartPolicy::wait(quick, 3), Duration::from_millis(800));
        assert_eq!(RestartPolicy::wait(quick, 30), Duration::from_secs(60));
        assert_eq!(RestartPolicy::wait(Duration::from_secs(11), 30), Duration::from_millis(100));
    }
}
