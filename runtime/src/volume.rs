//! Volumes: storage that outlives containers, laid out as Docker's `local`
//! driver lays it out: `ROOT/volumes/NAME/_data` holds the files, and
//! `ROOT/volumes/NAME/volume.json` what Docker records of a volume. A
//! container uses one as a directory grant of its `_data` (a wasm guest's
//! preopened directory, a native container's bind mount), so a volume is
//! as escape-proof as any grant, and whether one is in use is read from
//! the containers' grants.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// All volumes of one root.
pub struct Volumes {
    dir: PathBuf,
}

/// One volume, as `volume inspect` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Made for one container (an image's `VOLUME`, a `-v /path` without a
    /// name): `rm -v` removes it with the container, `volume prune` without
    /// `-a` removes only such volumes.
    #[serde(default)]
    pub anonymous: bool,
    /// Where its files are, `ROOT/volumes/NAME/_data`; not recorded, as the
    /// root may move.
    #[serde(skip)]
    pub mountpoint: PathBuf,
}

/// Docker's `--driver` of a volume: wbox has `local` only.
pub fn check_driver(driver: &str) -> Result<()> {
    if driver.is_empty() || driver == "local" {
        return Ok(());
    }
    Err(Error::usage(format!("volume driver {driver}: wbox has only local")))
}

impl Volume {
    /// Docker's view of it, as `volume inspect` shows it.
    pub fn inspect(&self) -> serde_json::Value {
        serde_json::json!({
            "CreatedAt": self.created.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "Driver": "local",
            "Labels": if self.labels.is_empty() { serde_json::Value::Null } else { serde_json::json!(self.labels) },
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": null,
            "Scope": "local",
        })
    }
}

impl Volumes {
    pub fn open(root: &Path) -> Result<Volumes> {
        let dir = root.join("volumes");
        fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(Volumes { dir })
    }

    /// Makes a volume, or returns the one of that name, as Docker does; a
    /// name of 64 random hex digits if none is given.
    pub fn create(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        anonymous: bool,
    ) -> Result<Volume> {
        let name = match name {
            Some(name) => {
                check_name(name)?;
                name.to_owned()
            }
            None => crate::ids::new_id()?,
        };
        if let Ok(existing) = self.get(&name) {
            // Docker tells of a volume a container asks for, even one that was there.
            crate::events::record(self.root(), "volume", "create", &name, &[("driver", "local")]);
            return Ok(existing);
        }
        let volume =
            Volume { name: name.clone(), created: Utc::now(), labels, anonymous, mountpoint: PathBuf::new() };
        // Made aside and renamed, so that no one sees half a volume; if
        // another wbox made it meanwhile, theirs is the one.
        let staging = self.dir.join(format!(".creating-{name}-{}", crate::ids::new_id()?));
        fs::create_dir_all(staging.join("_data")).map_err(|e| io_error(&staging, e))?;
        let record = serde_json::to_vec_pretty(&volume).expect("a volume serialises");
        fs::write(staging.join("volume.json"), record).map_err(|e| io_error(&staging, e))?;
        if fs::rename(&staging, self.dir.join(&name)).is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        let made = self.get(&name)?;
        crate::events::record(self.root(), "volume", "create", &name, &[("driver", "local")]);
        Ok(made)
    }

    /// Held while a container's record comes to name volumes, and while a
    /// volume's users are checked and it is removed: neither sees the
    /// other half done. Released when the file returned is dropped.
    pub fn lock(&self) -> Result<fs::File> {
        let path = self.dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        file.lock().map_err(|e| io_error(&path, e))?;
        Ok(file)
    }

