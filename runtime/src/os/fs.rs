//! Files: what a file's metadata says in the terms of a layer (Unix modes,
//! owners, identities), modes and symlinks written into a root, private
//! files, and free space.

use std::io;
use std::path::Path;

use cap_std::fs::{Dir, Metadata, OpenOptions};

pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFBLK: u32 = 0o060000;

/// What is known of a path to tell whether it changed, without opening it,
/// and what a layer records of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The file type bits of the mode (`S_IFDIR`, …).
    pub kind: u32,
    pub size: u64,
    /// The whole mode, type bits included.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub modified: (i64, i64),
    pub changed: (i64, i64),
    /// Device and inode: the same for two names of one file.
    pub inode: (u64, u64),
    pub links: u64,
    pub rdev: u64,
}

#[cfg(unix)]
pub fn seen(meta: &Metadata) -> Seen {
    use cap_std::fs::MetadataExt;
    Seen {
        kind: meta.mode() & S_IFMT,
        size: meta.len(),
        mode: meta.mode(),
        uid: meta.uid(),
        gid: meta.gid(),
        modified: (meta.mtime(), meta.mtime_nsec()),
        changed: (meta.ctime(), meta.ctime_nsec()),
        inode: (meta.dev(), meta.ino()),
        links: meta.nlink(),
        rdev: meta.rdev(),
    }
}

/// Windows has no Unix modes, owners or inodes. Every file and directory is
/// `rwxr-xr-x` and root's, as Docker's own client on Windows sends a build
/// context to a Linux builder; a file has one name.
#[cfg(windows)]
pub fn seen(meta: &Metadata) -> Seen {
    let kind = if meta.is_symlink() {
        S_IFLNK
    } else if meta.is_dir() {
        S_IFDIR
    } else {
        S_IFREG
    };
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.into_std().duration_since(std::time::UNIX_EPOCH).ok())
        .map_or((0, 0), |d| (d.as_secs() as i64, d.subsec_nanos() as i64));
    let mode = if kind == S_IFLNK { 0o777 } else { 0o755 };
    Seen {
        kind,
        size: meta.len(),
        mode: kind | mode,
        uid: 0,
        gid: 0,
        modified,
        changed: modified,
        inode: (0, 0),
        links: 1,
        rdev: 0,
    }
}

/// Whether a program file may be run: an execute bit (none on Windows,
/// where every file may).
pub fn is_executable(meta: &Metadata) -> bool {
    seen(meta).mode & 0o111 != 0
}

/// Options that open a file for reading without following a symlink at its
/// last component and without blocking on a fifo (a file swapped for one
/// cannot hang or mislead the reader).
pub fn read_no_follow() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use cap_std::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options
}

/// Sets the permission bits of `path` in `dir`; nothing on Windows, whose
/// files have none.
#[cfg(unix)]
pub fn set_mode(dir: &Dir, path: &Path, mode: u32) -> io::Result<()> {
    use cap_std::fs::PermissionsExt;
    dir.set_permissions(path, cap_std::fs::Permissions::from_mode(mode))
}

#[cfg(windows)]
pub fn set_mode(_dir: &Dir, _path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Whether a symlink was made: Windows lets only the privileged make one.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    Made,
    Refused,
}

impl Linked {
    /// For a copy that may lack the link: says so when it does.
    pub fn or_warn(self, path: &Path, target: &str) {
        if self == Linked::Refused {
            tracing::warn!(
                "symlink {} -> {target} left out: Windows allows it only in developer mode or to administrators",
                path.display()
            );
        }
    }
}

/// Makes `path` in `dir` a symlink to `target`, stored as written (it is
/// resolved inside the root later, never on the host).
#[cfg(unix)]
pub fn symlink(dir: &Dir, target: &str, path: &Path) -> io::Result<Linked> {
    dir.symlink_contents(target, path).map(|()| Linked::Made)
}

/// Windows makes a symlink as a file's or a directory's: a link to a
/// directory is made as one, any other as a file's, dangling ones included.
#[cfg(windows)]
pub fn symlink(dir: &Dir, target: &str, path: &Path) -> io::Result<Linked> {
    const ERROR_PRIVILEGE_NOT_HELD: i32 = 1314;
    let parent = path.parent().unwrap_or(Path::new(""));
    let target_path = parent.join(target.replace('/', "\\"));
    let made = if dir.metadata(&target_path).is_ok_and(|m| m.is_dir()) {
        dir.symlink_dir(target, path)
    } else {
        dir.symlink_file(target, path)
    };
    match made {
        // Wine's CreateSymbolicLinkW is a stub that reports success and
        // makes nothing: a link that is not there counts as refused.
        Ok(()) if dir.symlink_metadata(path).is_err() => Ok(Linked::Refused),
        Ok(()) => Ok(Linked::Made),
        Err(e) if e.raw_os_error() == Some(ERROR_PRIVILEGE_NOT_HELD) => Ok(Linked::Refused),
        Err(e) => Err(e),
    }
}

/// Sets a directory's mode and, where wbox may (as root), its owner.
#[cfg(unix)]
pub fn set_owner_and_mode(path: &Path, mode: u32, uid: u32, gid: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    // Only root can give a file away; otherwise it stays the builder's.
    match std::os::unix::fs::chown(path, Some(uid), Some(gid)) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        other => other,
    }
}

#[cfg(windows)]
pub fn set_owner_and_mode(_path: &Path, _mode: u32, _uid: u32, _gid: u32) -> io::Result<()> {
    Ok(())
}

