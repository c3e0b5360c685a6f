//! Starting, waiting for and cleaning up after a native container, with
//! youki's `libcontainer`: create (namespaces, cgroups, mounts; the process
//! waits), set its network up, then start it.

use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cap_std::fs::Dir;
use libcontainer::container::Container as Runtime;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::default::DefaultExecutor;

use super::network::{self, Mode, Slirp};
use super::rootfs::{self, Rootfs, fs_error};
use super::terminal::{ConsoleSocket, Terminal};
use super::{Options, command, spec};
use crate::image::Image;
use crate::rootdir::RootDir;
use crate::store::Store;
use crate::wasm::{Grants, Limits, Network, PublishedPort};
use crate::{Error, Result};

/// What a native container is started from.
pub struct Start<'a> {
    /// The container's id (also libcontainer's and its cgroup's name).
    pub id: &'a str,
    /// The container's directory: its native files go in `native/`.
    pub dir: &'a Path,
    pub store: &'a Store,
    pub image: &'a Image,
    pub argv: &'a [String],
    pub grants: &'a Grants,
    pub limits: &'a Limits,
    pub options: &'a Options,
    /// The user's stdin (`-i`), else the process's stdin is empty; its
    /// stdout and stderr are this process's.
    pub stdin: Option<OwnedFd>,
}

/// A native container whose process runs.
pub struct Running {
    runtime: Runtime,
    pid: i32,
    pidfd: Arc<OwnedFd>,
    /// The image's root filesystem as mounted for it (none for a bundle's,
    /// which its maker mounted).
    rootfs: Option<Rootfs>,
    slirp: Option<Slirp>,
    terminal: Option<Terminal>,
    cgroup: String,
    published: Vec<PublishedPort>,
    stop_signal: i32,
    /// Keeps the image's unpacked layers from garbage collection.
    _image: Option<fs::File>,
}

/// How a native container ended.
pub struct Ended {
    pub exit_code: i32,
    /// The kernel killed it for going past `--memory`.
    pub oom_killed: bool,
}

/// Sends signals to a running container's process, safely after it ended
/// (a pidfd never names another process).
#[derive(Clone)]
pub struct Signaller {
    pidfd: Arc<OwnedFd>,
    pub stop_signal: i32,
}

impl Signaller {
    pub fn send(&self, signal: i32) {
        // SAFETY: pidfd_send_signal on a pidfd we own, no siginfo.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                signal,
                std::ptr::null::<u8>(),
                0,
            )
        };
    }
}

