//! Streamed answers: a body fed from a blocking runtime call, and Docker's
//! framing of a container's output.

use bytes::Bytes;
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use tokio::sync::mpsc;
use wbox_runtime::container::logs::Entry;

use crate::reply::{Body, Reply};

/// The writing end of a streamed body; sends fail once the client is gone.
#[derive(Clone)]
pub enum Sender {
    /// Waits while the client is behind: for output, which can be endless.
    Bounded(mpsc::Sender<Bytes>),
    /// Never waits: for progress reported from inside async work (a pull),
    /// which is short.
    Unbounded(mpsc::UnboundedSender<Bytes>),
}

impl Sender {
    /// False when the client went away. A bounded sender blocks, so is used
    /// from a blocking thread.
    pub fn send(&self, bytes: impl Into<Bytes>) -> bool {
        match self {
            Sender::Bounded(sender) => sender.blocking_send(bytes.into()).is_ok(),
            Sender::Unbounded(sender) => sender.send(bytes.into()).is_ok(),
        }
    }

    /// One JSON object and a newline, as Docker's progress streams are.
    pub fn send_json(&self, value: &serde_json::Value) -> bool {
        let mut line = serde_json::to_vec(value).expect("JSON serialises");
        line.push(b'\n');
        self.send(line)
    }
}

pub fn channel() -> (Sender, Body) {
    let (sender, receiver) = mpsc::channel::<Bytes>(64);
    (Sender::Bounded(sender), body(receiver))
}

/// A body of what `receiver` gets, until every sender is gone.
pub fn body(receiver: mpsc::Receiver<Bytes>) -> Body {
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let bytes = receiver.recv().await?;
        Some((Ok::<_, std::io::Error>(Frame::data(bytes)), receiver))
    });
    StreamBody::new(frames).boxed()
}

pub fn progress_channel() -> (Sender, Body) {
    let (sender, receiver) = mpsc::unbounded_channel::<Bytes>();
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let bytes = receiver.recv().await?;
        Some((Ok::<_, std::io::Error>(Frame::data(bytes)), receiver))
    });
    (Sender::Unbounded(sender), StreamBody::new(frames).boxed())
}

/// A log entry as Docker streams it: raw for a container with a terminal,
/// else in a frame whose header names the stream (1 stdout, 2 stderr) and
/// the length.
pub fn output(entry: &Entry, tty: bool, timestamps: bool) -> Bytes {
    let mut text = Vec::with_capacity(entry.log.len() + 40);
    if timestamps {
        text.extend_from_slice(entry.time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true).as_bytes());
        text.push(b' ');
    }
    text.extend_from_slice(entry.log.as_bytes());
    frame(if entry.stream == "stderr" { 2 } else { 1 }, &text, tty)
}

/// Output of stream 1 (stdout) or 2 (stderr): raw with a terminal, else in
/// a frame whose header names the stream and the length.
pub fn frame(stream: u8, bytes: &[u8], tty: bool) -> Bytes {
    if tty {
        return Bytes::copy_from_slice(bytes);
    }
    let mut framed = Vec::with_capacity(bytes.len() + 8);
    framed.extend_from_slice(&[stream, 0, 0, 0]);
    framed.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    framed.extend_from_slice(bytes);
    framed.into()
}

/// The media type of a container's output stream.
pub fn output_type(tty: bool) -> &'static str {
    if tty { "application/vnd.docker.raw-stream" } else { "application/vnd.docker.multiplexed-stream" }
}

/// A reply that streams Docker's JSON progress lines: `work` runs on a
/// blocking thread and reports through the sender it is given; its error,
/// if it fails, is the stream's last line, as Docker's clients expect.
pub fn json_progress(work: impl FnOnce(&Sender) -> wbox_runtime::Result<()> + Send + 'static) -> Reply {
    let (sender, body) = progress_channel();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = work(&sender) {
            sender.send_json(
                &serde_json::json!({ "errorDetail": { "message": e.to_string() }, "error": e.to_string() }),
            );
        }
    });
    let mut reply = http::Response::new(body);
    reply
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    reply
}
