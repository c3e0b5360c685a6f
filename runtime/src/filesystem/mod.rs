//! A container's filesystem as a whole, as `diff`, `export` and `import`
//! see it: the image's files, and for a native container its own changes
//! over them (a wasm container's image is read-only: it writes only to its
//! grants, so it has no changes).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::build::{self, BuildOptions, Context, DockerfileAt};
use crate::container::Container;
use crate::image::{Image, Kind};
use crate::reference::ImageRef;
use crate::rootdir::{RootDir, Seen, Snapshot};
use crate::store::{Descriptor, Digest, Store, media};
use crate::wasm::CompileCache;
use crate::{Error, Result};

pub mod copy;

/// A change `diff` reports, as Docker's letters: `A`dded, `C`hanged, `D`eleted.
pub type Change = (char, String);

/// `diff`: what the container changed in its image's files, by path.
pub fn diff(store: &Store, container: &Container) -> Result<Vec<Change>> {
    let image = Image::load(store, &container.config.spec.image_id)?;
    let Some(files) = Files::of(store, container, &image)? else { return Ok(Vec::new()) };
    let (before, after) = (snapshot(&files.image)?, snapshot(&files.merged)?);
    let mut changes: Vec<Change> = Vec::new();
    for (path, seen) in after.iter().filter(|(p, _)| !made_by_the_runtime(p)) {
        match before.get(path) {
            None => changes.push(('A', path.clone())),
            Some(was) if !same(was, seen) => changes.push(('C', path.clone())),
            Some(_) => {}
        }
    }
    changes.extend(before.keys().filter(|p| !after.contains_key(*p)).map(|p| ('D', p.clone())));
    // As Docker's: the directories that hold a change have changed too.
    let changed: BTreeSet<String> = changes.iter().map(|(_, p)| p.clone()).collect();
    for path in changed.iter().flat_map(|p| parents(p)) {
        if !changed.contains(&path) && before.contains_key(&path) && after.contains_key(&path) {
            changes.push(('C', path));
        }
    }
    changes.sort_by(|a, b| a.1.cmp(&b.1));
    changes.dedup();
    Ok(changes.into_iter().map(|(kind, path)| (kind, format!("/{path}"))).collect())
}

/// `export`: the container's filesystem as one tar, as a layer holds it.
pub fn export(store: &Store, container: &Container) -> Result<Vec<u8>> {
    let image = Image::load(store, &container.config.spec.image_id)?;
    let Some(files) = Files::of(store, container, &image)? else {
        return Err(Error::usage(format!(
            "{} runs a wasm artifact, which has no filesystem; `wbox save {}` writes its image",
            container.config.name, container.config.spec.image
        )));
    };
    let merged = RootDir::open(&files.merged).map_err(|e| read_error(&files.merged, e))?;
    let layer = build::changes(&merged, &Snapshot::new(), merged.snapshot())?;
    layer.tar(chrono::Utc::now().timestamp().max(0) as u64).map_err(|e| read_error(&files.merged, e))
}

/// What `import` makes of a tar besides its files.
pub struct Import<'a> {
    /// Dockerfile instructions (`CMD`, `ENV`, …) for its config.
    pub changes: &'a [String],
    /// The comment of its one step; Docker's default names the source.
    pub message: Option<&'a str>,
    /// Where the tar came from: `-`, or the URL.
    pub source: &'a str,
    /// `OS/ARCH`, `wasi/wasm` unless told.
    pub platform: Option<&'a str>,
    /// Its name; none leaves it without one.
    pub tag: Option<ImageRef>,
}