pub fn start(s: Start) -> Result<Running> {
    let dir = s.dir.join("native");
    fs::create_dir_all(&dir).map_err(|e| fs_error(&dir, e))?;
    clean_up(s.dir, s.id);
    let mode = match (&s.grants.network, s.options.network_given) {
        (Network::Host, _) => Mode::Host,
        (Network::None, true) => Mode::None,
        (Network::None, false) => Mode::Private,
        (Network::Allow(_), _) => {
            return Err(Error::usage(
                "--allow-net is a grant for wasm guests; a native container takes --network none, \
                 --network host, or (by default) a private network with outbound access",
            ));
        }
    };
    if mode != Mode::Private && !s.grants.ports.is_empty() {
        return Err(Error::usage(format!(
            "-p needs the container's own network; with --network {} nothing can be published",
            if mode == Mode::Host { "host the container already uses the host's ports" } else { "none" }
        )));
    }
    let rootless = rootless();
    if rootless.is_some() {
        check_rootless_possible()?;
        let limited = s.limits.memory.is_some() || s.options.cpus.is_some() || s.options.pids_limit.is_some();
        if limited {
            return Err(Error::usage(
                "--memory, --cpus and --pids-limit need cgroups, which are root's on this host: run wbox \
                 as root for limits, or run without them",
            ));
        }
        if s.options.privileged {
            return Err(Error::usage("--privileged needs wbox to run as root"));
        }
    }
    let published = network::claim_ports(&s.grants.ports)?;

    let (image_root, image_lock) = s.store.use_rootfs(&s.image.manifest_digest, &s.image.manifest.layers)?;
    let rootfs = Rootfs::mount(&dir, &image_root, false)?;
    let prepared = prepare(&s, &dir, &rootfs, mode);
    let (bundle, cgroup) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            rootfs.unmount();
            return Err(e);
        }
    };

    let tty = s.grants.tty == Some(true);
    let input = s.stdin.is_some();
    let console = if tty { Some(ConsoleSocket::listen(&dir)?) } else { None };
    let stdio = match &console {
        Some(console) => Stdio::Console(&console.path),
        None => Stdio::Inherit(s.stdin),
    };
    let created = builder(s.id, &dir.join("runtime"), stdio)?
        .as_init(&bundle)
        .with_systemd(false)
        .with_detach(true)
        .build();
    let runtime = match created {
        Ok(runtime) => runtime,
        Err(e) => {
            rootfs.unmount();
            clean_up(s.dir, s.id);
            return Err(Error::Internal(anyhow::anyhow!("cannot create the container: {e}")));
        }
    };
    let pid = runtime.pid().map_or(0, |p| p.as_raw());
    let mut running = Running {
        pidfd: Arc::new(pidfd(pid)?),
        runtime,
        pid,
        rootfs: Some(rootfs),
        slirp: None,
        terminal: None,
        cgroup,
        published,
        stop_signal: stop_signal(s.image),
        _image: Some(image_lock),
    };
    let networked = (|| -> Result<()> {
        if let Some(console) = console {
            running.terminal = Some(Terminal::attach(console.master()?, input));
        }
        if mode == Mode::None || mode == Mode::Private {
            network::loopback_up(pid, rootless.is_some())?;
        }
        if mode == Mode::Private {
            let slirp = running.slirp.insert(Slirp::start(pid, &dir, rootless.is_some())?);
            for port in &running.published {
                slirp.publish(port)?;
            }
        }
        Ok(())
    })();
    let started = networked.and_then(|()| {
        running
            .runtime
            .start()
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot start the container: {e}")))
    });
    if let Err(e) = started {
        running.signaller().send(libc::SIGKILL);
        running.wait();
        return Err(e);
    }
    Ok(running)
}

/// Everything before libcontainer: the command checked, the container's
/// `/etc` files and its runtime spec written. Returns the bundle and the
/// cgroup.
fn prepare(s: &Start, dir: &Path, rootfs: &Rootfs, mode: Mode) -> Result<(PathBuf, String)> {
    let root = Dir::open_ambient_dir(&rootfs.path, cap_std::ambient_authority())
        .map_err(|e| fs_error(&rootfs.path, e))?;
    let run = &s.image.config.config;
    let user = command::user(&root, s.options.user.as_deref().or(run.user.as_deref()))?;
    let rootless = rootless();
    if rootless.is_some() && user.uid != 0 {
        return Err(Error::usage(format!(
            "user {} (uid {}) needs wbox to run as root: without root a container has one user, root \
             inside, mapped to you; run with -u 0",
            s.options.user.as_deref().or(run.user.as_deref()).unwrap_or_default(),
            user.uid
        )));
    }
    let hostname = s.options.hostname.clone().unwrap_or_else(|| s.id[..12].to_owned());
    let mut pairs = s.image.env();
    pairs.extend(s.grants.env.iter().cloned());
    let env = command::environment(&pairs, &hostname, &user);
    let cwd = s
        .grants
        .workdir
        .clone()
        .or_else(|| run.working_dir.clone())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".to_owned());
    // Docker's daemon makes a working directory the image lacks (a WORKDIR
    // no step filled, `-w`) before the container starts, root's, in the
    // container's own layer; without it the runtime fails to chdir with an
    // error that does not say so.
    RootDir::open(&rootfs.path)
        .and_then(|root| root.create_dir_all(&cwd))
        .map_err(|e| Error::usage(format!("cannot make the working directory {cwd}: {e}")))?;
    command::check_program(&root, &s.argv[0], &env, &cwd)?;

    let resolv = match mode {
        Mode::Private => format!("nameserver {}\n", network::DNS_ADDRESS),
        Mode::Host | Mode::None => fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
    };
    let address = (mode == Mode::Private).then_some(network::CONTAINER_ADDRESS);
    let etc = rootfs::write_etc(dir, &hostname, address, &resolv)?;
    let cgroup = format!("/wbox/{}", s.id);
    let spec = spec::generate(&spec::Plan {
        args: s.argv,
        env: &env,
        cwd: &cwd,
        user,
        hostname: &hostname,
        rootfs: &rootfs.path,
        etc: &etc,
        dirs: &s.grants.dirs,
        options: s.options,
        memory: s.limits.memory,
        host_network: mode == Mode::Host,
        terminal: s.grants.tty == Some(true),
        rootless,
        cgroup: cgroup.clone(),
    })?;
    let bundle = dir.join("bundle");
    fs::create_dir_all(&bundle).map_err(|e| fs_error(&bundle, e))?;
    spec.save(bundle.join("config.json"))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot write the runtime spec: {e}")))?;
    Ok((bundle, cgroup))
}

