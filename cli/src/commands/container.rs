//! Container commands: create, start, ps, logs, stop, kill, restart, wait,
//! rm, container prune, and the hidden `supervise` that `start` runs.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use clap::{Args, Subcommand};
use wbox_runtime::Error;
use wbox_runtime::container::{self, Container, Containers, logs};
use wbox_runtime::filters::{self, Filters};
use wbox_runtime::image::{self, RunTarget};
use wbox_runtime::store::Store;
use wbox_runtime::volume::Volumes;

use super::run::{compile_cache, split_command};
use crate::flags::{ContainerFlags, GrantFlags, PullFlags};
use crate::output;

/// Create a container of an image without starting it
#[derive(Args)]
#[command(override_usage = "wbox create [OPTIONS] IMAGE [ARG...]")]
#[command(after_help = "Examples:\n  wbox create --name job localhost:5000/tool:1.0 --verbose\n  \
    wbox start -a job")]
pub struct CreateArgs {
    #[command(flatten)]
    pub container: ContainerFlags,
    #[command(flatten)]
    pub grants: GrantFlags,
    #[command(flatten)]
    pub pull: PullFlags,
    /// The image, then the program's arguments
    #[arg(value_name = "IMAGE", required = true, num_args = 1.., trailing_var_arg = true)]
    pub command: Vec<std::ffi::OsString>,
}

pub fn create(root: &Path, args: CreateArgs) -> crate::Result<i32> {
    let (target, user_args) = split_command(args.command)?;
    let RunTarget::Image(reference) = RunTarget::parse(&target)? else {
        return Err(Error::usage("a container needs an image; run a .wasm file with wbox run FILE"));
    };
    let container =
        super::run::create(root, &reference, user_args, &args.grants, &args.pull, &args.container)?;
    println!("{}", container.id());
    Ok(0)
}

/// Hands a container to a supervisor process and returns once its guest runs.
pub fn start_in_background(root: &Path, container: &mut Container) -> crate::Result<bool> {
    let root = std::path::absolute(root).map_err(|e| Error::Internal(e.into()))?;
    container.start(supervisor_command(&root, container.id()))
}

/// This program, supervising container `id` of `root` (an absolute path).
pub fn supervisor_command(root: &Path, id: &str) -> std::process::Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| "wbox".into());
    let mut supervisor = std::process::Command::new(exe);
    // From "/", so that it keeps no directory of the caller's busy.
    supervisor.current_dir("/").arg("--root").arg(root).args(["supervise", id]);
    if let Some(level) = crate::LOG_LEVEL.get() {
        supervisor.args(["--log-level", level]);
    }
    supervisor
}

/// Start stopped containers
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox start web\n  wbox start -a job")]
pub struct StartArgs {
    /// Wait for the container and print its output; exit with its exit code
    #[arg(short, long)]
    pub attach: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn start(root: &Path, args: StartArgs) -> crate::Result<i32> {
    let containers = Containers::open(root)?;
    if args.attach {
        let [name] = args.containers.as_slice() else {
            return Err(Error::usage("start -a attaches to one container; name only one"));
        };
        let mut container = containers.lookup(name)?;
        // What earlier runs wrote is not this run's output.
        let mut reader = container.output_reader()?;
        start_in_background(root, &mut container)?;
        container.follow_log(&mut reader, |entry| print_entry(entry, false))?;
        return Ok(container.state.exit_code.unwrap_or(0));
    }
    each(&args.containers, |name| {
        start_in_background(root, &mut containers.lookup(name)?)?;
        println!("{name}");
        Ok(())
    })
}

/// List containers
#[derive(Args)]
#[command(
    after_help = "Filters: status=, name=, id=, ancestor=, label=KEY[=VALUE], exited=, before=, since=, \
    publish=, expose=, volume=, network=\n\n\
    Examples:\n  wbox ps\n  wbox ps -a -q\n  wbox ps -a -f status=exited -f exited=0\n  \
    wbox ps --format 'table {{.Names}}\\t{{.Status}}'\n  wbox ps --format json"
)]
pub struct PsArgs {
    /// Show all containers, not only running ones
    #[arg(short, long)]
    pub all: bool,
    /// Only containers the filter matches (KEY=VALUE; repeat it)
    #[arg(short, long = "filter", value_name = "FILTER", value_parser = filters::check_shape)]
    pub filters: Vec<String>,
    /// Print with a Go template, `json`, or `table` (the default) or `table TEMPLATE`
    #[arg(long)]
    pub format: Option<String>,
    /// Show the N containers created last, whatever their state
    #[arg(short = 'n', long = "last", value_name = "N", default_value_t = -1, allow_negative_numbers = true)]
    pub last: i64,
    /// Show the container created last, whatever its state
    #[arg(short, long)]
    pub latest: bool,
    /// Do not cut ids and commands
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show container ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Show sizes
    #[arg(short, long)]
    pub size: bool,
}

