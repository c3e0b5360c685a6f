//! What happened to containers, images and volumes, as `docker events`
//! reports it. wbox has no daemon to keep them: each is a JSON line
//! appended to `ROOT/events.log` by whichever wbox process acts (one write
//! of a short line in append mode, so lines from several processes never
//! interleave). The log is cut in two when it grows past `KEEP` bytes,
//! keeping the older half as `events.log.1`, as Docker keeps only recent
//! events.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::filters::Filters;

/// The size past which the log starts again (the older one kept as `.1`).
const KEEP: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `container`, `image` or `volume`.
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    /// Nanoseconds since the Unix epoch.
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// Records an event. A log that cannot be written costs a warning, never
/// the work it reports.
pub fn record(root: &Path, kind: &str, action: &str, id: &str, attributes: &[(&str, &str)]) {
    let event = Event {
        kind: kind.to_owned(),
        action: action.to_owned(),
        actor: Actor {
            id: id.to_owned(),
            attributes: attributes.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        },
        time_nano: chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
    };
    let mut line = serde_json::to_vec(&event).expect("an event serialises");
    line.push(b'\n');
    let path = log(root);
    let appended = fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut file| {
        file.write_all(&line)?;
        // Only the log this process wrote to is cut: another may have cut
        // it already, and its new log is not to be moved over the old.
        let still_ours = || -> std::io::Result<bool> {
            Ok(crate::os::fs::identity(&file)? == crate::os::fs::identity(&fs::File::open(&path)?)?)
        };
        if file.metadata()?.len() > KEEP && still_ours()? {
            fs::rename(&path, older(root))?;
        }
        Ok(())
    });
    if let Err(e) = appended {
        tracing::warn!("the event {kind} {action} {id} was not recorded in {}: {e}", path.display());
    }
}

/// A reader of the events, oldest first, that can wait for more.
pub struct Events {
    root: PathBuf,
    current: Option<BufReader<fs::File>>,
}

impl Events {
    /// Every event kept, oldest first.
    pub fn past(root: &Path) -> Vec<Event> {
        let mut all = Vec::new();
        for path in [older(root), log(root)] {
            if let Ok(file) = fs::File::open(path) {
                all.extend(lines(&mut BufReader::new(file)));
            }
        }
        all
    }

    /// A reader of the events to come.
    pub fn from_now(root: &Path) -> Events {
        let current = fs::File::open(log(root)).ok().map(|mut file| {
            let _ = file.seek(SeekFrom::End(0));
            BufReader::new(file)
        });
        Events { root: root.to_owned(), current }
    }

    /// The events written since the last call (none yet: empty). A log that
    /// was cut meanwhile is followed into its new file.
    pub fn next_batch(&mut self) -> Vec<Event> {
        let mut batch = Vec::new();
        if let Some(reader) = &mut self.current {
            batch.extend(lines(reader));
        }
        let Ok(now) = fs::File::open(log(&self.root)) else { return batch };
        let ours = self.current.as_ref().map(|reader| crate::os::fs::identity(reader.get_ref()).ok());
        if ours.flatten() != crate::os::fs::identity(&now).ok() {
            let mut reader = BufReader::new(now);
            batch.extend(lines(&mut reader));
            self.current = Some(reader);
        }
        batch
    }
}

/// `events --since --until`: hands `each` the past events from `since`
/// (nanoseconds since the epoch) when given, then each new one as it comes,
/// until `until` or until `each` answers false.
pub fn watch(root: &Path, since: Option<i64>, until: Option<i64>, mut each: impl FnMut(&Event) -> bool) {
    let nanos = |t: chrono::DateTime<chrono::Utc>| t.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let mut follower = Events::from_now(root);
    let watch = crate::os::watch::Watch::new(&[root]);
    if let Some(since) = since {
        let until = until.unwrap_or(i64::MAX).min(nanos(chrono::Utc::now()));
        for event in Events::past(root).iter().filter(|e| e.time_nano >= since && e.time_nano < until) {
            if !each(event) {
                return;
            }
        }
    }
    loop {
        if until.is_some_and(|until| nanos(chrono::Utc::now()) >= until) {
            return;
        }
        for event in follower.next_batch() {
            if until.is_some_and(|until| event.time_nano >= until) || !each(&event) {
                return;
            }
        }
        watch.wait(std::time::Duration::from_millis(100));
    }
}

impl Event {
    /// The event as Docker's API sends it: its own fields, and the older
    /// `status`, `id`, `from` and `time` its clients still read.
    pub fn docker_message(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("an event serialises");
        value["scope"] = "local".into();
        value["time"] = (self.time_nano / 1_000_000_000).into();
        if self.kind == "container" || self.kind == "image" {
            value["status"] = self.action.clone().into();
            value["id"] = self.actor.id.clone().into();
        }
        if let Some(image) = self.actor.attributes.get("image").filter(|_| self.kind == "container") {
            value["from"] = image.clone().into();
        }
        value
    }

    /// Whether `filters` let it through: `container`, `image` and `volume`
    /// match an event of that object by its id or name, `event` its action,
    /// `type` its kind, `label` its attributes.
    pub fn matches(&self, filters: &Filters) -> bool {
        let attribute = |key: &str| self.actor.attributes.get(key).map(String::as_str);
        let names = |kind: &str, value: &str| {
            self.kind == kind
                && (self.actor.id == value
                    || (value.len() >= 4 && self.actor.id.trim_start_matches("sha256:").starts_with(value))
                    || attribute("name") == Some(value))
        };
        filters.any("type", |t| t == self.kind)
            && filters.any("event", |e| e == self.action)
            && filters.any("container", |c| names("container", c))
            && filters.any("volume", |v| names("volume", v))
            && filters.any("image", |i| names("image", i) || attribute("image") == Some(i))
            && filters.labels_match(&self.actor.attributes)
    }
}

/// The whole lines a reader has; a line still being written is left for
/// the next read, and one that is not an event is skipped.
fn lines(reader: &mut BufReader<fs::File>) -> Vec<Event> {
    let mut events = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        if !line.ends_with('\n') {
            // Read again next time, whole.
            let _ = reader.seek_relative(-(line.len() as i64));
            break;
        }
        if let Ok(event) = serde_json::from_str(&line) {
            events.push(event);
        }
        line.clear();
    }
    events
}

fn log(root: &Path) -> PathBuf {
    root.join("events.log")
}

fn older(root: &Path) -> PathBuf {
    root.join("events.log.1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_kept_in_order_and_followed() {
        let root = tempfile::tempdir().unwrap();
        record(root.path(), "volume", "create", "data", &[("driver", "local")]);
        let mut follower = Events::from_now(root.path());
        record(root.path(), "container", "create", "abc", &[("name", "web")]);
        let past = Events::past(root.path());
        assert_eq!(past.len(), 2);
        assert_eq!((past[0].kind.as_str(), past[1].action.as_str()), ("volume", "create"));
        assert_eq!(past[1].actor.attributes["name"], "web");
        assert!(past[0].time_nano <= past[1].time_nano);
        let next = follower.next_batch();
        assert_eq!(next.len(), 1, "only what came after: {next:?}");
        assert_eq!(next[0].actor.id, "abc");
        assert!(follower.next_batch().is_empty());
    }
}
