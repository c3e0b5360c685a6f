//! Processes: starting one that outlives its starter, ending one by pid,
//! and whether wbox runs with the system's full privileges.

use std::process::Command;

/// Makes `command` start detached from the caller's terminal and session:
/// a terminal's hangup or Ctrl-C does not reach it, and it lives on when
/// the caller exits (the supervisor of `run -d` and `start`).
#[cfg(unix)]
pub fn detach(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid(2) between fork and exec is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            let _ = rustix::process::setsid();
            Ok(())
        });
    }
}

/// On Windows std's children inherit every inheritable handle of their
/// parent, not only the stdio they are given (rust-lang/rust#54760): this
/// process's own stdio are made uninheritable first, or the supervisor
/// would hold the caller's pipe open (a script's `$(wbox run -d …)` would
/// wait for the container to end).
#[cfg(windows)]
pub fn detach(command: &mut Command) {
    use std::os::windows::process::CommandExt;
    use windows_sys::Win32::Foundation::{HANDLE_FLAG_INHERIT, SetHandleInformation};
    use windows_sys::Win32::System::Console::{
        GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
    };
    use windows_sys::Win32::System::Threading::{CREATE_NEW_PROCESS_GROUP, DETACHED_PROCESS};
    for id in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
        // SAFETY: changes a flag of a handle this process holds; an invalid
        // or absent one makes the call fail, which changes nothing.
        unsafe { SetHandleInformation(GetStdHandle(id), HANDLE_FLAG_INHERIT, 0) };
    }
    command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
}

/// Ends the process `pid` at once (SIGKILL; on Windows, TerminateProcess
/// with exit code 137). Nothing happens if it is gone.
#[cfg(unix)]
pub fn kill(pid: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(windows)]
pub fn kill(pid: u32) {
    use windows_sys::Win32::Foundation::CloseHandle;
    use windows_sys::Win32::System::Threading::{OpenProcess, PROCESS_TERMINATE, TerminateProcess};
    // SAFETY: a handle from OpenProcess is used once and closed.
    unsafe {
        let handle = OpenProcess(PROCESS_TERMINATE, 0, pid);
        if !handle.is_null() {
            TerminateProcess(handle, 137);
            CloseHandle(handle);
        }
    }
}

/// Whether wbox runs as root, who may give files away and whose state is
/// the system's (`/var/lib/wbox`). Never on Windows, where state is the
/// user's.
#[cfg(unix)]
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[cfg(windows)]
pub fn is_root() -> bool {
    false
}

/// Hands `handler`, on a thread of its own, each request from outside to
/// end this process, as a signal number: on Unix SIGTERM, SIGINT, SIGHUP and
/// SIGQUIT; on Windows Ctrl-C (SIGINT), Ctrl-Break (SIGQUIT) and the
/// console's closing (SIGHUP). The process then ends only when the handler
/// makes it.
#[cfg(unix)]
pub fn on_termination(handler: impl Fn(i32) + Send + Sync + 'static) -> std::io::Result<()> {
    use std::io::Read;
    use std::os::fd::IntoRawFd;
    use std::sync::OnceLock;
    static PIPE: OnceLock<i32> = OnceLock::new();
    extern "C" fn on_signal(signal: libc::c_int) {
        if let Some(&fd) = PIPE.get() {
            let byte = signal as u8;
            // SAFETY: write(2) is async-signal-safe; the pipe lives as long
            // as the process.
            unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
        }
    }
    // A handler only writes the signal's number to a pipe; the thread acts
    // on it, whichever thread the kernel interrupted.
    let (mut reader, writer) = std::io::pipe()?;
    if PIPE.set(writer.into_raw_fd()).is_err() {
        return Err(std::io::Error::other("termination is already handled"));
    }
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: installing a handler that only calls write(2).
        unsafe { libc::signal(signal, on_signal as *const () as libc::sighandler_t) };
    }
    std::thread::spawn(move || {
        let mut byte = [0u8];
        while reader.read_exact(&mut byte).is_ok() {
            handler(i32::from(byte[0]));
        }
    });
    Ok(())
}

#[cfg(windows)]
pub fn on_termination(handler: impl Fn(i32) + Send + Sync + 'static) -> std::io::Result<()> {
    use std::sync::OnceLock;
    use windows_sys::Win32::System::Console::{
        CTRL_BREAK_EVENT, CTRL_C_EVENT, CTRL_CLOSE_EVENT, SetConsoleCtrlHandler,
    };
    type Handler = Box<dyn Fn(i32) + Send + Sync>;
    static HANDLER: OnceLock<Handler> = OnceLock::new();
    // Windows calls it on a thread of its own.
    unsafe extern "system" fn on_event(event: u32) -> i32 {
        let signal = match event {
            CTRL_C_EVENT => 2,
            CTRL_BREAK_EVENT => 3,
            CTRL_CLOSE_EVENT => 1,
            _ => return 0,
        };
        match HANDLER.get() {
            Some(handler) => {
                handler(signal);
                1
            }
            None => 0,
        }
    }
    if HANDLER.set(Box::new(handler)).is_err() {
        return Err(std::io::Error::other("termination is already handled"));
    }
    // SAFETY: registers a handler that lives as long as the process.
    if unsafe { SetConsoleCtrlHandler(Some(on_event), 1) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The CPU time a process used, in nanoseconds, from `/proc`; None where
/// the system has no `/proc` (`stats` of a wasm container then says it
/// cannot tell).
#[cfg(target_os = "linux")]
pub fn cpu_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // utime and stime, the 14th and 15th fields, are after the command's `)`.
    let (_, fields) = stat.rsplit_once(')')?;
    let ticks: u64 = fields.split_whitespace().skip(11).take(2).filter_map(|t| t.parse::<u64>().ok()).sum();
    // SAFETY: sysconf only reads a system value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(ticks * 1_000_000_000 / per_second)
}

#[cfg(not(target_os = "linux"))]
pub fn cpu_time(_pid: u32) -> Option<u64> {
    None
}

/// The host's memory in bytes, where the system says.
#[cfg(target_os = "linux")]
pub fn host_memory() -> Option<u64> {
    keyed(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemTotal:").map(|kib| kib * 1024)
}

#[cfg(not(target_os = "linux"))]
pub fn host_memory() -> Option<u64> {
    None
}

/// The number after `key` in a `key value` text.
#[cfg(target_os = "linux")]
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| line.strip_prefix(key)?.split_whitespace().next()?.parse().ok())
}

/// Hands the pages of freed heap memory back to the system. A supervisor
/// frees most of what it allocated to start its guest (image records, the
/// plan, the module's loading) and then idles for as long as the guest
/// runs; glibc would keep those pages, a third of an idle container's
/// memory.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: malloc_trim only returns free pages of the allocator's own.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}