pub fn ps(root: &Path, args: PsArgs) -> crate::Result<i32> {
    let filters = Filters::parse(&args.filters, container::FILTERS)?;
    let last = if args.latest { 1 } else { args.last };
    let store = Store::open(root)?;
    let mut shown = Containers::open(root)?.matching(&store, &filters, args.all || last >= 0)?;
    if last >= 0 {
        shown.truncate(last as usize);
    }
    let volumes = Volumes::open(root)?;
    let rows: Vec<serde_json::Value> =
        shown.iter().map(|c| container_row(c, &store, &volumes, &args)).collect();
    if args.quiet {
        for row in &rows {
            println!("{}", row["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    let mut default =
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
            .to_owned();
    if args.size {
        default.push_str("\t{{.Size}}");
    }
    let headers = serde_json::json!({
        "Command": "COMMAND", "CreatedAt": "CREATED AT", "ID": "CONTAINER ID", "Image": "IMAGE",
        "Labels": "LABELS", "LocalVolumes": "LOCAL VOLUMES", "Mounts": "MOUNTS", "Names": "NAMES",
        "Networks": "NETWORKS", "Platform": "PLATFORM", "Ports": "PORTS", "RunningFor": "CREATED", "Size": "SIZE",
        "State": "STATE", "Status": "STATUS",
    });
    output::print_rows(args.format.as_deref(), &default, &headers, &rows)?;
    Ok(0)
}

/// One line of `ps`, with the fields Docker's templates know.
fn container_row(c: &Container, store: &Store, volumes: &Volumes, args: &PsArgs) -> serde_json::Value {
    let spec = &c.config.spec;
    let command = format!("{:?}", spec.command());
    let cut = |text: String, width: usize| if args.no_trunc { text } else { truncate(&text, width) };
    let labels: Vec<String> = spec.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // A volume by its name, a bind by its host path, as Docker lists them.
    let mounts: Vec<String> = spec
        .grants
        .dirs
        .iter()
        .map(|d| cut(volumes.named_by(&d.host).unwrap_or_else(|| d.host.to_string_lossy().into_owned()), 15))
        .collect();
    let joined = c.network_names();
    let networks = match spec.grants.network {
        _ if !joined.is_empty() => joined.join(","),
        wbox_runtime::plan::Network::None => "none".to_owned(),
        _ => "host".to_owned(),
    };
    let size = if args.size || args.format.as_deref().is_some_and(|f| f.contains(".Size")) {
        let image = image::Image::load(store, &spec.image_id).map(|i| i.size(store)).unwrap_or(0);
        format!("{} (virtual {})", output::human_size(c.writable_size()), output::human_size(image))
    } else {
        String::new()
    };
    serde_json::json!({
        "Command": cut(command, 20),
        "CreatedAt": output::go_time(c.config.created),
        "ID": if args.no_trunc { c.id() } else { c.short_id() },
        "Image": spec.image,
        "Labels": labels.join(","),
        "LocalVolumes": c.volumes(volumes).len().to_string(),
        "Mounts": mounts.join(","),
        "Names": c.config.name,
        "Networks": networks,
        "Platform": null,
        "Ports": c.published_ports().iter().map(|p| p.display()).collect::<Vec<_>>().join(", "),
        "RunningFor": output::since(c.config.created),
        "Size": size,
        "State": c.state.status.as_str(),
        "Status": c.state.status_text(),
    })
}

pub(super) fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let cut: String = text.chars().take(width - 1).collect();
    format!("{cut}…")
}

/// Show a container's output
#[derive(Args)]
#[command(
    after_help = "Examples:\n  wbox logs web\n  wbox logs -f --timestamps --tail 20 web\n  wbox logs --since 10m --until 2m web"
)]
pub struct LogsArgs {
    /// Keep printing output as it comes, until the container ends
    #[arg(short, long)]
    pub follow: bool,
    /// Show when each line was written
    #[arg(short, long)]
    pub timestamps: bool,
    /// Only the last N lines ("all" for every line)
    #[arg(short = 'n', long, default_value = "all", value_name = "N")]
    pub tail: String,
    /// Only what was written since then: a time (2026-12-07T08:00:00Z), Unix seconds, or a duration ago (10m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only what was written before then, as --since takes it
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn logs(root: &Path, args: LogsArgs) -> crate::Result<i32> {
    let tail: Option<usize> = match args.tail.as_str() {
        "all" => None,
        n => {
            Some(n.parse().map_err(|_| Error::usage(format!("--tail {n}: give a number of lines, or all")))?)
        }
    };
    let now = chrono::Utc::now();
    let time = |given: &Option<String>| {
        given.as_deref().map(|t| wbox_runtime::units::parse_time(t, now)).transpose()
    };
    let (since, until) = (time(&args.since)?, time(&args.until)?);
    let mut container = Containers::open(root)?.lookup(&args.container)?;
    container.logs(tail, args.follow, |entry| {
        if since.is_none_or(|since| entry.time >= since) && until.is_none_or(|until| entry.time < until) {
            print_entry(entry, args.timestamps)
        }
    })?;
    Ok(0)
}

fn print_entry(entry: &logs::Entry, timestamps: bool) {
    let stamp = if timestamps {
        format!("{} ", entry.time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
    } else {
        String::new()
    };
    let text = format!("{stamp}{}", entry.log);
    let _ = if entry.stream == "stderr" {
        std::io::stderr().write_all(text.as_bytes())
    } else {
        std::io::stdout().write_all(text.as_bytes())
    };
}

/// Stop running containers: each has the grace period to end, then is interrupted
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox stop web\n  wbox stop -t 5 web\n  wbox stop $(wbox ps -q)")]
pub struct StopArgs {
    /// Seconds to wait before interrupting (default: the container's --stop-timeout, else 10)
    #[arg(short = 't', long = "time", visible_alias = "timeout", value_name = "SECONDS")]
    pub time: Option<u64>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn stop(root: &Path, args: StopArgs) -> crate::Result<i32> {
    let containers = Containers::open(root)?;
    // Every request first, then the waiting: all of them end within one
    // grace period.
    let mut asked = Vec::new();
    let code = each(&args.containers, |name| {
        let mut container = containers.lookup(name)?;
        let grace = container.ask_to_stop(args.time)?;
        asked.push((name.clone(), container, grace));
        Ok(())
    })?;
    for (name, mut container, grace) in asked {
        container.finish_stop(grace)?;
        println!("{name}");
    }
    Ok(code)
}

/// Kill running containers: the signal's effect, at once
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox kill web\n  wbox kill -s TERM web")]
pub struct KillArgs {
    /// The signal: a name (KILL, SIGTERM) or a number
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn kill(root: &Path, args: KillArgs) -> crate::Result<i32> {
    let signal = container::parse_signal(&args.signal)?;
    let containers = Containers::open(root)?;
    each(&args.containers, |name| {
        containers.lookup(name)?.kill(signal)?;
        println!("{name}");
        Ok(())
    })
}

/// Stop, then start, containers
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox restart web")]
pub struct RestartArgs {
    /// Seconds to wait before interrupting (default: the container's --stop-timeout, else 10)
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    pub time: Option<u64>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn restart(root: &Path, args: RestartArgs) -> crate::Result<i32> {
    let containers = Containers::open(root)?;
    each(&args.containers, |name| {
        let mut container = containers.lookup(name)?;
        container.stop(args.time)?;
        start_in_background(root, &mut container)?;
        println!("{name}");
        Ok(())
    })
}

/// Wait for containers to end, then print their exit codes
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox wait job")]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn wait(root: &Path, args: WaitArgs) -> crate::Result<i32> {
    let containers = Containers::open(root)?;
    each(&args.containers, |name| {
        let mut container = containers.lookup(name)?;
        container.wait_until_ended(None)?;
        println!("{}", container.state.exit_code.unwrap_or(0));
        Ok(())
    })
}

/// Run a command in a running native container
#[derive(Args)]
#[command(after_help = "Native (Linux) containers only: a wasm container is one program.\n\n\
Examples:\n  wbox exec web ps\n  wbox exec -i -e DEBUG=1 -w /tmp -u nobody web sh\n\n\
Exit status: the command's own; 126 when it cannot be run, 127 when it does not exist.")]
pub struct ExecArgs {
    /// Give the command wbox's stdin
    #[arg(short, long)]
    pub interactive: bool,
    /// Set an environment variable: KEY=VALUE (repeatable)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The command's working directory (default: the container's)
    #[arg(short = 'w', long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Run as USER[:GROUP], names or numbers (default: the container's user)
    #[arg(short = 'u', long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The command and its arguments
    #[arg(value_name = "COMMAND", required = true, num_args = 1.., trailing_var_arg = true)]
    pub command: Vec<String>,
}

pub fn exec(root: &Path, args: ExecArgs) -> crate::Result<i32> {
    let container = Containers::open(root)?.lookup(&args.container)?;
    let mut env = Vec::new();
    for spec in &args.env {
        env.extend(wbox_runtime::plan::parse_env(spec)?);
    }
    container.exec(&args.command, &env, args.workdir.as_deref(), args.user.as_deref(), args.interactive)
}

/// Remove containers
#[derive(Args)]
#[command(
    after_help = "Examples:\n  wbox rm job\n  wbox rm -f web\n  wbox rm -v job\n  wbox rm $(wbox ps -a -q)"
)]
pub struct RmArgs {
    /// Kill a running container first
    #[arg(short, long)]
    pub force: bool,
    /// Remove the anonymous volumes it used too
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn rm(root: &Path, args: RmArgs) -> crate::Result<i32> {
    let containers = Containers::open(root)?;
    each(&args.containers, |name| {
        let container = containers.lookup(name)?;
        if args.volumes {
            container.remove_with_volumes(args.force)?
        } else {
            container.remove(args.force)?
        }
        println!("{name}");
        Ok(())
    })
}

/// Rename a container
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox rename web frontend")]
pub struct RenameArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "NEW_NAME")]
    pub name: String,
}

pub fn rename(root: &Path, args: RenameArgs) -> crate::Result<i32> {
    Containers::open(root)?.rename(&args.container, &args.name)?;
    Ok(0)
}

/// List a container's published ports, or the host address of one
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox port web\n  wbox port web 80/tcp")]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The container's port, PORT[/PROTO] (tcp if not given)
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub port: Option<String>,
}