impl Running {
    /// The ports published, with the host ports chosen.
    pub fn published(&self) -> &[PublishedPort] {
        &self.published
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The cgroup the container's processes are in.
    pub fn cgroup(&self) -> &str {
        &self.cgroup
    }

    pub fn signaller(&self) -> Signaller {
        Signaller { pidfd: Arc::clone(&self.pidfd), stop_signal: self.stop_signal }
    }

    /// Waits for the container's process to end (the kernel then ends every
    /// other process of its pid namespace) and removes what it ran in: its
    /// cgroup, network, mounts and libcontainer's state.
    pub fn wait(mut self) -> Ended {
        let exit_code = wait_for(self.pid);
        let oom_killed = exit_code == 128 + libc::SIGKILL && oom_kills(&self.cgroup) > 0;
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
        Ended { exit_code, oom_killed }
    }
}

/// A native container from an OCI bundle someone else prepared (a
/// containerd shim's): its runtime spec and root filesystem as given.
pub struct FromBundle<'a> {
    pub id: &'a str,
    /// Holds `config.json`; the spec's root is relative to it.
    pub bundle: &'a Path,
    /// Where libcontainer keeps the container's state.
    pub state: &'a Path,
    /// stdin, stdout, stderr; a missing one is empty or discarded.
    pub stdio: [Option<OwnedFd>; 3],
}

/// A container whose namespaces, cgroup and mounts are made, and whose
/// process waits to be started.
pub struct Created(Running);

/// Creates the container a bundle describes (the first half of
/// `create`/`start`, as the OCI runtime verbs split it).
pub fn create_from_bundle(b: FromBundle) -> Result<Created> {
    let spec = oci_spec::runtime::Spec::load(b.bundle.join("config.json"))
        .map_err(|e| Error::usage(format!("the bundle's config.json cannot be read: {e}")))?;
    if spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false) {
        return Err(Error::usage(
            "a terminal for a native container is not supported by the wbox shim yet; run without -t",
        ));
    }
    let cgroup = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone()).unwrap_or_default();
    let runtime = builder(b.id, b.state, Stdio::Files(b.stdio))?
        .as_init(b.bundle)
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(|e| Error::NotRunnable(format!("cannot create the container: {e}")))?;
    let pid = runtime.pid().map_or(0, |p| p.as_raw());
    let running = Running {
        pidfd: Arc::new(pidfd(pid)?),
        runtime,
        pid,
        rootfs: None,
        slirp: None,
        terminal: None,
        cgroup: cgroup.to_string_lossy().into_owned(),
        published: Vec::new(),
        stop_signal: libc::SIGTERM,
        _image: None,
    };
    // A container made with its own network namespace has only a loopback
    // device, down; the spec's maker (containerd) adds any other.
    if crate::oci::has_own_network(&spec)
        && let Err(e) = network::loopback_up(pid, false)
    {
        running.signaller().send(libc::SIGKILL);
        running.wait();
        return Err(e);
    }
    Ok(Created(running))
}

impl Created {
    pub fn pid(&self) -> i32 {
        self.0.pid
    }

    pub fn signaller(&self) -> Signaller {
        self.0.signaller()
    }

