//! `cp`: files between the host and a container, by Docker's rules. A copy
//! travels as a tar (what `cp -` reads and writes) whose entries all sit
//! under one top entry, the source's name; where it lands, and under which
//! name, follows from what the destination is:
//!
//! | source | destination missing | an existing directory | an existing file |
//! | --- | --- | --- | --- |
//! | file | made as that file (its parent must exist; no trailing `/`) | into it | replaced |
//! | directory | made as a copy of it | into it (`SRC/.`: its contents) | refused |
//!
//! Inside a container, a path is resolved as the container would resolve
//! it (symlinks followed inside its root) and lands in the volume or bind
//! mounted there, else in the container's own files: a native container's
//! writable layer. A wasm container's image files are read-only (a guest
//! writes only to its grants), so a copy into one goes to a mount.
//! Everything is opened through a handle that cannot be left, on the host's
//! side too: a hostile tar or container cannot write outside the
//! destination.

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use cap_std::fs::Dir;

use super::Files;
use crate::container::Container;
use crate::image::Image;
use crate::rootdir::{Node, RootDir, S_IFDIR};
use crate::store::Store;
use crate::{Error, Result};

/// A path in a container, as `stat` finds it.
pub struct PathStat {
    pub name: String,
    pub size: u64,
    /// The file's type and permissions, as `st_mode`.
    pub mode: u32,
    pub modified: std::time::SystemTime,
    /// What a symlink points at, as it is written.
    pub link_target: Option<String>,
}

/// What is at `path` in a container, its last part not followed: what
/// Docker's client asks before a copy, to choose where the copy lands.
pub fn stat(store: &Store, container: &Container, path: &str) -> Result<PathStat> {
    in_container(store, container, path, false, stat_at)
}

/// Finds `path` in the container's files (a stopped native container's are
/// mounted meanwhile) and hands `work` where it is, and how to name it in
/// errors.
fn in_container<T>(
    store: &Store,
    container: &Container,
    path: &str,
    follow: bool,
    work: impl FnOnce(&Place, &str) -> Result<T>,
) -> Result<T> {
    let image = Image::load(store, &container.config.spec.image_id)?;
    let files = Files::of(store, container, &image)?;
    let place = Place::find(container, files.as_ref(), path, follow)?;
    work(&place, &format!("{}:{path}", container.config.name))
}

fn stat_at(place: &Place, shown: &str) -> Result<PathStat> {
    let meta = place.dir.symlink_metadata(or_dot(&place.path)).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NoSuchPath(shown.to_owned()),
        _ => Error::usage(format!("{shown}: {e}")),
    })?;
    let link_target = if meta.is_symlink() {
        let target =
            place.dir.read_link_contents(&place.path).map_err(|e| Error::usage(format!("{shown}: {e}")))?;
        Some(target.to_string_lossy().into_owned())
    } else {
        None
    };
    let name = place.path.file_name().map_or_else(|| "/".to_owned(), |n| n.to_string_lossy().into_owned());
    Ok(PathStat {
        name,
        size: meta.len(),
        mode: mode_of(&meta),
        modified: meta.modified().map(|t| t.into_std()).unwrap_or(std::time::UNIX_EPOCH),
        link_target,
    })
}

/// `st_mode` of what `meta` describes; where the system has none (Windows),
/// made from its type and whether it is read-only.
fn mode_of(meta: &cap_std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        cap_std::fs::MetadataExt::mode(meta)
    }
    #[cfg(not(unix))]
    {
        let (kind, permissions) = if meta.is_dir() {
            (S_IFDIR, 0o755)
        } else if meta.is_symlink() {
            (0o120000, 0o777)
        } else {
            (0o100000, 0o644)
        };
        let permissions = if meta.permissions().readonly() { permissions & 0o555 } else { permissions };
        kind | permissions
    }
}

/// What is copied: a tar, and how its entries are named.
pub struct Archive {
    /// Every entry is `top` or below it (any names, for a tar given on stdin).
    pub tar: Vec<u8>,
    /// The source's name, which the destination may rename; none for a tar
    /// from stdin, unpacked as it is.
    top: Option<String>,
    is_dir: bool,
    /// `SRC/.`: the directory's contents go, not the directory.
    contents_only: bool,
}

