//! A native container's root filesystem: the image's unpacked layers
//! (shared, read-only) under the container's own writable layer, joined by
//! overlayfs; where the kernel refuses overlayfs, the writable layer is a
//! copy of the image made once.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The container's root, mounted while it runs.
pub struct Rootfs {
    pub path: PathBuf,
    mounted: bool,
}

impl Rootfs {
    /// Joins `image` (read-only) and `dir/upper` (the container's changes,
    /// kept across restarts) at `dir/rootfs`. With `renames`, a directory
    /// of the image can be renamed (overlayfs' `redirect_dir`), as on a
    /// plain filesystem; a build step expects that (`mv /etc /etc.old`).
    pub fn mount(dir: &Path, image: &Path, renames: bool) -> Result<Rootfs> {
        let (upper, work, path) = (dir.join("upper"), dir.join("work"), dir.join("rootfs"));
        for d in [&upper, &work, &path] {
            fs::create_dir_all(d).map_err(|e| fs_error(d, e))?;
        }
        // A mount left by a supervisor that was killed.
        unmount(&path);
        let mut options =
            format!("lowerdir={},upperdir={},workdir={}", image.display(), upper.display(), work.display());
        if renames {
            options.push_str(",redirect_dir=on");
        }
        match mount(Some("overlay"), &path, Some("overlay"), 0, Some(&options)) {
            Ok(()) => return Ok(Rootfs { path, mounted: true }),
            Err(e) => tracing::debug!("overlayfs refused ({e}); the container gets a copy of the image"),
        }
        let copied = dir.join("copied");
        if !copied.exists() {
            crate::rootdir::copy_dir(image, &upper).map_err(|e| {
                Error::Internal(anyhow::anyhow!("copying the image into {} failed: {e}", upper.display()))
            })?;
            fs::write(&copied, b"").map_err(|e| fs_error(&copied, e))?;
        }
        Ok(Rootfs { path: upper, mounted: false })
    }

    /// Where the root of a running container in `dir` is: the overlay's
    /// mount point, or the copy.
    pub fn path_in(dir: &Path) -> PathBuf {
        if dir.join("copied").exists() { dir.join("upper") } else { dir.join("rootfs") }
    }

    pub fn unmount(self) {
        if self.mounted {
            unmount(&self.path);
        }
    }
}

/// Unmounts the overlay `Rootfs::mount` made in `dir`, if it is still
/// mounted (its process was killed).
pub fn unmount_rootfs_in(dir: &Path) {
    unmount(&dir.join("rootfs"));
}

/// Unmounts what is mounted at `path`, if anything (lazily: a process of
/// the container that outlived it must not keep the mount busy).
pub fn unmount(path: &Path) {
    if let Ok(target) = CString::new(path.as_os_str().as_bytes()) {
        // SAFETY: umount2 with a valid path string.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Mounts a filesystem described as containerd and OCI specs describe one:
/// a source, a type and options, of which `ro`, `rw`, `bind` and `rbind`
/// are flags and the others the filesystem's own (an overlay's dirs).
pub fn mount_described(source: &str, kind: &str, options: &[String], target: &Path) -> io::Result<()> {
    let mut flags = 0;
    let mut data = Vec::new();
    for option in options {
        match option.as_str() {
            "ro" => flags |= libc::MS_RDONLY,
            "rw" => {}
            "bind" => flags |= libc::MS_BIND,
            "rbind" => flags |= libc::MS_BIND | libc::MS_REC,
            other => data.push(other),
        }
    }
    mount(Some(source), target, Some(kind), flags, Some(&data.join(",")))
}

pub(super) fn mount(
    source: Option<&str>,
    target: &Path,
    kind: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let c = |s: &str| CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let source = source.map(c).transpose()?;
    let kind = kind.map(c).transpose()?;
    let data = data.map(c).transpose()?;
    let target = CString::new(target.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: mount(2) with NUL-terminated strings that live across the call.
    let done = unsafe { libc::mount(ptr(&source), target.as_ptr(), ptr(&kind), flags, ptr(&data).cast()) };
    if done == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// The container's own `/etc/hostname`, `/etc/hosts` and
/// `/etc/resolv.conf`, bind-mounted over the image's.
/// `members`: the lines that name the members of its networks.
pub(super) fn write_etc(
    dir: &Path,
    hostname: &str,
    address: Option<&str>,
    resolv: &str,
    members: &str,
) -> Result<PathBuf> {
    let etc = dir.join("etc");
    fs::create_dir_all(&etc).map_err(|e| fs_error(&etc, e))?;
    let own = format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\t{hostname}\n",
        address.unwrap_or("127.0.1.1")
    );
    let hosts = crate::network::hosts_file(&own, members);
    for (name, text) in
        [("hostname", format!("{hostname}\n")), ("hosts", hosts), ("resolv.conf", resolv.to_owned())]
    {
        let path = etc.join(name);
        fs::write(&path, text).map_err(|e| fs_error(&path, e))?;
    }
    Ok(etc)
}

pub(super) fn fs_error(path: &Path, e: io::Error) -> Error {
    Error::Internal(anyhow::anyhow!("{}: {e}", path.display()))
}
