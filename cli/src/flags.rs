//! Flags several commands share, and what they become in the runtime's
//! terms. Only parsing happens here; the rules are the runtime's.

use std::path::PathBuf;

use clap::Args;
use wbox_runtime::container::{CreateOptions, GrantOptions};
use wbox_runtime::image::Image;
use wbox_runtime::registry::PullOptions;

/// How to reach registries: flags of every command that talks to one.
#[derive(Args, Clone, Default)]
pub struct RegistryFlags {
    /// Reach this registry over plain HTTP (loopback registries always are) (repeatable)
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

impl RegistryFlags {
    pub fn options(&self) -> PullOptions {
        PullOptions { insecure_registries: self.insecure_registries.clone(), ..PullOptions::default() }
    }
}

/// What to pull: flags shared by `pull` and `run`.
#[derive(Args, Clone, Default)]
pub struct PullFlags {
    /// Platform to pick from a multi-platform image: wasi/wasm (on every system), or linux/amd64
    /// or linux/arm64 (native images, on Linux only)
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,

    #[command(flatten)]
    pub registry: RegistryFlags,
}

impl PullFlags {
    pub fn options(&self) -> PullOptions {
        PullOptions { platform: self.platform.clone(), ..self.registry.options() }
    }
}

/// What makes a container of an image, besides its grants: `run` and `create`.
#[derive(Args)]
pub struct ContainerFlags {
    /// Name the container (by default wbox makes one up)
    #[arg(long)]
    pub name: Option<String>,

    /// Remove the container once it ends
    #[arg(long)]
    pub rm: bool,
    /// Restart policy when the container ends: no, always, unless-stopped, on-failure[:MAX]
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<String>,

    /// Seconds `wbox stop` gives the program before interrupting it (default 10)
    #[arg(long, value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,

    /// Give the program wbox's stdin (otherwise its stdin is empty)
    #[arg(short, long)]
    pub interactive: bool,

    /// Tell the program its stdio is a terminal (otherwise it is told it is not)
    #[arg(short, long)]
    pub tty: bool,

    /// Run this program instead of the image's ENTRYPOINT (and its CMD)
    #[arg(long, value_name = "COMMAND")]
    pub entrypoint: Option<String>,

    /// Use the volumes and host directories of another container, at the same paths: NAME[:ro|rw] (repeatable)
    #[arg(long, value_name = "CONTAINER[:ro|rw]")]
    pub volumes_from: Vec<String>,

    /// Set a label on the container, KEY=VALUE or KEY (repeatable)
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,

    /// Native containers: the hostname (default: the container's short id)
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,

    /// Native containers: run as USER[:GROUP], names or numbers (default: the image's USER)
    #[arg(short = 'u', long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,

    /// Native containers: mount the root filesystem read-only
    #[arg(long)]
    pub read_only: bool,

    /// Native containers: mount a tmpfs at PATH, e.g. /tmp or /run:size=64m (repeatable)
    #[arg(long, value_name = "PATH[:OPTIONS]")]
    pub tmpfs: Vec<String>,

    /// Native containers: at most N processes (cgroup pids limit)
    #[arg(long, value_name = "N")]
    pub pids_limit: Option<i64>,

    /// Native containers: at most this many CPUs' time, e.g. 0.5
    #[arg(long, value_name = "N")]
    pub cpus: Option<f64>,

    /// Keep the output with this log driver: local (rotated; the default unless
    /// ROOT/config.json names another), json-file, or none
    #[arg(long, value_name = "DRIVER")]
    pub log_driver: Option<String>,

    /// A log driver option: max-size=SIZE (e.g. 10m) to rotate the log at that size,
    /// max-file=N files to keep (repeatable)
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    pub log_opts: Vec<String>,

    /// Another name the container answers to on its network (--network NAME) (repeatable)
    #[arg(long = "network-alias", value_name = "NAME")]
    pub network_aliases: Vec<String>,

