//! Scratch directories of work in progress (a build's stages, a native RUN
//! step's bundle and runtime state), kept under `ROOT/tmp`, not `/tmp`, so
//! that what a killed wbox left is where the next wbox looks. Each is held
//! by a lock that its process keeps while it lives: a directory whose lock
//! can be taken belongs to a process that is gone.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Error, Result};

/// The lock file inside every scratch directory.
const HELD: &str = ".held";

/// A directory made before its lock was: younger than this, it may be a
/// live process's that has not taken its lock yet.
const GRACE: Duration = Duration::from_secs(60);

/// Where the work goes in a scratch directory: beside the lock, never with
/// it (a build context unpacked there would take the lock into the image).
const WORK: &str = "work";

/// A scratch directory, removed when dropped.
pub struct Scratch {
    /// Removed, with everything in it, when dropped.
    _dir: tempfile::TempDir,
    work: PathBuf,
    _held: File,
}

impl Scratch {
    /// A new directory `ROOT/tmp/PREFIX…`, held by this process.
    pub fn new(root: &Path, prefix: &str) -> Result<Scratch> {
        let failed = |e: std::io::Error| {
            Error::Internal(anyhow::anyhow!("cannot make a scratch directory under {}: {e}", root.display()))
        };
        let parent = root.join("tmp");
        std::fs::create_dir_all(&parent).map_err(failed)?;
        let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(&parent).map_err(failed)?;
        // Locked before it has the name others look for, so that no other
        // wbox ever finds it free while this one lives.
        let unnamed = dir.path().join(".held-new");
        let held = File::create(&unnamed).map_err(failed)?;
        held.try_lock().map_err(|e| failed(std::io::Error::other(e.to_string())))?;
        std::fs::rename(&unnamed, dir.path().join(HELD)).map_err(failed)?;
        let work = dir.path().join(WORK);
        std::fs::create_dir(&work).map_err(failed)?;
        Ok(Scratch { _dir: dir, work, _held: held })
    }

    /// The directory to work in: empty, and the lock is not in it.
    pub fn path(&self) -> &Path {
        &self.work
    }
}

/// Where the work went in scratch directory `dir` (see `Scratch::path`).
pub fn work_in(dir: &Path) -> PathBuf {
    dir.join(WORK)
}

/// The scratch directories under ROOT whose process is gone, each with the
/// lock that keeps another wbox from taking it too; the caller cleans up
/// what is in one, then removes it.
pub fn abandoned(root: &Path) -> Vec<(PathBuf, Option<File>)> {
    let Ok(entries) = std::fs::read_dir(root.join("tmp")) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        match File::open(dir.join(HELD)) {
            Ok(held) => {
                if held.try_lock().is_ok() {
                    found.push((dir, Some(held)));
                }
            }
            Err(_) => {
                let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                if age.is_some_and(|age| age > GRACE) {
                    found.push((dir, None));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_directory_is_not_abandoned_until_its_holder_is_gone() {
        let root = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(root.path(), "build-").unwrap();
        let path = scratch.path().to_owned();
        assert!(abandoned(root.path()).is_empty(), "a live holder's directory is not taken");
        // What a killed process leaves: the directory, its lock free.
        let Scratch { _dir: dir, _held, .. } = scratch;
        let _ = dir.keep();
        drop(_held);
        let found = abandoned(root.path());
        assert_eq!(found.iter().map(|(p, _)| work_in(p)).collect::<Vec<_>>(), [path]);
        assert!(abandoned(root.path()).is_empty(), "a directory being cleaned up is not taken twice");
    }
}
