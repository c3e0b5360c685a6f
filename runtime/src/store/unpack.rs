//! Unpacking image layers into a root filesystem, safely: every write goes
//! through a cap-std directory handle, so nothing can land outside the
//! rootfs whatever the layer says; entries that try (`..`, links that climb
//! out) are refused with the layer, absolute names are taken as relative to
//! the rootfs as Docker does, and devices are skipped. Whiteouts (`.wh.x`,
//! `.wh..wh..opq`) remove what earlier layers put there.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use cap_std::fs::Dir;

use super::space::{self, Space};
use super::{Descriptor, Store, media};
use crate::os::fs::Linked;
use crate::rootdir::RootDir;
use crate::units::binary_size as human;
use crate::{Error, Result};

/// What unpacking may take besides the disk's free space.
#[derive(Debug, Clone, Default)]
pub(crate) struct Limits {
    /// The most bytes of file content one layer may unpack to
    /// (`max-layer-size` in `ROOT/config.json`).
    pub max_layer_size: Option<u64>,
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

pub(super) fn unpack_layers(
    store: &Store,
    layers: &[Descriptor],
    dest: &Path,
    limits: &Limits,
) -> Result<()> {
    let root =
        RootDir::open(dest).map_err(|e| Error::image(format!("cannot open {}: {e}", dest.display())))?;
    let mut space = Space::of(dest);
    let mut refused = BTreeMap::new();
    for layer in layers {
        let blob = store.open_blob(layer)?;
        let mut budget = Budget { space: &mut space, limits, layer: 0 };
        unpack_layer(blob, &root, &mut budget, &mut refused).map_err(|e| match e {
            Error::Image(why) => Error::image(format!("layer {} refused: {why}", layer.digest)),
            other => other,
        })?;
    }
    stand_in_for_links(&root, refused)
}

/// Unpacks one layer's bytes into `dest`, as a pull's first run does.
pub(crate) fn unpack_bytes(layer: &[u8], dest: &Path) -> Result<()> {
    let root =
        RootDir::open(dest).map_err(|e| Error::image(format!("cannot open {}: {e}", dest.display())))?;
    let mut space = Space::of(dest);
    let mut budget = Budget { space: &mut space, limits: &Limits::default(), layer: 0 };
    let mut refused = BTreeMap::new();
    unpack_layer(layer, &root, &mut budget, &mut refused)?;
    stand_in_for_links(&root, refused)
}

/// Where the OS made no symlink (Windows, without the privilege), a copy of
/// what it leads to in the finished image stands in for it; a link that
/// leads nowhere in the image is left out.
fn stand_in_for_links(root: &RootDir, mut refused: BTreeMap<PathBuf, String>) -> Result<()> {
    root.stand_in_for_links(&mut refused)
        .map_err(|e| Error::image(format!("a copy standing in for a symlink cannot be written: {e}")))?;
    for (path, target) in refused {
        tracing::warn!("symlink /{} -> {target} left out: it leads nowhere in the image", path.display());
    }
    Ok(())
}

/// Unpacks one layer (tar, gzip or zstd, told from its first bytes), then
/// reads the blob to its end, so that its digest is checked: a decoder stops
/// at the end of its stream, which need not be the end of the blob.
/// Symlinks the OS refused to make are added to `refused` (path -> target).
fn unpack_layer(
    mut blob: impl Read,
    root: &RootDir,
    budget: &mut Budget,
    refused: &mut BTreeMap<PathBuf, String>,
) -> Result<()> {
    {
        let mut tar = decompressed(&mut blob)?;
        let mut archive = tar::Archive::new(&mut tar);
        // A whiteout hides what lower layers put there, never this layer's own.
        let mut written = HashSet::new();
        for entry in archive.entries().map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            apply(entry, root, &mut written, budget, refused)?;
        }
        io::copy(&mut tar, &mut io::sink()).map_err(read_error)?;
    }
    io::copy(&mut blob, &mut io::sink()).map_err(read_error)?;
    Ok(())
}

/// A layer's tar, from its blob however compressed (gzip, zstd or none,
/// told from its first bytes).
fn decompressed<'a>(blob: &'a mut impl Read) -> Result<Box<dyn Read + 'a>> {
    let mut input = BufReader::new(blob);
    let head = input.fill_buf().map_err(read_error)?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(input))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(input).map_err(read_error)?)
    } else {
        Box::new(input)
    })
}

