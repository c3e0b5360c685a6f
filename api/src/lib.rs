//! Docker's Engine API on a Unix socket, so that the docker CLI, docker-py
//! and docker-compose drive wbox unchanged. A front end like the CLI: each
//! request becomes calls of wbox-runtime, and the service keeps no state of
//! its own. Containers stay with their own supervisors, so stopping or
//! killing the service stops none of them, and the CLI sees what it sees.

mod archive;
mod auth;
mod build;
mod containers;
mod detach;
mod exec;
mod images;
mod networks;
mod query;
mod reply;
mod routes;
mod stream;
mod system;
mod usage;
mod volumes;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use wbox_runtime::{Error, Result};

pub use exec::{ExecCommand, ExecConfig};

/// Makes the command that supervises container `id` in the background (the
/// front end's own `supervise`).
pub type Supervisor = dyn Fn(&str) -> std::process::Command + Send + Sync;

/// The front end's own commands the service starts: a container's
/// supervisor, and `exec` in a container.
pub struct Programs {
    pub supervisor: Box<Supervisor>,
    pub exec: Box<ExecCommand>,
}

/// What every request is served with.
pub struct Service {
    root: PathBuf,
    supervisor: Box<Supervisor>,
    exec: Box<ExecCommand>,
    execs: exec::Execs,
}

/// Serves the API on `socket` until the process is told to end, or until it
/// has had no client for `idle` when given.
pub fn serve(root: &Path, socket: &Path, idle: Option<Duration>, programs: Programs) -> Result<()> {
    let service = Arc::new(Service {
        root: root.to_owned(),
        supervisor: programs.supervisor,
        exec: programs.exec,
        execs: exec::Execs::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(e.into()))?;
    runtime.block_on(async {
        let listener = bind(socket)?;
        let served = accept(listener, service, idle);
        let ended = tokio::select! {
            result = served => result,
            () = termination() => Ok(()),
        };
        let _ = std::fs::remove_file(socket);
        ended
    })
}

/// Listens on `socket`, 0660: the caller and its group may connect. A socket
/// left by a service that died is replaced; one that answers is not.
fn bind(socket: &Path) -> Result<tokio::net::UnixListener> {
    if std::os::unix::net::UnixStream::connect(socket).is_ok() {
        return Err(Error::usage(format!(
            "a service already listens on {}; stop it, or give this one another socket",
            socket.display()
        )));
    }
    let _ = std::fs::remove_file(socket);
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).map_err(|e| cannot_listen(socket, e))?;
    }
    let listener = tokio::net::UnixListener::bind(socket).map_err(|e| cannot_listen(socket, e))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| cannot_listen(socket, e))?;
    Ok(listener)
}

fn cannot_listen(socket: &Path, e: std::io::Error) -> Error {
    Error::usage(format!("cannot listen on {}: {e}", socket.display()))
}

async fn accept(
    listener: tokio::net::UnixListener,
    service: Arc<Service>,
    idle: Option<Duration>,
) -> Result<()> {
    let clients = Arc::new(AtomicUsize::new(0));
    let mut last_client = Instant::now();
    loop {
        let wait = idle.map_or(Duration::from_secs(3600), |idle| idle.min(Duration::from_secs(1)));
        let accepted = tokio::time::timeout(wait, listener.accept()).await;
        let Ok(accepted) = accepted else {
            if clients.load(Ordering::SeqCst) > 0 {
                last_client = Instant::now();
            } else if idle.is_some_and(|idle| last_client.elapsed() >= idle) {
                return Ok(());
            }
            continue;
        };
        let (stream, _) = accepted.map_err(|e| Error::Internal(e.into()))?;
        last_client = Instant::now();
        let (service, clients) = (service.clone(), clients.clone());
        clients.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let handler = service_fn(move |request| routes::handle(service.clone(), request));
            let connection =
                http1::Builder::new().serve_connection(TokioIo::new(stream), handler).with_upgrades();
            if let Err(e) = connection.await {
                tracing::debug!("a client's connection ended: {e}");
            }
            clients.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// SIGTERM, SIGINT or SIGHUP.
async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = hup.recv() => {}
    }
}