pub fn port(root: &Path, args: PortArgs) -> crate::Result<i32> {
    let container = Containers::open(root)?.lookup(&args.container)?;
    let wanted =
        args.port.as_deref().map(|p| if p.contains('/') { p.to_owned() } else { format!("{p}/tcp") });
    let mut found = false;
    for published in container.published_ports() {
        let private = format!("{}/{}", published.container_port, published.protocol());
        let host = published.host_address();
        match &wanted {
            None => println!("{private} -> {host}"),
            Some(wanted) if *wanted == private => println!("{host}"),
            Some(_) => continue,
        }
        found = true;
    }
    if let Some(wanted) = wanted
        && !found
    {
        return Err(Error::usage(format!("No public port '{wanted}' published for {}", args.container)));
    }
    Ok(0)
}

/// Show a running container's processes, as the host's `ps` shows them
#[derive(Args)]
#[command(override_usage = "wbox top CONTAINER [ps OPTIONS]")]
#[command(after_help = "A wasm container's one process is its runner, which runs the guest.\n\n\
    Examples:\n  wbox top web\n  wbox top web -o pid,rss,comm")]
pub struct TopArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Options of ps (default -ef)
    #[arg(value_name = "ps OPTIONS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_options: Vec<String>,
}

pub fn top(root: &Path, args: TopArgs) -> crate::Result<i32> {
    let top = Containers::open(root)?.lookup(&args.container)?.top(&args.ps_options)?;
    let rows: Vec<String> =
        std::iter::once(&top.titles).chain(&top.processes).map(|fields| fields.join("\t")).collect();
    print!("{}", crate::template::tabwrite_min(&rows, 20));
    Ok(0)
}