/// The bytes of a layer's regular files, what Docker counts as its size
/// (a file's other names count nothing; a wasm layer is the module).
pub(super) fn content_size(store: &Store, layer: &Descriptor) -> Result<u64> {
    if media::is_wasm_layer(&layer.media_type) {
        return Ok(layer.size);
    }
    let mut blob = store.open_blob(layer)?;
    let mut tar = decompressed(&mut blob)?;
    let mut size = 0;
    for entry in tar::Archive::new(&mut tar).entries().map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        if matches!(entry.header().entry_type(), tar::EntryType::Regular | tar::EntryType::Continuous) {
            size += entry.size();
        }
    }
    Ok(size)
}

fn read_error(e: io::Error) -> Error {
    Error::image(format!("it cannot be read: {e}"))
}

/// What one layer's files may still take: the disk's free space, and the
/// configured most a layer may unpack to.
struct Budget<'a> {
    space: &'a mut Space,
    limits: &'a Limits,
    /// Bytes of file content this layer has unpacked so far.
    layer: u64,
}

impl Budget<'_> {
    /// Claims a file's content before it is written: a layer of zeros that
    /// would expand past the limit or the disk is refused before it fills
    /// anything.
    fn claim(&mut self, raw: &str, bytes: u64) -> Result<()> {
        self.layer = self.layer.saturating_add(bytes);
        if let Some(max) = self.limits.max_layer_size
            && self.layer > max
        {
            return Err(Error::image(format!(
                "it unpacks to more than {} (at '{raw}'), the max-layer-size that ROOT/config.json sets",
                human(max)
            )));
        }
        self.space.claim(bytes, || format!("'{raw}' ({})", human(bytes)))
    }
}

fn apply(
    mut entry: tar::Entry<impl Read>,
    root: &RootDir,
    written: &mut HashSet<PathBuf>,
    budget: &mut Budget,
    refused: &mut BTreeMap<PathBuf, String>,
) -> Result<()> {
    let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let Some(named) = inside(&raw)? else { return Ok(()) };
    let write_error = |e: io::Error| {
        if space::is_full(&e) {
            return Error::image(format!(
                "'{raw}' cannot be written: the disk is full ({e}); nothing of the image was kept"
            ));
        }
        Error::image(format!("'{raw}' cannot be written: {e}"))
    };
    let name = named.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    // The directory resolved as a container's kernel (and Docker's
    // unpacking) resolves it: a symlink an earlier entry made there leads
    // where it would in the container, inside the rootfs, never out.
    let parent = named.parent().map(|p| p.to_string_lossy()).unwrap_or_default();
    let parent = root.resolve(&parent).map_err(write_error)?;
    let path = parent.join(name);
    let parent = parent.as_path();
    let root = root.dir();

    if name == OPAQUE {
        // The directory keeps only what this layer puts in it.
        if let Ok(entries) = root.read_dir(parent) {
            for child in entries.flatten() {
                let child = parent.join(child.file_name());
                if !written.contains(&child) {
                    remove(root, &child).map_err(write_error)?;
                    refused.retain(|link, _| !link.starts_with(&child));
                }
            }
        }
        return Ok(());
    }
    if let Some(hidden) = name.strip_prefix(WHITEOUT) {
        if matches!(hidden, "" | "." | "..") {
            return Err(Error::image(format!("whiteout '{raw}' names no file")));
        }
        let hidden = parent.join(hidden);
        if !written.contains(&hidden) {
            remove(root, &hidden).map_err(write_error)?;
            refused.retain(|link, _| !link.starts_with(&hidden));
        }
        return Ok(());
    }
    written.insert(path.clone());
    refused.remove(&path);

    if !parent.as_os_str().is_empty() {
        root.create_dir_all(parent).map_err(write_error)?;
    }
    let mode = entry.header().mode().unwrap_or(0o644);
    let kind = entry.header().entry_type();
    match kind {
        tar::EntryType::Directory => {
            if root.symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
                remove(root, &path).map_err(write_error)?;
            }
            root.create_dir_all(&path).map_err(write_error)?;
            // The owner keeps the right to fill it from later layers.
            crate::os::fs::set_mode(root, &path, (mode & 0o777) | 0o700).map_err(write_error)?;
        }
        tar::EntryType::Regular | tar::EntryType::Continuous => {
            budget.claim(&raw, entry.size())?;
            remove(root, &path).map_err(write_error)?;
            let mut file = root.create(&path).map_err(write_error)?;
            io::copy(&mut entry, &mut file).map_err(write_error)?;
            // The image's mtime, which programs compare (Python's bytecode
            // cache records its source's).
            let mtime =
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(entry.header().mtime().unwrap_or(0));
            file.into_std().set_times(std::fs::FileTimes::new().set_modified(mtime)).map_err(write_error)?;
            // No setuid, setgid or sticky bits from an image.
            crate::os::fs::set_mode(root, &path, mode & 0o777).map_err(write_error)?;
        }
        tar::EntryType::Symlink => {
            let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned());
            let target = target.ok_or_else(|| Error::image(format!("symlink '{raw}' has no target")))?;
            // An absolute target means the image's own `/`; written relative,
            // it resolves there inside the rootfs, where cap-std can follow it.
            let target = match target.strip_prefix('/') {
                Some(rest) => "../".repeat(parent.components().count()) + rest,
                None => target,
            };
            let target = clamped(parent, &target);
            remove(root, &path).map_err(write_error)?;
            if crate::os::fs::symlink(root, &target, &path).map_err(write_error)? == Linked::Refused {
                refused.insert(path, target);
            }
        }
        tar::EntryType::Link => {
            let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned());
            let target = target.ok_or_else(|| Error::image(format!("hard link '{raw}' has no target")))?;
            let Some(target_path) = inside(&target)? else {
                return Err(Error::image(format!("hard link '{raw}' points at the root directory")));
            };
            remove(root, &path).map_err(write_error)?;
            root.hard_link(&target_path, root, &path).map_err(write_error)?;
        }
        tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
            tracing::debug!("layer entry '{raw}' is a device or fifo; skipped (wasm guests have none)");
        }
        other => tracing::debug!("layer entry '{raw}' of type {other:?} skipped"),
    }
    Ok(())
}

