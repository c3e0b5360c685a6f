//! The channel a running container's runner answers stop and kill requests
//! on, the same on every system (a wasm guest has no signals of its own:
//! the runner maps each request onto it). It is a TCP socket on the
//! loopback; its address and a secret are in the container's `control`
//! file, which only its owner can read (written as a private temporary file
//! and renamed; on Windows, in the user's profile). A request that does not
//! carry the secret is dropped, so other users on the machine, who can
//! reach the socket, cannot stop anyone's container.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use super::{Request, fs_error};
use crate::store::write_atomic;
use crate::{Error, Result};

/// How long either side waits for the other's line: a client that connects
/// and says nothing does not hold up the next one for longer.
const PATIENCE: Duration = Duration::from_secs(2);

fn control_file(dir: &Path) -> std::path::PathBuf {
    dir.join("control")
}

/// The channel, open but not yet answered.
pub(super) struct Channel {
    listener: TcpListener,
    secret: String,
}

/// Opens the channel on the host's loopback: before a wasm runner moves
/// into a network namespace of its own, where no one else could reach it.
/// Requests wait in the listener's backlog until `serve`.
pub(super) fn open(dir: &Path) -> Result<Channel> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot open the control socket: {e}")))?;
    let address = listener.local_addr().map_err(|e| Error::Internal(e.into()))?;
    let secret = crate::ids::new_id()?;
    let path = control_file(dir);
    write_atomic(&path, format!("{address} {secret}\n").as_bytes()).map_err(|e| fs_error(&path, e))?;
    Ok(Channel { listener, secret })
}

impl Channel {
    /// Answers the channel on a thread of its own for as long as the
    /// process lives, handing each request to `answer`, whose line is the
    /// reply.
    pub(super) fn serve(self, answer: impl Fn(Request) -> String + Send + 'static) {
        let Channel { listener, secret } = self;
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                match read_request(&stream, &secret) {
                    Some(request) => {
                        let _ = (&stream).write_all(format!("{}\n", answer(request)).as_bytes());
                    }
                    None => tracing::warn!("a control request without the container's secret was dropped"),
                }
            }
        });
    }
}

fn read_request(stream: &TcpStream, secret: &str) -> Option<Request> {
    stream.set_read_timeout(Some(PATIENCE)).ok()?;
    let mut line = String::new();
    BufReader::new(stream).take(4096).read_line(&mut line).ok()?;
    let (given, request) = line.trim_end().split_once(' ')?;
    (given == secret).then(|| Request::decode(request)).flatten()
}

/// Hands a request to the container's runner; its reply, none when no
/// runner answers.
pub(super) fn ask(dir: &Path, request: Request) -> Option<String> {
    let text = std::fs::read_to_string(control_file(dir)).ok()?;
    let (address, secret) = text.trim_end().split_once(' ')?;
    let mut stream = TcpStream::connect_timeout(&address.parse().ok()?, PATIENCE).ok()?;
    let _ = stream.set_read_timeout(Some(PATIENCE));
    stream.write_all(format!("{secret} {}\n", request.encode()).as_bytes()).ok()?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).ok()?;
    answer.strip_suffix('\n').map(str::to_owned)
}

/// Forgets the channel once the runner is done.
pub(super) fn close(dir: &Path) {
    let _ = std::fs::remove_file(control_file(dir));
}
