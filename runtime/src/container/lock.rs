//! The locks of a container's directory: `lock`, held while its state is
//! changed, and `running.lock`, a POSIX record lock held by whoever runs the
//! guest for as long as it lives.

use std::fs;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::fs_error;
use crate::Result;

/// The one byte range every run lock covers: the whole file.
fn run_lock(kind: i16) -> libc::flock {
    // SAFETY: flock is plain data; all zeroes is a valid value.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind;
    lock.l_whence = libc::SEEK_SET as i16;
    lock
}

/// Takes the run lock of a container for this process, or says who has it.
pub(super) fn take_run_lock(dir: &Path) -> Result<std::result::Result<fs::File, u32>> {
    let path = dir.join("running.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| fs_error(&path, e))?;
    let lock = run_lock(libc::F_WRLCK as i16);
    // SAFETY: F_SETLK with a valid flock on a file we hold open.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) } == 0 {
        return Ok(Ok(file));
    }
    drop(file);
    Ok(Err(lock_holder(dir).unwrap_or(0)))
}

pub(super) fn lock_holder(dir: &Path) -> Option<u32> {
    let file = fs::File::open(dir.join("running.lock")).ok()?;
    let mut query = run_lock(libc::F_WRLCK as i16);
    // SAFETY: F_GETLK fills in the flock we pass; it only asks the kernel.
    let answered = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut query) } == 0;
    (answered && query.l_type != libc::F_UNLCK as i16).then_some(query.l_pid as u32)
}

pub(super) fn lock_file(path: &Path) -> Result<fs::File> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| fs_error(path, e))?;
    file.lock().map_err(|e| fs_error(path, e))?;
    Ok(file)
}