/// Show what a container changed in its image's files: A added, C changed, D deleted
#[derive(Args)]
#[command(after_help = "A wasm container's image is read-only: it changes only its grants and volumes.\n\n\
    Examples:\n  wbox diff web")]
pub struct DiffArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn diff(root: &Path, args: DiffArgs) -> crate::Result<i32> {
    let container = Containers::open(root)?.lookup(&args.container)?;
    for (kind, path) in wbox_runtime::filesystem::diff(&Store::open(root)?, &container)? {
        println!("{kind} {path}");
    }
    Ok(0)
}

/// Write a container's filesystem as a tar archive
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox export web > web.tar\n  wbox export -o web.tar web")]
pub struct ExportArgs {
    /// Write to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn export(root: &Path, args: ExportArgs) -> crate::Result<i32> {
    let container = Containers::open(root)?.lookup(&args.container)?;
    let tar = wbox_runtime::filesystem::export(&Store::open(root)?, &container)?;
    super::archive::write_output(args.output.as_deref(), &tar)?;
    Ok(0)
}

/// Attach local standard input, output, and error streams to a running container
#[derive(Args)]
#[command(
    after_help = "Its output is shown as it comes, until it ends; wbox attach exits with its exit code. \
    Stdin reaches a container made with -i (run -d -i, create -i); its stdin stays open when this ends.\n\n\
    Examples:\n  wbox attach web\n  echo 'quit' | wbox attach repl\n  wbox attach --no-stdin repl"
)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn attach(root: &Path, args: AttachArgs) -> crate::Result<i32> {
    let mut container = Containers::open(root)?.lookup(&args.container)?;
    if !container.is_running() {
        return Err(Error::usage("You cannot attach to a stopped container, start it first"));
    }
    // What it wrote before is the log's, not this attachment's; what it
    // answers to our stdin is, so the reader starts first.
    let mut reader = container.output_reader()?;
    if let Some(mut channel) = container.stdin()?.filter(|_| !args.no_stdin) {
        // Ends with our stdin, or with the container.
        std::thread::spawn(move || std::io::copy(&mut std::io::stdin().lock(), &mut channel));
    }
    container.follow_log(&mut reader, |entry| print_entry(entry, false))?;
    Ok(container.state.exit_code.unwrap_or(0))
}