/// `import`: an image of one layer, the files of `tar`, and one step in
/// its history, as Docker's.
pub fn import(root: &Path, store: &Store, tar: Vec<u8>, import: Import) -> Result<build::Built> {
    check_changes(import.changes)?;
    let platform = import.platform.unwrap_or("wasi/wasm");
    let Some((os, architecture)) = platform.split_once('/') else {
        return Err(Error::usage(format!("--platform {platform}: write OS/ARCH, e.g. linux/amd64")));
    };
    // The files, as a build ADDs them (the tar checked as ADD checks one).
    let mut context = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(tar.len() as u64);
    header.set_mode(0o644);
    context
        .append_data(&mut header, "imported.tar", tar.as_slice())
        .map_err(|e| Error::Internal(e.into()))?;
    let context = context.into_inner().map_err(|e| Error::Internal(e.into()))?;
    let dockerfile = "FROM scratch\nADD imported.tar /\n".to_owned();
    let options =
        BuildOptions { dockerfile: DockerfileAt::Text(dockerfile), ..quiet_build(Context::Archive(context)) };
    let built = build::build(root, store, &CompileCache::in_root(root), &options, &mut |_| {})?;
    let layered = Image::load(store, &built.manifest)?;
    // Its config is what the changes make, from none at all.
    let mut config = layered.raw_config.clone();
    let now = chrono::Utc::now().to_rfc3339();
    let comment = import.message.map_or_else(|| format!("Imported from {}", import.source), str::to_owned);
    config["config"] = serde_json::json!({});
    config["history"] = serde_json::json!([{"created": now, "comment": comment}]);
    config["created"] = now.into();
    config["comment"] = comment.into();
    config["os"] = os.into();
    config["architecture"] = architecture.into();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&store.read_blob(&built.manifest)?).map_err(|e| Error::Internal(e.into()))?;
    let config_type = &layered.manifest.config.media_type;
    // Each image kept in the index before the one it replaces leaves it.
    let mut imported = write(store, &config, &mut manifest, config_type)?;
    store.keep_untagged(&imported)?;
    store.forget_untagged(&built.manifest)?;
    if !import.changes.is_empty() {
        let blank = imported.digest;
        config["config"] = changed_config(root, store, &blank, import.changes)?;
        imported = write(store, &config, &mut manifest, config_type)?;
        store.keep_untagged(&imported)?;
        store.forget_untagged(&blank)?;
    }
    name(store, &imported, import.tag.as_ref())?;
    let image = Image::load(store, &imported.digest)?;
    let named = import.tag.map_or_else(|| image.id().to_string(), |t| t.familiar());
    crate::image::record(store, "import", image.id(), &named);
    Ok(build::Built { id: image.id().clone(), manifest: imported.digest })
}

/// `commit`: a new image of the container's image with the container's
/// changes as one more layer (a wasm container has none: only a step in
/// its history), `message` as that step's comment, `author`, then
/// `changes` (Dockerfile instructions) for its config; named `tag` or left
/// without a name.
pub fn commit(
    root: &Path,
    store: &Store,
    container: &Container,
    changes: &[String],
    message: Option<&str>,
    author: Option<&str>,
    tag: Option<ImageRef>,
) -> Result<build::Built> {
    check_changes(changes)?;
    let image = Image::load(store, &container.config.spec.image_id)?;
    let mut config = image.raw_config.clone();
    let mut manifest: serde_json::Value = serde_json::from_slice(&store.read_blob(&image.manifest_digest)?)
        .map_err(|e| Error::Internal(e.into()))?;
    let now = chrono::Utc::now();
    let mut step = serde_json::json!({"created": now.to_rfc3339(), "created_by": "wbox commit"});
    if let Some(message) = message {
        step["comment"] = message.into();
    }
    let layer = match Files::of(store, container, &image)? {
        Some(files) => {
            let merged = RootDir::open(&files.merged).map_err(|e| read_error(&files.merged, e))?;
            let mut before = snapshot(&files.image)?;
            let mut after = merged.snapshot();
            before.retain(|path, _| !made_by_the_runtime(path));
            after.retain(|path, _| !made_by_the_runtime(path));
            Some(build::changes(&merged, &before, after)?).filter(|layer| !layer.is_empty())
        }
        None => None,
    };
    match layer {
        Some(layer) => {
            let tar = layer.tar(now.timestamp().max(0) as u64).map_err(|e| Error::Internal(e.into()))?;
            let (bytes, descriptor) = build::layer::compress(&tar).map_err(|e| Error::Internal(e.into()))?;
            store.put_blob(&descriptor, &bytes)?;
            push(&mut manifest["layers"], serde_json::to_value(&descriptor).expect("JSON"));
            push(&mut config["rootfs"]["diff_ids"], Digest::of(&tar).to_string().into());
        }
        None => step["empty_layer"] = true.into(),
    }
    push(&mut config["history"], step);
    config["created"] = now.to_rfc3339().into();
    if let Some(author) = author {
        config["author"] = author.into();
    }
    // Docker's commit is one step, whatever it changes in the config.
    if !changes.is_empty() {
        config["config"] = changed_config(root, store, &image.manifest_digest, changes)?;
    }
    let committed = write(store, &config, &mut manifest, &image.manifest.config.media_type)?;
    name(store, &committed, tag.as_ref())?;
    let id = Image::load(store, &committed.digest)?.id().clone();
    crate::image::record(store, "commit", &id, &container.config.name);
    Ok(build::Built { id, manifest: committed.digest })
}