impl Archive {
    /// A tar read from stdin (`cp - CONTAINER:DIR`): unpacked into DIR as it is.
    pub fn of_tar(tar: Vec<u8>) -> Archive {
        Archive { tar, top: None, is_dir: true, contents_only: true }
    }

    /// `cp HOST_PATH …`: with `follow`, a symlink at `path` is copied as
    /// what it points at.
    pub fn of_host(path: &Path, follow: bool) -> Result<Archive> {
        let shown = path.display().to_string();
        let missing = |e: io::Error| Error::usage(format!("lstat {shown}: {e}"));
        let (parent, name) = if follow {
            let real = std::fs::canonicalize(path).map_err(missing)?;
            let name = real.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (real.parent().map(Path::to_path_buf).unwrap_or(real.clone()), name)
        } else {
            let (parent, name) = split(&shown);
            let parent = if parent.is_empty() { "." } else { parent };
            (std::fs::canonicalize(parent).map_err(missing)?, name.to_owned())
        };
        // As Docker's client says of a source that is not there.
        std::fs::symlink_metadata(parent.join(&name)).map_err(missing)?;
        Archive::walked(&open_host_dir(&parent)?, Path::new(&name), &shown, &shown)
    }

    /// `cp CONTAINER:PATH …`.
    pub fn of_container(store: &Store, container: &Container, path: &str, follow: bool) -> Result<Archive> {
        in_container(store, container, path, follow, |place, shown| {
            Archive::walked(&place.dir, &place.path, path, shown)
        })
    }

    /// `of_container`, its last part not followed, with what `stat` says
    /// of it: the container's files are found once.
    pub fn of_container_with_stat(
        store: &Store,
        container: &Container,
        path: &str,
    ) -> Result<(Archive, PathStat)> {
        in_container(store, container, path, false, |place, shown| {
            Ok((Archive::walked(&place.dir, &place.path, path, shown)?, stat_at(place, shown)?))
        })
    }

