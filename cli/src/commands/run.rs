//! `wbox run`: run a WebAssembly program in the sandbox, in the foreground.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Args;
use wbox_runtime::Error;
use wbox_runtime::container::{self, Containers};
use wbox_runtime::image::{Image, RunTarget};
use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;
use wbox_runtime::wasm::{self, CompileCache, Grants, Limits, Network, Program, PublishedPort};

use super::image::PullFlags;

/// Run an image or a .wasm file with only the grants you give it
#[derive(Args)]
#[command(override_usage = "wbox run [OPTIONS] IMAGE|FILE [ARG...]")]
#[command(after_help = "Nothing is granted by default: no files, no environment, no network.\n\n\
Examples:\n  \
  wbox run ./hello.wasm a b\n  \
  wbox run localhost:5000/hello:1.0 a b\n  \
  wbox run -e GREETING=hi -v ./data:/data:ro ./tool.wasm /data/in.txt\n  \
  wbox run --memory 64m --timeout 5s ./untrusted.wasm\n  \
  wbox run -d --name web localhost:5000/app\n  \
  wbox run -d --log-opt max-size=10m --log-opt max-file=3 localhost:5000/app\n  \
  wbox run -d -p 8080:80 localhost:5000/hello-http\n  \
  wbox run --allow-net api.internal:443 --allow-net 10.0.0.0/8 localhost:5000/app\n  \
  wbox run --rm -it localhost:5000/shell:1.0\n\n\
Native images (Linux binaries) run as namespace containers, with Docker's defaults:\n  \
  wbox run --rm localhost:5000/busybox echo native\n  \
  wbox run -d -p 8080:80 localhost:5000/busybox httpd -f -p 80\n  \
  wbox run --rm --memory 32m --pids-limit 20 --cpus 0.5 localhost:5000/busybox sh -c '...'\n\n\
Exit status: the program's own; 124 when --timeout ends it, 125 when wbox fails,\n\
126 when the file is not a runnable program, 127 when it does not exist, 134 on a trap.")]
pub struct RunArgs {
    /// Run in the background and print the container's id
    #[arg(short = 'd', long)]
    pub detach: bool,

    #[command(flatten)]
    pub container: ContainerFlags,

    #[command(flatten)]
    pub grants: GrantFlags,

    #[command(flatten)]
    pub pull: PullFlags,

    /// An image ([REGISTRY/]NAME[:TAG]), pulled if missing, or a .wasm file (a WASI
    /// preview 1 module or WASI 0.2 command component); then the program's arguments.
    /// Everything after IMAGE|FILE is the program's, flags included, as in Docker.
    #[arg(value_name = "IMAGE|FILE", required = true, num_args = 1.., trailing_var_arg = true)]
    pub command: Vec<OsString>,
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

    /// Native containers: every capability, no syscall filter, /sys and devices writable.
    /// Never implied; give it only to a container you trust with the host
    #[arg(long)]
    pub privileged: bool,
}

impl ContainerFlags {
    fn native(&self, grants: &GrantFlags) -> wbox_runtime::native::Options {
        wbox_runtime::native::Options {
            hostname: self.hostname.clone(),
            user: self.user.clone(),
            read_only: self.read_only,
            tmpfs: self.tmpfs.clone(),
            pids_limit: self.pids_limit,
            cpus: self.cpus,
            privileged: self.privileged,
            network_given: grants.network.is_some() || !grants.allow_net.is_empty(),
        }
    }
}

/// The grants and limits every command that makes a container shares.
#[derive(Args)]
pub struct GrantFlags {
    /// Grant a host directory at a guest path: HOST:GUEST[:ro] (repeatable)
    #[arg(short = 'v', long = "volume", value_name = "HOST:GUEST[:ro]")]
    pub volumes: Vec<String>,

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

    /// The network the program may reach: none (the default) or host (everything)
    #[arg(long, value_name = "none|host")]
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
    pub fn to_grants(&self, argv: Vec<String>) -> wbox_runtime::Result<(Grants, Limits)> {
        let mut grants =
            Grants::from_flags(&self.volumes, &self.env_files, &self.env, self.workdir.as_deref(), argv)?;
        grants.network = Network::from_flags(self.network.as_deref(), &self.allow_net)?;
        grants.ports = self.publish.iter().map(|p| PublishedPort::parse(p)).collect::<Result<_, _>>()?;
        let mut limits = Limits::from_flags(self.memory.as_deref(), self.timeout.as_deref())?;
        limits.instance_reuse = self.instance_reuse;
        Ok((grants, limits))
    }
}

