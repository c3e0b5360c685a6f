//! `wbox run`: run a WebAssembly program in the sandbox, in the foreground.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Args;
use wbox_runtime::Error;
use wbox_runtime::image::RunTarget;
use wbox_runtime::store::Store;
use wbox_runtime::wasm::{self, CompileCache, Grants, Limits, Program};

use super::image::PullFlags;

/// Run an image or a .wasm file with only the grants you give it
#[derive(Args)]
#[command(override_usage = "wbox run [OPTIONS] IMAGE|FILE [ARG...]")]
#[command(after_help = "Nothing is granted by default: no files, no environment, no network.\n\n\
Examples:\n  \
  wbox run ./hello.wasm a b\n  \
  wbox run localhost:5000/hello:1.0 a b\n  \
  wbox run -e GREETING=hi -v ./data:/data:ro ./tool.wasm /data/in.txt\n  \
  wbox run --memory 64m --timeout 5s ./untrusted.wasm\n\n\
Exit status: the program's own; 124 when --timeout ends it, 125 when wbox fails,\n\
126 when the file is not a runnable program, 127 when it does not exist, 134 on a trap.")]
pub struct RunArgs {
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

    /// Cap on the program's memory (all linear memories and tables): e.g. 64m, 1g
    #[arg(short = 'm', long, value_name = "SIZE")]
    pub memory: Option<String>,

    /// Interrupt the program after this long (exit 124): e.g. 500ms, 30s, 1m30s
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

impl GrantFlags {
    pub fn to_grants(&self, argv: Vec<String>) -> wbox_runtime::Result<(Grants, Limits)> {
        let grants =
            Grants::from_flags(&self.volumes, &self.env_files, &self.env, self.workdir.as_deref(), argv)?;
        let limits = Limits::from_flags(self.memory.as_deref(), self.timeout.as_deref())?;
        Ok((grants, limits))
    }
}

pub fn run(root: &Path, args: RunArgs) -> crate::Result<i32> {
    let mut command = args.command.into_iter();
    let program = PathBuf::from(command.next().expect("clap requires IMAGE|FILE"));
    let mut user_args = Vec::new();
    for (i, arg) in command.enumerate() {
        user_args.push(arg.into_string().map_err(|arg| {
            Error::usage(format!(
                "argument {} ({arg:?}) is not valid UTF-8: WASI passes arguments as Unicode text",
                i + 1
            ))
        })?);
    }
    let mut cache = CompileCache::in_root(root);
    if let Some(spinner) = crate::progress::CompileSpinner::on_terminal() {
        cache = cache.with_progress(spinner);
    }
    // An image's files are held (kept from `rmi` and `image prune`) until the guest ends.
    let (program, grants, limits, _hold) = match RunTarget::parse(&program)? {
        RunTarget::File(path) => {
            let argv = std::iter::once(path.display().to_string()).chain(user_args).collect();
            let (grants, limits) = args.grants.to_grants(argv)?;
            (Program::load_file(&path, &cache)?, grants, limits, None)
        }
        RunTarget::Image(reference) => {
            let (user_grants, limits) = args.grants.to_grants(Vec::new())?;
            let store = Store::open(root)?;
            let image = super::image::pull_if_missing(root, &store, &reference, &args.pull)?;
            let prepared =
                image.prepare_run(&store, &cache, &reference.to_string(), &user_args, user_grants)?;
            (prepared.program, prepared.grants, limits, prepared.hold)
        }
    };
    let outcome = wasm::run_blocking(&program, &grants, &limits)?;
    match &outcome {
        wasm::Outcome::Exited(_) => {}
        wasm::Outcome::Trapped(message) => eprintln!("wbox: {} trapped: {message}", program.name()),
        wasm::Outcome::TimedOut(after) => {
            eprintln!("wbox: {} timed out after {after:?} (--timeout) and was stopped", program.name())
        }
    }
    Ok(outcome.exit_code())
}
