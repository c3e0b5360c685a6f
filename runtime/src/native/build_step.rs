//! RUN in a native stage of `wbox build`: the command runs in a namespace
//! container whose root is the stage's own files (read-write, so that its
//! changes are the step's layer), with the build's network, and its output
//! is the build's.

use std::fs;
use std::path::Path;

use cap_std::fs::Dir;

use super::rootfs::{self, fs_error};
use super::{Options, command, network, spec};
use crate::scratch::Scratch;
use crate::wasm::DirGrant;
use crate::{Error, Result};

/// Where in a step's scratch directory libcontainer keeps the container's
/// state.
pub const BUILD_STEP_STATE: &str = "runtime";

/// One RUN step.
pub struct BuildStep<'a> {
    /// wbox's state directory (ROOT): the step's scratch directory is there.
    pub root: &'a Path,
    /// The stage's files: the container's root.
    pub files: &'a Path,
    pub argv: &'a [String],
    pub env: &'a [(String, String)],
    pub workdir: &'a str,
    /// The stage's USER, if any.
    pub user: Option<&'a str>,
    /// The host's network (Docker's default for a build), else loopback only.
    pub host_network: bool,
    /// `RUN --mount`: files and directories bound into the step.
    pub mounts: &'a [DirGrant],
    /// `RUN --mount=type=tmpfs`: where empty tmpfs are mounted.
    pub tmpfs: &'a [String],
}

/// Runs the step to its end; returns its exit code.
pub fn run_build_step(step: BuildStep) -> Result<i32> {
    // Under ROOT, held while the step runs: if this process is killed, the
    // next wbox finds the runtime state there and ends the container.
    let work = Scratch::new(step.root, "run-")?;
    let id = format!("wbox-build-{}", &crate::ids::new_id()?[..16]);
    let root = Dir::open_ambient_dir(step.files, cap_std::ambient_authority())
        .map_err(|e| fs_error(step.files, e))?;
    if super::run::rootless().is_some() {
        super::run::check_rootless_possible()?;
    }
    let user = command::user(&root, step.user)?;
    let env = command::environment(step.env, &id, &user);
    // A program on a mount (a heredoc script) is not among the stage's files.
    let on_a_mount = step.mounts.iter().any(|m| Path::new(&step.argv[0]).starts_with(&m.guest));
    if !on_a_mount {
        command::check_program(&root, &step.argv[0], &env, step.workdir)?;
    }
    let resolv = if step.host_network {
        fs::read_to_string("/etc/resolv.conf").unwrap_or_default()
    } else {
        String::new()
    };
    let etc = rootfs::write_etc(work.path(), &id, None, &resolv)?;
    let options = Options { tmpfs: step.tmpfs.to_vec(), ..Options::default() };
    let spec = spec::generate(&spec::Plan {
        args: step.argv,
        env: &env,
        cwd: step.workdir,
        user,
        hostname: &id,
        rootfs: step.files,
        etc: &etc,
        dirs: step.mounts,
        options: &options,
        memory: None,
        host_network: step.host_network,
        terminal: false,
        cgroup: format!("/wbox/{id}"),
        rootless: super::run::rootless(),
    })?;
    let bundle = work.path().join("bundle");
    fs::create_dir_all(&bundle).map_err(|e| fs_error(&bundle, e))?;
    spec.save(bundle.join("config.json"))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot write the runtime spec: {e}")))?;
    let mut container =
        super::run::builder(&id, &work.path().join(BUILD_STEP_STATE), super::run::Stdio::Inherit(None))?
            .as_init(&bundle)
            .with_systemd(false)
            .with_detach(true)
            .build()
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot create the step's container: {e}")))?;
    let pid = container.pid().map_or(0, |p| p.as_raw());
    let started =
        if step.host_network { Ok(()) } else { network::loopback_up(pid, super::run::rootless().is_some()) };
    let started = started.and_then(|()| {
        container
            .start()
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot start the step's container: {e}")))
    });
    if started.is_err() {
        // SAFETY: kill(2) on our own child, still waiting to start.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let code = super::run::wait_for(pid);
    if let Err(e) = container.delete(true) {
        tracing::warn!("cleaning up the step's container: {e}");
    }
    started.map(|()| code)
}
