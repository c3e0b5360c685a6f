//! A container's log: the guest's stdout and stderr, one JSON object a line
//! (`{"log":"text\n","stream":"stdout","time":"…"}`), as Docker's json-file
//! driver writes it, in files rotated as the container's log options say.

mod config;
mod files;

pub use config::{DEFAULT_DRIVER, LogConfig, Retention};
use files::Writer;
pub use files::{LogFiles, Reader};

use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};

use crate::os::stdio::{self, Stream};
use serde::{Deserialize, Serialize};

/// A piece of output longer than this is logged without waiting for its
/// end of line.
const LONGEST_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    pub time: DateTime<Utc>,
}

/// Copies what this process writes to its stdout and stderr into a log,
/// line by line with the time each arrived.
pub(super) struct Logger {
    copiers: Vec<JoinHandle<Option<String>>>,
}

impl Logger {
    /// From now on, stdout and stderr are pipes read into the log files;
    /// with none, they are the null device.
    pub fn start(files: Option<LogFiles>) -> io::Result<Logger> {
        let Some(files) = files else {
            stdio::discard();
            return Ok(Logger { copiers: Vec::new() });
        };
        let file = Arc::new(Mutex::new(Writer::open(files)?));
        let mut copiers = Vec::new();
        for (to, stream) in [(Stream::Stdout, "stdout"), (Stream::Stderr, "stderr")] {
            let (reader, writer) = io::pipe()?;
            stdio::redirect(to, writer)?;
            let file = Arc::clone(&file);
            copiers.push(std::thread::spawn(move || copy(reader, stream, &file)));
        }
        Ok(Logger { copiers })
    }

    /// Closes this process's stdout and stderr and waits until everything
    /// written to them is in the log. Says what went wrong with the log, if
    /// anything did.
    pub fn finish(self) -> Option<String> {
        // The pipes' last writers close, and their copiers see the end.
        stdio::discard();
        self.copiers.into_iter().filter_map(|c| c.join().ok().flatten()).next()
    }
}

/// Copies one stream into the log. A log that cannot be written (a full
/// disk) does not stop the guest: the stream is drained on, and the failure
/// reported when the guest ends.
fn copy(reader: io::PipeReader, stream: &str, file: &Mutex<Writer>) -> Option<String> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut failure = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader).take(LONGEST_LINE as u64).read_until(b'\n', &mut line);
        match read {
            Ok(0) => return failure,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Some(format!("reading the guest's {stream} failed: {e}")),
        }
        if failure.is_some() {
            continue;
        }
        let entry = Entry {
            log: String::from_utf8_lossy(&line).into_owned(),
            stream: stream.to_owned(),
            time: Utc::now(),
        };
        let mut json = serde_json::to_vec(&entry).expect("log entries serialise");
        json.push(b'\n');
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write(&json) {
            failure = Some(format!(
                "the log could not be written from {} on: {e}; output after that is lost",
                entry.time
            ));
        }
    }
}
