//! `/containers/{id}/exec`, `/exec/{id}/…`: a command run in a running
//! native container, its stdio on the connection taken over. The command is
//! the front end's own `exec` (the runtime's), a child process of the
//! service, so that the service itself never enters a container. Exec
//! instances live in the service's memory, as in Docker's.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wbox_runtime::container::Containers;
use wbox_runtime::{Error, Result};

use crate::reply::{self, Reply};
use crate::{Service, stream};

/// What a client asked to run.
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub attach_stdin: Option<bool>,
    pub tty: Option<bool>,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

/// An exec instance: what it runs, and how it went.
struct Instance {
    container: String,
    config: ExecConfig,
    running: bool,
    exit_code: Option<i32>,
    pid: u32,
    /// The terminal's master end, for `resize`, while a `-t` command runs.
    terminal: Option<Arc<std::fs::File>>,
}

#[derive(Default)]
pub struct Execs(Mutex<HashMap<String, Instance>>);

/// `POST /containers/{id}/exec`: 201 and the instance's id.
pub fn create(service: &Service, id: &str, body: &[u8]) -> Result<Reply> {
    let config: ExecConfig =
        serde_json::from_slice(body).map_err(|e| Error::usage(format!("invalid exec config: {e}")))?;
    if config.cmd.as_ref().is_none_or(Vec::is_empty) {
        return Err(Error::usage("No exec command specified"));
    }
    let container = Containers::open(&service.root)?.lookup(id)?;
    if let Err(e) = container.check_exec() {
        return Ok(reply::error(StatusCode::CONFLICT, e.to_string()));
    }
    let exec_id = wbox_runtime::ids::new_id()?;
    let instance = Instance {
        container: container.id().to_owned(),
        config,
        running: false,
        exit_code: None,
        pid: 0,
        terminal: None,
    };
    service.execs.0.lock().expect("execs").insert(exec_id.clone(), instance);
    Ok(reply::json(StatusCode::CREATED, &json!({ "Id": exec_id })))
}

