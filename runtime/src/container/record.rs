//! A container's record: `config.json`, fixed when it is created, and
//! `state.json`, replaced atomically under its lock.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{fs_error, logs};
use crate::plan::{Grants, Limits, NativeOptions, PublishedPort};
use crate::store::{Digest, write_atomic};
use crate::{Error, Result};

/// A container's record, fixed when it is created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    #[serde(flatten)]
    pub spec: Spec,
}

/// What a container runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// The image as the user named it.
    pub image: String,
    /// The image's manifest digest in the store.
    pub image_id: Digest,
    /// The guest's arguments as they will be, `argv[0]` first.
    pub argv: Vec<String>,
    /// The arguments given after the image's name.
    pub args: Vec<String>,
    /// The user's grants (the image's own are added when it starts).
    pub grants: Grants,
    pub limits: Limits,
    /// `--rm`: removed once it ends.
    pub auto_remove: bool,
    /// Seconds `stop` waits by default.
    pub stop_timeout: u64,
    /// What only a native container uses.
    #[serde(default)]
    pub native: NativeOptions,
    /// How its output is kept. Containers recorded before there was a
    /// choice get the default, which bounds their logs too.
    #[serde(default)]
    pub log: logs::LogConfig,
    /// The image's labels and `--label`s.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Docker's StdinOnce (see `NewContainer`).
    #[serde(default)]
    pub stdin_once: bool,
    /// Whether its supervisor starts it again when it ends.
    #[serde(default)]
    pub restart: super::RestartPolicy,
}

impl Spec {
    /// The command as Docker's container list shows it: the program, then
    /// its arguments, one that holds a space in single quotes.
    pub fn command(&self) -> String {
        let quoted = |arg: &String| if arg.contains(' ') { format!("'{arg}'") } else { arg.clone() };
        self.argv.iter().map(quoted).collect::<Vec<_>>().join(" ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Exited,
    /// Its supervisor died without recording how the guest ended.
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    /// The process that runs the guest.
    pub pid: Option<u32>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    /// Why it could not start, why it ended, or what went wrong on the way.
    pub error: Option<String>,
    /// The ports published while it runs, with the host ports chosen.
    #[serde(default)]
    pub ports: Vec<PublishedPort>,
    /// A native container the kernel killed for going past `--memory`.
    #[serde(default)]
    pub oom_killed: bool,
    /// How often its restart policy has started it again.
    #[serde(default)]
    pub restart_count: u32,
    /// Stopped or killed by a user since it last started: its restart
    /// policy does not start it again.
    #[serde(default)]
    pub manually_stopped: bool,
}

impl State {
    /// Docker's STATUS column: "Up 5 seconds", "Exited (0) 3 minutes ago".
    pub fn status_text(&self) -> String {
        use crate::units::{duration, since};
        match self.status {
            Status::Created => "Created".into(),
            Status::Running => format!("Up {}", self.started_at.map(duration).unwrap_or_default()),
            Status::Exited => {
                format!(
                    "Exited ({}) {}",
                    self.exit_code.unwrap_or(0),
                    self.finished_at.map(since).unwrap_or_default()
                )
            }
            Status::Dead => "Dead (its supervisor was killed)".into(),
        }
    }
}

pub(super) fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).expect("records serialise");
    write_atomic(path, &bytes).map_err(|e| fs_error(path, e))
}

pub(super) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let mut text = String::new();
    fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text)).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::Gone { path: path.to_owned() },
        _ => fs_error(path, e),
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Internal(anyhow::anyhow!(
            "{} is damaged: {e}; remove the container with wbox rm -f",
            path.display()
        ))
    })
}

/// Removes a container's directory: renamed first, so that it disappears at
/// once and another `rm` racing this one finds nothing.
pub(super) fn remove_files(dir: &Path, lock: Option<fs::File>) -> Result<()> {
    let parent = dir.parent().expect("a container lives in containers/");
    let name = dir.file_name().expect("a container's directory has a name").to_string_lossy();
    let doomed = parent.join(format!(".removing-{name}"));
    fs::rename(dir, &doomed).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::Gone { path: dir.to_owned() },
        _ => fs_error(dir, e),
    })?;
    // Released once the record is gone: Windows removes no open file.
    drop(lock);
    fs::remove_dir_all(&doomed).map_err(|e| fs_error(&doomed, e))
}
