//! Reading an image: is it wasm or native, where is its program, and how does
//! it want to be run (entrypoint, command, environment, working directory).

use std::path::Path;

use serde::Deserialize;

use crate::filters::{Filters, glob_match};
use crate::plan::{
    DirGrant, Grants, Limits, Module, ModuleSource, NativeOptions, NativeRoot, NativeRun, RunPlan, Workload,
};
use crate::reference::ImageRef;
use crate::store::{Descriptor, Digest, Manifest, REF_NAME, REPO_DIGEST, Store, media};
use crate::{Error, Result};

/// An image in the store.
#[derive(Debug, Clone)]
pub struct Image {
    pub manifest_digest: Digest,
    pub manifest: Manifest,
    pub config: Config,
    /// The config as the image has it, for `inspect`.
    pub raw_config: serde_json::Value,
}

/// The parts of an image config wbox uses, from either shape: the image
/// spec's (Docker+Wasm images) or the wasm artifact's.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub config: RunConfig,
    #[serde(default)]
    pub history: Vec<History>,
}

/// One step of how the image was made (`docker history`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct History {
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

/// How the image wants to run (`config` in the image spec).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub stop_signal: Option<String>,
    #[serde(default)]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// `VOLUME`s: each container gets a new volume at each of these paths.
    #[serde(default)]
    pub volumes: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// `EXPOSE`d ports: `"80/tcp"`.
    #[serde(default)]
    pub exposed_ports: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// What kind of workload an image holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A wasm OCI artifact: the program is this layer.
    WasmArtifact { layer: Descriptor },
    /// A Docker+Wasm image: layers make a root filesystem that holds the
    /// program the entrypoint names.
    WasmRootfs,
    /// Linux (or other) binaries.
    Native { platform: String },
}

impl Image {
    /// Reads an image's manifest and config from the store.
    pub fn load(store: &Store, manifest_digest: &Digest) -> Result<Image> {
        let manifest = Manifest::parse(&store.read_blob(manifest_digest)?)?;
        let bytes = store.read_blob(&manifest.config.digest)?;
        let config = parse_config(&bytes)?;
        let raw_config = serde_json::from_slice(&bytes).unwrap_or_default();
        Ok(Image { manifest_digest: manifest_digest.clone(), manifest, config, raw_config })
    }

    /// When the image was made, if its config says.
    pub fn created(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        parse_time(self.config.created.as_deref()?)
    }

    /// How the image was made, newest step first, as `docker history` shows
    /// it: each step with the size of the layer it made (steps that made
    /// none, 0) and, on the newest, the image id.
    pub fn history(&self, store: &Store) -> Vec<Step> {
        let mut layers = self.manifest.layers.iter().rev();
        let newest = self.config.history.len();
        let steps = self.config.history.iter().enumerate().rev();
        steps
            .map(|(i, step)| Step {
                id: (i + 1 == newest).then(|| self.id().clone()),
                created: step.created.as_deref().and_then(parse_time),
                created_by: step.created_by.clone().unwrap_or_default(),
                size: if step.empty_layer {
                    0
                } else {
                    layers.next().map_or(0, |l| store.content_size(l).unwrap_or(l.size))
                },
                comment: step.comment.clone().unwrap_or_default(),
            })
            .collect()
    }

    /// The image id Docker shows: the config's digest.
    pub fn id(&self) -> &Digest {
        &self.manifest.config.digest
    }

    /// Bytes of all layers' files, unpacked, as `docker images` counts
    /// them; a layer that cannot be read counts its compressed size.
    pub fn size(&self, store: &Store) -> u64 {
        let layer = |l: &Descriptor| store.content_size(l).unwrap_or(l.size);
        self.manifest.layers.iter().map(layer).sum()
    }

    pub fn kind(&self) -> Result<Kind> {
        if self.manifest.config.media_type == media::WASM_CONFIG
            || self.manifest.layers.iter().any(|l| media::is_wasm_layer(&l.media_type))
        {
            return match self.manifest.layers.as_slice() {
                [layer] if media::is_wasm_layer(&layer.media_type) => {
                    Ok(Kind::WasmArtifact { layer: layer.clone() })
                }
                layers => Err(Error::image(format!(
                    "this wasm artifact has {} layers; the wasm OCI artifact format allows exactly one, \
                     of type {}",
                    layers.len(),
                    media::WASM_LAYER
                ))),
            };
        }
        if is_wasm_platform(&self.config.os, &self.config.architecture) {
            return Ok(Kind::WasmRootfs);
        }
        Ok(Kind::Native { platform: format!("{}/{}", self.config.os, self.config.architecture) })
    }