    /// Native containers: every capability, no syscall filter, /sys and devices writable.
    /// Never implied; give it only to a container you trust with the host
    #[arg(long)]
    pub privileged: bool,
}

impl ContainerFlags {
    /// What these flags and `grants` ask of a new container, in the runtime's
    /// words.
    pub fn options(&self, grants: &GrantFlags) -> CreateOptions {
        CreateOptions {
            name: self.name.clone(),
            auto_remove: self.rm,
            stop_timeout: self.stop_timeout,
            interactive: self.interactive,
            // `run -i` in the foreground reads wbox's own stdin; a detached
            // one is fed by `attach` after `attach`.
            stdin_once: false,
            restart: self.restart.clone(),
            tty: self.tty,
            entrypoint: Image::entrypoint_flag(self.entrypoint.as_deref()),
            volumes_from: self.volumes_from.clone(),
            labels: labels(&self.labels),
            hostname: self.hostname.clone(),
            user: self.user.clone(),
            read_only: self.read_only,
            tmpfs: self.tmpfs.clone(),
            pids_limit: self.pids_limit,
            cpus: self.cpus,
            log_driver: self.log_driver.clone(),
            log_opts: self.log_opts.clone(),
            privileged: self.privileged,
            network_aliases: self.network_aliases.clone(),
            grants: grants.options(),
        }
    }
}

/// The grants and limits every command that makes a container shares.
#[derive(Args)]
pub struct GrantFlags {
    /// Grant a host directory or a volume at a guest path: HOST_DIR:GUEST[:ro], VOLUME:GUEST[:ro], or
    /// GUEST for a new anonymous volume (repeatable)
    #[arg(short = 'v', long = "volume", value_name = "SOURCE:GUEST[:ro]")]
    pub volumes: Vec<String>,

    /// Docker's long form of -v: type=volume|bind,source=…,target=…[,readonly] (repeatable)
    #[arg(long = "mount", value_name = "SPEC")]
    pub mounts: Vec<String>,

    /// Set an environment variable: KEY=VALUE, or KEY to pass wbox's own (repeatable)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// Read environment variables from a file of KEY=VALUE lines (repeatable)
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,

    /// The program's working directory, a guest path
    #[arg(short = 'w', long, value_name = "DIR")]
    pub workdir: Option<String>,

    /// Publish a container port on the host: [IP:]HOST_PORT:CONTAINER_PORT[/udp] (repeatable)
    #[arg(short = 'p', long = "publish", value_name = "[IP:]HOST:CONTAINER")]
    pub publish: Vec<String>,

    /// The network the program may reach: none (the default) or host (everything), or a
    /// network made with `wbox network create`, whose members it reaches by name
    #[arg(long, value_name = "none|host|NAME")]
    pub network: Option<String>,

    /// Let the program reach this destination only: HOST[:PORT] or ADDR/CIDR[:PORT] (repeatable)
    #[arg(long = "allow-net", value_name = "HOST[:PORT]")]
    pub allow_net: Vec<String>,

    /// Cap on the program's memory (all linear memories and tables): e.g. 64m, 1g
    #[arg(short = 'm', long, value_name = "SIZE")]
    pub memory: Option<String>,

    /// For an HTTP service: let one instance answer up to N requests in turn
    /// (default 1, a fresh instance per request); faster, but a request can
    /// see what earlier ones left in the instance's memory
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub instance_reuse: Option<u32>,

    /// Interrupt the program after this long (exit 124): e.g. 500ms, 30s, 1m30s
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

impl GrantFlags {
    pub fn options(&self) -> GrantOptions {
        GrantOptions {
            volumes: self.volumes.clone(),
            mounts: self.mounts.clone(),
            env: self.env.clone(),
            env_files: self.env_files.clone(),
            workdir: self.workdir.clone(),
            publish: self.publish.clone(),
            network: self.network.clone(),
            allow_net: self.allow_net.clone(),
            memory: self.memory.clone(),
            instance_reuse: self.instance_reuse,
            timeout: self.timeout.clone(),
        }
    }
}

/// `--label KEY=VALUE` (or `KEY`, an empty value) flags, as a map.
pub fn labels(flags: &[String]) -> std::collections::BTreeMap<String, String> {
    flags.iter().map(|l| l.split_once('=').unwrap_or((l, ""))).map(|(k, v)| (k.into(), v.into())).collect()
}
