//! The one way wbox touches paths inside a root that someone else's content
//! shaped: a build stage after a RUN step, an unpacked layer, a container's
//! root filesystem. Everything goes through a cap-std directory handle, which
//! cannot be left, and a path is resolved the way the kernel resolves it for
//! a process whose `/` is that root (`openat2`'s `RESOLVE_IN_ROOT`, what
//! runc and containerd's `fs.RootPath` do): symlinks are followed inside the
//! root, an absolute one starts again at the root, and `..` stops there. So
//! `WORKDIR /w/x` after `ln -s /etc/host-dir /w` makes `etc/host-dir/x` in
//! the stage, as Docker would, never a directory on the host.
//!
//! cap-std rather than `pathrs`: it is portable (wasm stages build on every
//! OS) and it is what the guests' own grants go through; resolving in the
//! root first and then opening through the handle means that even a tree
//! changed under our feet can give a wrong path inside the root, never one
//! outside it. Symlinks, fifos, sockets and device nodes found when walking a
//! root are recorded, never followed or opened.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use cap_std::fs::{Dir, Metadata};

pub use crate::os::fs::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, Seen};

/// At most this many symlinks in one path, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// A directory used as the root of someone else's files.
pub struct RootDir {
    dir: Dir,
}

/// What a path in a root holds, as a layer's tar entry records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(String),
    /// Another name of a file recorded earlier in the same layer.
    HardLink(String),
    Fifo,
    CharDevice {
        major: u32,
        minor: u32,
    },
    BlockDevice {
        major: u32,
        minor: u32,
    },
}

/// Every path below a root (`a/b`, no leading `/`), in order.
pub type Snapshot = BTreeMap<String, Seen>;

impl RootDir {
    /// Opens `path` as a root; the path itself is the caller's own (a
    /// directory wbox made), so it is opened as given.
    pub fn open(path: &Path) -> io::Result<RootDir> {
        Ok(RootDir { dir: Dir::open_ambient_dir(path, cap_std::ambient_authority())? })
    }

    /// A root made of a directory handle already open.
    pub fn from_dir(dir: Dir) -> RootDir {
        RootDir { dir }
    }

    pub fn dir(&self) -> &Dir {
        &self.dir
    }

    pub fn into_dir(self) -> Dir {
        self.dir
    }

    /// `path` (absolute or relative to the root) as a path relative to the
    /// root with no symlink in it, the last component followed too. What does
    /// not exist yet is kept as written.
    pub fn resolve(&self, path: &str) -> io::Result<PathBuf> {
        self.resolve_with(Path::new(path), true)
    }

    /// `path` resolved up to its last component, which is kept as it is (a
    /// symlink there is the thing named, not what it points at).
    pub fn resolve_parent(&self, path: &str) -> io::Result<PathBuf> {
        self.resolve_with(Path::new(path), false)
    }