    /// The tar of `path` in `dir` (symlink-free up to its last part), as
    /// `asked` names it; `shown` in errors.
    fn walked(dir: &Dir, path: &Path, asked: &str, shown: &str) -> Result<Archive> {
        let at = if path.as_os_str().is_empty() { Path::new(".") } else { path };
        let meta = dir.symlink_metadata(at).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::NoSuchPath(shown.to_owned()),
            _ => Error::usage(format!("{shown}: {e}")),
        })?;
        let is_dir = meta.is_dir();
        let trailing = asked.ends_with('/') || asked.ends_with("/.") || asked == ".";
        if trailing && !is_dir {
            return Err(Error::usage(format!("{shown}: not a directory")));
        }
        let top = match path.file_name() {
            Some(name) => name.to_string_lossy().into_owned(),
            None => ".".to_owned(),
        };
        let mut tar = tar::Builder::new(Vec::new());
        tar.follow_symlinks(false);
        append(&mut tar, dir, at, &top).map_err(|e| Error::usage(format!("reading {shown}: {e}")))?;
        let tar = tar.into_inner().map_err(|e| Error::Internal(e.into()))?;
        let contents_only = is_dir && (asked.ends_with("/.") || asked == "." || top == ".");
        Ok(Archive { tar, top: Some(top), is_dir, contents_only })
    }

    /// `cp … HOST_PATH`.
    pub fn to_host(self, dest: &Path) -> Result<()> {
        let shown = dest.display().to_string();
        let target = match std::fs::metadata(dest) {
            Ok(meta) if meta.is_dir() => Target { dir: open_host_dir(dest)?, name: None, found: Found::Dir },
            found => {
                let (parent, name) = split(&shown);
                let parent = if parent.is_empty() { "." } else { parent };
                let dir = open_host_dir(Path::new(parent)).map_err(|_| {
                    Error::usage(format!("{shown}: no such directory to copy into ({parent} is missing)"))
                })?;
                let found = if found.is_ok() { Found::File } else { Found::Missing };
                Target { dir, name: Some(name.to_owned()), found }
            }
        };
        // Owned by whoever runs wbox, as Docker's client writes them.
        self.unpack(target, dest_is_dir(&shown), &shown, false)
    }

    /// `cp … CONTAINER:PATH`, into a container that is running or stopped;
    /// the files keep the archive's owners, as dockerd (run as root) keeps
    /// them, `-a` or not.
    pub fn to_container(self, store: &Store, container: &Container, dest: &str) -> Result<()> {
        let image = Image::load(store, &container.config.spec.image_id)?;
        let files = Files::to_write(store, container, &image)?;
        let place = Place::find(container, files.as_ref(), dest, true)?;
        let shown = format!("{}:{dest}", container.config.name);
        if let Some(why) = place.read_only {
            return Err(Error::usage(format!("cannot copy into {shown}: {why}")));
        }
        let missing = |_| Error::NoSuchPath(format!("{shown} (its directory is missing)"));
        let target = match place.dir.metadata(or_dot(&place.path)) {
            Ok(meta) if meta.is_dir() => Target {
                dir: place.dir.open_dir(or_dot(&place.path)).map_err(missing)?,
                name: None,
                found: Found::Dir,
            },
            found => {
                let parent = place.path.parent().unwrap_or(Path::new(""));
                let name = place.path.file_name().map(|n| n.to_string_lossy().into_owned());
                let dir = place.dir.open_dir(or_dot(parent)).map_err(missing)?;
                let found = if found.is_ok() { Found::File } else { Found::Missing };
                Target { dir, name, found }
            }
        };
        self.unpack(target, dest_is_dir(dest), &shown, true)
    }

    /// Docker's table (above): where the entries go, under which name.
    /// With `keep_owners`, the archive's owners are given (where wbox may).
    fn unpack(self, target: Target, dest_is_dir: bool, shown: &str, keep_owners: bool) -> Result<()> {
        let refused = |why: &str| Err(Error::usage(format!("cannot copy to {shown}: {why}")));
        let rename = match (&self.top, target.found) {
            (None, Found::Dir) => None,
            (None, _) => return refused("a tar is unpacked into a directory, and this is none"),
            (Some(_), Found::Dir) => None,
            (Some(_), Found::File) if self.is_dir => return refused("cannot copy a directory to a file"),
            (Some(_), Found::Missing) if dest_is_dir && !self.is_dir => {
                return refused("the destination directory does not exist");
            }
            (Some(_), _) => target.name.clone(),
        };
        let mut archive = tar::Archive::new(self.tar.as_slice());
        let bad = |e: io::Error| Error::usage(format!("copying to {shown}: {e}"));
        let mut directories = Vec::new();
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let raw = entry.path().map_err(bad)?.into_owned();
            let Some(mut path) = inside(&raw) else {
                return refused(&format!("the archive's entry {} climbs out with '..'", raw.display()));
            };
            if let Some(top) = &self.top {
                // (`.` as the top, of `SRC/.` or `/`, is no prefix at all.)
                let top = inside(Path::new(top)).unwrap_or_default();
                let rest = path.strip_prefix(&top).map(Path::to_path_buf).unwrap_or_default();
                path = match (&rename, self.contents_only && target.found == Found::Dir) {
                    (_, true) => rest,
                    (Some(name), _) if rest.as_os_str().is_empty() => PathBuf::from(name),
                    (Some(name), _) => Path::new(name).join(rest),
                    (None, _) => path,
                };
            }
            let failed = |e: io::Error| Error::usage(format!("copying {} to {shown}: {e}", path.display()));
            if let Some(dir) = write_entry(&target.dir, &path, &mut entry, keep_owners).map_err(failed)? {
                directories.push((path, dir));
            }
        }
        // A directory's mode and time last: filling it changes its time,
        // and a read-only one could not be filled.
        for (path, (mode, owned, modified)) in directories.into_iter().rev() {
            let at = or_dot(&path);
            crate::os::fs::set_mode(&target.dir, at, mode)
                .and_then(|()| crate::os::fs::set_owner_and_time(&target.dir, at, owned, modified))
                .map_err(|e| Error::usage(format!("copying {} to {shown}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// A container path, found: the directory that holds it (the container's
/// files or a mount's), the path below it without symlinks, and why it
/// cannot be written, if it cannot.
struct Place {
    dir: Dir,
    path: PathBuf,
    read_only: Option<String>,
}

impl Place {
    fn find(container: &Container, files: Option<&Files>, path: &str, follow: bool) -> Result<Place> {
        let name = &container.config.name;
        let grants = &container.config.spec.grants;
        // Resolved in the container's files first: a symlink there may lead
        // into a mount.
        let (resolved, files_dir) = match files {
            Some(files) => {
                let root = RootDir::from_dir(open_host_dir(&files.merged)?);
                let resolved = resolve(&root, path, follow)?;
                let read_only = (!files.own()).then(|| {
                    format!(
                        "{name} runs a wasm program, whose image files are read-only; copy into one of its \
                         volumes, or run it with one mounted at that path"
                    )
                });
                (resolved, Some((root, read_only)))
            }
            None => (crate::rootdir::clamp(path), None),
        };
        let guest = format!("/{}", crate::rootdir::guest_path(&resolved));
        if let Some((grant, below)) = grants.grant_holding(&guest) {
            let root = RootDir::from_dir(open_host_dir(&grant.host)?);
            let path = resolve(&root, &below.to_string_lossy(), follow)?;
            let read_only = grant.read_only.then(|| format!("{} is mounted read-only", grant.guest));
            return Ok(Place { dir: root.into_dir(), path, read_only });
        }
        match files_dir {
            Some((root, read_only)) => Ok(Place { dir: root.into_dir(), path: resolved, read_only }),
            None => Err(Error::NoSuchPath(format!(
                "{name}:{path} ({name} runs a wasm artifact, which has no files but its volumes)"
            ))),
        }
    }
}

fn resolve(root: &RootDir, path: &str, follow: bool) -> Result<PathBuf> {
    let resolved = if follow { root.resolve(path) } else { root.resolve_parent(path) };
    resolved.map_err(|e| Error::usage(format!("{path}: {e}")))
}

/// Where a copy lands: a directory, and the name the copy takes in it when
/// the destination is not that directory itself.
struct Target {
    dir: Dir,
    name: Option<String>,
    found: Found,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    Missing,
    File,
    Dir,
}

/// Appends `path` in `dir` as `name`, and below it what a directory holds.
fn append(tar: &mut tar::Builder<Vec<u8>>, dir: &Dir, path: &Path, name: &str) -> io::Result<()> {
    let (node, meta) = crate::rootdir::node(dir, path)?;
    let seen = crate::os::fs::seen(&meta);
    let mut header = tar::Header::new_gnu();
    // With the type bits, as Docker's (Go's) tar headers have them.
    header.set_mode(seen.mode);
    header.set_uid(seen.uid.into());
    header.set_gid(seen.gid.into());
    header.set_mtime(seen.modified.0.max(0) as u64);
    header.set_size(0);
    match node {
        Node::Dir => {
            header.set_entry_type(tar::EntryType::Directory);
            tar.append_data(&mut header, format!("{name}/"), io::empty())?;
            let mut children: Vec<_> =
                dir.read_dir(path)?.map(|e| e.map(|e| e.file_name())).collect::<io::Result<_>>()?;
            children.sort();
            for child in children {
                let child_name = format!("{name}/{}", child.to_string_lossy());
                append(tar, dir, &path.join(&child), &child_name)?;
            }
        }
        Node::File(bytes) => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(bytes.len() as u64);
            tar.append_data(&mut header, name, bytes.as_slice())?;
        }
        Node::Symlink(target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            tar.append_link(&mut header, name, target)?;
        }
        // Fifos and devices: what Docker's cp leaves out too.
        _ => {}
    }
    Ok(())
}

/// What is set on a directory once it is filled: its mode, owner and time.
type Deferred = (u32, Option<(u32, u32)>, i64);

/// Writes one entry at `path` below `dir`. What is there is replaced, a
/// symlink never followed; a directory is not replaced by a file, nor a
/// file by a directory. A directory's own metadata is returned, to be set
/// once it is filled.
fn write_entry(
    dir: &Dir,
    path: &Path,
    entry: &mut tar::Entry<&[u8]>,
    keep_owners: bool,
) -> io::Result<Option<Deferred>> {
    let header = entry.header();
    let kind = header.entry_type();
    let mode = header.mode().unwrap_or(0o644) & 0o7777;
    let modified = header.mtime().unwrap_or(0) as i64;
    let owned = keep_owners.then(|| (header.uid().unwrap_or(0) as u32, header.gid().unwrap_or(0) as u32));
    let at = or_dot(path);
    // A tar may leave out the directories its files are in.
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        dir.create_dir_all(parent)?;
    }
    let existing = dir.symlink_metadata(at).ok().map(|m| crate::os::fs::seen(&m).kind);
    let conflict = |what: &str| Err(io::Error::other(format!("cannot overwrite {what}")));
    match kind {
        tar::EntryType::Directory => {
            match existing {
                Some(S_IFDIR) => {}
                Some(_) => return conflict("a non-directory with a directory"),
                None => dir.create_dir(at)?,
            }
            return Ok(Some((mode, owned, modified)));
        }
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Symlink => {
            match existing {
                Some(S_IFDIR) => return conflict("a directory with a non-directory"),
                Some(_) => dir.remove_file(at)?,
                None => {}
            }
            if kind == tar::EntryType::Symlink {
                let target = entry.link_name()?.unwrap_or_default().to_string_lossy().into_owned();
                crate::os::fs::symlink(dir, &target, at)?.or_warn(at, &target);
            } else {
                let mut file = dir.create(at)?;
                io::copy(&mut entry.take(u64::MAX), &mut file)?;
                crate::os::fs::set_mode(dir, at, mode)?;
            }
        }
        // Hard links, fifos, devices: what a copy between two systems cannot
        // carry faithfully; Docker's cp leaves them out too.
        _ => return Ok(None),
    }
    crate::os::fs::set_owner_and_time(dir, at, owned, modified)?;
    Ok(None)
}

/// A tar entry's name as a path below the destination; none if it climbs.
fn inside(raw: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => return None,
            _ => {}
        }
    }
    Some(out)
}