    /// The guest's arguments, `argv[0]` first, for a run given `args` after
    /// the image's name: for an artifact its module's title (else `name`),
    /// for an image with a rootfs its command (`command`). `entrypoint`
    /// replaces the image's (`--entrypoint`).
    pub fn argv(&self, name: &str, args: &[String], entrypoint: Option<&[String]>) -> Result<Vec<String>> {
        match self.kind()? {
            Kind::Native { platform } if !crate::os::platform::RUNS_NATIVE => {
                Err(Error::NotRunnable(format!(
                    "{name} is a native {platform} image, which runs only on Linux; on {} wbox runs {}: pull \
                 one with --platform wasi/wasm if the image offers it",
                    std::env::consts::OS,
                    crate::os::platform::runnable().join(", ")
                )))
            }
            Kind::WasmArtifact { layer } => {
                let title = layer.annotation("org.opencontainers.image.title").unwrap_or(name);
                Ok(std::iter::once(title.to_owned()).chain(args.iter().cloned()).collect())
            }
            Kind::Native { .. } | Kind::WasmRootfs => self.command(args, entrypoint),
        }
    }

    /// The TCP ports its config `EXPOSE`s.
    pub fn exposed_tcp_ports(&self) -> Vec<u16> {
        let exposed = self.config.config.exposed_ports.iter().flatten();
        exposed.filter_map(|(port, _)| port.strip_suffix("/tcp").unwrap_or(port).parse().ok()).collect()
    }

    /// Docker's `--entrypoint`: one program, and `""` clears the image's.
    pub fn entrypoint_flag(flag: Option<&str>) -> Option<Vec<String>> {
        flag.map(|e| if e.is_empty() { Vec::new() } else { vec![e.to_owned()] })
    }

    /// The program's path in the rootfs and its default arguments after it:
    /// Docker's rule, ENTRYPOINT then CMD, where given arguments replace CMD
    /// and a given entrypoint replaces both.
    pub fn command(&self, args: &[String], entrypoint: Option<&[String]>) -> Result<Vec<String>> {
        let run = &self.config.config;
        let mut command = match entrypoint {
            Some(entrypoint) => entrypoint.to_vec(),
            None => run.entrypoint.clone().unwrap_or_default(),
        };
        if !args.is_empty() {
            command.extend(args.iter().cloned());
        } else if entrypoint.is_none() {
            command.extend(run.cmd.clone().unwrap_or_default());
        }
        if command.is_empty() {
            return Err(Error::NotRunnable(
                "the image has no ENTRYPOINT or CMD: give the program to run after the image name".into(),
            ));
        }
        Ok(command)
    }

