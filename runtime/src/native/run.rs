//! A native container as a `Task`: made from a plan (an image's root
//! filesystem, or a bundle as containerd prepared it) by youki's
//! `libcontainer` with its process waiting, then started, then waited for
//! and cleaned up after.

use std::fs;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use libcontainer::container::Container as Runtime;

use super::cgroup::{oom_kills, processes};
use super::from_bundle::from_bundle;
use super::from_image::{FromImage, from_image};
use super::network::Slirp;
use super::process::{pidfd, wait_for};
use super::rootfs::Rootfs;
use super::terminal::Terminal;
use crate::plan::{Exit, ExitCell, NativeRun, PublishedPort, RunPlan, Task, Workload};
use crate::{Error, Result};

/// A native container: made, then started, then ended.
pub struct NativeTask {
    pid: i32,
    signaller: Signaller,
    cgroup: String,
    published: Vec<PublishedPort>,
    /// Until it is started.
    created: Mutex<Option<Running>>,
    ended: Arc<ExitCell>,
}

/// Makes the container a plan describes; its process waits to be started.
pub fn create(plan: RunPlan) -> Result<Arc<dyn Task>> {
    let RunPlan { id, workload, grants, limits, stop_signal, hold } = plan;
    let Workload::Native(run) = workload else {
        return Err(Error::Internal(anyhow::anyhow!("a wasm plan was given to the native executor")));
    };
    let mut running = match run {
        NativeRun::Image { dir, root, options, user } => {
            let image = FromImage { id: &id, dir: &dir, root: &root, options: &options, user };
            from_image(image, &grants, limits.memory)?
        }
        NativeRun::Bundle { dir } => from_bundle(&id, &dir, grants.stdio.as_ref())?,
    };
    running.stop_signal = stop_signal;
    running._image = hold;
    Ok(Arc::new(NativeTask {
        pid: running.pid,
        signaller: running.signaller(),
        cgroup: running.cgroup.clone(),
        published: running.published.clone(),
        created: Mutex::new(Some(running)),
        ended: Arc::default(),
    }))
}

impl Task for NativeTask {
    fn pid(&self) -> u32 {
        self.pid as u32
    }

    fn published(&self) -> Vec<PublishedPort> {
        self.published.clone()
    }

    fn start(&self) -> Result<()> {
        let created = self.created.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(mut running) = created else {
            return Err(Error::usage("the container was started already"));
        };
        if let Err(e) = running.runtime.start() {
            self.ended.set(running.discard());
            return Err(Error::NotRunnable(format!("cannot start the container: {e}")));
        }
        let ended = Arc::clone(&self.ended);
        std::thread::Builder::new()
            .name(format!("wait {}", self.pid))
            .spawn(move || ended.set(running.wait()))
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot start a thread to wait: {e}")))?;
        Ok(())
    }

    fn ask_to_end(&self) {
        self.signaller.send(self.signaller.stop_signal);
    }

    fn signal(&self, signal: i32) {
        self.signaller.send(signal);
    }

    fn wait(&self) -> Exit {
        self.ended.wait().0
    }

    fn discard(&self) {
        if let Some(running) = self.created.lock().unwrap_or_else(|e| e.into_inner()).take() {
            self.ended.set(running.discard());
        }
    }

    /// As its cgroup lists them.
    fn processes(&self) -> Vec<u32> {
        processes(&self.cgroup).unwrap_or_else(|| vec![self.pid as u32])
    }

    fn is_wasm(&self) -> bool {
        false
    }
}

/// A native container's process, made; `NativeTask` starts it.
pub(super) struct Running {
    pub(super) runtime: Runtime,
    pub(super) pid: i32,
    pub(super) pidfd: Arc<OwnedFd>,
    /// The image's root filesystem as mounted for it (none for a bundle's,
    /// which its maker mounted).
    pub(super) rootfs: Option<Rootfs>,
    pub(super) slirp: Option<Slirp>,
    pub(super) terminal: Option<Terminal>,
    pub(super) cgroup: String,
    pub(super) published: Vec<PublishedPort>,
    pub(super) stop_signal: i32,
    /// Keeps the image's unpacked layers from garbage collection.
    pub(super) _image: Option<fs::File>,
}

/// Sends signals to a running container's process, safely after it ended
/// (a pidfd never names another process).
#[derive(Clone)]
pub(super) struct Signaller {
    pidfd: Arc<OwnedFd>,
    stop_signal: i32,
}

impl Signaller {
    pub(super) fn send(&self, signal: i32) {
        use rustix::process::Signal;
        let signal = match Signal::from_named_raw(signal) {
            Some(signal) => signal,
            // SAFETY: a real-time signal the kernel knows; it is only sent,
            // never handled in this process.
            None if (1..=64).contains(&signal) => unsafe { Signal::from_raw_unchecked(signal) },
            None => return,
        };
        let _ = rustix::process::pidfd_send_signal(&*self.pidfd, signal);
    }
}

impl Running {
    /// The process libcontainer made for the container, held by a pidfd,
    /// in `cgroup`; nothing else of it set up yet.
    pub(super) fn new(runtime: Runtime, cgroup: String) -> Result<Running> {
        let pid = runtime.pid().map_or(0, |p| p.as_raw());
        Ok(Running {
            pidfd: Arc::new(pidfd(pid)?),
            runtime,
            pid,
            rootfs: None,
            slirp: None,
            terminal: None,
            cgroup,
            published: Vec::new(),
            stop_signal: libc::SIGTERM,
            _image: None,
        })
    }

    pub(super) fn signaller(&self) -> Signaller {
        Signaller { pidfd: Arc::clone(&self.pidfd), stop_signal: self.stop_signal }
    }

    /// Waits for the container's process to end (the kernel then ends every
    /// other process of its pid namespace) and removes what it ran in: its
    /// cgroup, network, mounts and libcontainer's state.
    pub(super) fn wait(mut self) -> Exit {
        let exit = wait_for(self.pid);
        let oom_killed = exit.code == 128 + libc::SIGKILL && oom_kills(&self.cgroup) > 0;
        if let Some(terminal) = self.terminal.take() {
            terminal.detach();
        }
        if let Some(slirp) = self.slirp.take() {
            slirp.stop();
        }
        if let Err(e) = self.runtime.delete(true) {
            tracing::warn!("cleaning up the container's runtime state: {e}");
        }
        if let Some(rootfs) = self.rootfs.take() {
            rootfs.unmount();
        }
        if oom_killed { Exit::oom_killed() } else { exit }
    }

    /// Kills a process that never ran its command, and removes what it was
    /// made in.
    pub(super) fn discard(self) -> Exit {
        self.signaller().send(libc::SIGKILL);
        self.wait()
    }
}