    /// Lets the container's process run its command.
    pub fn start(mut self) -> Result<Running> {
        if let Err(e) = self.0.runtime.start() {
            self.discard();
            return Err(Error::NotRunnable(format!("cannot start the container: {e}")));
        }
        Ok(self.0)
    }

    /// Removes a container that was never started.
    pub fn discard(self) -> Ended {
        self.0.signaller().send(libc::SIGKILL);
        self.0.wait()
    }
}

/// A container's stdio.
pub(super) enum Stdio<'a> {
    /// The given stdin (else an empty one); this process's stdout and stderr.
    Inherit(Option<OwnedFd>),
    /// A pseudo-terminal, whose master end goes to this console socket.
    Console(&'a str),
    /// stdin, stdout, stderr; a missing one is empty or discarded.
    Files([Option<OwnedFd>; 3]),
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
    // SAFETY: geteuid and getegid only read the process's credentials.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    (uid != 0).then_some((uid, gid))
}

/// Waits for a child process to end; its exit code, or 128 + the signal
/// that ended it.
pub(super) fn wait_for(pid: i32) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child.
        let done = unsafe { libc::waitpid(pid, &mut status, 0) };
        if done >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    if libc::WIFSIGNALED(status) { 128 + libc::WTERMSIG(status) } else { libc::WEXITSTATUS(status) }
}

/// How many times the kernel's OOM killer struck in a cgroup (v1 or v2).
fn oom_kills(cgroup: &str) -> u64 {
    let relative = cgroup.trim_start_matches('/');
    let files = [
        (format!("/sys/fs/cgroup/memory/{relative}/memory.oom_control"), "oom_kill "),
        (format!("/sys/fs/cgroup/{relative}/memory.events"), "oom_kill "),
    ];
    files
        .iter()
        .filter_map(|(path, key)| {
            let text = fs::read_to_string(path).ok()?;
            text.lines().find_map(|l| l.strip_prefix(key)).and_then(|n| n.trim().parse().ok())
        })
        .next()
        .unwrap_or(0)
}

/// Removes what a native container left when its supervisor was killed:
/// its processes and cgroup (through libcontainer's state) and its
/// rootfs mount. Nothing to do for one that ended normally.
pub fn clean_up(container_dir: &Path, id: &str) {
    let dir = container_dir.join("native");
    remove_state(&dir.join("runtime"), id);
    rootfs::unmount(&dir.join("rootfs"));
}

/// Kills and removes the container libcontainer keeps state for in
/// `root`, if any: its processes, cgroup and state directory.
pub fn remove_state(root: &Path, id: &str) {
    let state = root.join(id);
    if state.exists() {
        // A killed process takes a moment to leave its cgroup, which cannot
        // be removed before: try again for a while.
        for attempt in 1..=20 {
            let deleted = Runtime::load(state.clone()).map(|mut runtime| runtime.delete(true));
            match deleted {
                Ok(Err(e)) if attempt < 20 => {
                    tracing::debug!("cleaning up container {id} (attempt {attempt}): {e}");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Ok(Err(e)) => tracing::warn!("cleaning up container {id}: {e}"),
                Ok(Ok(())) => break,
                Err(e) => {
                    tracing::warn!("cleaning up container {id}: {e}");
                    break;
                }
            }
        }
        let _ = fs::remove_dir_all(&state);
    }
}

/// The processes in a cgroup (v2, or v1's pids controller).
pub fn processes(cgroup: &str) -> Option<Vec<u32>> {
    let relative = cgroup.trim_start_matches('/');
    [
        format!("/sys/fs/cgroup/{relative}/cgroup.procs"),
        format!("/sys/fs/cgroup/pids/{relative}/cgroup.procs"),
    ]
    .iter()
    .find_map(|path| fs::read_to_string(path).ok())
    .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

fn pidfd(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor we own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return Err(Error::Internal(anyhow::anyhow!(
            "cannot hold the container's process: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: fd is fresh and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The image's STOPSIGNAL, SIGTERM by default.
fn stop_signal(image: &Image) -> i32 {
    image
        .config
        .config
        .stop_signal
        .as_deref()
        .and_then(|s| crate::ids::parse_signal(s).ok().flatten())
        .unwrap_or(libc::SIGTERM)
}