/// Refuses what is not an instruction of an image's config.
fn check_changes(changes: &[String]) -> Result<()> {
    const ALLOWED: &[&str] = &[
        "CMD",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "LABEL",
        "ONBUILD",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ];
    for change in changes {
        let instruction = change.split_whitespace().next().unwrap_or_default().to_uppercase();
        if !ALLOWED.contains(&instruction.as_str()) || change.contains('\n') {
            return Err(Error::usage(format!(
                "--change '{change}': {instruction} is not an instruction of an image's config"
            )));
        }
    }
    Ok(())
}

/// What `changes` make of the config (`config` in the image spec) of the
/// image of `manifest`: a build on it (which names it for the while) says.
fn changed_config(
    root: &Path,
    store: &Store,
    manifest: &Digest,
    changes: &[String],
) -> Result<serde_json::Value> {
    // A name of its own, so that commits at once do not take each other's.
    let base = ImageRef::parse(&format!("wbox-commit-base/{}", crate::ids::new_id()?))?;
    store.tag(&base, &store.resolve_digest(manifest)?)?;
    let dockerfile = format!("FROM {base}\n{}\n", changes.join("\n"));
    let options = BuildOptions { dockerfile: DockerfileAt::Text(dockerfile), ..quiet_build(Context::Empty) };
    let built = build::build(root, store, &CompileCache::in_root(root), &options, &mut |_| {});
    store.untag(&base)?;
    let built = built?;
    let mut config = Image::load(store, &built.manifest)?.raw_config["config"].clone();
    store.forget_untagged(&built.manifest)?;
    // The build gives a base without PATH Docker's default one (BuildKit's
    // rule); a commit keeps the environment as it was, with the changes.
    let had_path = |config: &serde_json::Value| {
        config["Env"]
            .as_array()
            .is_some_and(|env| env.iter().any(|v| v.as_str().is_some_and(|v| v.starts_with("PATH="))))
    };
    let base = Image::load(store, manifest)?.raw_config["config"].clone();
    if !had_path(&base)
        && !changes.iter().any(|c| c.contains("PATH"))
        && let Some(env) = config["Env"].as_array_mut()
    {
        env.retain(|v| !v.as_str().is_some_and(|v| v.starts_with("PATH=")));
    }
    Ok(config)
}

/// Options of a build that one of wbox's own commands runs.
fn quiet_build(context: Context) -> BuildOptions {
    BuildOptions {
        context,
        dockerfile: DockerfileAt::Text(String::new()),
        tags: Vec::new(),
        build_args: Vec::new(),
        target: None,
        no_cache: true,
        artifact: false,
        network: None,
        platform: None,
        secrets: Vec::new(),
        labels: Default::default(),
        step_output: None,
    }
}

/// Names an image `tag`, or keeps it without a name.
fn name(store: &Store, manifest: &Descriptor, tag: Option<&ImageRef>) -> Result<()> {
    match tag {
        Some(tag) => store.tag(tag, manifest),
        None => store.keep_untagged(manifest),
    }
}

/// Writes an image's config, then its manifest pointing at it.
fn write(
    store: &Store,
    config: &serde_json::Value,
    manifest: &mut serde_json::Value,
    config_type: &str,
) -> Result<Descriptor> {
    let config_bytes = serde_json::to_vec(config).expect("JSON");
    let config_descriptor = Descriptor::of(config_type, &config_bytes);
    store.put_blob(&config_descriptor, &config_bytes)?;
    manifest["config"] = serde_json::to_value(&config_descriptor).expect("JSON");
    let media_type = manifest["mediaType"].as_str().unwrap_or(media::OCI_MANIFEST).to_owned();
    let manifest_bytes = serde_json::to_vec(manifest).expect("JSON");
    let descriptor = Descriptor::of(&media_type, &manifest_bytes);
    store.put_blob(&descriptor, &manifest_bytes)?;
    Ok(descriptor)
}

