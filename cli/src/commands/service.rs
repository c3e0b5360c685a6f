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
    let supervisor_root = std::path::absolute(root).map_err(|e| Error::Internal(e.into()))?;
    let supervisor = Box::new(move |id: &str| super::container::supervisor_command(&supervisor_root, id));
    eprintln!("wbox: serving the Engine API on unix://{}", socket.display());
    wbox_api::serve(root, &socket, idle, supervisor)?;
    Ok(0)
}

fn socket_path(uri: &str) -> crate::Result<PathBuf> {
    match uri.strip_prefix("unix://") {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(Error::usage(format!(
            "cannot listen on {uri}: give a Unix socket as unix:///PATH, e.g. unix:///tmp/wbox.sock"
        ))),
    }
}
