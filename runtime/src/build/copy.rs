//! COPY and ADD: what a step copies from the context, an earlier stage or an
//! image (and, for ADD, downloads and unpacks), as the layer it makes, with
//! Docker's rules for sources (wildcards, `..` stopping at the root, a link
//! followed inside it) and destinations (a directory when it ends in `/` or
//! is `.` or already one; missing directories made, owned as `--chown`
//! says), written into the stage's files as well.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use cap_std::fs::Dir;

use super::cache::LayerCache;
use super::dockerfile::Op;
use super::layer::{Content, Entry, Layer};
use super::{Builder, Stage, Step, add, files_of, glob, guest_join};
use crate::rootdir::{self, RootDir};
use crate::store::Digest;
use crate::{Error, Result};

/// Applies a COPY or ADD (`kind`), whose step has the layer cache's `key`:
/// the files are written into the stage's and make its layer. True when
/// that layer came from the cache.
pub(super) fn apply(
    step: Step,
    stage: &mut Stage,
    expand: &dyn Fn(&str) -> Result<String>,
    kind: &Op,
) -> Result<bool> {
    let Step { b, built, key, workdir } = step;
    let layer = layer(b, stage, built, workdir, expand, kind)?;
    // The same files copied after the same steps: the same layer.
    let tar = layer.tar(b.mtime).map_err(|e| Error::Internal(e.into()))?;
    let diff_id = Digest::of(&tar);
    let key = LayerCache::key(&[key, diff_id.as_str()]);
    stage.chain = key.clone();
    let (descriptor, cached) = match b.layers.get(b.store, &key) {
        Some((descriptor, _)) => (descriptor, true),
        None => {
            let (bytes, descriptor) = super::layer::compress(&tar).map_err(|e| Error::Internal(e.into()))?;
            b.store.put_blob(&descriptor, &bytes)?;
            b.layers.put(&key, &descriptor, &diff_id);
            (descriptor, false)
        }
    };
    stage.add_layer(descriptor, diff_id);
    Ok(cached)
}