/// A path's parent and last part, as written (`a/b/` → `a`, `b`).
fn split(path: &str) -> (&str, &str) {
    let trimmed = path.trim_end_matches(['/', std::path::MAIN_SEPARATOR]);
    let trimmed = if trimmed.is_empty() { path } else { trimmed };
    match trimmed.rfind(['/', std::path::MAIN_SEPARATOR]) {
        Some(0) => ("/", &trimmed[1..]),
        Some(at) => (&trimmed[..at], &trimmed[at + 1..]),
        None => ("", trimmed),
    }
}

/// Whether a destination says it is a directory (`DIR/`, `DIR/.`).
fn dest_is_dir(dest: &str) -> bool {
    dest.ends_with('/') || dest.ends_with(std::path::MAIN_SEPARATOR) || dest.ends_with("/.")
}

fn or_dot(path: &Path) -> &Path {
    if path.as_os_str().is_empty() { Path::new(".") } else { path }
}

/// The caller's own directory on the host, by path.
fn open_host_dir(path: &Path) -> Result<Dir> {
    Dir::open_ambient_dir(path, cap_std::ambient_authority()).map_err(|e| fs_error(path, e))
}

fn fs_error(path: &Path, e: io::Error) -> Error {
    Error::usage(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_as_written() {
        assert_eq!(split("a/b/"), ("a", "b"));
        assert_eq!(split("/b"), ("/", "b"));
        assert_eq!(split("b"), ("", "b"));
        assert_eq!(inside(Path::new("/x/./y")), Some(PathBuf::from("x/y")));
        assert_eq!(inside(Path::new("x/../../y")), None);
    }
}