    /// The image's environment, `KEY=VALUE` strings split.
    pub fn env(&self) -> Vec<(String, String)> {
        let env = self.config.config.env.iter().flatten();
        env.map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (kv.clone(), String::new()),
        })
        .collect()
    }

    /// The plan for running this image as container `id` (whose files go
    /// in `dir`): the image gives its defaults — its environment, working
    /// directory, user, stop signal and, for wasm, its rootfs read-only at
    /// `/` — and the user's grants (`user.args`: the arguments as
    /// `Image::argv` made them) win.
    pub fn plan(
        &self,
        store: &Store,
        id: &str,
        dir: &Path,
        mut user: Grants,
        limits: Limits,
        options: NativeOptions,
    ) -> Result<RunPlan> {
        let run = &self.config.config;
        // The image's rootfs is granted first, the user's directories over it.
        let user_dirs = std::mem::take(&mut user.dirs);
        let mut grants = Grants {
            env: self.env().into_iter().chain(user.env).collect(),
            workdir: user.workdir.or_else(|| run.working_dir.clone().filter(|w| !w.is_empty())),
            ..user
        };
        let mut hold = None;
        let workload = match self.kind()? {
            Kind::WasmArtifact { layer } => {
                let file = store.open_blob_file(&layer.digest)?;
                let source = ModuleSource::Blob { file, digest: layer.digest.to_string() };
                Workload::Wasm(Module { name: grants.args[0].clone(), source })
            }
            Kind::WasmRootfs => {
                let (rootfs, lock) = store.use_rootfs(&self.manifest_digest, &self.manifest.layers)?;
                hold = Some(lock);
                let entry = grants.args[0].clone();
                let file = open_in_rootfs(&rootfs, &entry)?;
                grants.dirs.push(DirGrant { host: rootfs, guest: "/".into(), read_only: true });
                Workload::Wasm(Module { name: entry, source: ModuleSource::Open(file) })
            }
            Kind::Native { .. } => {
                let (rootfs, lock) = store.use_rootfs(&self.manifest_digest, &self.manifest.layers)?;
                hold = Some(lock);
                let user = options.user.clone().or_else(|| run.user.clone()).filter(|u| !u.is_empty());
                let root = NativeRoot::Layered(rootfs);
                Workload::Native(NativeRun::Image { dir: dir.to_owned(), root, options, user })
            }
        };
        grants.dirs.extend(user_dirs);
        grants.check()?;
        let stop_signal = run.stop_signal.as_deref().and_then(|s| crate::ids::parse_signal(s).ok().flatten());
        Ok(RunPlan {
            id: id.to_owned(),
            workload,
            grants,
            limits,
            stop_signal: stop_signal.unwrap_or(crate::ids::SIGTERM),
            hold,
        })
    }

    /// `docker image inspect`'s view of the image.
    pub fn inspect(&self, store: &Store, tags: &[ImageRef]) -> serde_json::Value {
        let repo_digests: Vec<String> = tags
            .iter()
            .map(|t| format!("{}@{}", t.familiar_repository(), self.manifest_digest))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let text =
            |key: &str| self.raw_config.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let size = self.size(store);
        serde_json::json!({
            "Id": self.id(),
            "RepoTags": tags.iter().filter(|t| t.tag().is_some()).map(|t| format!("{}:{}", t.familiar_repository(), t.tag().unwrap_or_default())).collect::<Vec<_>>(),
            "RepoDigests": repo_digests,
            // wbox keeps no parent chain: Docker's for an image pulled.
            "Parent": "",
            "Comment": text("comment"),
            "Created": self.config.created,
            "DockerVersion": text("docker_version"),
            "Author": text("author"),
            "Config": docker_config(self.raw_config.get("config")),
            "Architecture": self.config.architecture,
            "Os": self.config.os,
            "Size": size,
            "VirtualSize": size,
            "RootFS": {
                "Type": "layers",
                // Docker lists the uncompressed layers' digests; an artifact
                // has none, and its layer is the module itself.
                "Layers": self.raw_config.pointer("/rootfs/diff_ids").cloned().unwrap_or_else(|| {
                    self.manifest.layers.iter().map(|l| l.digest.to_string()).collect()
                }),
            },
            "Descriptor": {
                "mediaType": self.manifest.media_type.clone().unwrap_or_else(|| media::OCI_MANIFEST.to_owned()),
                "digest": self.manifest_digest,
            },
        })
    }
}

/// An image's config as Docker's API shows it: every field of Docker's,
/// those the image leaves out empty or null.
fn docker_config(config: Option<&serde_json::Value>) -> serde_json::Value {
    let mut shown = serde_json::json!({
        "Hostname": "", "Domainname": "", "User": "",
        "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
        "Tty": false, "OpenStdin": false, "StdinOnce": false,
        "Env": null, "Cmd": null, "Image": "", "Volumes": null, "WorkingDir": "",
        "Entrypoint": null, "OnBuild": null, "Labels": null,
    });
    if let (Some(given), Some(shown)) = (config.and_then(|c| c.as_object()), shown.as_object_mut()) {
        shown.extend(given.clone());
    }
    shown
}

/// One step of `Image::history`.
pub struct Step {
    pub id: Option<Digest>,
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    pub created_by: String,
    pub size: u64,
    pub comment: String,
}