/// Make an image of a container's changes over its image
#[derive(Args)]
#[command(override_usage = "wbox commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]")]
#[command(after_help = "A wasm container changes no file of its image: its commit has the same files, \
    and the config --change gives.\n\n\
    Examples:\n  wbox commit web web:snapshot\n  wbox commit -m 'seeded' -c 'CMD [\"serve\"]' web web:2")]
pub struct CommitArgs {
    /// Author of the image
    #[arg(short, long)]
    pub author: Option<String>,
    /// A Dockerfile instruction for the image's config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
    /// STOPSIGNAL, USER, VOLUME or WORKDIR (repeatable)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// A comment for the step
    #[arg(short, long)]
    pub message: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The name to give the image
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub name: Option<String>,
}

pub fn commit(root: &Path, args: CommitArgs) -> crate::Result<i32> {
    let tag = args.name.as_deref().map(wbox_runtime::reference::ImageRef::parse).transpose()?;
    let container = Containers::open(root)?.lookup(&args.container)?;
    let store = Store::open(root)?;
    let (message, author) = (args.message.as_deref(), args.author.as_deref());
    let built =
        wbox_runtime::filesystem::commit(root, &store, &container, &args.changes, message, author, tag)?;
    println!("{}", built.id);
    Ok(0)
}

