//! What a native container's process is: its user, environment and the
//! program it starts, looked up in the container's rootfs before anything
//! runs, so that a missing or unrunnable command is a clear error (127,
//! 126) rather than a failure inside the new namespaces.

use cap_std::fs::PermissionsExt;
use std::io;
use std::path::Path;

use cap_std::fs::Dir;

use crate::{Error, Result};

use crate::image::DEFAULT_PATH;

pub(crate) use crate::users::{User, user};

/// The process's environment: the image's, then the user's (a later key
/// wins), with PATH, HOSTNAME and HOME as Docker sets them when absent.
pub(super) fn environment(pairs: &[(String, String)], hostname: &str, user: &User) -> Vec<String> {
    let mut env: Vec<(String, String)> = Vec::new();
    let defaults = [("PATH", DEFAULT_PATH), ("HOSTNAME", hostname), ("HOME", user.home.as_str())];
    for (key, value) in
        defaults.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).chain(pairs.iter().cloned())
    {
        match env.iter_mut().find(|(k, _)| *k == key) {
            Some(existing) => existing.1 = value,
            None => env.push((key, value)),
        }
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// Finds the program as execve would in the container: a name with a `/`
/// as a path (from the working directory), any other in PATH.
pub(super) fn check_program(rootfs: &Dir, program: &str, env: &[String], cwd: &str) -> Result<()> {
    let inside = |path: &str| -> String {
        let full = if path.starts_with('/') { path.to_owned() } else { format!("{cwd}/{path}") };
        full.trim_start_matches('/').to_owned()
    };
    if program.is_empty() {
        return Err(Error::NotRunnable("the command is empty".into()));
    }
    if program.contains('/') {
        return match probe(rootfs, &inside(program)) {
            Probe::Runnable => Ok(()),
            Probe::Missing => {
                Err(Error::CommandNotFound(format!("{program}: no such file or directory in the container")))
            }
            Probe::NotRunnable(why) => Err(Error::NotRunnable(format!("{program}: {why}"))),
        };
    }
    let path = env.iter().find_map(|kv| kv.strip_prefix("PATH=")).unwrap_or(DEFAULT_PATH);
    let mut refused = None;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        match probe(rootfs, &inside(&format!("{dir}/{program}"))) {
            Probe::Runnable => return Ok(()),
            Probe::Missing => {}
            Probe::NotRunnable(why) => refused = refused.or(Some(format!("{dir}/{program}: {why}"))),
        }
    }
    Err(match refused {
        Some(why) => Error::NotRunnable(why),
        None => Error::CommandNotFound(format!(
            "{program}: executable file not found in $PATH ({path}) in the container"
        )),
    })
}

enum Probe {
    Runnable,
    Missing,
    NotRunnable(&'static str),
}

fn probe(rootfs: &Dir, path: &str) -> Probe {
    match rootfs.metadata(Path::new(path)) {
        Ok(m) if m.is_dir() => Probe::NotRunnable("is a directory"),
        Ok(m) if m.permissions().mode() & 0o111 == 0 => {
            Probe::NotRunnable("permission denied (not executable)")
        }
        Ok(_) => Probe::Runnable,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Probe::Missing,
        // A symlink cap-std will not follow (an absolute one written by the
        // container itself): let the kernel decide.
        Err(_) => Probe::Runnable,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn rootfs(files: &[(&str, &str, u32)]) -> (tempfile::TempDir, Dir) {
        let temp = tempfile::tempdir().unwrap();
        for (path, text, mode) in files {
            let full = temp.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, text).unwrap();
            std::fs::set_permissions(&full, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        let dir = Dir::open_ambient_dir(temp.path(), cap_std::ambient_authority()).unwrap();
        (temp, dir)
    }

    #[test]
    fn programs_found_as_execve_would() {
        let (_t, dir) = rootfs(&[("bin/tool", "#!", 0o755), ("bin/data", "x", 0o644)]);
        let env = vec!["PATH=/usr/bin:/bin".to_owned()];
        assert!(check_program(&dir, "tool", &env, "/").is_ok());
        assert!(check_program(&dir, "/bin/tool", &env, "/").is_ok());
        assert!(check_program(&dir, "./tool", &env, "/bin").is_ok());
        assert_eq!(check_program(&dir, "nothere", &env, "/").unwrap_err().exit_code(), 127);
        assert_eq!(check_program(&dir, "/bin/nothere", &env, "/").unwrap_err().exit_code(), 127);
        assert_eq!(check_program(&dir, "data", &env, "/").unwrap_err().exit_code(), 126);
        assert_eq!(check_program(&dir, "/bin", &env, "/").unwrap_err().exit_code(), 126);
    }

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