/// Reads the entrypoint from the rootfs through cap-std, so that a symlink
/// in the image cannot make wbox read a host file.
fn open_in_rootfs(rootfs: &Path, entry: &str) -> Result<std::fs::File> {
    let dir = cap_std::fs::Dir::open_ambient_dir(rootfs, cap_std::ambient_authority())
        .map_err(|e| Error::image(format!("cannot open the image's root filesystem: {e}")))?;
    let file = dir.open(entry.trim_start_matches('/')).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound { path: format!("{entry} (in the image)").into() },
        _ => Error::NotRunnable(format!("{entry} cannot be read from the image: {e}")),
    })?;
    let file = file.into_std();
    if file.metadata().is_ok_and(|meta| !meta.is_file()) {
        return Err(Error::NotRunnable(format!("{entry} in the image is not a file")));
    }
    Ok(file)
}

/// `wasi/wasm` as Docker writes it, and `wasip1`/`wasip2` as the wasm
/// artifact spec does.
pub fn is_wasm_platform(os: &str, architecture: &str) -> bool {
    architecture == "wasm" && matches!(os, "wasi" | "wasip1" | "wasip2")
}

/// An RFC 3339 time, as image configs write them.
pub fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    text.parse().ok()
}

pub(crate) fn parse_config(bytes: &[u8]) -> Result<Config> {
    serde_json::from_slice(bytes).map_err(|e| Error::image(format!("the image config is not valid: {e}")))
}

/// Finds a tagged image in the store.
pub fn find(store: &Store, reference: &ImageRef) -> Result<Option<Image>> {
    match store.resolve(reference)? {
        Some(descriptor) => Ok(Some(Image::load(store, &descriptor.digest)?)),
        None => Ok(None),
    }
}

/// What `wbox run` was given: a file or an image.
#[derive(Debug, PartialEq, Eq)]
pub enum RunTarget {
    File(std::path::PathBuf),
    Image(ImageRef),
}

impl RunTarget {
    /// A path that exists, ends in `.wasm` or is written as a path (`./x`,
    /// `/x`) is a file; anything else names an image.
    pub fn parse(text: &Path) -> Result<RunTarget> {
        let as_text = text.to_str();
        let looks_like_file = text.exists()
            || text.extension().is_some_and(|e| e == "wasm")
            || as_text.is_none_or(|t| t.starts_with('.') || t.starts_with('/'));
        match as_text {
            Some(name) if !looks_like_file => Ok(RunTarget::Image(ImageRef::parse(name)?)),
            _ => Ok(RunTarget::File(text.to_owned())),
        }
    }
}

/// An image as `wbox images` lists it: a tag and what it names, or an
/// image that has no name (an untagged build).
pub struct Tagged {
    pub reference: Option<ImageRef>,
    pub image: Image,
    /// Where a registry holds it, `REPOSITORY@DIGEST`, if wbox knows.
    pub repo_digest: Option<String>,
}

/// The filters `images` takes, as Docker's.
pub const FILTERS: &[&str] = &["before", "dangling", "label", "reference", "since"];

/// An image as `images` lists it, with the names the filters let through.
pub struct Summary {
    pub image: Image,
    pub tags: Vec<ImageRef>,
    /// Where registries hold it (`REPOSITORY@DIGEST`), Docker's `RepoDigests`.
    pub repo_digests: Vec<String>,
}