/// Show what running containers use: CPU, memory, network, processes
#[derive(Args)]
#[command(
    after_help = "A wasm container's memory is its guest's (what --memory caps) and its PIDS its live \
    instances; its CPU is its runner's, which runs the guest's code.\n\n\
    Examples:\n  wbox stats\n  wbox stats --no-stream web\n  \
    wbox stats --no-stream --format '{{.Name}}: {{.CPUPerc}} {{.MemUsage}}'"
)]
pub struct StatsArgs {
    /// Show every container, not only running ones
    #[arg(short, long)]
    pub all: bool,
    /// Print with a Go template, `json`, or `table` (the default) or `table TEMPLATE`
    #[arg(long)]
    pub format: Option<String>,
    /// Print one reading and end, instead of one every second
    #[arg(long)]
    pub no_stream: bool,
    /// Do not cut ids
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn stats(root: &Path, args: StatsArgs) -> crate::Result<i32> {
    let all = Containers::open(root)?;
    let shown: Vec<Container> = if args.containers.is_empty() {
        all.list()?.into_iter().filter(|c| args.all || c.is_running()).rev().collect()
    } else {
        args.containers.iter().map(|name| all.lookup(name)).collect::<crate::Result<_>>()?
    };
    let default = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
    let headers = serde_json::json!({
        "BlockIO": "BLOCK I/O", "CPUPerc": "CPU %", "Container": "CONTAINER", "ID": "CONTAINER ID",
        "MemPerc": "MEM %", "MemUsage": "MEM USAGE / LIMIT", "Name": "NAME", "NetIO": "NET I/O", "PIDs": "PIDS",
    });
    let terminal = std::io::stdout().is_terminal() && !args.no_stream;
    loop {
        // CPU use is a rate: two readings, half a second apart.
        let read = || shown.iter().map(|c| c.usage().ok()).collect::<Vec<_>>();
        let (first, started) = (read(), std::time::Instant::now());
        std::thread::sleep(Duration::from_millis(500));
        let (second, elapsed) = (read(), started.elapsed());
        let rows: Vec<serde_json::Value> = shown
            .iter()
            .zip(first.iter().zip(&second))
            .map(|(c, (before, now))| stats_row(c, *before, *now, elapsed, &args))
            .collect();
        if terminal {
            // Each reading in place of the last, as Docker repaints.
            print!("\x1b[2J\x1b[H");
        }
        output::print_rows(args.format.as_deref(), default, &headers, &rows)?;
        if args.no_stream {
            return Ok(0);
        }
    }
}

/// One line of `stats`: what a container used between two readings
/// (nothing, for one that is not running).
fn stats_row(
    c: &Container,
    before: Option<container::Usage>,
    now: Option<container::Usage>,
    elapsed: Duration,
    args: &StatsArgs,
) -> serde_json::Value {
    let cpu = match (before, now) {
        (Some(before), Some(now)) => {
            now.cpu_nanos.saturating_sub(before.cpu_nanos) as f64 / elapsed.as_nanos().max(1) as f64 * 100.0
        }
        _ => 0.0,
    };
    let used = now.unwrap_or_default();
    let share =
        if used.memory_limit > 0 { used.memory as f64 / used.memory_limit as f64 * 100.0 } else { 0.0 };
    let (rx, tx) = used.network;
    serde_json::json!({
        "BlockIO": "0B / 0B",
        "CPUPerc": format!("{cpu:.2}%"),
        "Container": args.containers.iter().find(|n| c.config.name == **n || c.id().starts_with(n.as_str()))
            .cloned().unwrap_or_else(|| c.short_id().to_owned()),
        "ID": if args.no_trunc { c.id() } else { c.short_id() },
        "MemPerc": format!("{share:.2}%"),
        "MemUsage": format!("{} / {}", output::binary_size(used.memory), output::binary_size(used.memory_limit)),
        "Name": c.config.name,
        "NetIO": format!("{} / {}", output::human_size(rx), output::human_size(tx)),
        "PIDs": used.pids.to_string(),
    })
}

/// `wbox container VERB`: Docker's management command. Each verb is the one
/// the top level has (`ls` is `ps`, `rm` is `rm`), with Docker's aliases.
#[derive(Subcommand)]
pub enum ContainerCommand {
    Attach(AttachArgs),
    Commit(CommitArgs),
    Cp(super::copy::CpArgs),
    Create(CreateArgs),
    Diff(DiffArgs),
    Exec(ExecArgs),
    Export(ExportArgs),
    #[command(name = "inspect")]
    Inspect(super::image::InspectArgs),
    Kill(KillArgs),
    Logs(LogsArgs),
    #[command(name = "ls", visible_aliases = ["ps", "list"])]
    Ls(PsArgs),
    Port(PortArgs),
    /// Remove every container that is not running
    #[command(
        after_help = "Examples:\n  wbox container prune -f\n  wbox container prune -f --filter until=1h"
    )]
    Prune {
        /// Only containers the filter matches: until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE]
        #[arg(long = "filter", value_name = "FILTER", value_parser = filters::check_shape)]
        filters: Vec<String>,
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
    Rename(RenameArgs),
    Restart(RestartArgs),
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    Run(super::run::RunArgs),
    Start(StartArgs),
    Stats(StatsArgs),
    Stop(StopArgs),
    Top(TopArgs),
    Wait(WaitArgs),
}

