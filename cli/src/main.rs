//! The `wbox` command line: parse, call wbox-runtime, print.

mod commands;
mod flags;
mod output;
mod progress;
mod template;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wbox_runtime::Error;

/// wbox runs WebAssembly programs as containers: nothing is granted unless
/// you grant it, and they start in milliseconds.
#[derive(Parser)]
#[command(name = "wbox", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Examples:\n  wbox run ./hello.wasm a b\n  \
    wbox pull localhost:5000/hello:1.0\n  \
    wbox run localhost:5000/hello:1.0 a b\n  \
    wbox run -e GREETING=hi -v ./data:/data:ro ./tool.wasm /data/in.txt\n  \
    wbox run --memory 64m --timeout 5s ./untrusted.wasm")]
struct Cli {
    /// Directory holding wbox's state (images, containers, compile cache)
    #[arg(long, global = true, env = "WBOX_ROOT", value_name = "DIR")]
    root: Option<PathBuf>,

    /// How much wbox itself says on stderr: error, warn, info, debug or trace
    #[arg(long, global = true, default_value = "warn", value_name = "LEVEL",
          value_parser = ["error", "warn", "info", "debug", "trace"])]
    log_level: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(commands::run::RunArgs),
    Create(commands::container::CreateArgs),
    Start(commands::container::StartArgs),
    Ps(commands::container::PsArgs),
    Logs(commands::container::LogsArgs),
    Stop(commands::container::StopArgs),
    Kill(commands::container::KillArgs),
    Restart(commands::container::RestartArgs),
    Wait(commands::container::WaitArgs),
    Exec(commands::container::ExecArgs),
    Rm(commands::container::RmArgs),
    Build(commands::build::BuildArgs),
    Pull(commands::registry::PullArgs),
    Push(commands::registry::PushArgs),
    Images(commands::image::ImagesArgs),
    Tag(commands::image::TagArgs),
    Rmi(commands::image::RmiArgs),
    Inspect(commands::image::InspectArgs),
    History(commands::image::HistoryArgs),
    Login(commands::registry::LoginArgs),
    Logout(commands::registry::LogoutArgs),
    Events(commands::system::EventsArgs),
    Port(commands::container::PortArgs),
    Rename(commands::container::RenameArgs),
    Top(commands::container::TopArgs),
    Stats(commands::container::StatsArgs),
    Attach(commands::container::AttachArgs),
    Commit(commands::container::CommitArgs),
    Cp(commands::copy::CpArgs),
    Diff(commands::container::DiffArgs),
    Export(commands::container::ExportArgs),
    Import(commands::archive::ImportArgs),
    Version(commands::system::VersionArgs),
    Info(commands::system::InfoArgs),
    Save(commands::archive::SaveArgs),
    Load(commands::archive::LoadArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(commands::container::ContainerCommand),
    /// Manage images
    #[command(subcommand)]
    Image(commands::image::ImageCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(commands::volume::VolumeCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(commands::network::NetworkCommand),
    /// Manage the build cache
    #[command(subcommand)]
    Builder(commands::system::BuilderCommand),
    /// Manage wbox's own state
    #[command(subcommand)]
    System(commands::system::SystemCommand),
    #[command(hide = true)]
    Supervise(commands::container::SuperviseArgs),
}

/// `--log-level`, for the supervisors this process starts: what they log
/// goes to the container's log.
pub static LOG_LEVEL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let _ = LOG_LEVEL.set(cli.log_level.clone());
    // Targets, not EnvFilter: EnvFilter compiles regexes at every start,
    // some 50 ms, more than a wasm guest takes to run.
    let level: tracing::Level = cli.log_level.parse().unwrap_or(tracing::Level::WARN);
    let targets = tracing_subscriber::filter::Targets::new()
        .with_target("wbox", level)
        .with_target("wbox_runtime", level);
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    tracing_subscriber::registry().with(output).with(targets).init();
    let root = cli.root.unwrap_or_else(wbox_runtime::root::default_root);
    // Volumes and grants record paths under it: they must not depend on
    // where the next command runs.
    let root = std::path::absolute(&root).unwrap_or(root);
    wbox_runtime::build::reap_abandoned(&root);
    // Docker's codes 125/126/127 belong to `run`; other commands fail with 1.
    let runs_a_program = match &cli.command {
        Command::Run(_) | Command::Exec(_) => true,
        Command::Container(command) => command.runs_a_program(),
        _ => false,
    };
    let result = match cli.command {
        Command::Run(args) => commands::run::run(&root, args),
        Command::Create(args) => commands::container::create(&root, args),
        Command::Start(args) => commands::container::start(&root, args),
        Command::Ps(args) => commands::container::ps(&root, args),
        Command::Logs(args) => commands::container::logs(&root, args),
        Command::Stop(args) => commands::container::stop(&root, args),
        Command::Kill(args) => commands::container::kill(&root, args),
        Command::Restart(args) => commands::container::restart(&root, args),
        Command::Wait(args) => commands::container::wait(&root, args),
        Command::Exec(args) => commands::container::exec(&root, args),
        Command::Rm(args) => commands::container::rm(&root, args),
        Command::Container(command) => commands::container::container_command(&root, command),
        Command::Supervise(args) => commands::container::supervise(&root, args),
        Command::Build(args) => commands::build::build(&root, args),
        Command::Pull(args) => commands::registry::pull(&root, args),
        Command::Push(args) => commands::registry::push(&root, args),
        Command::Images(args) => commands::image::images(&root, args),
        Command::Tag(args) => commands::image::tag(&root, args),
        Command::Rmi(args) => commands::image::rmi(&root, args),
        Command::Inspect(args) => commands::image::inspect(&root, args, None),
        Command::History(args) => commands::image::history(&root, args),
        Command::Login(args) => commands::registry::login(&root, args),
        Command::Logout(args) => commands::registry::logout(&root, args),
        Command::Events(args) => commands::system::events(&root, args),
        Command::Port(args) => commands::container::port(&root, args),
        Command::Rename(args) => commands::container::rename(&root, args),
        Command::Top(args) => commands::container::top(&root, args),
        Command::Stats(args) => commands::container::stats(&root, args),
        Command::Attach(args) => commands::container::attach(&root, args),
        Command::Commit(args) => commands::container::commit(&root, args),
        Command::Cp(args) => commands::copy::cp(&root, args),
        Command::Diff(args) => commands::container::diff(&root, args),
        Command::Export(args) => commands::container::export(&root, args),
        Command::Import(args) => commands::archive::import(&root, args),
        Command::Version(args) => commands::system::version(&root, args),
        Command::Info(args) => commands::system::info(&root, args),
        Command::Save(args) => commands::archive::save(&root, args),
        Command::Load(args) => commands::archive::load(&root, args),
        Command::Image(command) => commands::image::image_command(&root, command),
        Command::Volume(command) => commands::volume::run(&root, command),
        Command::Network(command) => commands::network::run(&root, command),
        Command::Builder(command) => commands::system::builder(&root, command),
        Command::System(command) => commands::system::run(&root, command),
    };
    match result {
        Ok(code) => exit_code(code),
        Err(e) => {
            eprintln!("wbox: {e:#}");
            exit_code(if runs_a_program { e.exit_code() } else { 1 })
        }
    }
}

/// Docker answers a bad command line with 125 and a pointer to the help.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let _ = e.print();
    ExitCode::from(125)
}

fn exit_code(code: i32) -> ExitCode {
    // A process exit status is one byte, as on every Unix shell.
    ExitCode::from(code as u8)
}

/// The runtime's error type, as every command returns it.
pub type Result<T> = std::result::Result<T, Error>;
