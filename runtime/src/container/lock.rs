//! The locks of a container's directory: `lock`, held while its state is
//! changed, and `running.lock`, held by whoever runs the guest for as long
//! as it lives, with that process's pid in `running.pid`. The system drops
//! a lock when its process dies however it dies, so a container whose
//! `running.lock` nobody holds runs nowhere.
//!
//! The locks are std's (`flock` on Unix, `LockFileEx` on Windows): one
//! implementation on every system. A lock belongs to the open file, not to
//! the process, so a process asking about a lock it holds itself sees it
//! held.

use std::fs::{self, File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use super::fs_error;
use crate::Result;

/// How long a runner retries a run lock that another process holds. The
/// only other holders are readers that ask whether it is held (`ps`,
/// `logs -f`), each for a moment: a lock busier than this is a runner's.
const READERS_HOLD_AT_MOST: Duration = Duration::from_millis(200);

fn open(path: &Path) -> Result<File> {
    fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(|e| fs_error(path, e))
}

/// Takes the run lock of a container for this process, or says who has it.
pub(super) fn take_run_lock(dir: &Path) -> Result<std::result::Result<File, u32>> {
    let path = dir.join("running.lock");
    let file = open(&path)?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if start.elapsed() < READERS_HOLD_AT_MOST => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(TryLockError::WouldBlock) => return Ok(Err(lock_holder(dir).unwrap_or(0))),
            Err(TryLockError::Error(e)) => return Err(fs_error(&path, e)),
        }
    }
    let pid_file = dir.join("running.pid");
    fs::write(&pid_file, std::process::id().to_string()).map_err(|e| fs_error(&pid_file, e))?;
    Ok(Ok(file))
}

/// The pid of the process that holds the run lock, if one does.
pub(super) fn lock_holder(dir: &Path) -> Option<u32> {
    let file = File::open(dir.join("running.lock")).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => {
            // Written just after the lock was taken: 0 in between.
            let pid = fs::read_to_string(dir.join("running.pid")).unwrap_or_default();
            Some(pid.trim().parse().unwrap_or(0))
        }
        Err(TryLockError::Error(_)) => None,
    }
}

pub(super) fn lock_file(path: &Path) -> Result<File> {
    let file = open(path)?;
    file.lock().map_err(|e| fs_error(path, e))?;
    Ok(file)
}
