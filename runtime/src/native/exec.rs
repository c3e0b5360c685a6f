//! `exec`: another process in a running native container, in its
//! namespaces and cgroup, with its capabilities and syscall filter
//! (libcontainer's "tenant" process).

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::Path;

use cap_std::fs::Dir;

use super::command;
use super::rootfs::fs_error;
use crate::plan::Exec;
use crate::{Error, Result};

/// Whether a container's record is a running native container's.
pub fn is_native(container_dir: &Path, id: &str) -> bool {
    container_dir.join("native/runtime").join(id).exists()
}

/// Runs `e` in the running native container `id` and waits for it; returns
/// its exit code.
pub fn exec(container_dir: &Path, id: &str, e: Exec) -> Result<i32> {
    let dir = container_dir.join("native");
    let rootfs = super::rootfs::Rootfs::path_in(&dir);
    let root =
        Dir::open_ambient_dir(&rootfs, cap_std::ambient_authority()).map_err(|err| fs_error(&rootfs, err))?;
    let spec = oci_spec::runtime::Spec::load(dir.join("bundle/config.json"))
        .map_err(|err| Error::Internal(anyhow::anyhow!("cannot read the container's runtime spec: {err}")))?;
    let process = spec.process().clone().unwrap_or_default();
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    env.extend(e.env.iter().map(|(k, v)| format!("{k}={v}")));
    let cwd = e.workdir.map_or_else(|| process.cwd().display().to_string(), str::to_owned);
    let program = e.args.first().ok_or_else(|| Error::usage("give the command to run in the container"))?;
    command::check_program(&root, program, &env, &cwd)?;
    let (uid, gid) = match e.user {
        Some(user) => {
            let user = command::user(&root, Some(user))?;
            (user.uid, user.gid)
        }
        None => (process.user().uid(), process.user().gid()),
    };
    let extra: HashMap<String, String> = e.env.iter().cloned().collect();
    let stdin = match e.stdin {
        true => Some(std::io::stdin().as_fd().try_clone_to_owned().map_err(|e| Error::Internal(e.into()))?),
        false => None,
    };
    let pid = super::process::builder(id, &dir.join("runtime"), super::process::Stdio::Inherit(stdin))?
        .as_tenant()
        .with_container_args(e.args.to_vec())
        .with_env(extra)
        .with_cwd(Some(cwd))
        .with_user(Some(uid))
        .with_group(Some(gid))
        .with_detach(true)
        .build()
        .map_err(|err| {
            Error::Internal(anyhow::anyhow!("cannot start the process in the container: {err}"))
        })?;
    Ok(super::process::wait_for(pid.as_raw()).code)
}
