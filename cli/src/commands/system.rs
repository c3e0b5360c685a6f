//! `wbox system`: wbox's own state.

use std::path::Path;

use clap::{Args, Subcommand};
use wbox_runtime::build;
use wbox_runtime::disk::DiskUsage;
use wbox_runtime::store::Store;
use wbox_runtime::wasm::CompileCache;

use crate::output::{self, confirm, human_size, human_size_with_precision};
use crate::template::Template;

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Show what images, containers, volumes and the build cache take on disk
    #[command(
        after_help = "Examples:\n  wbox system df\n  wbox system df -v\n  wbox system df --format '{{.Type}}: {{.Size}}'"
    )]
    Df {
        /// Print with a Go template, `json`, or `table` (the default) or `table TEMPLATE`
        #[arg(long)]
        format: Option<String>,
        /// Show each image, container and volume
        #[arg(short, long)]
        verbose: bool,
    },
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
        SystemCommand::Df { format, verbose } => df(root, format.as_deref(), verbose),
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

/// `system df`, as Docker prints it.
fn df(root: &Path, format: Option<&str>, verbose: bool) -> crate::Result<i32> {
    let usage = DiskUsage::of(root)?;
    let size = |bytes: u64| human_size_with_precision(bytes, 4);
    // A share of a total that is not nothing is shown with its percentage.
    let reclaimable = |part: u64, total: u64| match (part * 100).checked_div(total) {
        Some(percent) => format!("{} ({percent}%)", size(part)),
        None => size(part),
    };
    let containers_size: u64 = usage.containers.iter().map(|(_, s)| s).sum();
    let idle_containers: u64 = usage.containers.iter().filter(|(c, _)| !c.is_running()).map(|(_, s)| s).sum();
    let volumes_size: u64 = usage.volumes.iter().map(|(_, s, _)| s).sum();
    let idle_volumes: u64 = usage.volumes.iter().filter(|(_, _, links)| *links == 0).map(|(_, s, _)| s).sum();
    let row = |kind: &str, total: usize, active: usize, bytes: u64, free: String| {
        serde_json::json!({"Type": kind, "TotalCount": total.to_string(), "Active": active.to_string(),
            "Size": size(bytes), "Reclaimable": free})
    };
    let rows = [
        row(
            "Images",
            usage.images.len(),
            usage.images.iter().filter(|i| i.containers > 0).count(),
            usage.layers_size,
            reclaimable(usage.images_reclaimable(), usage.layers_size),
        ),
        row(
            "Containers",
            usage.containers.len(),
            usage.containers.iter().filter(|(c, _)| c.is_running()).count(),
            containers_size,
            reclaimable(idle_containers, containers_size),
        ),
        row(
            "Local Volumes",
            usage.volumes.len(),
            usage.volumes.iter().filter(|(_, _, links)| *links > 0).count(),
            volumes_size,
            reclaimable(idle_volumes, volumes_size),
        ),
        row("Build Cache", usage.build_cache.0, 0, usage.build_cache.1, size(usage.build_cache.1)),
    ];
    if !verbose {
        let headers = serde_json::json!({"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
            "Reclaimable": "RECLAIMABLE"});
        let default = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
        output::print_rows(format, default, &headers, &rows)?;
        return Ok(0);
    }
    println!("Images space usage:\n");
    let mut images = Vec::new();
    for i in &usage.images {
        let id = i.summary.image.id().short().to_owned();
        let created = output::since_or_na(i.summary.image.created());
        let names: Vec<(String, String)> = if i.summary.tags.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            let tag = |t: &wbox_runtime::reference::ImageRef| t.tag().unwrap_or("<none>").to_owned();
            i.summary.tags.iter().map(|t| (t.familiar_repository(), tag(t))).collect()
        };
        for (repository, tag) in names {
            images.push(vec![
                repository,
                tag,
                id.clone(),
                created.clone(),
                human_size(i.size),
                size(i.shared),
                size(i.size - i.shared),
                i.containers.to_string(),
            ]);
        }
    }
    let headers =
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"];
    print_table(&headers, images);
    println!("\nContainers space usage:\n");
    let containers = usage.containers.iter().map(|(c, bytes)| {
        let command = format!("{:?}", c.config.spec.argv.join(" "));
        vec![
            c.short_id().to_owned(),
            c.config.spec.image.clone(),
            super::container::truncate(&command, 20),
            c.volumes(&wbox_runtime::volume::Volumes::open(root).expect("opened above")).len().to_string(),
            human_size(*bytes),
            output::since(c.config.created),
            super::container::status(c),
            c.config.name.clone(),
        ]
    });
    let headers = ["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"];
    print_table(&headers, containers.collect());
    println!("\nLocal Volumes space usage:\n");
    let volumes = usage
        .volumes
        .iter()
        .map(|(v, bytes, links)| vec![v.name.clone(), links.to_string(), human_size(*bytes)]);
    print_table(&["VOLUME NAME", "LINKS", "SIZE"], volumes.collect());
    println!("\nBuild cache usage: {}", size(usage.build_cache.1));
    Ok(0)
}

/// Docker's aligned columns of plain cells.
fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    let lines: Vec<String> =
        std::iter::once(headers.join("\t")).chain(rows.into_iter().map(|cells| cells.join("\t"))).collect();
    print!("{}", crate::template::tabwrite(&lines));
}
