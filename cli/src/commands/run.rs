//! `wbox run`: run a WebAssembly program in the sandbox, in the foreground.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Args;
use wbox_runtime::Error;
use wbox_runtime::container::{self, Containers};
use wbox_runtime::image::RunTarget;
use wbox_runtime::plan::{Module, ModuleSource, RunPlan};
use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;
use wbox_runtime::task;
use wbox_runtime::wasm::CompileCache;

use crate::flags::{ContainerFlags, GrantFlags, PullFlags};

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
            // The file's name, as the wasmtime CLI gives it.
            let program =
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
            let argv = std::iter::once(program).chain(user_args).collect();
            let (grants, limits) = args.grants.options().grants(root, argv)?;
            let module = Module { name: path.display().to_string(), source: ModuleSource::File(path) };
            Ok(task::run_as_the_process(RunPlan::wasm(module, grants, limits), &cache)?.code)
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
            let again = || super::container::supervisor_command(root, &id);
            Ok(container::supervise(root, &id, container::Attach::Terminal, &cache, &again)?)
        }
    }
}

/// Records a container of an image, pulled first if missing.
pub fn create(
    root: &Path,
    reference: &ImageRef,
    args: Vec<String>,
    grants: &GrantFlags,
    pull: &PullFlags,
    flags: &ContainerFlags,
) -> crate::Result<container::Container> {
    let new = flags.options(grants).new_container(root, args)?;
    let store = Store::open(root)?;
    let image = super::registry::pull_if_missing(root, &store, reference, pull)?;
    Containers::open(root)?.create_of(&store, &image, reference, new)
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