/// Sets what a copy keeps of a file besides its bytes and mode: its
/// owner, where given and wbox may (as root), and its modification time;
/// a symlink's own, never what it points at.
#[cfg(unix)]
pub fn set_owner_and_time(
    dir: &Dir,
    path: &Path,
    owner: Option<(u32, u32)>,
    modified: i64,
) -> io::Result<()> {
    use rustix::fs::{AtFlags, Timespec, Timestamps};
    if let Some((uid, gid)) = owner {
        set_owner(dir, path, uid, gid)?;
    }
    let time = Timespec { tv_sec: modified, tv_nsec: 0 };
    let times = Timestamps { last_access: time, last_modification: time };
    Ok(rustix::fs::utimensat(dir, path, &times, AtFlags::SYMLINK_NOFOLLOW)?)
}

/// Gives `path` in `dir` (a symlink itself, not what it points at) an
/// owner, where wbox may (as root); nothing otherwise, nor on Windows.
#[cfg(unix)]
pub fn set_owner(dir: &Dir, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    use rustix::fs::{AtFlags, Gid, Uid};
    let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
    match rustix::fs::chownat(dir, path, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW) {
        Err(e) if e == rustix::io::Errno::PERM => Ok(()),
        other => Ok(other?),
    }
}

#[cfg(windows)]
pub fn set_owner(_dir: &Dir, _path: &Path, _uid: u32, _gid: u32) -> io::Result<()> {
    Ok(())
}

/// Windows has no Unix owners; a file's time is set, a directory's and a
/// link's kept as made.
#[cfg(windows)]
pub fn set_owner_and_time(
    dir: &Dir,
    path: &Path,
    _owner: Option<(u32, u32)>,
    modified: i64,
) -> io::Result<()> {
    let meta = dir.symlink_metadata(path)?;
    if meta.is_file() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(modified.max(0) as u64);
        dir.open_with(path, cap_std::fs::OpenOptions::new().write(true))?.into_std().set_modified(time)?;
    }
    Ok(())
}

/// A file's identity and the times of its last writes: device, inode,
/// size, modification and change times (seconds, nanoseconds). Another
/// file, or the same one written since, has another stamp.
pub type Stamp = [i64; 7];

#[cfg(unix)]
pub fn stamp(meta: &std::fs::Metadata) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    Some([
        meta.dev() as i64,
        meta.ino() as i64,
        meta.size() as i64,
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
    ])
}

/// Windows has no change time that every write sets: no stamp to trust.
#[cfg(windows)]
pub fn stamp(_meta: &std::fs::Metadata) -> Option<Stamp> {
    None
}

/// When a file was last written or had its metadata changed (its change
/// time, which the kernel sets and no user can set back).
#[cfg(unix)]
pub fn changed_at(meta: &std::fs::Metadata) -> Option<std::time::SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let since_epoch = std::time::Duration::new(u64::try_from(meta.ctime()).ok()?, meta.ctime_nsec() as u32);
    Some(std::time::UNIX_EPOCH + since_epoch)
}

#[cfg(windows)]
pub fn changed_at(_meta: &std::fs::Metadata) -> Option<std::time::SystemTime> {
    None
}

/// An open file's identity, which survives renames (a log rotated under
/// its reader): its device and inode; on Windows, its volume and file index.
#[cfg(unix)]
pub fn identity(file: &std::fs::File) -> io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    Ok((meta.dev(), meta.ino()))
}

#[cfg(windows)]
pub fn identity(file: &std::fs::File) -> io::Result<(u64, u64)> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle};
    // SAFETY: all zeroes is a valid value of this plain struct, which the
    // call fills in from a handle we hold open.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    if unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let index = (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow);
    Ok((u64::from(info.dwVolumeSerialNumber), index))
}

/// Makes a directory (and its parents) that only its owner can enter. On
/// Windows, the ACL of the user's profile, where wbox's root is, already
/// keeps other users out.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Refuses a file that someone other than this user could have written:
/// owned by another user, or writable by group or others. Windows relies
/// on the profile's ACL, as `create_private_dir` says.
#[cfg(unix)]
pub fn check_private(meta: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(io::Error::other(format!(
            "not trusted: owned by uid {} with mode {:o}; only the user's own, private files are loaded",
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

#[cfg(windows)]
pub fn check_private(_meta: &std::fs::Metadata) -> io::Result<()> {
    Ok(())
}

/// Gives a file the mode a shell's redirection would (`rw-r--r--`).
pub fn set_shared(file: &std::fs::File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    let _ = file;
    Ok(())
}

/// Free bytes (for an unprivileged writer) and total bytes of the
/// filesystem holding `dir`.
#[cfg(unix)]
pub fn space(dir: &Path) -> io::Result<(u64, u64)> {
    let stat = rustix::fs::statvfs(dir)?;
    let unit = stat.f_frsize;
    Ok((stat.f_bavail * unit, stat.f_blocks * unit))
}

#[cfg(windows)]
pub fn space(dir: &Path) -> io::Result<(u64, u64)> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;
    let wide: Vec<u16> = dir.as_os_str().encode_wide().chain(Some(0)).collect();
    let (mut free, mut total) = (0u64, 0u64);
    // SAFETY: a NUL-terminated path and two out-parameters.
    if unsafe { GetDiskFreeSpaceExW(wide.as_ptr(), &mut free, &mut total, std::ptr::null_mut()) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((free, total))
}
