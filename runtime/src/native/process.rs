//! A container's process: libcontainer's builder with its stdio, the
//! process held by a pidfd and waited for, and whether wbox runs rootless.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::Path;

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::default::DefaultExecutor;

use super::rootfs::fs_error;
use crate::plan::{Exit, StdioFiles};
use crate::{Error, Result};

/// A container's stdio.
pub(super) enum Stdio<'a> {
    /// The given stdin (else an empty one); this process's stdout and stderr.
    Inherit(Option<OwnedFd>),
    /// A pseudo-terminal, whose master end goes to this console socket.
    Console(&'a str),
    /// stdin, stdout, stderr; a missing one is empty or discarded.
    Files([Option<OwnedFd>; 3]),
}

/// The files of `stdio`, as libcontainer takes them.
pub(super) fn owned(stdio: &StdioFiles) -> Result<[Option<OwnedFd>; 3]> {
    let fd = |file: Option<&std::sync::Arc<fs::File>>| -> Result<Option<OwnedFd>> {
        let owned = file.map(|f| f.try_clone().map(OwnedFd::from)).transpose();
        owned.map_err(|e| Error::Internal(anyhow::anyhow!("cannot hand on the container's stdio: {e}")))
    };
    Ok([fd(stdio.stdin.as_ref())?, fd(stdio.stdout.as_ref())?, fd(stdio.stderr.as_ref())?])
}

/// libcontainer's builder for container `id`, its state under `state`.
pub(super) fn builder(id: &str, state: &Path, stdio: Stdio) -> Result<ContainerBuilder> {
    let builder = ContainerBuilder::new(id.to_owned(), SyscallType::default())
        .with_root_path(state)
        .map_err(|e| {
            Error::Internal(anyhow::anyhow!("cannot keep the container's state in {}: {e}", state.display()))
        })?
        .with_executor(DefaultExecutor {});
    Ok(match stdio {
        Stdio::Console(path) => builder.with_console_socket(Some(path)),
        Stdio::Inherit(stdin) => {
            let stdin = match stdin {
                Some(stdin) => stdin,
                None => fs::File::open("/dev/null").map_err(|e| fs_error(Path::new("/dev/null"), e))?.into(),
            };
            with_output(builder.with_stdin(stdin))
        }
        Stdio::Files([stdin, stdout, stderr]) => {
            let builder = match stdin {
                Some(stdin) => builder.with_stdin(stdin),
                None => builder.with_stdin(
                    fs::File::open("/dev/null").map_err(|e| fs_error(Path::new("/dev/null"), e))?,
                ),
            };
            // Not /dev/null, for the reason `with_output` gives.
            let discard =
                || drained_pipe().map_err(|e| Error::Internal(anyhow::anyhow!("cannot make a pipe: {e}")));
            let builder = builder.with_stdout(match stdout {
                Some(stdout) => stdout,
                None => discard()?.into(),
            });
            builder.with_stderr(match stderr {
                Some(stderr) => stderr,
                None => discard()?.into(),
            })
        }
    })
}

/// The writing end of a pipe whose reader throws away what it reads.
fn drained_pipe() -> std::io::Result<std::io::PipeWriter> {
    let (mut reader, writer) = std::io::pipe()?;
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    Ok(writer)
}

/// Gives the container this process's stdout and stderr, except where one
/// is /dev/null: libcontainer 0.7 reopens such a descriptor inside the
/// container read-only, so writes to it fail (EBADF). Output meant for
/// /dev/null goes to a pipe that is drained instead.
fn with_output(builder: ContainerBuilder) -> ContainerBuilder {
    let (mut builder, null) = (builder, fs::metadata("/dev/null").ok());
    for fd in [1, 2] {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let target = fs::metadata(format!("/proc/self/fd/{fd}")).ok();
        let is_null = match (&target, &null) {
            (Some(t), Some(n)) => t.file_type().is_char_device() && t.rdev() == n.rdev(),
            _ => false,
        };
        if !is_null {
            continue;
        }
        let Ok(writer) = drained_pipe() else { continue };
        builder = if fd == 1 { builder.with_stdout(writer) } else { builder.with_stderr(writer) };
    }
    builder
}

/// libcontainer runs a container without root only where cgroups are v2
/// (the unified hierarchy): on a v1 host it must make cgroups, which are
/// root's.
pub(super) fn check_rootless_possible() -> Result<()> {
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return Ok(());
    }
    Err(Error::usage(
        "native containers need root on this host: its cgroups are v1, where a container cannot be made \
         without root (rootless containers need cgroup v2); run wbox as root, or run wasm images, which \
         need no privileges",
    ))
}

/// When wbox runs unprivileged, its user and group: a container then gets
/// a user namespace where root is this user.
pub(super) fn rootless() -> Option<(u32, u32)> {
    let (uid, gid) = (rustix::process::geteuid(), rustix::process::getegid());
    (!uid.is_root()).then_some((uid.as_raw(), gid.as_raw()))
}

/// Waits for a child process to end: its exit code, or the signal that
/// ended it.
pub(super) fn wait_for(pid: i32) -> Exit {
    use rustix::process::{Pid, WaitOptions, waitpid};
    let Some(pid) = Pid::from_raw(pid) else { return Exit::exited(0) };
    loop {
        match waitpid(Some(pid), WaitOptions::empty()) {
            Err(rustix::io::Errno::INTR) => continue,
            Ok(Some((_, status))) => {
                return match status.terminating_signal() {
                    Some(signal) => Exit::signaled(signal),
                    None => Exit::exited(status.exit_status().unwrap_or(0)),
                };
            }
            // Reaped already: nothing is known of how it ended.
            Ok(None) | Err(_) => return Exit::exited(0),
        }
    }
}

pub(super) fn pidfd(pid: i32) -> Result<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("the container has no process")))?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot hold the container's process: {e}")))
}