/// Appends to a JSON list, making it if missing.
fn push(list: &mut serde_json::Value, item: serde_json::Value) {
    if !list.is_array() {
        *list = serde_json::json!([]);
    }
    list.as_array_mut().expect("a list").push(item);
}

/// The image's files and the container's view of them, the latter held
/// mounted for as long as this lives.
struct Files {
    image: PathBuf,
    merged: PathBuf,
    _image_held: std::fs::File,
    mounted: Option<crate::native::Rootfs>,
    /// A stopped container's run lock, while its view is mounted here.
    _stopped: Option<std::fs::File>,
}

impl Files {
    /// None for a wasm artifact, which has no files.
    fn of(store: &Store, container: &Container, image: &Image) -> Result<Option<Files>> {
        Self::open(store, container, image, false)
    }

    /// `of`, where a native container that never ran gets its own layer
    /// now: what is written to `merged` must never reach the image's files.
    fn to_write(store: &Store, container: &Container, image: &Image) -> Result<Option<Files>> {
        Self::open(store, container, image, matches!(image.kind()?, Kind::Native { .. }))
    }

    /// Whether `merged` is the container's own view, not the image's files.
    fn own(&self) -> bool {
        self.merged != self.image
    }

    fn open(store: &Store, container: &Container, image: &Image, writing: bool) -> Result<Option<Files>> {
        if matches!(image.kind()?, Kind::WasmArtifact { .. }) {
            return Ok(None);
        }
        let (rootfs, held) = store.use_rootfs(&image.manifest_digest, &image.manifest.layers)?;
        let native = container.native_dir();
        if !writing && !native.join("upper").exists() {
            return Ok(Some(Files {
                image: rootfs.clone(),
                merged: rootfs,
                _image_held: held,
                mounted: None,
                _stopped: None,
            }));
        }
        // A running container's view is mounted; a stopped one's, for now,
        // holding its run lock so that it cannot start meanwhile (a second
        // overlay over the same layer would corrupt it).
        let stopped = if container.is_running() { None } else { container.hold_stopped()? };
        let (merged, mounted) = match &stopped {
            None => (crate::native::Rootfs::path_in(&native), None),
            Some(_) => {
                let mounted = crate::native::Rootfs::mount(&native, &rootfs, false)?;
                (mounted.path.clone(), Some(mounted))
            }
        };
        Ok(Some(Files { image: rootfs, merged, _image_held: held, mounted, _stopped: stopped }))
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        if let Some(mounted) = self.mounted.take() {
            mounted.unmount();
        }
    }
}

fn snapshot(path: &Path) -> Result<Snapshot> {
    Ok(RootDir::open(path).map_err(|e| read_error(path, e))?.snapshot())
}

/// Whether a file is as it was, whatever its inode (the container's view
/// may show the image's files under other numbers). A directory has
/// changed when its mode or owner has; what happened inside it shows as
/// changes of its own.
fn same(was: &Seen, is: &Seen) -> bool {
    let directory = was.kind == crate::rootdir::S_IFDIR && is.kind == crate::rootdir::S_IFDIR;
    if directory {
        return (was.mode, was.uid, was.gid) == (is.mode, is.uid, is.gid);
    }
    (was.kind, was.size, was.mode, was.uid, was.gid, was.modified, was.rdev)
        == (is.kind, is.size, is.mode, is.uid, is.gid, is.modified, is.rdev)
}

/// What the runtime puts in a native container's files (mount points of
/// `/dev`, `/proc`, `/sys` and the files it provides), which Docker keeps
/// in a layer of its own and leaves out of `diff`.
fn made_by_the_runtime(path: &str) -> bool {
    let top = path.split('/').next().unwrap_or_default();
    matches!(top, "dev" | "proc" | "sys" | ".dockerenv")
        || matches!(path, "etc/hostname" | "etc/hosts" | "etc/resolv.conf" | "etc/mtab")
}

/// `a/b/c`'s `a` and `a/b`.
fn parents(path: &str) -> Vec<String> {
    path.match_indices('/').map(|(at, _)| path[..at].to_owned()).collect()
}

fn read_error(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(anyhow::anyhow!("reading {}: {e}", path.display()))
}