impl ContainerCommand {
    /// Whether it runs a program, whose exit code wbox passes on.
    pub fn runs_a_program(&self) -> bool {
        matches!(self, ContainerCommand::Run(_) | ContainerCommand::Exec(_))
    }
}

pub fn container_command(root: &Path, command: ContainerCommand) -> crate::Result<i32> {
    match command {
        ContainerCommand::Create(args) => create(root, args),
        ContainerCommand::Attach(args) => attach(root, args),
        ContainerCommand::Commit(args) => commit(root, args),
        ContainerCommand::Cp(args) => super::copy::cp(root, args),
        ContainerCommand::Diff(args) => diff(root, args),
        ContainerCommand::Exec(args) => exec(root, args),
        ContainerCommand::Export(args) => export(root, args),
        ContainerCommand::Inspect(args) => {
            super::image::inspect(root, args, Some(super::image::Kind::Container))
        }
        ContainerCommand::Kill(args) => kill(root, args),
        ContainerCommand::Logs(args) => logs(root, args),
        ContainerCommand::Ls(args) => ps(root, args),
        ContainerCommand::Port(args) => port(root, args),
        ContainerCommand::Rename(args) => rename(root, args),
        ContainerCommand::Prune { filters, force } => prune(root, &filters, force),
        ContainerCommand::Restart(args) => restart(root, args),
        ContainerCommand::Rm(args) => rm(root, args),
        ContainerCommand::Run(args) => super::run::run(root, args),
        ContainerCommand::Start(args) => start(root, args),
        ContainerCommand::Stats(args) => stats(root, args),
        ContainerCommand::Stop(args) => stop(root, args),
        ContainerCommand::Top(args) => top(root, args),
        ContainerCommand::Wait(args) => wait(root, args),
    }
}

fn prune(root: &Path, filters: &[String], force: bool) -> crate::Result<i32> {
    let filters = Filters::parse(filters, container::PRUNE_FILTERS)?;
    if !output::confirm_prune(force, "WARNING! This will remove all stopped containers.")? {
        return Ok(0);
    }
    let removed = Containers::open(root)?.prune(&filters)?;
    if !removed.is_empty() {
        println!("Deleted Containers:\n{}\n", removed.join("\n"));
    }
    // A container's own files are its record and log: nothing Docker counts.
    println!("Total reclaimed space: 0B");
    Ok(0)
}

/// The containers' `inspect` objects, for `wbox inspect`; None when a name
/// is not a container.
pub fn inspect(root: &Path, name: &str) -> crate::Result<Option<serde_json::Value>> {
    match Containers::open(root)?.lookup(name) {
        Ok(container) => Ok(Some(container.inspect())),
        Err(Error::NoSuchContainer(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Runs a container's guest as its supervisor (what `start` spawns)
#[derive(Args)]
pub struct SuperviseArgs {
    pub id: String,
}

pub fn supervise(root: &Path, args: SuperviseArgs) -> crate::Result<i32> {
    let again = || supervisor_command(root, &args.id);
    container::supervise(root, &args.id, container::Attach::Log, &compile_cache(root), &again)
}

/// Does `work` for each named container, going on after a failure as Docker
/// does; 1 if any failed.
fn each(names: &[String], mut work: impl FnMut(&String) -> crate::Result<()>) -> crate::Result<i32> {
    let mut code = 0;
    for name in names {
        match work(name) {
            Ok(()) => {}
            Err(e) => {
                eprintln!("wbox: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}