/// The images `docker images` would list for `filters`, newest first: each
/// once, with its names (`reference` keeps only the names it matches).
pub fn summaries(store: &Store, filters: &Filters) -> Result<Vec<Summary>> {
    let created_of = |values: &[String]| -> Result<Vec<Option<chrono::DateTime<chrono::Utc>>>> {
        values.iter().map(|name| Ok(lookup(store, name)?.0.created())).collect()
    };
    let (before, since) = (created_of(filters.values("before"))?, created_of(filters.values("since"))?);
    let dangling = filters.boolean("dangling")?;
    let mut summaries: Vec<Summary> = Vec::new();
    for tagged in list(store)? {
        let at = summaries.iter().position(|s| s.image.manifest_digest == tagged.image.manifest_digest);
        let summary = match at {
            Some(at) => &mut summaries[at],
            None => {
                summaries.push(Summary { image: tagged.image, tags: Vec::new(), repo_digests: Vec::new() });
                summaries.last_mut().expect("just pushed")
            }
        };
        summary.tags.extend(tagged.reference);
        if let Some(kept) = tagged.repo_digest
            && !summary.repo_digests.contains(&kept)
        {
            summary.repo_digests.push(kept);
        }
    }
    summaries.retain_mut(|summary| {
        let created = summary.image.created();
        let references = filters.values("reference");
        if !references.is_empty() {
            // As Docker's FamiliarMatch: the whole name, else its repository.
            let matches = |name: &str, repository: &str| {
                references.iter().any(|pattern| glob_match(pattern, name) || glob_match(pattern, repository))
            };
            summary.tags.retain(|tag| matches(&tag.familiar(), &tag.familiar_repository()));
            summary
                .repo_digests
                .retain(|kept| matches(kept, kept.split_once('@').map_or(kept.as_str(), |(r, _)| r)));
            if summary.tags.is_empty() && summary.repo_digests.is_empty() {
                return false;
            }
        }
        dangling.is_none_or(|dangling| dangling == summary.tags.is_empty())
            && filters
                .labels_match(summary.image.config.config.labels.as_ref().unwrap_or(&Default::default()))
            && before.iter().all(|b| created < *b)
            && since.iter().all(|s| created > *s)
    });
    // Newest first; an image without a time is the oldest.
    summaries.sort_by_key(|s| std::cmp::Reverse(s.image.created()));
    Ok(summaries)
}

/// `tag`: gives the image `source` names (a name or an id) another name.
pub fn tag(store: &Store, source: &str, target: &ImageRef) -> Result<()> {
    let (found, _) = lookup(store, source)?;
    store.tag(target, &store.resolve_digest(&found.manifest_digest)?)?;
    record(store, "tag", found.id(), &target.familiar());
    Ok(())
}

/// Records an event of an image, as Docker's: by its id, with a name.
pub(crate) fn record(store: &Store, action: &str, id: &Digest, name: &str) {
    crate::events::record(store.root(), "image", action, &id.to_string(), &[("name", name)]);
}

/// Finds an image by name, else by id (the config digest, or a unique
/// prefix of it, as `docker rmi 3c70709e` takes it). Returns the image and
/// the names it has.
pub fn lookup(store: &Store, name: &str) -> Result<(Image, Vec<ImageRef>)> {
    let tagged = list(store)?;
    let by_name =
        ImageRef::parse(name).ok().and_then(|r| tagged.iter().find(|t| t.reference.as_ref() == Some(&r)));
    let image = match by_name {
        Some(found) => &found.image,
        None => by_id(&tagged, name)?.ok_or_else(|| Error::NoSuchImage(name.to_owned()))?,
    };
    let names = tagged.iter().filter(|t| t.image.manifest_digest == image.manifest_digest);
    Ok((image.clone(), names.filter_map(|t| t.reference.clone()).collect()))
}

/// What `run` does for an image it names: use the one stored, or pull it
/// first, as `docker run` does.
pub enum ForRun {
    Stored(Box<Image>),
    /// Pull it; what to tell the user first.
    Pull(String),
}

/// The stored image `reference` names (or the untagged one whose id it was
/// written as), unless it is stored for another platform than `platform`,
/// which Docker pulls again.
pub fn for_run(store: &Store, reference: &ImageRef, platform: Option<&str>) -> Result<ForRun> {
    if let Some(found) = find(store, reference)? {
        let stored = format!("{}/{}", found.config.os, found.config.architecture);
        return Ok(match platform {
            Some(wanted) if !wanted.starts_with(&stored) => {
                ForRun::Pull(format!("The stored '{}' is {stored}; pulling {wanted}", reference.familiar()))
            }
            _ => ForRun::Stored(Box::new(found)),
        });
    }
    Ok(match by_id_written_as(store, reference)? {
        Some(found) => ForRun::Stored(Box::new(found)),
        None => ForRun::Pull(format!("Unable to find image '{}' locally", reference.familiar())),
    })
}

/// The image whose id (or a unique prefix of it, with or without
/// `sha256:`) a reference was written as, as `docker run 3c70709e` finds an
/// untagged build. A name without a tag was given `latest`, and `sha256:ID`
/// reads as a name and a tag: what the user wrote is recovered from those.
fn by_id_written_as(store: &Store, reference: &ImageRef) -> Result<Option<Image>> {
    let written = match reference.tag() {
        Some("latest") if reference.digest().is_none() => reference.familiar_repository(),
        _ => reference.familiar(),
    };
    Ok(by_id(&list(store)?, &written)?.cloned())
}