/// The layer of a COPY or ADD (`kind`), already written into the stage's files.
fn layer(
    b: &Builder,
    stage: &Stage,
    built: &[Stage],
    workdir: &str,
    expand: &dyn Fn(&str) -> Result<String>,
    kind: &Op,
) -> Result<Layer> {
    let Op::Copy { add, from, chown, chmod, checksum, sources, inline, dest } = kind else {
        unreachable!("only COPY and ADD are copied")
    };
    if checksum.is_some() && !(*add && sources.iter().all(|s| add::is_url(s))) {
        return Err(Error::usage("--checksum is for ADD of a URL only"));
    }
    if !*add && sources.iter().any(|s| add::is_url(s)) {
        return Err(Error::usage("COPY cannot fetch a URL; use ADD URL DEST"));
    }
    let (uid, gid) = match chown {
        None => (0, 0),
        Some(spec) => {
            let stage_root = RootDir::open(stage.files.path()).map_err(|e| Error::Internal(e.into()))?;
            let (uid, gid) = crate::users::owner(stage_root.dir(), &expand(spec)?)?;
            (u64::from(uid), u64::from(gid))
        }
    };
    let mode = chmod.as_deref().map(|m| u32::from_str_radix(m, 8)).transpose().map_err(|_| {
        Error::usage(format!("--chmod={}: give octal permissions, e.g. 755", chmod.as_deref().unwrap_or("")))
    })?;
    let from = from.as_deref().map(expand).transpose()?;
    // An image's files stay held while they are read.
    let (source_root, _held) = match from.as_deref() {
        None => (b.context.try_clone().map_err(|e| Error::Internal(e.into()))?, None),
        Some(name) => {
            let (path, held) = files_of(b, built, name)?;
            let dir = Dir::open_ambient_dir(path, cap_std::ambient_authority())
                .map_err(|e| Error::Internal(e.into()))?;
            (dir, held)
        }
    };
    let source_root = RootDir::from_dir(source_root);
    let dest = expand(dest)?;
    let dest_path = guest_join(workdir, &dest);
    let ignored = |path: &Path| from.is_none() && b.ignore.excludes(path);
    let mut layer = Layer::default();
    let mut sources_found = Vec::new();
    let mut urls = Vec::new();
    for source in sources {
        let source = expand(source)?;
        if add::is_url(&source) {
            urls.push(source);
        } else {
            sources_found.extend(matching(&source_root, &source, &ignored)?);
        }
    }
    // Docker's rule: into a directory when the destination ends in
    // `/`, is `.`, already is one, or several sources are copied. Resolved
    // inside the stage, whatever symlinks earlier steps left there.
    let stage_root = RootDir::open(stage.files.path()).map_err(|e| Error::Internal(e.into()))?;
    let placing = |e: std::io::Error| Error::usage(format!("cannot place the copied files at {dest}: {e}"));
    let resolved = stage_root.resolve(&dest_path).map_err(placing)?;
    let is_dir = stage_root.dir().symlink_metadata(&resolved).is_ok_and(|m| m.is_dir())
        || resolved.as_os_str().is_empty();
    let several = sources_found.len() + urls.len() + inline.len() > 1;
    // The reference: "If multiple source files are specified, either
    // directly or using a wildcard, then the destination must be a
    // directory (end with a trailing slash /)". BuildKit takes `.` as one.
    let says_dir = dest.ends_with('/') || dest == ".";
    if several && !says_dir {
        return Err(Error::usage(format!(
            "several sources are copied, so the destination must be a directory ending in /: write {dest}/"
        )));
    }
    let into_dir = says_dir || is_dir || several;
    let dest_path = if resolved.as_os_str().is_empty() {
        "/".to_owned()
    } else if into_dir {
        format!("/{}/", rootdir::guest_path(&resolved))
    } else {
        format!("/{}", rootdir::guest_path(&stage_root.resolve_parent(&dest_path).map_err(placing)?))
    };
    for heredoc in inline {
        let target = if into_dir { guest_join(&dest_path, &heredoc.name) } else { dest_path.clone() };
        let body = if heredoc.expand { expand(&heredoc.body)? } else { heredoc.body.clone() };
        let entry =
            Entry { content: Content::File(body.into_bytes()), mode: mode.unwrap_or(0o644), uid, gid };
        add_missing_dirs(&mut layer, &stage_root, parent_of(&target), (uid, gid));
        layer.add(target.trim_start_matches('/').to_owned(), entry);
    }
    for url in &urls {
        let bytes = add::download(url, checksum.as_deref())?;
        let target = if into_dir { guest_join(&dest_path, &add::file_name(url)?) } else { dest_path.clone() };
        // Docker gives a download 0600 unless told otherwise.
        let entry = Entry { content: Content::File(bytes), mode: mode.unwrap_or(0o600), uid, gid };
        add_missing_dirs(&mut layer, &stage_root, parent_of(&target), (uid, gid));
        layer.add(target.trim_start_matches('/').to_owned(), entry);
    }
    let mut copying = Copying { owner: (uid, gid), mode, ignored: &ignored, linked: HashMap::new() };
    for Source { named, resolved } in &sources_found {
        let is_dir =
            resolved.as_os_str().is_empty() || source_root.dir().metadata(resolved).is_ok_and(|m| m.is_dir());
        if *add
            && !is_dir
            && let Some(bytes) = add::archive_in(source_root.dir(), resolved)?
        {
            add_missing_dirs(&mut layer, &stage_root, &dest_path, (uid, gid));
            let owner = chown.as_ref().map(|_| (uid, gid));
            add::unpack(&named.display().to_string(), &bytes, &dest_path, &mut layer, owner)?;
            continue;
        }
        if is_dir {
            // A directory's contents go into the destination.
            add_missing_dirs(&mut layer, &stage_root, &dest_path, (uid, gid));
            let into = dest_path.trim_matches('/');
            copy_children(source_root.dir(), resolved, into, &mut layer, &mut copying)?;
            continue;
        }
        let target = if into_dir {
            let name = named.file_name().unwrap_or_default().to_string_lossy().into_owned();
            format!("{}/{name}", dest_path.trim_end_matches('/'))
        } else {
            dest_path.clone()
        };
        add_missing_dirs(&mut layer, &stage_root, parent_of(&target), (uid, gid));
        collect(source_root.dir(), resolved, &target, &mut layer, &mut copying)?;
    }
    layer
        .write_into(stage_root.dir())
        .map_err(|e| Error::usage(format!("cannot place the copied files: {e}")))?;
    Ok(layer)
}

/// A COPY source found: the path it is known by (its name in the
/// destination) and where it resolves inside its root.
struct Source {
    named: PathBuf,
    resolved: PathBuf,
}

/// The paths in `root` a COPY source names: itself, or what its last
/// component's wildcards match, leaving out what `.dockerignore` excludes.
/// As BuildKit: `..` stops at the root, and a source that is a symlink is
/// followed inside the root (what it points to is copied, by its name).
fn matching(root: &RootDir, source: &str, ignored: &dyn Fn(&Path) -> bool) -> Result<Vec<Source>> {
    let path = rootdir::clamp(source);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let found = |named: PathBuf| -> Result<Source> {
        let resolved = root
            .resolve(&named.to_string_lossy())
            .map_err(|e| Error::usage(format!("COPY source {source}: {e}")))?;
        let shown = if resolved.as_os_str().is_empty() { Path::new(".") } else { &resolved };
        root.dir().symlink_metadata(shown).map_err(|e| Error::usage(format!("COPY source {source}: {e}")))?;
        Ok(Source { named, resolved })
    };
    if !glob::has_wildcards(&name) {
        if ignored(&path) {
            return Err(Error::usage(format!("COPY source {source} is excluded by .dockerignore")));
        }
        return Ok(vec![found(path)?]);
    }
    let parent = path.parent().unwrap_or(Path::new(""));
    let parent_resolved = root
        .resolve(&parent.to_string_lossy())
        .map_err(|e| Error::usage(format!("COPY source {source}: {e}")))?;
    let listing = root
        .dir()
        .read_dir(if parent_resolved.as_os_str().is_empty() { Path::new(".") } else { &parent_resolved })
        .map_err(|e| Error::usage(format!("COPY source {source}: {e}")))?;
    let mut names: Vec<PathBuf> = listing
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|candidate| glob::matches(&name, candidate))
        .map(|candidate| parent.join(candidate))
        .filter(|path| !ignored(path))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::usage(format!("COPY source {source}: no file matches")));
    }
    names.into_iter().map(found).collect()
}

