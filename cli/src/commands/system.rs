//! `wbox system`: wbox's own state.

use std::path::Path;

use clap::{Args, Subcommand};
use wbox_runtime::build;
use wbox_runtime::store::Store;
use wbox_runtime::wasm::CompileCache;

use crate::output::{confirm, human_size};
use crate::template::Template;

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Remove what wbox can rebuild: the compile cache and the build cache
    #[command(after_help = "Examples:\n  wbox system prune -f")]
    Prune {
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

/// `wbox builder`
#[derive(Subcommand)]
pub enum BuilderCommand {
    /// Remove the build cache: cached steps, and layers no image uses
    #[command(after_help = "Examples:\n  wbox builder prune -f")]
    Prune {
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

pub fn builder(root: &Path, command: BuilderCommand) -> crate::Result<i32> {
    match command {
        BuilderCommand::Prune { force } => {
            if !force && !confirm("WARNING! This will remove all the build cache.")? {
                // Declined, Docker still reports what it freed: nothing.
                println!("Total reclaimed space: 0B");
                return Ok(0);
            }
            let freed = build::prune_cache(root, &Store::open(root)?)?;
            println!("Total reclaimed space: {}", human_size(freed));
            Ok(0)
        }
    }
}

pub fn run(root: &Path, command: SystemCommand) -> crate::Result<i32> {
    match command {
        SystemCommand::Prune { force } => {
            if !force
                && !confirm(
                    "WARNING! This will remove all compiled code in the compile cache and the build cache.",
                )?
            {
                return Ok(0);
            }
            let freed = CompileCache::clear(root)? + build::prune_cache(root, &Store::open(root)?)?;
            println!("Total reclaimed space: {}", human_size(freed));
            Ok(0)
        }
    }
}

/// Show the versions of wbox and of the wasmtime it runs guests with
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox version\n  wbox version --format '{{.Server.Version}}'")]
pub struct VersionArgs {
    /// Print with a Go template, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

/// Docker's `version`. wbox has no daemon: the engine is this program.
pub fn version(_root: &Path, args: VersionArgs) -> crate::Result<i32> {
    let ours = env!("CARGO_PKG_VERSION");
    let (os, arch) = (go_os(), wbox_runtime::os::platform::arch());
    let wasmtime = wbox_runtime::wasm::WASMTIME_VERSION;
    let data = serde_json::json!({
        "Client": {"Version": ours, "Os": os, "Arch": arch},
        "Server": {
            "Version": ours, "Os": os, "Arch": arch,
            "Components": [
                {"Name": "Engine", "Version": ours},
                {"Name": "wasmtime", "Version": wasmtime},
            ],
        },
    });
    if let Some(format) = args.format {
        return print_template(&format, &data);
    }
    println!("Client:\n Version:           {ours}\n OS/Arch:           {os}/{arch}\n");
    println!("Server:\n Engine:\n  Version:          {ours}\n  OS/Arch:          {os}/{arch}");
    println!(" wasmtime:\n  Version:          {wasmtime}");
    Ok(0)
}

/// Show what wbox holds and runs on
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox info\n  wbox info --format '{{.Containers}} {{.Images}}'")]
pub struct InfoArgs {
    /// Print with a Go template, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

/// Docker's `info`, with the fields wbox has.
pub fn info(root: &Path, args: InfoArgs) -> crate::Result<i32> {
    let containers = wbox_runtime::container::Containers::open(root)?.list()?;
    let running = containers.iter().filter(|c| c.is_running()).count();
    let images = wbox_runtime::image::list(&Store::open(root)?)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtimes = if wbox_runtime::os::platform::RUNS_NATIVE { "wasmtime libcontainer" } else { "wasmtime" };
    let data = serde_json::json!({
        "Containers": containers.len(),
        "ContainersRunning": running,
        "ContainersPaused": 0,
        "ContainersStopped": containers.len() - running,
        "Images": images.len(),
        "Driver": "oci-layout",
        "LoggingDriver": "json-file",
        "OSType": go_os(),
        "Architecture": std::env::consts::ARCH,
        "NCPU": cpus,
        "DockerRootDir": root,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": runtimes,
        "DefaultRuntime": "wasmtime",
    });
    if let Some(format) = args.format {
        return print_template(&format, &data);
    }
    println!("Server:");
    println!(
        " Containers: {}\n  Running: {running}\n  Paused: 0\n  Stopped: {}",
        data["Containers"], data["ContainersStopped"]
    );
    println!(" Images: {}", data["Images"]);
    println!(" Server Version: {}", data["ServerVersion"].as_str().unwrap_or_default());
    println!(" Storage Driver: oci-layout\n Logging Driver: json-file");
    println!(" Runtimes: {runtimes}\n Default Runtime: wasmtime");
    println!(" OSType: {}\n Architecture: {}\n CPUs: {cpus}", go_os(), std::env::consts::ARCH);
    println!(" wbox Root Dir: {}", root.display());
    Ok(0)
}

/// `--format` of a single object: a Go template, or `json`.
fn print_template(format: &str, data: &serde_json::Value) -> crate::Result<i32> {
    let format = if format == "json" { "{{json .}}" } else { format };
    let template = Template::parse(format)
        .map_err(|e| wbox_runtime::Error::usage(format!("template parsing error: {e}")))?;
    println!("{}", template.render(data).map_err(wbox_runtime::Error::usage)?);
    Ok(0)
}

/// The OS as Go names it (`linux`, `windows`, `darwin`).
fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}