fn by_id<'a>(tagged: &'a [Tagged], id: &str) -> Result<Option<&'a Image>> {
    let prefix = id.strip_prefix("sha256:").unwrap_or(id);
    if prefix.len() < 4 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut matching: Vec<&Image> =
        tagged.iter().map(|t| &t.image).filter(|i| i.id().hex().starts_with(prefix)).collect();
    matching.dedup_by(|a, b| a.id() == b.id());
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(Error::Ambiguous { prefix: id.to_owned(), count: matching.len(), what: "images" }),
    }
}

/// What `rmi` did.
pub struct Removed {
    /// The names it lost, and with its last name its `REPOSITORY@DIGEST`s.
    pub untagged: Vec<String>,
    /// The image id, and whether the image itself went (no name is left).
    pub id: Digest,
    pub deleted: bool,
    /// The layers that went with it, by chain id as Docker names them, the
    /// top one first.
    pub deleted_layers: Vec<Digest>,
}

/// `rmi`: removes a name, or by id every name of an image (with `force`
/// when there are several), then the blobs no image uses any more. A name
/// is removed even when its image no longer reads, so damage can be undone.
/// `in_use`: the images containers were made of, which stay.
pub fn remove(store: &Store, name: &str, force: bool, in_use: &[Digest]) -> Result<Removed> {
    let named = match ImageRef::parse(name) {
        Ok(reference) => store.resolve(&reference)?.map(|descriptor| (reference, descriptor)),
        Err(_) => None,
    };
    let (manifest, untagged) = match named {
        Some((reference, descriptor)) => (descriptor.digest, vec![reference]),
        None => {
            let (image, names) = lookup(store, name)?;
            if names.len() > 1 && !force {
                return Err(Error::usage(format!(
                    "image {name} has {} names ({}); remove them by name, or pass -f to remove them all",
                    names.len(),
                    names.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
                )));
            }
            (image.manifest_digest, names)
        }
    };
    let image = Image::load(store, &manifest).ok();
    let id = image.as_ref().map_or_else(|| manifest.clone(), |image| image.id().clone());
    let repo_digests: Vec<String> = summaries(store, &Filters::default())?
        .into_iter()
        .find(|summary| summary.image.manifest_digest == manifest)
        .map(|summary| summary.repo_digests)
        .unwrap_or_default();
    for reference in &untagged {
        store.untag(reference)?;
    }
    if store.index()?.manifests.iter().all(|d| d.digest != manifest || d.annotation(REF_NAME).is_none()) {
        store.forget_untagged(&manifest)?;
    }
    let deleted = store.resolve_digest(&manifest).is_err();
    // Docker names the image by its id in both.
    for _ in &untagged {
        record(store, "untag", &id, &id.to_string());
    }
    let mut untagged: Vec<String> = untagged.iter().map(ImageRef::familiar).collect();
    let mut deleted_layers = Vec::new();
    if deleted {
        record(store, "delete", &id, &id.to_string());
        store.collect_garbage(in_use)?;
        untagged.extend(repo_digests);
        if let Some(image) = &image {
            let gone = image.manifest.layers.iter().map(|layer| !store.has_blob(&layer.digest));
            deleted_layers =
                chain_ids(image).into_iter().zip(gone).filter_map(|(c, gone)| gone.then_some(c)).collect();
            deleted_layers.reverse();
        }
    }
    Ok(Removed { untagged, id, deleted, deleted_layers })
}

/// The image's layers by chain id, base first: the first layer's diff id,
/// then each the digest of the one below's chain id, a space, and its diff
/// id (the OCI image spec's ChainID).
fn chain_ids(image: &Image) -> Vec<Digest> {
    let diff_ids =
        image.raw_config.pointer("/rootfs/diff_ids").and_then(|d| d.as_array()).cloned().unwrap_or_default();
    let mut chain: Vec<Digest> = Vec::new();
    for diff_id in diff_ids.iter().filter_map(|d| d.as_str()) {
        let next = match chain.last() {
            None => Digest::parse(diff_id),
            Some(below) => Ok(Digest::of(format!("{below} {diff_id}").as_bytes())),
        };
        let Ok(next) = next else { break };
        chain.push(next);
    }
    chain
}