/// `GET /exec/{id}/json`.
pub fn inspect(service: &Service, exec_id: &str) -> Result<Reply> {
    let execs = service.execs.0.lock().expect("execs");
    let Some(instance) = execs.get(exec_id) else {
        return Ok(reply::error(StatusCode::NOT_FOUND, format!("No such exec instance: {exec_id}")));
    };
    let cmd = instance.config.cmd.clone().unwrap_or_default();
    Ok(reply::ok(&json!({
        "ID": exec_id,
        "ContainerID": instance.container,
        "Running": instance.running,
        "ExitCode": instance.exit_code,
        "Pid": instance.pid,
        "OpenStdin": instance.config.attach_stdin.unwrap_or(false),
        "OpenStdout": true,
        "OpenStderr": true,
        "ProcessConfig": {
            "tty": instance.config.tty.unwrap_or(false),
            "entrypoint": cmd.first(),
            "arguments": cmd.iter().skip(1).collect::<Vec<_>>(),
            "user": instance.config.user.clone().unwrap_or_default(),
        },
    })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StartConfig {
    detach: Option<bool>,
    /// Whether the output comes raw: Docker frames it by what the start
    /// says, whatever the create said (which decides the terminal).
    tty: Option<bool>,
}

/// `POST /exec/{id}/start`: runs it, its stdio on the connection taken over
/// (or its output in the body for a client that does not ask to upgrade);
/// with `Detach`, in the background.
pub fn start(
    service: Arc<Service>,
    exec_id: &str,
    body: &[u8],
    upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Result<Reply> {
    let start: StartConfig = if body.is_empty() {
        StartConfig::default()
    } else {
        serde_json::from_slice(body).map_err(|e| Error::usage(format!("invalid exec start config: {e}")))?
    };
    let detach = start.detach.unwrap_or(false);
    let (container, config) = {
        let mut execs = service.execs.0.lock().expect("execs");
        let Some(instance) = execs.get_mut(exec_id) else {
            return Ok(reply::error(StatusCode::NOT_FOUND, format!("No such exec instance: {exec_id}")));
        };
        if instance.running || instance.exit_code.is_some() {
            return Ok(reply::error(StatusCode::CONFLICT, format!("exec {exec_id} has already run")));
        }
        instance.running = true;
        (instance.container.clone(), instance.config.clone())
    };
    let tty = config.tty.unwrap_or(false);
    let raw = start.tty.unwrap_or(false);
    let stdin = config.attach_stdin.unwrap_or(false) && !detach;
    let mut command = tokio::process::Command::from((service.exec)(&container, &config));
    // `-t`: the command's stdio is a terminal whose other end the service
    // relays; it is not the command's controlling terminal.
    let terminal = if tty && !detach { Some(Terminal::open()?) } else { None };
    match &terminal {
        Some(terminal) => {
            command.stdin(terminal.side()?).stdout(terminal.side()?).stderr(terminal.side()?);
        }
        None => {
            let output = || if detach { Stdio::null() } else { Stdio::piped() };
            command
                .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
                .stdout(output())
                .stderr(output());
        }
    }
    let mut child =
        command.spawn().map_err(|e| Error::Internal(anyhow::anyhow!("cannot start exec: {e}")))?;
    // Its copies of the terminal's side closed: the service's reading ends
    // when the command's does.
    drop(command);
    if let Some(instance) = service.execs.0.lock().expect("execs").get_mut(exec_id) {
        instance.pid = child.id().unwrap_or(0);
    }
    let (to_client, outgoing) = tokio::sync::mpsc::channel::<Bytes>(64);
    let (terminal_output, terminal_input) = match terminal {
        Some(terminal) => {
            let Master { output, input, size } = terminal.master()?;
            if let Some(instance) = service.execs.0.lock().expect("execs").get_mut(exec_id) {
                instance.terminal = Some(size);
            }
            (Some(Box::new(output) as Box<dyn tokio::io::AsyncRead + Unpin + Send>), Some(input))
        }
        None => (None, None),
    };
    let outputs: [(Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>, u8); 3] = [
        (child.stdout.take().map(|o| Box::new(o) as _), 1),
        (child.stderr.take().map(|e| Box::new(e) as _), 2),
        (terminal_output, 1),
    ];
    for (from, stream_id) in outputs {
        let (Some(mut from), to_client) = (from, to_client.clone()) else { continue };
        tokio::spawn(async move {
            let mut buffer = vec![0; 32 * 1024];
            while let Ok(n) = from.read(&mut buffer).await {
                if n == 0 || to_client.send(stream::frame(stream_id, &buffer[..n], raw)).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(to_client);
    let input: Option<Box<dyn tokio::io::AsyncWrite + Unpin + Send>> = match terminal_input {
        Some(input) => Some(Box::new(input)),
        None => child.stdin.take().map(|i| Box::new(i) as _),
    };
    let upgrade = upgrade.filter(|_| !detach);
    let taken_over = upgrade.is_some();
    let (exec_id, owner) = (exec_id.to_owned(), service.clone());
    let (body, outgoing) =
        if taken_over { (None, Some(outgoing)) } else { (Some(stream::body(outgoing)), None) };
    tokio::spawn(async move {
        let connection = match (upgrade, outgoing) {
            (Some(upgrade), Some(outgoing)) => relay(upgrade, input, outgoing).await,
            _ => None,
        };
        let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(137);
        if let Some(instance) = owner.execs.0.lock().expect("execs").get_mut(&exec_id) {
            instance.running = false;
            instance.exit_code = Some(code);
            instance.terminal = None;
        }
        // Closed only now: the client asks for the exit code once it ends.
        if let Some(mut connection) = connection {
            let _ = connection.shutdown().await;
        }
    });
    let content_type = HeaderValue::from_static(stream::output_type(raw));
    if detach {
        return Ok(reply::empty(StatusCode::OK));
    }
    let Some(body) = body else {
        let mut reply = reply::empty(StatusCode::SWITCHING_PROTOCOLS);
        let headers = reply.headers_mut();
        headers.insert(header::CONTENT_TYPE, content_type);
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
        return Ok(reply);
    };
    let mut reply = http::Response::new(body);
    reply.headers_mut().insert(header::CONTENT_TYPE, content_type);
    Ok(reply)
}

/// The client's input to the command, its output to the client, on the
/// connection taken over, until the output ends; returns the connection's
/// writing half, for the caller to close.
async fn relay(
    upgrade: hyper::upgrade::OnUpgrade,
    input: Option<Box<dyn tokio::io::AsyncWrite + Unpin + Send>>,
    mut outgoing: tokio::sync::mpsc::Receiver<Bytes>,
) -> Option<tokio::io::WriteHalf<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>>> {
    let upgraded = upgrade.await.ok()?;
    let (mut read, mut write) = tokio::io::split(hyper_util::rt::TokioIo::new(upgraded));
    if let Some(mut input) = input {
        // The client's end of input closes the command's stdin.
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut read, &mut input).await;
        });
    }
    while let Some(bytes) = outgoing.recv().await {
        if write.write_all(&bytes).await.is_err() {
            break;
        }
    }
    Some(write)
}

/// `POST /exec/{id}/resize?h=&w=`: the size of a `-t` command's terminal;
/// nothing to do for one without.
pub fn resize(service: &Service, exec_id: &str, query: &crate::query::Query) -> Result<Reply> {
    use std::os::fd::AsRawFd as _;
    let dimension = |key: &str| -> Result<u16> {
        let text = query.get(key).unwrap_or("0");
        text.parse().map_err(|_| Error::usage(format!("invalid {key}: {text}")))
    };
    let (rows, columns) = (dimension("h")?, dimension("w")?);
    let execs = service.execs.0.lock().expect("execs");
    let Some(instance) = execs.get(exec_id) else {
        return Ok(reply::error(StatusCode::NOT_FOUND, format!("No such exec instance: {exec_id}")));
    };
    if let Some(terminal) = &instance.terminal {
        let size = libc::winsize { ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCSWINSZ on an open terminal with a winsize we own.
        unsafe { libc::ioctl(terminal.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    }
    Ok(reply::empty(StatusCode::OK))
}

/// How the front end runs `exec`: the command for container `id`.
pub type ExecCommand = dyn Fn(&str, &ExecConfig) -> std::process::Command + Send + Sync;

/// A terminal's master end: where what the command writes is read, where
/// what the client types is written, and what is sized.
struct Master {
    output: tokio::fs::File,
    input: tokio::fs::File,
    size: Arc<std::fs::File>,
}

/// A pseudo-terminal for `exec -t`.
struct Terminal {
    master: std::os::fd::OwnedFd,
    side: std::os::fd::OwnedFd,
}

impl Terminal {
    fn open() -> Result<Terminal> {
        use std::os::fd::FromRawFd as _;
        let (mut master, mut side) = (-1, -1);
        // SAFETY: openpty fills in two descriptors, which are then owned.
        let made = unsafe {
            libc::openpty(
                &mut master,
                &mut side,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if made != 0 {
            let e = std::io::Error::last_os_error();
            return Err(Error::Internal(anyhow::anyhow!("cannot make a terminal for exec: {e}")));
        }
        // SAFETY: openpty succeeded; nothing else owns them.
        let (master, side) =
            unsafe { (std::os::fd::OwnedFd::from_raw_fd(master), std::os::fd::OwnedFd::from_raw_fd(side)) };
        Ok(Terminal { master, side })
    }

    /// The command's side, for one of its stdio.
    fn side(&self) -> Result<Stdio> {
        Ok(Stdio::from(self.side.try_clone().map_err(|e| Error::Internal(e.into()))?))
    }

    /// The service's side.
    fn master(self) -> Result<Master> {
        let reader = std::fs::File::from(self.master);
        let clone = || reader.try_clone().map_err(|e| Error::Internal(e.into()));
        let (writer, size) = (clone()?, Arc::new(clone()?));
        Ok(Master {
            output: tokio::fs::File::from_std(reader),
            input: tokio::fs::File::from_std(writer),
            size,
        })
    }
}
