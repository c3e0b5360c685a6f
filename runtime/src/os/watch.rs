//! Waiting for a directory's files to change instead of looking again and
//! again: a follower of a container wakes as its log grows, its state is
//! written, its run lock is let go (the runner closes it, or dies), or it
//! is removed. inotify on Linux; elsewhere, and where inotify cannot be
//! had, a short sleep, and the caller looks again.

use std::path::Path;
use std::time::Duration;

/// How long a wait lasts where changes cannot be watched.
const POLL: Duration = Duration::from_millis(5);

pub struct Watch {
    #[cfg(target_os = "linux")]
    inotify: Option<std::os::fd::OwnedFd>,
}

impl Watch {
    /// Watches the files in `dirs` (not below them) being written, closed
    /// after writing, made, moved in or removed, and the directories' own
    /// removal.
    #[cfg(target_os = "linux")]
    pub fn new(dirs: &[&Path]) -> Watch {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: inotify_init1 returns a new descriptor or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            return Watch { inotify: None };
        }
        // SAFETY: fd is a new descriptor that nothing else owns.
        let inotify = unsafe { OwnedFd::from_raw_fd(fd) };
        let mask = libc::IN_MODIFY
            | libc::IN_CLOSE_WRITE
            | libc::IN_CREATE
            | libc::IN_MOVED_TO
            | libc::IN_DELETE
            | libc::IN_DELETE_SELF
            | libc::IN_MOVE_SELF;
        for dir in dirs {
            let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { continue };
            // SAFETY: a valid descriptor and path string.
            if unsafe { libc::inotify_add_watch(inotify.as_raw_fd(), path.as_ptr(), mask) } < 0 {
                return Watch { inotify: None };
            }
        }
        Watch { inotify: Some(inotify) }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn new(_dirs: &[&Path]) -> Watch {
        Watch {}
    }

    /// Returns once something changed, or after `longest`, or after a
    /// short while where changes are not watched.
    #[cfg(target_os = "linux")]
    pub fn wait(&self, longest: Duration) {
        use std::os::fd::AsRawFd;
        let Some(inotify) = &self.inotify else {
            std::thread::sleep(longest.min(POLL));
            return;
        };
        let mut poll = libc::pollfd { fd: inotify.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let timeout = longest.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one pollfd that lives across the call.
        if unsafe { libc::poll(&mut poll, 1, timeout) } > 0 {
            // What changed does not matter, only that something did: the
            // events are read away so that the next wait waits.
            let mut events = [0u8; 4096];
            // SAFETY: reads into a buffer that lives across the call.
            while unsafe { libc::read(inotify.as_raw_fd(), events.as_mut_ptr().cast(), events.len()) } > 0 {}
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn wait(&self, longest: Duration) {
        std::thread::sleep(longest.min(POLL));
    }
}

/// Closing an inotify instance waits for the kernel's grace period (tens of
/// milliseconds): a waiter that is done hands it to a thread that closes it,
/// and answers at once.
#[cfg(target_os = "linux")]
impl Drop for Watch {
    fn drop(&mut self) {
        use std::sync::mpsc::{Sender, channel};
        use std::sync::{Mutex, OnceLock};
        static CLOSER: OnceLock<Mutex<Sender<std::os::fd::OwnedFd>>> = OnceLock::new();
        let Some(inotify) = self.inotify.take() else { return };
        let closer = CLOSER.get_or_init(|| {
            let (sender, closing) = channel::<std::os::fd::OwnedFd>();
            std::thread::spawn(move || closing.into_iter().for_each(drop));
            Mutex::new(sender)
        });
        if let Err(unsent) = closer.lock().map(|sender| sender.send(inotify)) {
            drop(unsent);
        }
    }
}
