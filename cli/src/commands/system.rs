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
    Events(EventsArgs),
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
    Service(ServiceArgs),
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
            if !output::confirm_prune(force, "WARNING! This will remove all the build cache.")? {
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
        SystemCommand::Events(args) => events(root, args),
        SystemCommand::Df { format, verbose } => df(root, format.as_deref(), verbose),
        SystemCommand::Service(args) => service(root, args),
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
    let server = wbox_runtime::system::version();
    let (ours, os, arch) = (&server["Version"], &server["Os"], &server["Arch"]);
    let data = serde_json::json!({
        "Client": {"Version": ours, "Os": os, "Arch": arch},
        "Server": {"Version": ours, "Os": os, "Arch": arch, "Components": server["Components"]},
    });
    if let Some(format) = args.format {
        return print_template(&format, &data);
    }
    let (ours, os, arch) = (
        ours.as_str().unwrap_or_default(),
        os.as_str().unwrap_or_default(),
        arch.as_str().unwrap_or_default(),
    );
    let wasmtime = wbox_runtime::wasm::WASMTIME_VERSION;
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
    let data = wbox_runtime::system::info(root)?;
    let running = &data["ContainersRunning"];
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
    let runtimes: Vec<&str> =
        data["Runtimes"].as_object().into_iter().flat_map(|m| m.keys()).map(String::as_str).collect();
    println!(" Runtimes: {}\n Default Runtime: wasmtime", runtimes.join(" "));
    let (os, arch) =
        (data["OSType"].as_str().unwrap_or_default(), data["Architecture"].as_str().unwrap_or_default());
    println!(" OSType: {os}\n Architecture: {arch}\n CPUs: {}", data["NCPU"]);
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
    let (cache_size, cache_own) = usage.build_cache_size();
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
        row("Build Cache", usage.build_cache.len(), 0, cache_size, size(cache_own)),
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
                size(i.size),
                size(i.shared),
                size(i.unique()),
                i.containers.to_string(),
            ]);
        }
    }
    let headers =
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"];
    print_table(&headers, images);
    println!("\nContainers space usage:\n");
    let volumes = wbox_runtime::volume::Volumes::open(root)?;
    let containers = usage.containers.iter().map(|(c, bytes)| {
        let command = format!("{:?}", c.config.spec.argv.join(" "));
        vec![
            c.short_id().to_owned(),
            c.config.spec.image.clone(),
            super::container::truncate(&command, 20),
            c.volumes(&volumes).len().to_string(),
            human_size(*bytes),
            output::since(c.config.created),
            c.state.status_text(),
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
    println!("\nBuild cache usage: {}\n", size(cache_size));
    let ago = |time: Option<chrono::DateTime<chrono::Utc>>| time.map(output::since).unwrap_or_default();
    let steps = usage.build_cache.iter().map(|(step, bytes, shared)| {
        vec![
            step.id[..12.min(step.id.len())].to_owned(),
            "regular".to_owned(),
            human_size_with_precision(*bytes, 3),
            ago(step.created),
            ago(step.last_used),
            step.usage.to_string(),
            shared.to_string(),
        ]
    });
    let headers = ["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"];
    print_table(&headers, steps.collect());
    Ok(0)
}

/// Docker's aligned columns of plain cells.
fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    let lines: Vec<String> =
        std::iter::once(headers.join("\t")).chain(rows.into_iter().map(|cells| cells.join("\t"))).collect();
    print!("{}", crate::template::tabwrite(&lines));
}

/// Show what happens to containers, images and volumes, as it happens
#[derive(Args)]
#[command(after_help = "Filters: container=, event=, image=, label=KEY[=VALUE], type=, volume=\n\n\
    Examples:\n  wbox events\n  wbox events --since 10m --until 0s -f type=container\n  \
    wbox events --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'")]
pub struct EventsArgs {
    /// Only events the filter matches (KEY=VALUE; repeat it)
    #[arg(short, long = "filter", value_name = "FILTER", value_parser = wbox_runtime::filters::check_shape)]
    pub filters: Vec<String>,
    /// Print with a Go template, or `json`
    #[arg(long)]
    pub format: Option<String>,
    /// Events since then, kept from before: a time, Unix seconds, or a duration ago (10m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Stop at then, as --since takes it; without it, follow until interrupted
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

/// `events`: the events kept since `--since`, then those to come until
/// `--until` (or until interrupted).
pub fn events(root: &Path, args: EventsArgs) -> crate::Result<i32> {
    use wbox_runtime::events::Event;
    let filters = wbox_runtime::filters::Filters::parse_any(&args.filters)?;
    let now = chrono::Utc::now();
    let time = |given: &Option<String>| {
        given.as_deref().map(|t| wbox_runtime::units::parse_time(t, now)).transpose()
    };
    let nanos = |t: chrono::DateTime<chrono::Utc>| t.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let (since, until) = (time(&args.since)?.map(nanos), time(&args.until)?.map(nanos));
    let json = matches!(args.format.as_deref(), Some("json" | "{{json .}}"));
    let format = match args.format.as_deref() {
        None => None,
        Some(text) => Some(
            Template::parse(if text == "json" { "{{json .}}" } else { text })
                .map_err(|e| wbox_runtime::Error::usage(format!("template parsing error: {e}")))?,
        ),
    };
    let print = |event: &Event| -> crate::Result<()> {
        if !event.matches(&filters) {
            return Ok(());
        }
        match &format {
            // Docker marshals the message itself, with its JSON names.
            Some(_) if json => println!("{}", event.docker_message()),
            Some(template) => {
                println!("{}", template.render(&go_event(event)).map_err(wbox_runtime::Error::usage)?)
            }
            None => println!("{}", event_line(event)),
        }
        Ok(())
    };
    let mut failed = None;
    wbox_runtime::events::watch(root, since, until, |event| match print(event) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    });
    failed.map_or(Ok(0), Err)
}

/// An event as `docker events` prints it: its time (RFC 3339, to the
/// nanosecond, trailing zeros cut as Go cuts them), kind, action, actor and
/// attributes.
fn event_line(event: &wbox_runtime::events::Event) -> String {
    let time = chrono::DateTime::from_timestamp_nanos(event.time_nano);
    let stamp = time.format("%Y-%m-%dT%H:%M:%S%.9f").to_string();
    let stamp = stamp.trim_end_matches('0').trim_end_matches('.');
    let attributes: Vec<String> = event.actor.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let attributes =
        if attributes.is_empty() { String::new() } else { format!(" ({})", attributes.join(", ")) };
    format!("{stamp}Z {} {} {}{attributes}", event.kind, event.action, event.actor.id)
}

/// An event as a template sees Docker's: the fields of its Go struct
/// (`Status`, `ID`, `From`, `Type`, `Action`, `Actor`, `Scope`, `Time`,
/// `TimeNano`).
fn go_event(event: &wbox_runtime::events::Event) -> serde_json::Value {
    let docker = event.docker_message();
    // A field the message lacks is Go's zero value, an empty string.
    let field = |key: &str| docker.get(key).cloned().unwrap_or_else(|| "".into());
    serde_json::json!({
        "Status": field("status"), "ID": field("id"), "From": field("from"), "Type": field("Type"),
        "Action": field("Action"), "Actor": field("Actor"), "Scope": field("scope"), "Time": field("time"),
        "TimeNano": field("timeNano"),
    })
}

#[cfg(unix)]
pub use super::service::ServiceArgs;
#[cfg(unix)]
fn service(root: &Path, args: ServiceArgs) -> crate::Result<i32> {
    super::service::run(root, args)
}

/// Serve Docker's Engine API (on Unix systems only: Docker's clients reach it on a Unix socket)
#[cfg(not(unix))]
#[derive(Args)]
pub struct ServiceArgs {}
#[cfg(not(unix))]
fn service(_: &Path, _: ServiceArgs) -> crate::Result<i32> {
    Err(wbox_runtime::Error::usage(
        "the Engine API is served on a Unix socket; wbox system service runs on Linux and macOS",
    ))
}
