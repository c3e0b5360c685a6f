//! `wbox system service`: Docker's Engine API on a Unix socket, served by
//! wbox-api.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use wbox_runtime::Error;

/// Serve Docker's Engine API, so that the docker CLI, docker-compose and docker-py drive wbox
#[derive(Args)]
#[command(
    after_help = "Containers stay with their own supervisors: stopping the service stops none of them.\n\n\
Examples:\n  wbox system service &\n  \
  export DOCKER_HOST=unix://$WBOX_ROOT/wbox.sock\n  \
  docker run --rm localhost:5000/hello:1.0 world\n  \
  wbox system service --time 60 unix:///tmp/wbox.sock"
)]
pub struct ServiceArgs {
    /// Seconds without a client after which the service ends (0, the default: never)
    #[arg(short, long, default_value_t = 0, value_name = "SECONDS")]
    pub time: u64,

    /// Where to listen: unix:///PATH (default: ROOT/wbox.sock; /run/wbox/wbox.sock for root's default root)
    #[arg(value_name = "URI")]
    pub uri: Option<String>,
}

pub fn run(root: &Path, args: ServiceArgs) -> crate::Result<i32> {
    let socket = match &args.uri {
        None => wbox_runtime::os::dirs::default_socket(root),
        Some(uri) => socket_path(uri)?,
    };
    let idle = (args.time > 0).then(|| Duration::from_secs(args.time));
    let absolute = std::path::absolute(root).map_err(|e| Error::Internal(e.into()))?;
    let exec_root = absolute.clone();
    let programs = wbox_api::Programs {
        supervisor: Box::new(move |id: &str| super::container::supervisor_command(&absolute, id)),
        exec: Box::new(move |id: &str, config: &wbox_api::ExecConfig| exec_command(&exec_root, id, config)),
    };
    eprintln!("wbox: serving the Engine API on unix://{}", socket.display());
    wbox_api::serve(root, &socket, idle, programs)?;
    Ok(0)
}

/// `wbox exec` of what an Engine API client asked for, in container `id`.
fn exec_command(root: &Path, id: &str, config: &wbox_api::ExecConfig) -> std::process::Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| "wbox".into());
    let mut command = std::process::Command::new(exe);
    command.current_dir("/").arg("--root").arg(root).arg("exec");
    if config.attach_stdin == Some(true) {
        command.arg("-i");
    }
    // KEY without a value is the client's to fill in.
    for var in config.env.iter().flatten().filter(|v| v.contains('=')) {
        command.args(["-e", var]);
    }
    if let Some(dir) = config.working_dir.as_deref().filter(|d| !d.is_empty()) {
        command.args(["-w", dir]);
    }
    if let Some(user) = config.user.as_deref().filter(|u| !u.is_empty()) {
        command.args(["-u", user]);
    }
    command.arg(id).args(config.cmd.iter().flatten());
    command
}

fn socket_path(uri: &str) -> crate::Result<PathBuf> {
    match uri.strip_prefix("unix://") {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(Error::usage(format!(
            "cannot listen on {uri}: give a Unix socket as unix:///PATH, e.g. unix:///tmp/wbox.sock"
        ))),
    }
}
