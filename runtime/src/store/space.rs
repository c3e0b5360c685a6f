//! Disk space: what the store is about to write is weighed against the free
//! space of the filesystem it goes to, so that a pull, a load, a build or an
//! unpack stops with an error before the disk is full, not after: a full disk
//! breaks every other program on it too.

use std::io;
use std::path::{Path, PathBuf};

use crate::units::binary_size as human;
use crate::{Error, Result};

/// Space wbox leaves free on a filesystem: a twentieth of it, at most
/// 256 MiB (ext4 reserves a twentieth for root for the same reason).
fn reserve(total: u64) -> u64 {
    (total / 20).min(256 << 20)
}

/// Bytes written to one filesystem, weighed against its free space as they
/// are about to be written. The free space is asked for again only when
/// the estimate runs short, so a layer of many small files costs few calls.
pub(crate) struct Space {
    dir: PathBuf,
    /// Free bytes less what was claimed since they were counted; `None`
    /// where unknown (nothing is then refused).
    free: Option<u64>,
    reserve: u64,
}

impl Space {
    pub(crate) fn of(dir: &Path) -> Space {
        let mut space = Space { dir: dir.to_owned(), free: None, reserve: 0 };
        space.refresh();
        space
    }

    fn refresh(&mut self) {
        match crate::os::fs::space(&self.dir) {
            Ok((free, total)) => {
                self.free = Some(free);
                self.reserve = reserve(total);
            }
            Err(e) => {
                tracing::debug!("cannot tell the free space in {}: {e}", self.dir.display());
                self.free = None;
            }
        }
    }

    /// Claims `bytes` for `what`, or says why they do not fit.
    pub(crate) fn claim(&mut self, bytes: u64, what: impl FnOnce() -> String) -> Result<()> {
        let fits =
            |free: Option<u64>, reserve: u64| free.is_none_or(|free| bytes.saturating_add(reserve) <= free);
        if !fits(self.free, self.reserve) {
            self.refresh();
            if !fits(self.free, self.reserve) {
                return Err(Error::image(format!(
                    "not enough disk space for {}: it needs {}, and {} has {} free, of which wbox leaves {} \
                     for everything else; free some (`wbox image prune -a`, `wbox system prune`) or give wbox \
                     a root on a larger disk (--root)",
                    what(),
                    human(bytes),
                    self.dir.display(),
                    human(self.free.unwrap_or(0)),
                    human(self.reserve),
                )));
            }
        }
        self.free = self.free.map(|free| free - bytes);
        Ok(())
    }
}

/// Whether a write failed because the disk is full (or the quota spent).
pub(crate) fn is_full(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_past_the_free_space_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut space = Space::of(dir.path());
        assert!(space.claim(4096, || "a small file".into()).is_ok());
        let err = space.claim(u64::MAX / 2, || "a huge layer".into()).unwrap_err().to_string();
        assert!(err.contains("not enough disk space for a huge layer"), "{err}");
    }
}
