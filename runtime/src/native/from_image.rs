//! A native container of an image's files: the image's layers mounted
//! with a writable one of its own (a container), or a build stage's files
//! changed in place (a RUN step); its `/etc` files and runtime spec
//! written, its network set up as `--network` says.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use cap_std::fs::Dir;

use super::cgroup::clean_up;
use super::network::{self, Mode, Slirp};
use super::process::{Stdio, builder, check_rootless_possible, rootless};
use super::rootfs::{self, Rootfs, fs_error};
use super::run::Running;
use super::terminal::{ConsoleSocket, Terminal};
use super::{command, spec};
use crate::network::{Memberships, Networks};
use crate::plan::{Grants, NativeOptions, NativeRoot, Network};
use crate::rootdir::RootDir;
use crate::{Error, Result};

/// A container of an image's files.
pub(super) struct FromImage<'a> {
    pub(super) id: &'a str,
    /// The container's directory: its native files go in `native/`.
    pub(super) dir: &'a Path,
    pub(super) root: &'a NativeRoot,
    pub(super) options: &'a NativeOptions,
    pub(super) user: Option<String>,
}

/// Where, in a container's directory, libcontainer keeps its state.
pub const STATE_DIR: &str = "native/runtime";

pub(super) fn from_image(s: FromImage, grants: &Grants, memory: Option<u64>) -> Result<Running> {
    let dir = s.dir.join("native");
    fs::create_dir_all(&dir).map_err(|e| fs_error(&dir, e))?;
    clean_up(s.dir, s.id);
    let mode = match (&grants.network, s.options.network_given) {
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
    if mode != Mode::Private && !grants.ports.is_empty() {
        return Err(Error::usage(format!(
            "-p needs the container's own network; with --network {} nothing can be published",
            if mode == Mode::Host { "host the container already uses the host's ports" } else { "none" }
        )));
    }
    let rootless = rootless();
    if rootless.is_some() {
        check_rootless_possible()?;
        let limited = memory.is_some() || s.options.cpus.is_some() || s.options.pids_limit.is_some();
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
    let published = network::claim_ports(&grants.ports)?;

    let (rootfs, root_path) = match s.root {
        NativeRoot::Layered(image_root) => {
            let rootfs = Rootfs::mount(&dir, image_root, false)?;
            let path = rootfs.path.clone();
            (Some(rootfs), path)
        }
        NativeRoot::InPlace(files) => (None, files.clone()),
    };
    let unmount = |rootfs: Option<Rootfs>| rootfs.map(Rootfs::unmount);
    let (bundle, cgroup) = match prepare(&s, grants, memory, &dir, &root_path, mode) {
        Ok(prepared) => prepared,
        Err(e) => {
            unmount(rootfs);
            return Err(e);
        }
    };

    let tty = grants.tty == Some(true);
    let stdin = if grants.stdin { Some(dup_stdin()?) } else { None };
    let input = stdin.is_some();
    let console = if tty { Some(ConsoleSocket::listen(&dir)?) } else { None };
    let stdio = match (&console, &grants.stdio) {
        (Some(console), _) => Stdio::Console(&console.path),
        // Files given for its stdio (a build step's output to the Engine API).
        (None, Some(files)) => Stdio::Files(super::process::owned(files)?),
        (None, None) => Stdio::Inherit(stdin),
    };
    let created = builder(s.id, &s.dir.join(STATE_DIR), stdio)?
        .as_init(&bundle)
        .with_systemd(false)
        .with_detach(true)
        .build();
    let runtime = match created {
        Ok(runtime) => runtime,
        Err(e) => {
            unmount(rootfs);
            clean_up(s.dir, s.id);
            return Err(Error::Internal(anyhow::anyhow!("cannot create the container: {e}")));
        }
    };
    let mut running = Running::new(runtime, cgroup)?;
    let pid = running.pid;
    running.rootfs = rootfs;
    running.published = published;
    let networked = (|| -> Result<()> {
        if let Some(console) = console {
            running.terminal = Some(Terminal::attach(console.master()?, input));
        }
        if mode == Mode::None || mode == Mode::Private {
            network::loopback_up(pid, rootless.is_some())?;
        }
        if mode == Mode::Private {
            let slirp = running.slirp.insert(Slirp::start(pid, &dir, rootless.is_some(), None)?);
            for port in &running.published {
                slirp.publish(port)?;
            }
        }
        if let Some((networks, joined)) = memberships(&s, mode)? {
            for (network, member) in &joined {
                crate::network::attach(&networks, network, member, pid)?;
            }
        }
        Ok(())
    })();
    if let Err(e) = networked {
        running.discard();
        return Err(e);
    }
    Ok(running)
}

/// The user-defined networks a container is on (a build step is on none),
/// beside their records: a container's directory is ROOT/containers/ID.
fn memberships(s: &FromImage, mode: Mode) -> Result<Option<(Networks, Memberships)>> {
    let in_containers = s.dir.parent().filter(|p| p.file_name().is_some_and(|n| n == "containers"));
    let Some(root) = in_containers.and_then(Path::parent).filter(|_| mode == Mode::Private) else {
        return Ok(None);
    };
    let networks = Networks::open(root)?;
    let joined = networks.of_container(s.id)?;
    Ok((!joined.is_empty()).then_some((networks, joined)))
}

/// Everything before libcontainer: the command checked, the container's
/// `/etc` files and its runtime spec written. Returns the bundle and the
/// cgroup.
fn prepare(
    s: &FromImage,
    grants: &Grants,
    memory: Option<u64>,
    dir: &Path,
    rootfs: &Path,
    mode: Mode,
) -> Result<(PathBuf, String)> {
    let root =
        Dir::open_ambient_dir(rootfs, cap_std::ambient_authority()).map_err(|e| fs_error(rootfs, e))?;
    let user = command::user(&root, s.user.as_deref())?;
    let rootless = rootless();
    if rootless.is_some() && user.uid != 0 {
        return Err(Error::usage(format!(
            "user {} (uid {}) needs wbox to run as root: without root a container has one user, root \
             inside, mapped to you; run with -u 0",
            s.user.as_deref().unwrap_or_default(),
            user.uid
        )));
    }
    let hostname = s.options.hostname.clone().unwrap_or_else(|| s.id[..12].to_owned());
    let env = command::environment(&grants.env, &hostname, &user);
    let cwd = grants.workdir.clone().unwrap_or_else(|| "/".to_owned());
    // Docker's daemon makes a working directory the image lacks (a WORKDIR
    // no step filled, `-w`) before the container starts, root's, in the
    // container's own layer; without it the runtime fails to chdir with an
    // error that does not say so.
    RootDir::open(rootfs)
        .and_then(|root| root.create_dir_all(&cwd))
        .map_err(|e| Error::usage(format!("cannot make the working directory {cwd}: {e}")))?;
    // A program on a mount (a build's heredoc script) is not among the
    // root's files.
    let on_a_mount = grants.dirs.iter().any(|m| Path::new(&grants.args[0]).starts_with(&m.guest));
    if !on_a_mount {
        command::check_program(&root, &grants.args[0], &env, &cwd)?;
    }

    let resolv = match mode {
        Mode::Private => format!("nameserver {}\n", network::DNS_ADDRESS),
        Mode::Host | Mode::None => fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
    };
    let address = (mode == Mode::Private).then_some(network::CONTAINER_ADDRESS);
    let members = match memberships(s, mode)? {
        Some((networks, _)) => networks.hosts_lines(s.id)?,
        None => String::new(),
    };
    let etc = rootfs::write_etc(dir, &hostname, address, &resolv, &members)?;
    let cgroup = format!("/wbox/{}", s.id);
    let spec = spec::generate(&spec::Plan {
        args: &grants.args,
        env: &env,
        cwd: &cwd,
        user,
        hostname: &hostname,
        rootfs,
        etc: &etc,
        dirs: &grants.dirs,
        options: s.options,
        memory,
        host_network: mode == Mode::Host,
        terminal: grants.tty == Some(true),
        rootless,
        cgroup: cgroup.clone(),
    })?;
    let bundle = dir.join("bundle");
    fs::create_dir_all(&bundle).map_err(|e| fs_error(&bundle, e))?;
    spec.save(bundle.join("config.json"))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot write the runtime spec: {e}")))?;
    Ok((bundle, cgroup))
}

/// A duplicate of this process's stdin, for a container given it (`-i`).
fn dup_stdin() -> Result<OwnedFd> {
    use std::os::fd::AsFd;
    std::io::stdin().as_fd().try_clone_to_owned().map_err(|e| Error::Internal(e.into()))
}