    fn resolve_with(&self, path: &Path, follow_last: bool) -> io::Result<PathBuf> {
        let mut resolved = PathBuf::new();
        let mut pending: VecDeque<OsString> = VecDeque::new();
        push_front(&mut pending, path, &mut resolved);
        let mut links = 0;
        while let Some(part) = pending.pop_front() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            let candidate = resolved.join(&part);
            let is_link = self.dir.symlink_metadata(&candidate).is_ok_and(|m| m.is_symlink());
            if is_link && (follow_last || !pending.is_empty()) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::other(format!(
                        "{}: too many levels of symbolic links",
                        path.display()
                    )));
                }
                let target = self.dir.read_link_contents(&candidate)?;
                push_front(&mut pending, &target, &mut resolved);
            } else {
                resolved = candidate;
            }
        }
        Ok(resolved)
    }

    /// Makes a directory and its parents, resolved inside the root;
    /// returns where it is.
    /// Where `path` resolves inside the root, as a host path under `base`
    /// (the root's own host path): what a bind mount of it takes. True for
    /// as long as nothing changes the links in the root.
    pub fn host_path(&self, base: &Path, path: &str) -> io::Result<PathBuf> {
        let resolved = self.resolve(path)?;
        self.dir.symlink_metadata(if resolved.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &resolved
        })?;
        Ok(base.join(resolved))
    }

    pub fn create_dir_all(&self, path: &str) -> io::Result<PathBuf> {
        let resolved = self.resolve(path)?;
        if !resolved.as_os_str().is_empty() {
            self.dir.create_dir_all(&resolved)?;
        }
        Ok(resolved)
    }

    /// The bytes of a regular file, resolved inside the root.
    pub fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        read_regular(&self.dir, &self.resolve(path)?)
    }

    /// Removes a file (not a directory) that a path names; a symlink there
    /// is removed, not followed.
    pub fn remove_file(&self, path: &str) -> io::Result<()> {
        self.dir.remove_file(self.resolve_parent(path)?)
    }

    /// Every path below the root with what is known of it, without following
    /// a symlink or opening anything but directories.
    pub fn snapshot(&self) -> Snapshot {
        let mut seen = Snapshot::new();
        walk(&self.dir, "", &mut seen);
        seen
    }

    /// Puts at the path of each link in `refused` (path -> target, as the
    /// link would hold it) a copy of what the link leads to, resolved inside
    /// the root: what a root gets where the OS made no symlink (Windows,
    /// without the privilege). A link to another refused link, or to a
    /// directory holding one, is copied after it, so that chains lead where
    /// they would; what leads nowhere, or to a directory holding the link
    /// itself, stays in `refused`.
    pub fn stand_in_for_links(&self, refused: &mut BTreeMap<PathBuf, String>) -> io::Result<()> {
        loop {
            let ready: Vec<(PathBuf, PathBuf, bool)> = refused
                .iter()
                .filter_map(|(path, target)| {
                    let wanted = path.parent().unwrap_or(Path::new("")).join(target);
                    let resolved = self.resolve(&wanted.to_string_lossy()).ok()?;
                    let meta = self.dir.symlink_metadata(&resolved).ok()?;
                    // Copying a directory into itself would not end.
                    let copyable = (meta.is_dir() || meta.is_file()) && !path.starts_with(&resolved);
                    copyable.then(|| (path.clone(), resolved, meta.is_dir()))
                })
                .collect();
            // Those whose target holds no link still to come go first; if
            // every one waits on another (a cycle through directories), one.
            let waits = |resolved: &PathBuf| refused.keys().any(|link| link.starts_with(resolved));
            let mut now: Vec<_> = ready.iter().filter(|(_, resolved, _)| !waits(resolved)).collect();
            if now.is_empty() {
                now.extend(ready.first());
            }
            if now.is_empty() {
                return Ok(());
            }
            for (path, resolved, is_dir) in now {
                refused.remove(path);
                if *is_dir {
                    if self.dir.symlink_metadata(path).is_err() {
                        self.dir.create_dir(path)?;
                    }
                    copy_tree(&self.dir.open_dir(resolved)?, &self.dir.open_dir(path)?)?;
                } else {
                    copy_file(&self.dir, resolved, &self.dir, path)?;
                }
            }
        }
    }

    /// What `path` (relative to the root, symlink-free, as a snapshot names
    /// it) holds; see [`node`].
    pub fn node(&self, path: &str) -> io::Result<(Node, Metadata)> {
        node(&self.dir, Path::new(path))
    }
}

/// A path relative to a root, `..` stopping at the root as it does for a
/// process whose `/` it is (a leading `/` means the root).
pub fn clamp(path: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// A path inside a root as the guest and a layer spell it, `a/b`, with `/`
/// whatever the host's separator.
pub fn guest_path(path: &Path) -> String {
    let parts: Vec<_> = path.components().map(|c| c.as_os_str().to_string_lossy()).collect();
    parts.join("/")
}

/// What `path` in `dir` holds, the last component not followed: a regular
/// file is read once, opened without following a symlink and without
/// blocking, and must still be one when opened; a fifo or a device node is
/// recorded as such and never opened. A socket is an `Unsupported` error
/// (no layer can hold one).
pub fn node(dir: &Dir, path: &Path) -> io::Result<(Node, Metadata)> {
    let meta = dir.symlink_metadata(path)?;
    let seen = crate::os::fs::seen(&meta);
    let node = match seen.kind {
        S_IFDIR => Node::Dir,
        S_IFLNK => Node::Symlink(dir.read_link_contents(path)?.to_string_lossy().into_owned()),
        S_IFREG => Node::File(read_regular(dir, path)?),
        S_IFIFO => Node::Fifo,
        S_IFCHR => Node::CharDevice { major: major(seen.rdev), minor: minor(seen.rdev) },
        S_IFBLK => Node::BlockDevice { major: major(seen.rdev), minor: minor(seen.rdev) },
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{} is a socket, which a layer cannot hold", path.display()),
            ));
        }
    };
    Ok((node, meta))
}

/// Copies everything below `from` into `to`, as `cp -a` would, but through
/// the two handles: a symlink is copied as the link it is, never followed;
/// a file's other names stay hard links to it; modes, modification times
/// and, where wbox may (as root), owners are kept; fifos and device nodes
/// are left out, as nothing run from a copy opens them (a native container
/// gets its `/dev` from the runtime).
pub fn copy_tree(from: &Dir, to: &Dir) -> io::Result<()> {
    copy_children(from, to, Path::new(""), &mut HashMap::new())
}