pub fn run(root: &Path, args: RunArgs) -> crate::Result<i32> {
    let (target, user_args) = split_command(args.command)?;
    let cache = compile_cache(root);
    match RunTarget::parse(&target)? {
        RunTarget::File(path) => {
            if args.detach || args.container.name.is_some() {
                return Err(Error::usage(
                    "-d and --name make a container, which needs an image; run a .wasm file in the \
                     foreground, or build an image of it",
                ));
            }
            let argv = std::iter::once(path.display().to_string()).chain(user_args).collect();
            let (grants, limits) = args.grants.to_grants(argv)?;
            let program = Program::load_file(&path, &cache)?;
            let (_stop, stop_signal) = wasm::stoppable();
            let outcome = wasm::run_blocking(&program, &grants, &limits, stop_signal)?;
            match &outcome {
                wasm::Outcome::Exited(_) | wasm::Outcome::Signaled(_) => {}
                wasm::Outcome::Trapped(message) => eprintln!("wbox: {} trapped: {message}", program.name()),
                wasm::Outcome::TimedOut(after) => {
                    eprintln!(
                        "wbox: {} timed out after {after:?} (--timeout) and was stopped",
                        program.name()
                    )
                }
            }
            Ok(outcome.exit_code())
        }
        RunTarget::Image(reference) => {
            let mut container =
                create(root, &reference, user_args, &args.grants, &args.pull, &args.container)?;
            if args.detach {
                super::container::start_in_background(root, &mut container)?;
                println!("{}", container.id());
                return Ok(0);
            }
            // A foreground run is the container's supervisor itself.
            let id = container.id().to_owned();
            Ok(container::supervise(root, &id, container::Attach::Terminal, &cache)?)
        }
    }
}

/// Records a container of an image, pulled first if missing.
pub fn create(
    root: &Path,
    reference: &ImageRef,
    args: Vec<String>,
    grant_flags: &GrantFlags,
    pull: &PullFlags,
    flags: &ContainerFlags,
) -> crate::Result<container::Container> {
    let log =
        container::logs::LogConfig::for_new_container(root, flags.log_driver.as_deref(), &flags.log_opts)?;
    let (mut grants, limits) = grant_flags.to_grants(Vec::new())?;
    // Docker's rules for a container's stdio; a FILE run keeps wbox's own.
    grants.stdin = flags.interactive;
    grants.tty = Some(flags.tty);
    let native = flags.native(grant_flags);
    native.check()?;
    let entrypoint = Image::entrypoint_flag(flags.entrypoint.as_deref());
    let store = Store::open(root)?;
    let image = super::image::pull_if_missing(root, &store, reference, pull)?;
    Containers::open(root)?.create(
        flags.name.clone(),
        container::Spec {
            image: reference.familiar(),
            image_id: image.manifest_digest.clone(),
            argv: image.argv(&reference.to_string(), &args, entrypoint.as_deref())?,
            args,
            grants,
            limits,
            auto_remove: flags.rm,
            stop_timeout: flags.stop_timeout.unwrap_or(container::DEFAULT_STOP_TIMEOUT),
            native,
            log,
        },
    )
}

/// IMAGE|FILE, and the program's arguments after it.
pub fn split_command(command: Vec<OsString>) -> crate::Result<(PathBuf, Vec<String>)> {
    let mut command = command.into_iter();
    let target = PathBuf::from(command.next().expect("clap requires IMAGE|FILE"));
    let mut args = Vec::new();
    for (i, arg) in command.enumerate() {
        args.push(arg.into_string().map_err(|arg| {
            Error::usage(format!(
                "argument {} ({arg:?}) is not valid UTF-8: WASI passes arguments as Unicode text",
                i + 1
            ))
        })?);
    }
    Ok((target, args))
}

/// The compile cache, with a spinner on a terminal while a module compiles.
pub fn compile_cache(root: &Path) -> CompileCache {
    let cache = CompileCache::in_root(root);
    match crate::progress::CompileSpinner::on_terminal() {
        Some(spinner) => cache.with_progress(spinner),
        None => cache,
    }
}