/// What `image prune` did.
pub struct Pruned {
    /// Each image removed: the names and `REPOSITORY@DIGEST`s it lost, and
    /// its id.
    pub images: Vec<(Vec<String>, Digest)>,
    /// What the removed layers took, as Docker counts reclaimed space.
    pub freed: u64,
}

/// The filters `image prune` takes.
pub const PRUNE_FILTERS: &[&str] = &["dangling", "label", "label!", "until"];

/// `image prune`: removes the images without a name (with `all` or
/// `dangling=false`, every image) that no container was made of (`in_use`)
/// and the filters let through, then the blobs no image uses any more.
pub fn prune(store: &Store, all: bool, in_use: &[Digest], filters: &Filters) -> Result<Pruned> {
    let all = all || filters.boolean("dangling")? == Some(false);
    let until = filters.until(chrono::Utc::now())?;
    let mut images = Vec::new();
    let mut layers = std::collections::BTreeMap::new();
    for summary in summaries(store, &Filters::default())? {
        let manifest = &summary.image.manifest_digest;
        let labels = summary.image.config.config.labels.clone().unwrap_or_default();
        let created = summary.image.created().unwrap_or_default();
        if in_use.contains(manifest)
            || !(all || summary.tags.is_empty())
            || !filters.labels_match(&labels)
            || !Filters::before_until(until, created)
        {
            continue;
        }
        for layer in &summary.image.manifest.layers {
            layers.insert(layer.digest.clone(), store.content_size(layer).unwrap_or(layer.size));
        }
        for tag in &summary.tags {
            store.untag(tag)?;
        }
        store.forget_untagged(manifest)?;
        let mut untagged: Vec<String> = summary.tags.iter().map(ImageRef::familiar).collect();
        untagged.extend(summary.repo_digests);
        let id = summary.image.id();
        for _ in &untagged {
            record(store, "untag", id, &id.to_string());
        }
        record(store, "delete", id, &id.to_string());
        images.push((untagged, id.clone()));
    }
    store.collect_garbage(in_use)?;
    // Layers another image shares stay, and free nothing.
    let freed = layers.iter().filter(|(digest, _)| !store.has_blob(digest)).map(|(_, size)| size).sum();
    Ok(Pruned { images, freed })
}

/// Every image in the store that reads, tagged or not, newest last. One that
/// does not (damaged, or collected meanwhile) is skipped with a warning, so
/// that it cannot keep the others from view.
pub fn list(store: &Store) -> Result<Vec<Tagged>> {
    let mut tagged = Vec::new();
    for entry in store.index()?.manifests {
        let name = entry.annotation(REF_NAME);
        let reference = match name {
            None => None,
            Some(name) => match ImageRef::parse(name) {
                Ok(reference) => Some(reference),
                Err(_) => {
                    tracing::warn!("index.json names '{name}', which is not an image reference; skipped");
                    continue;
                }
            },
        };
        let shown = name.map_or_else(|| entry.digest.to_string(), str::to_owned);
        match Image::load(store, &entry.digest) {
            Ok(image) => {
                let repo_digest = entry.annotation(REPO_DIGEST).map(str::to_owned);
                tagged.push(Tagged { reference, image, repo_digest })
            }
            Err(e) => tracing::warn!("{shown}: {e}; `wbox rmi {shown}` removes it"),
        }
    }
    Ok(tagged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_targets() {
        let file = |t: &str| RunTarget::File(t.into());
        assert_eq!(RunTarget::parse(Path::new("./hello.wasm")).unwrap(), file("./hello.wasm"));
        assert_eq!(RunTarget::parse(Path::new("hello.wasm")).unwrap(), file("hello.wasm"));
        assert_eq!(RunTarget::parse(Path::new("/no/such")).unwrap(), file("/no/such"));
        assert_eq!(
            RunTarget::parse(Path::new("localhost:5000/hello:1.0")).unwrap(),
            RunTarget::Image(ImageRef::parse("localhost:5000/hello:1.0").unwrap())
        );
        assert!(RunTarget::parse(Path::new("Bad Name")).is_err());
    }
}
