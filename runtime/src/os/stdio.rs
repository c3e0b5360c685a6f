//! This process's own stdout and stderr: pointed elsewhere (a supervisor's
//! go to the container's log), and kept aside.

use std::io;

#[cfg(unix)]
pub use std::os::fd::OwnedFd as Owned;
#[cfg(windows)]
pub use std::os::windows::io::OwnedHandle as Owned;

#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The device that discards what is written to it.
#[cfg(unix)]
pub const NULL_DEVICE: &str = "/dev/null";
#[cfg(windows)]
pub const NULL_DEVICE: &str = "NUL";

/// From now on, `stream` is `to` (a pipe, a file), for this process and
/// the guests it runs; what it was before is closed.
#[cfg(unix)]
pub fn redirect(stream: Stream, to: impl Into<Owned>) -> io::Result<()> {
    let to = to.into();
    match stream {
        Stream::Stdout => rustix::stdio::dup2_stdout(&to)?,
        Stream::Stderr => rustix::stdio::dup2_stderr(&to)?,
    }
    Ok(())
}

#[cfg(windows)]
pub fn redirect(stream: Stream, to: impl Into<Owned>) -> io::Result<()> {
    use std::os::windows::io::IntoRawHandle;
    use windows_sys::Win32::Foundation::CloseHandle;
    use windows_sys::Win32::System::Console::{
        GetStdHandle, STD_ERROR_HANDLE, STD_OUTPUT_HANDLE, SetStdHandle,
    };
    let id = match stream {
        Stream::Stdout => STD_OUTPUT_HANDLE,
        Stream::Stderr => STD_ERROR_HANDLE,
    };
    let handle = to.into().into_raw_handle();
    // SAFETY: the new handle is ours and becomes the standard one (Rust's
    // stdout asks for it on every write); the old one is closed, as dup2
    // closes the descriptor it replaces, so that a pipe's reader sees its
    // end.
    unsafe {
        let old = GetStdHandle(id);
        if SetStdHandle(id, handle) == 0 {
            CloseHandle(handle);
            return Err(io::Error::last_os_error());
        }
        if !old.is_null() && old != windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE && old != handle {
            CloseHandle(old);
        }
    }
    Ok(())
}

/// Points stdout and stderr at the null device.
pub fn discard() {
    for stream in [Stream::Stdout, Stream::Stderr] {
        if let Ok(null) = std::fs::OpenOptions::new().write(true).open(NULL_DEVICE) {
            let _ = redirect(stream, null);
        }
    }
}

/// A copy of stdout that no child process inherits, which stays what
/// stdout is now after stdout is redirected.
#[cfg(unix)]
pub fn keep_stdout() -> io::Result<std::fs::File> {
    use std::os::fd::AsFd;
    Ok(std::fs::File::from(io::stdout().as_fd().try_clone_to_owned()?))
}

#[cfg(windows)]
pub fn keep_stdout() -> io::Result<std::fs::File> {
    use std::os::windows::io::AsHandle;
    Ok(std::fs::File::from(io::stdout().as_handle().try_clone_to_owned()?))
}

/// A detached process's stdin: a fifo at `path` (made unless an attacher
/// made it first, see `stdin_channel_before_start`). Opened for reading and
/// writing, the process never reads an end when a writer leaves (Docker's
/// `-i` for a container that runs detached: `attach` after `attach` feeds
/// it); with `once` (Docker's StdinOnce), for reading only, so that it
/// reads an end when the writers it has leave. None where the system has
/// no fifos (Windows): the process's stdin is then empty.
#[cfg(unix)]
pub fn open_stdin_channel(path: &std::path::Path, once: bool) -> io::Result<Option<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    make_fifo(path)?;
    if !once {
        return std::fs::OpenOptions::new().read(true).write(true).open(path).map(Some);
    }
    // Without waiting for a writer; read as any pipe, waiting.
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    rustix::fs::fcntl_setfl(&file, rustix::fs::OFlags::empty())?;
    Ok(Some(file))
}

#[cfg(windows)]
pub fn open_stdin_channel(_path: &std::path::Path, _once: bool) -> io::Result<Option<std::fs::File>> {
    Ok(None)
}

/// The channel of a container not yet started, for writing: made if need
/// be, and held open for reading and writing so that what is written waits
/// for the process (`docker run -i` attaches before it starts).
#[cfg(unix)]
pub fn stdin_channel_before_start(path: &std::path::Path) -> io::Result<std::fs::File> {
    make_fifo(path)?;
    std::fs::OpenOptions::new().read(true).write(true).open(path)
}

#[cfg(windows)]
pub fn stdin_channel_before_start(path: &std::path::Path) -> io::Result<std::fs::File> {
    Err(io::Error::new(io::ErrorKind::NotFound, format!("{}: no stdin channel on Windows", path.display())))
}

#[cfg(unix)]
fn make_fifo(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: mkfifo with a valid path string.
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    Ok(())
}

/// The channel `open_stdin_channel` made, for writing; an error at once,
/// not a wait, when nobody reads it any more.
#[cfg(unix)]
pub fn write_to_stdin_channel(path: &std::path::Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    // Opened without waiting for a reader; written as any pipe, waiting.
    rustix::fs::fcntl_setfl(&file, rustix::fs::OFlags::empty())?;
    Ok(file)
}

#[cfg(windows)]
pub fn write_to_stdin_channel(path: &std::path::Path) -> io::Result<std::fs::File> {
    Err(io::Error::new(io::ErrorKind::NotFound, format!("{}: no stdin channel on Windows", path.display())))
}
