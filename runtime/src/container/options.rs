//! What `run` and `create` are asked, in the words a user gives them (the
//! CLI's flags; the Engine API's fields, put in the same words), made into a
//! checked `NewContainer`. One place for these rules, whichever front end
//! asks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::NewContainer;
use super::logs::LogConfig;
use crate::Result;
use crate::plan::{Grants, Limits, NativeOptions, Network, PublishedPort, mount_spec};
use crate::volume::Volumes;

/// The grants and limits of a container or a foreground run.
#[derive(Clone, Default)]
pub struct GrantOptions {
    /// `-v SOURCE:GUEST[:ro]`, or `GUEST` for an anonymous volume.
    pub volumes: Vec<String>,
    /// `--mount type=volume|bind,source=…,target=…[,readonly]`.
    pub mounts: Vec<String>,
    /// `-e KEY=VALUE`, or `KEY` to pass the caller's own.
    pub env: Vec<String>,
    pub env_files: Vec<PathBuf>,
    pub workdir: Option<String>,
    /// `-p [IP:]HOST:CONTAINER[/udp]`.
    pub publish: Vec<String>,
    /// `--network none|host`, or the name of a user-defined network.
    pub network: Option<String>,
    pub allow_net: Vec<String>,
    /// `--memory`, e.g. `64m`.
    pub memory: Option<String>,
    pub instance_reuse: Option<u32>,
    /// `--timeout`, e.g. `30s`.
    pub timeout: Option<String>,
}

impl GrantOptions {
    /// The grants given; a named volume is made in `root` on first use.
    pub fn grants(&self, root: &Path, argv: Vec<String>) -> Result<(Grants, Limits)> {
        let mut specs = self.volumes.clone();
        for mount in &self.mounts {
            specs.push(mount_spec(mount)?);
        }
        // Most runs name no volume: then the volumes' directory is not touched.
        let volumes = if specs.is_empty() { None } else { Some(Volumes::open(root)?) };
        let workdir = self.workdir.as_deref();
        let mut grants =
            Grants::from_flags(volumes.as_ref(), &specs, &self.env_files, &self.env, workdir, argv)?;
        grants.network = Network::from_flags(self.network.as_deref(), &self.allow_net)?;
        grants.ports = self.publish.iter().map(|p| PublishedPort::parse(p)).collect::<Result<_>>()?;
        let mut limits = Limits::from_flags(self.memory.as_deref(), self.timeout.as_deref())?;
        limits.instance_reuse = self.instance_reuse;
        Ok((grants, limits))
    }
}

/// Everything `create` is asked besides the image and its arguments.
#[derive(Clone, Default)]
pub struct CreateOptions {
    pub name: Option<String>,
    /// `--rm`.
    pub auto_remove: bool,
    pub stop_timeout: Option<u64>,
    /// `-i`.
    pub interactive: bool,
    /// Docker's StdinOnce: stdin ends with the first attachment's.
    pub stdin_once: bool,
    /// `--restart`: `no`, `always`, `unless-stopped`, `on-failure[:MAX]`.
    pub restart: Option<String>,
    /// `-t`.
    pub tty: bool,
    /// The program instead of the image's ENTRYPOINT; empty clears it.
    pub entrypoint: Option<Vec<String>>,
    pub volumes_from: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub read_only: bool,
    pub tmpfs: Vec<String>,
    pub pids_limit: Option<i64>,
    pub cpus: Option<f64>,
    pub log_driver: Option<String>,
    /// `--log-opt KEY=VALUE`.
    pub log_opts: Vec<String>,
    pub privileged: bool,
    /// `--network-alias`: other names it answers to on its network.
    pub network_aliases: Vec<String>,
    pub grants: GrantOptions,
}

impl CreateOptions {
    /// The container asked for, checked before anything is pulled;
    /// `create_of` checks it again for every other caller.
    pub fn new_container(mut self, root: &Path, args: Vec<String>) -> Result<NewContainer> {
        let log = LogConfig::for_new_container(root, self.log_driver.as_deref(), &self.log_opts)?;
        // `bridge` is Docker's default network; any name but the predefined
        // ones is a user-defined network, on which a container otherwise
        // has the default's grants.
        let networks = match self.grants.network.take() {
            None => Vec::new(),
            Some(name) if name == "bridge" || name == "default" => Vec::new(),
            Some(mode) if mode == "none" || mode == "host" => {
                self.grants.network = Some(mode);
                Vec::new()
            }
            Some(name) => vec![(name, std::mem::take(&mut self.network_aliases))],
        };
        if !self.network_aliases.is_empty() {
            return Err(crate::Error::usage(
                "network-scoped aliases are only supported for user-defined networks; give --network NAME",
            ));
        }
        let (grants, limits) = self.grants.grants(root, Vec::new())?;
        let native = NativeOptions {
            hostname: self.hostname,
            user: self.user,
            read_only: self.read_only,
            tmpfs: self.tmpfs,
            pids_limit: self.pids_limit,
            cpus: self.cpus,
            privileged: self.privileged,
            network_given: self.grants.network.is_some() || !self.grants.allow_net.is_empty(),
        };
        native.check()?;
        let restart = super::RestartPolicy::parse(self.restart.as_deref().unwrap_or("no"))?;
        if self.auto_remove && restart.name != super::Restart::No {
            return Err(crate::Error::usage("Conflicting options: --restart and --rm"));
        }
        Ok(NewContainer {
            name: self.name,
            args,
            entrypoint: self.entrypoint,
            grants,
            limits,
            native,
            interactive: self.interactive,
            stdin_once: self.stdin_once,
            restart,
            tty: self.tty,
            auto_remove: self.auto_remove,
            stop_timeout: self.stop_timeout,
            log,
            labels: self.labels,
            volumes_from: self.volumes_from,
            networks,
        })
    }
}
