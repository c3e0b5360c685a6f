//! `-t` for a native container: a real pseudo-terminal. libcontainer makes
//! it inside the container (the process's controlling terminal, so that
//! Ctrl-C and job control work) and sends its master end over a console
//! socket; wbox copies between the master and its own stdio (the user's
//! terminal, put in raw mode, or the container's log).

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Error, Result};

/// Waits for the master end libcontainer sends.
pub(super) struct ConsoleSocket {
    /// The path libcontainer connects to (short: through /proc/self/fd).
    pub path: String,
    receiver: JoinHandle<io::Result<OwnedFd>>,
    _dir: fs::File,
}

impl ConsoleSocket {
    pub fn listen(dir: &Path) -> Result<ConsoleSocket> {
        let _ = fs::remove_file(dir.join("console.sock"));
        let held = fs::File::open(dir).map_err(|e| super::rootfs::fs_error(dir, e))?;
        let path = format!("/proc/self/fd/{}/console.sock", held.as_raw_fd());
        let listener = UnixListener::bind(&path)
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot make the console socket: {e}")))?;
        let receiver = std::thread::spawn(move || {
            let (stream, _) = listener.accept()?;
            receive_fd(stream.as_raw_fd())
        });
        Ok(ConsoleSocket { path, receiver, _dir: held })
    }

    /// The master end, once the container is created.
    pub fn master(self) -> Result<OwnedFd> {
        self.receiver
            .join()
            .expect("the console thread does not panic")
            .map_err(|e| Error::Internal(anyhow::anyhow!("no terminal came from the container: {e}")))
    }
}

/// Receives one descriptor sent with SCM_RIGHTS.
fn receive_fd(socket: i32) -> io::Result<OwnedFd> {
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec { iov_base: data.as_mut_ptr().cast(), iov_len: data.len() };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: msghdr is plain data; all zeroes is valid, then filled in.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = space;
    // SAFETY: recvmsg into buffers that live across the call.
    if unsafe { libc::recvmsg(socket, &mut message, libc::MSG_CMSG_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the control buffer was filled by the kernel; CMSG_FIRSTHDR
    // and CMSG_DATA stay inside it.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&message);
        if header.is_null() || (*header).cmsg_type != libc::SCM_RIGHTS {
            return Err(io::Error::other("the console socket sent no descriptor"));
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<i32>());
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Copies between a terminal's master end and this process's stdio.
pub(super) struct Terminal {
    output: JoinHandle<()>,
    /// The user's terminal settings, restored at the end.
    saved: Option<libc::termios>,
}

impl Terminal {
    /// `input`: whether the user's stdin goes in (`-i`).
    pub fn attach(master: OwnedFd, input: bool) -> Terminal {
        let mut saved = None;
        // SAFETY: isatty, TIOCGWINSZ/TIOCSWINSZ, tcgetattr and tcsetattr
        // on descriptors that stay open, with structs we own.
        unsafe {
            let mut size: libc::winsize = std::mem::zeroed();
            if libc::ioctl(1, libc::TIOCGWINSZ, &mut size) == 0 {
                libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size);
            }
            if input && libc::isatty(0) == 1 {
                let mut settings: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(0, &mut settings) == 0 {
                    saved = Some(settings);
                    let mut raw = settings;
                    libc::cfmakeraw(&mut raw);
                    libc::tcsetattr(0, libc::TCSANOW, &raw);
                }
            }
        }
        let reader = fs::File::from(master);
        if input && let Ok(mut writer) = reader.try_clone() {
            // Ends with the process: the supervisor exits soon after.
            std::thread::spawn(move || {
                let mut stdin = io::stdin().lock();
                let _ = io::copy(&mut stdin, &mut writer);
            });
        }
        let output = std::thread::spawn(move || {
            let mut reader = reader;
            let mut buffer = [0u8; 16 * 1024];
            let mut stdout = io::stdout();
            // EIO once every holder of the terminal's other end is gone.
            while let Ok(n @ 1..) = reader.read(&mut buffer) {
                if stdout.write_all(&buffer[..n]).and_then(|()| stdout.flush()).is_err() {
                    break;
                }
            }
        });
        Terminal { output, saved }
    }

    /// Waits a moment for the last output, then gives the user's terminal
    /// back its settings.
    pub fn detach(self) {
        for _ in 0..100 {
            if self.output.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(settings) = self.saved {
            // SAFETY: tcsetattr with the settings tcgetattr gave.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &settings) };
        }
    }
}