/// The path of an entry inside the rootfs, or `None` for the root itself.
/// A leading `/` is dropped (the name is relative to the rootfs); a `..` is
/// refused, because in a layer it can only mean an attempt to climb out.
fn inside(name: &str) -> Result<Option<PathBuf>> {
    let mut path = PathBuf::new();
    for part in Path::new(name).components() {
        match part {
            Component::Normal(part) => path.push(part),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::image(format!("entry '{name}' climbs out of the image with '..'")));
            }
        }
    }
    Ok((!path.as_os_str().is_empty()).then_some(path))
}

/// A relative symlink target as the kernel resolves it for a process whose
/// `/` is the rootfs (and Docker for a layer): a `..` above the root stays
/// at the root, so it is dropped, and the link leads where it would in a
/// container, inside the rootfs.
fn clamped(dir: &Path, target: &str) -> String {
    let mut depth = dir.components().count();
    let mut parts: Vec<&str> = Vec::new();
    for part in Path::new(target).components() {
        match part {
            Component::ParentDir if depth == 0 => {}
            Component::ParentDir => {
                depth -= 1;
                parts.push("..");
            }
            Component::Normal(name) => {
                depth += 1;
                parts.push(name.to_str().unwrap_or_default());
            }
            _ => {}
        }
    }
    if parts.is_empty() { ".".to_owned() } else { parts.join("/") }
}