/// A path relative to a root, if it stays inside it (`..` resolved
/// lexically; a leading `/` means the root).
pub(super) fn inside(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir if !out.pop() => return None,
            _ => {}
        }
    }
    Some(out)
}

/// What one COPY gives every file it copies.
struct Copying<'a> {
    owner: (u64, u64),
    /// `--chmod`, else each file keeps its own mode.
    mode: Option<u32>,
    ignored: &'a dyn Fn(&Path) -> bool,
    /// The first target of each file with several names, so that the
    /// others become hard links to it, as in the source.
    linked: HashMap<(u64, u64), String>,
}

/// Adds `source` (a file, a symlink, or a directory and what it holds) at
/// `target`, with its mode unless `--chmod` gives one. Symlinks are copied
/// as the links they are.
fn collect(root: &Dir, source: &Path, target: &str, layer: &mut Layer, c: &mut Copying) -> Result<()> {
    let shown = || source.display().to_string();
    let meta =
        root.symlink_metadata(source).map_err(|e| Error::usage(format!("COPY source {}: {e}", shown())))?;
    let target = target.trim_end_matches('/').trim_start_matches('/').to_owned();
    let (uid, gid) = c.owner;
    let seen = crate::os::fs::seen(&meta);
    let mode = c.mode.unwrap_or(seen.mode & 0o7777);
    if meta.is_dir() {
        layer.add(target.clone(), Entry { content: Content::Dir, mode, uid, gid });
        return copy_children(root, source, &target, layer, c);
    }
    if meta.is_symlink() {
        let link = root
            .read_link_contents(source)
            .map_err(|e| Error::usage(format!("COPY source {}: {e}", shown())))?;
        let link = Content::Symlink(link.to_string_lossy().into_owned());
        layer.add(target, Entry { content: link, mode: 0o777, uid, gid });
        return Ok(());
    }
    if meta.is_file() && seen.links > 1 {
        if let Some(first) = c.linked.get(&seen.inode) {
            layer.add(target, Entry { content: Content::HardLink(first.clone()), mode, uid, gid });
            return Ok(());
        }
        c.linked.insert(seen.inode, target.clone());
    }
    // A fifo or device node is copied as what it is, never opened.
    let (content, _) =
        rootdir::node(root, source).map_err(|e| Error::usage(format!("COPY source {}: {e}", shown())))?;
    layer.add(target, Entry { content, mode, uid, gid });
    Ok(())
}

/// Adds what a directory holds at `target`, in name order.
fn copy_children(root: &Dir, source: &Path, target: &str, layer: &mut Layer, c: &mut Copying) -> Result<()> {
    let source_or_dot = if source.as_os_str().is_empty() { Path::new(".") } else { source };
    let mut children: Vec<_> = root
        .read_dir(source_or_dot)
        .map_err(|e| Error::usage(format!("COPY source {}: {e}", source.display())))?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    children.sort();
    for child in children.into_iter().filter(|child| !(c.ignored)(&source.join(child))) {
        let child_target = if target.is_empty() {
            child.to_string_lossy().into_owned()
        } else {
            format!("{target}/{}", child.to_string_lossy())
        };
        collect(root, &source.join(&child), &child_target, layer, c)?;
    }
    Ok(())
}

/// The directories a COPY makes for its destination, as BuildKit makes
/// them: those missing in the stage, mode 755, owned as `--chown` says.
fn add_missing_dirs(layer: &mut Layer, stage: &RootDir, dir: &str, (uid, gid): (u64, u64)) {
    let mut path = PathBuf::new();
    for part in rootdir::clamp(dir).components() {
        path.push(part);
        if stage.dir().symlink_metadata(&path).is_err() {
            let entry = Entry { content: Content::Dir, mode: 0o755, uid, gid };
            layer.add_if_missing(rootdir::guest_path(&path), entry);
        }
    }
}

/// The directory a path is in.
fn parent_of(path: &str) -> &str {
    path.trim_end_matches('/').rsplit_once('/').map_or("", |(parent, _)| parent)
}