/// `copy_tree` of two directories of wbox's own, by path; `to` is made if
/// missing.
pub fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    let open = |path: &Path| Dir::open_ambient_dir(path, cap_std::ambient_authority());
    copy_tree(&open(from)?, &open(to)?)
}

fn copy_children(
    from: &Dir,
    to: &Dir,
    dir: &Path,
    linked: &mut HashMap<(u64, u64), PathBuf>,
) -> io::Result<()> {
    let entries = if dir.as_os_str().is_empty() { from.entries()? } else { from.read_dir(dir)? };
    for entry in entries {
        let path = dir.join(entry?.file_name());
        let meta = from.symlink_metadata(&path)?;
        let seen = crate::os::fs::seen(&meta);
        match seen.kind {
            S_IFDIR => {
                match to.create_dir(&path) {
                    Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                    _ => {}
                }
                copy_children(from, to, &path, linked)?;
                // Last: a directory without write permission is filled first.
                crate::os::fs::set_mode(to, &path, seen.mode & 0o7777)?;
                crate::os::fs::set_owner(to, &path, seen.uid, seen.gid)?;
            }
            S_IFLNK => {
                let target = from.read_link_contents(&path)?.to_string_lossy().into_owned();
                match crate::os::fs::symlink(to, &target, &path)? {
                    crate::os::fs::Linked::Made => crate::os::fs::set_owner(to, &path, seen.uid, seen.gid)?,
                    refused => refused.or_warn(&path, &target),
                }
            }
            S_IFREG => {
                if seen.links > 1 {
                    if let Some(first) = linked.get(&seen.inode) {
                        to.hard_link(first, to, &path)?;
                        continue;
                    }
                    linked.insert(seen.inode, path.clone());
                }
                copy_file(from, &path, to, &path)?;
                crate::os::fs::set_owner(to, &path, seen.uid, seen.gid)?;
            }
            _ => tracing::debug!("{}: a fifo, socket or device node, not copied", path.display()),
        }
    }
    Ok(())
}

/// Copies a regular file with its mode and modification time, the source
/// not followed if it is a symlink.
fn copy_file(from: &Dir, path: &Path, to: &Dir, copy_path: &Path) -> io::Result<()> {
    let mut source = from.open_with(path, &crate::os::fs::read_no_follow())?;
    let meta = source.metadata()?;
    let mut copy = to.create(copy_path)?;
    io::copy(&mut source, &mut copy)?;
    if let Ok(modified) = meta.modified() {
        copy.into_std().set_modified(modified.into_std())?;
    }
    crate::os::fs::set_mode(to, copy_path, crate::os::fs::seen(&meta).mode & 0o7777)
}

/// Puts a path's components in front of what is still to resolve; an
/// absolute path starts again at the root.
fn push_front(pending: &mut VecDeque<OsString>, path: &Path, resolved: &mut PathBuf) {
    if path.has_root() {
        *resolved = PathBuf::new();
    }
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    for part in parts.into_iter().rev() {
        pending.push_front(part);
    }
}

/// glibc's `major(3)` and `minor(3)`.
fn major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)) as u32
}

fn minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0xff)) as u32
}