    /// The volume of this name.
    pub fn get(&self, name: &str) -> Result<Volume> {
        check_name(name)?;
        let dir = self.dir.join(name);
        let record = fs::read(dir.join("volume.json")).map_err(|_| no_such_volume(name))?;
        let mut volume: Volume = serde_json::from_slice(&record)
            .map_err(|e| Error::usage(format!("volume {name}: its record is damaged ({e})")))?;
        volume.mountpoint = dir.join("_data");
        Ok(volume)
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>> {
        let mut volumes = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, e))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            match self.get(&name) {
                Ok(volume) => volumes.push(volume),
                Err(e) => tracing::warn!("skipping volume {name}: {e}"),
            }
        }
        volumes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(volumes)
    }

    /// Removes a volume and its files; returns the bytes they took.
    /// `users`: the containers that use it, which keep it (as Docker keeps
    /// it, `-f` or not).
    pub fn remove(&self, name: &str, users: &[String]) -> Result<u64> {
        self.get(name)?;
        if !users.is_empty() {
            return Err(Error::Conflict(format!(
                "remove {name}: volume is in use - [{}]; remove those containers first",
                users.join(", ")
            )));
        }
        // Moved aside first, so that a removal cut short leaves no half volume.
        let doomed = self.dir.join(format!(".removing-{name}-{}", crate::ids::new_id()?));
        fs::rename(self.dir.join(name), &doomed).map_err(|e| io_error(&doomed, e))?;
        let size = crate::root::disk_usage(&doomed.join("_data"));
        fs::remove_dir_all(&doomed).map_err(|e| io_error(&doomed, e))?;
        crate::events::record(self.root(), "volume", "destroy", name, &[("driver", "local")]);
        Ok(size)
    }

    fn root(&self) -> &Path {
        self.dir.parent().expect("volumes are ROOT/volumes")
    }

    /// The volume whose files are at `host`, if it is one of these.
    pub fn named_by(&self, host: &Path) -> Option<String> {
        let name = host.strip_prefix(&self.dir).ok()?.parent()?;
        (host.file_name()? == "_data" && name.components().count() == 1)
            .then(|| name.to_string_lossy().into())
    }
}

/// Docker's rule for a local volume's name, which also keeps it a single
/// directory below `ROOT/volumes`.
pub fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && name.len() >= 2 {
        return Ok(());
    }
    Err(Error::usage(format!(
        "\"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" \
         are allowed. If you intended to pass a host directory, use absolute path"
    )))
}

/// Whether a `-v` source names a volume rather than a host directory:
/// Docker's rule, a name with no path in it.
pub fn is_name(source: &str) -> bool {
    !source.is_empty() && !source.contains(['/', '\\']) && !source.starts_with(['.', '~'])
}

fn no_such_volume(name: &str) -> Error {
    Error::NoSuchVolume(name.to_owned())
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dockers_and_stay_below_the_root() {
        for good in ["data", "my-vol_1.2", "a1"] {
            check_name(good).unwrap();
        }
        for bad in ["", "a", "../x", "..", "a/b", "-x", ".x", "a b", "x\\y"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(is_name("data") && !is_name("./data") && !is_name("/data") && !is_name("~/d"));
    }

    #[test]
    fn a_volume_is_made_once_listed_and_removed_unless_used() {
        let root = tempfile::tempdir().unwrap();
        let volumes = Volumes::open(root.path()).unwrap();
        let labels = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
        let made = volumes.create(Some("data"), labels, false).unwrap();
        fs::write(made.mountpoint.join("kept"), "x").unwrap();
        let again = volumes.create(Some("data"), BTreeMap::new(), false).unwrap();
        assert_eq!(again.labels["k"], "v", "the existing one, as it was");
        assert!(again.mountpoint.join("kept").exists());
        let anonymous = volumes.create(None, BTreeMap::new(), true).unwrap();
        assert_eq!(anonymous.name.len(), 64);
        let names: Vec<_> = volumes.list().unwrap().into_iter().map(|v| v.name).collect();
        assert_eq!(names.len(), 2);
        assert_eq!(volumes.named_by(&made.mountpoint).as_deref(), Some("data"));
        assert_eq!(volumes.named_by(root.path()), None);

        assert!(volumes.remove("data", &["c1".into()]).is_err());
        assert!(made.mountpoint.join("kept").exists());
        volumes.remove("data", &[]).unwrap();
        assert!(volumes.get("data").is_err());
        assert!(volumes.remove("data", &[]).is_err());
    }
}
