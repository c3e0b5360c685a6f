//! What a native container's process is: its user, environment and the
//! program it starts, looked up in the container's rootfs before anything
//! runs, so that a missing or unrunnable command is a clear error (127,
//! 126) rather than a failure inside the new namespaces.

use cap_std::fs::Dir;

use crate::plan::{DEFAULT_PATH, Found, find_program, merge_env};
use crate::{Error, Result};

pub(crate) use crate::users::{User, user};

/// The process's environment: the image's, then the user's (a later key
/// wins), with PATH, HOSTNAME and HOME as Docker sets them when absent.
pub(super) fn environment(pairs: &[(String, String)], hostname: &str, user: &User) -> Vec<String> {
    let defaults = [("PATH", DEFAULT_PATH), ("HOSTNAME", hostname), ("HOME", user.home.as_str())];
    let pairs = defaults.into_iter().chain(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    merge_env(pairs).into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// Checks that the program can be run in the container, looked up as
/// execve would (`plan::find_program`).
pub(super) fn check_program(rootfs: &Dir, program: &str, env: &[String], cwd: &str) -> Result<()> {
    if program.is_empty() {
        return Err(Error::NotRunnable("the command is empty".into()));
    }
    let path = env.iter().rev().find_map(|kv| kv.strip_prefix("PATH="));
    match find_program(rootfs, program, path, cwd) {
        Found::File { executable: true, .. } => Ok(()),
        Found::File { path, executable: false } => {
            Err(Error::NotRunnable(format!("{path}: permission denied (not executable)")))
        }
        Found::NotRunnable(why) => Err(Error::NotRunnable(why)),
        Found::Missing if program.contains('/') => {
            Err(Error::CommandNotFound(format!("{program}: no such file or directory in the container")))
        }
        Found::Missing => Err(Error::CommandNotFound(format!(
            "{program}: executable file not found in $PATH ({}) in the container",
            path.unwrap_or(DEFAULT_PATH)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_defaults_and_overrides() {
        let user = User { uid: 0, gid: 0, groups: vec![], home: "/root".into() };
        let env = environment(
            &[("PATH".into(), "/x".into()), ("A".into(), "1".into()), ("A".into(), "2".into())],
            "box",
            &user,
        );
        assert_eq!(env, ["PATH=/x", "HOSTNAME=box", "HOME=/root", "A=2"]);
    }
}