/// Reads a regular file once. Opened without following a symlink and
/// without blocking (a fifo swapped in cannot hang us), and checked to be a
/// regular file once open (a device node swapped in is never read).
fn read_regular(dir: &Dir, path: &Path) -> io::Result<Vec<u8>> {
    let mut file = dir.open_with(path, &crate::os::fs::read_no_follow())?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn walk(dir: &Dir, prefix: &str, seen: &mut Snapshot) {
    let Ok(entries) = dir.entries() else { return };
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let Ok(meta) = dir.symlink_metadata(&name) else { continue };
        if meta.is_dir() {
            subdirs.push((name, path.clone()));
        }
        seen.insert(path, crate::os::fs::seen(&meta));
    }
    for (name, path) in subdirs {
        // A directory swapped for a symlink since it was seen is opened
        // through the handle, so at worst another directory of the root.
        if let Ok(sub) = dir.open_dir(&name) {
            walk(&sub, &path, seen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, RootDir) {
        let temp = tempfile::tempdir().unwrap();
        let root = RootDir::open(temp.path()).unwrap();
        (temp, root)
    }

    #[test]
    fn paths_resolve_as_if_the_root_were_slash() {
        let (temp, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(temp.path().join("real/dir")).unwrap();
        std::os::unix::fs::symlink("/real", temp.path().join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../..", temp.path().join("real/up")).unwrap();
        std::os::unix::fs::symlink(outside.path(), temp.path().join("host")).unwrap();
        std::os::unix::fs::symlink("loop2", temp.path().join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", temp.path().join("loop2")).unwrap();

        assert_eq!(root.resolve("/abs/dir/x").unwrap(), Path::new("real/dir/x"));
        assert_eq!(root.resolve("real/up/real").unwrap(), Path::new("real"));
        assert_eq!(root.resolve("/../../etc").unwrap(), Path::new("etc"));
        let host = outside.path().strip_prefix("/").unwrap().join("made");
        assert_eq!(root.resolve("/host/made").unwrap(), host);
        assert_eq!(root.resolve_parent("/abs").unwrap(), Path::new("abs"));
        assert!(root.resolve("/loop1/x").is_err());

        // Made inside the root, whatever the links say.
        root.create_dir_all("/host/made").unwrap();
        root.create_dir_all("/real/up/real/up/top").unwrap();
        assert!(temp.path().join(&host).is_dir());
        assert!(temp.path().join("top").is_dir());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        root.remove_file("/host").unwrap();
        assert!(outside.path().is_dir());
    }

    #[test]
    fn a_copy_keeps_links_as_links_even_those_pointing_out() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret");
        std::fs::write(&secret, "the host's").unwrap();
        std::fs::create_dir(from.path().join("sub")).unwrap();
        std::fs::write(from.path().join("sub/file"), "mine").unwrap();
        std::os::unix::fs::symlink(&secret, from.path().join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../../secret", from.path().join("sub/up")).unwrap();
        std::os::unix::fs::symlink(outside.path(), from.path().join("dir")).unwrap();

        copy_dir(from.path(), to.path()).unwrap();
        assert_eq!(std::fs::read_link(to.path().join("abs")).unwrap(), secret);
        assert_eq!(
            std::fs::read_link(to.path().join("sub/up")).unwrap(),
            Path::new("../../../../../../secret")
        );
        assert_eq!(std::fs::read_link(to.path().join("dir")).unwrap(), outside.path());
        assert_eq!(std::fs::read_to_string(to.path().join("sub/file")).unwrap(), "mine");
        let outside_now: Vec<_> = std::fs::read_dir(outside.path()).unwrap().flatten().collect();
        assert_eq!(outside_now.len(), 1, "nothing written beside the secret");
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "the host's");
    }

    #[test]
    fn refused_links_are_stood_in_for_by_what_they_lead_to_in_the_root() {
        let (temp, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "the host's").unwrap();
        std::fs::create_dir(temp.path().join("data")).unwrap();
        std::fs::write(temp.path().join("data/greeting.txt"), "hello").unwrap();
        let host = outside.path().join("secret").display().to_string();
        let mut refused: BTreeMap<PathBuf, String> = [
            ("data/link.txt", "greeting.txt"),
            ("docs", "data"),
            ("chain.txt", "docs/link.txt"),
            ("data/self", ".."),
            ("gone", "nowhere"),
            ("loop1", "loop2"),
            ("loop2", "loop1"),
            ("host", host.as_str()),
        ]
        .into_iter()
        .map(|(path, target)| (PathBuf::from(path), target.to_owned()))
        .collect();

        root.stand_in_for_links(&mut refused).unwrap();
        let read = |path: &str| std::fs::read_to_string(temp.path().join(path)).unwrap();
        assert_eq!(read("data/link.txt"), "hello");
        assert_eq!(read("docs/greeting.txt"), "hello");
        assert_eq!(read("docs/link.txt"), "hello", "a directory is copied after the links in it");
        assert_eq!(read("chain.txt"), "hello", "a link to a link leads where it would");
        let left: Vec<_> = refused.keys().map(|p| p.display().to_string()).collect();
        assert_eq!(left, ["data/self", "gone", "host", "loop1", "loop2"]);
        assert!(!temp.path().join("host").exists(), "a link is resolved inside the root, never on the host");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    }

    #[test]
    fn special_files_are_recorded_never_opened() {
        let (temp, root) = root();
        let fifo = std::ffi::CString::new(temp.path().join("p").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        std::fs::write(temp.path().join("f"), b"bytes").unwrap();
        std::os::unix::fs::symlink("/dev/zero", temp.path().join("z")).unwrap();
        assert_eq!(root.node("p").unwrap().0, Node::Fifo);
        assert_eq!(root.node("f").unwrap().0, Node::File(b"bytes".to_vec()));
        assert_eq!(root.node("z").unwrap().0, Node::Symlink("/dev/zero".into()));
        assert!(root.read("p").is_err(), "a fifo is not read");
        assert!(root.read("z").is_err(), "/dev/zero resolves inside the root, where there is none");
        let names: Vec<_> = root.snapshot().into_keys().collect();
        assert_eq!(names, ["f", "p", "z"]);
    }
}