/// Removes whatever is at `path`, file or tree (a whiteout, or a later
/// layer replacing it); nothing there is fine.
fn remove(root: &Dir, path: &Path) -> io::Result<()> {
    let result = match root.symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => root.remove_dir_all(path),
        Ok(_) => root.remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        assert_eq!(inside("./a/b").unwrap(), Some(PathBuf::from("a/b")));
        assert_eq!(inside("/etc/passwd").unwrap(), Some(PathBuf::from("etc/passwd")));
        assert_eq!(inside("./").unwrap(), None);
        assert!(inside("../../x").is_err());
        assert!(inside("a/../../x").is_err());
    }

    fn layer(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, kind, content) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o755);
            if *kind == tar::EntryType::Symlink || *kind == tar::EntryType::Link {
                header.set_size(0);
                tar.append_link(&mut header, path, content).unwrap();
            } else {
                header.set_size(content.len() as u64);
                tar.append_data(&mut header, path, content.as_bytes()).unwrap();
            }
        }
        tar.into_inner().unwrap()
    }

    #[test]
    fn later_layers_and_whiteouts_win() {
        use tar::EntryType::{Directory, Regular, Symlink};
        let dir = tempfile::tempdir().unwrap();
        let root = RootDir::open(dir.path()).unwrap();
        let first = layer(&[
            ("a/x", Regular, "x"),
            ("a/y", Regular, "y"),
            ("b", Regular, "b"),
            ("c/old", Regular, "old"),
            ("d/inner", Regular, "inner"),
        ]);
        let second = layer(&[
            ("a/.wh.x", Regular, ""),
            (".wh.b", Regular, ""),
            ("c/.wh..wh..opq", Regular, ""),
            ("c/new", Regular, "new"),
            ("d", Symlink, "a"),
            ("e", Directory, ""),
            ("f/kept", Regular, "mine"),
            ("f/.wh.kept", Regular, ""),
            ("bin/sh", Symlink, "/a/y"),
        ]);
        let mut space = Space::of(dir.path());
        let limits = Limits::default();
        let mut budget = Budget { space: &mut space, limits: &limits, layer: 0 };
        unpack_layer(first.as_slice(), &root, &mut budget, &mut BTreeMap::new()).unwrap();
        unpack_layer(second.as_slice(), &root, &mut budget, &mut BTreeMap::new()).unwrap();
        let has = |p: &str| root.dir().symlink_metadata(p).is_ok();
        assert!(!has("a/x") && has("a/y"), "a whiteout hides one file");
        assert!(!has("b"));
        assert!(!has("c/old") && has("c/new"), "an opaque directory keeps only the new layer's files");
        assert!(root.dir().symlink_metadata("d").unwrap().is_symlink(), "a directory replaced by a symlink");
        assert!(has("e"));
        assert!(has("f/kept"), "a whiteout does not hide its own layer's file");
        assert_eq!(
            root.dir().read_to_string("bin/sh").unwrap(),
            "y",
            "an absolute symlink resolves in the image"
        );

        assert!(
            unpack_layer(
                layer(&[(".wh..", Regular, "")]).as_slice(),
                &root,
                &mut budget,
                &mut BTreeMap::new()
            )
            .is_err()
        );
        assert!(has("a/y"), "a refused whiteout removed nothing");

        // A link that climbs, and an entry through it: inside the rootfs, where
        // a container's kernel would find them.
        let climbing =
            layer(&[("up", Symlink, "../../../a"), ("up/z", Regular, "z"), ("abs/.wh.y", Regular, "")]);
        let abs = layer(&[("abs", Symlink, "/a")]);
        unpack_layer(abs.as_slice(), &root, &mut budget, &mut BTreeMap::new()).unwrap();
        unpack_layer(climbing.as_slice(), &root, &mut budget, &mut BTreeMap::new()).unwrap();
        assert_eq!(root.dir().read_link_contents("up").unwrap(), Path::new("a"));
        assert_eq!(root.dir().read_to_string("a/z").unwrap(), "z");
        assert!(!has("a/y"), "a whiteout through an absolute link hides the file it names in the image");
    }

    #[test]
    fn a_layer_past_the_limit_is_refused_before_it_is_written() {
        use tar::EntryType::Regular;
        let dir = tempfile::tempdir().unwrap();
        let root = RootDir::open(dir.path()).unwrap();
        let mut space = Space::of(dir.path());
        let limits = Limits { max_layer_size: Some(8) };
        let mut budget = Budget { space: &mut space, limits: &limits, layer: 0 };
        let big = layer(&[("a", Regular, "1234"), ("b", Regular, "56789")]);
        let err =
            unpack_layer(big.as_slice(), &root, &mut budget, &mut BTreeMap::new()).unwrap_err().to_string();
        assert!(err.contains("more than 8 B") && err.contains("max-layer-size"), "{err}");
        assert!(root.dir().symlink_metadata("a").is_ok() && root.dir().symlink_metadata("b").is_err());
    }
}
