//! Reading an image: is it wasm or native, where is its program, and how does
//! it want to be run (entrypoint, command, environment, working directory).

use std::path::Path;

use serde::Deserialize;

use crate::reference::ImageRef;
use crate::store::{Descriptor, Digest, Manifest, Store, media};
use crate::wasm::{CompileCache, DirGrant, Grants, Program};
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

    /// The image id Docker shows: the config's digest.
    pub fn id(&self) -> &Digest {
        &self.manifest.config.digest
    }

    /// Bytes of all layers, compressed, as `docker images` counts them.
    pub fn size(&self) -> u64 {
        self.manifest.layers.iter().map(|l| l.size).sum::<u64>() + self.manifest.config.size
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

    /// The program's path in the rootfs and its default arguments after it:
    /// Docker's rule, ENTRYPOINT then CMD, where given arguments replace CMD.
    pub fn command(&self, args: &[String]) -> Result<Vec<String>> {
        let run = &self.config.config;
        let mut command = run.entrypoint.clone().unwrap_or_default();
        if args.is_empty() {
            command.extend(run.cmd.clone().unwrap_or_default());
        } else {
            command.extend(args.iter().cloned());
        }
        if command.is_empty() {
            return Err(Error::NotRunnable(
                "the image has no ENTRYPOINT or CMD: give the .wasm program to run after the image name"
                    .into(),
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
}

impl Image {
    /// The program to run and the grants to run it with. The image gives its
    /// defaults — its rootfs read-only at `/`, its environment, working
    /// directory and command — and the user's grants and arguments win.
    pub fn prepare_run(
        &self,
        store: &Store,
        cache: &CompileCache,
        name: &str,
        args: &[String],
        user: Grants,
    ) -> Result<(Program, Grants)> {
        let mut grants = Grants { env: self.env(), ..Grants::default() };
        grants.env.extend(user.env);
        grants.workdir =
            user.workdir.or_else(|| self.config.config.working_dir.clone().filter(|w| !w.is_empty()));
        let program = match self.kind()? {
            Kind::Native { platform } => {
                return Err(Error::NotRunnable(format!(
                    "{name} is a native {platform} image; wbox runs wasm images (wasi/wasm) today,                      and native containers are not built yet"
                )));
            }
            Kind::WasmArtifact { layer } => {
                let bytes = store.read_blob(&layer.digest)?;
                let title = layer.annotation("org.opencontainers.image.title").unwrap_or(name).to_owned();
                grants.args = std::iter::once(title.clone()).chain(args.iter().cloned()).collect();
                Program::load_bytes(title, &bytes, cache)?
            }
            Kind::WasmRootfs => {
                let rootfs = store.unpack(&self.manifest_digest, &self.manifest.layers)?;
                grants.args = self.command(args)?;
                let entry = grants.args[0].clone();
                let bytes = read_in_rootfs(&rootfs, &entry)?;
                grants.dirs.push(DirGrant { host: rootfs, guest: "/".into(), read_only: true });
                Program::load_bytes(entry, &bytes, cache)?
            }
        };
        grants.dirs.extend(user.dirs);
        grants.check()?;
        Ok((program, grants))
    }
}

/// Reads the entrypoint from the rootfs through cap-std, so that a symlink
/// in the image cannot make wbox read a host file.
fn read_in_rootfs(rootfs: &Path, entry: &str) -> Result<Vec<u8>> {
    let dir = cap_std::fs::Dir::open_ambient_dir(rootfs, cap_std::ambient_authority())
        .map_err(|e| Error::image(format!("cannot open the image's root filesystem: {e}")))?;
    dir.read(entry.trim_start_matches('/')).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound { path: format!("{entry} (in the image)").into() },
        _ => Error::NotRunnable(format!("{entry} cannot be read from the image: {e}")),
    })
}

impl Image {
    /// `docker image inspect`'s view of the image.
    pub fn inspect(&self, tags: &[ImageRef]) -> serde_json::Value {
        let repo_digests: Vec<String> = tags
            .iter()
            .map(|t| format!("{}@{}", t.familiar_repository(), self.manifest_digest))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        serde_json::json!({
            "Id": self.id(),
            "RepoTags": tags.iter().filter(|t| t.tag().is_some()).map(|t| format!("{}:{}", t.familiar_repository(), t.tag().unwrap_or_default())).collect::<Vec<_>>(),
            "RepoDigests": repo_digests,
            "Created": self.config.created,
            "Architecture": self.config.architecture,
            "Os": self.config.os,
            "Config": self.raw_config.get("config").cloned().unwrap_or(serde_json::Value::Null),
            "Size": self.size(),
            "RootFS": {
                "Type": "layers",
                "Layers": self.manifest.layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>(),
            },
            "Descriptor": {
                "mediaType": self.manifest.media_type.clone().unwrap_or_else(|| media::OCI_MANIFEST.to_owned()),
                "digest": self.manifest_digest,
            },
        })
    }
}

/// `wasi/wasm` as Docker writes it, and `wasip1`/`wasip2` as the wasm
/// artifact spec does.
pub fn is_wasm_platform(os: &str, architecture: &str) -> bool {
    architecture == "wasm" && matches!(os, "wasi" | "wasip1" | "wasip2")
}

fn parse_config(bytes: &[u8]) -> Result<Config> {
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

/// An image as `wbox images` lists it: a tag and what it names.
pub struct Tagged {
    pub reference: ImageRef,
    pub image: Image,
}

/// Finds an image by reference, or by id (the config digest, or a unique
/// prefix of it, as `docker rmi 3c70709e` takes it). Returns the image and
/// the tags that name it.
pub fn lookup(store: &Store, name: &str) -> Result<(Image, Vec<ImageRef>)> {
    let tagged = list(store)?;
    let id_prefix = name.strip_prefix("sha256:").unwrap_or(name);
    let is_id = id_prefix.len() >= 4 && id_prefix.bytes().all(|b| b.is_ascii_hexdigit());
    let by_ref = ImageRef::parse(name).ok().map(|r| r.to_string());
    let found = tagged.iter().find(|t| Some(t.reference.to_string()) == by_ref).or_else(|| {
        is_id.then(|| tagged.iter().find(|t| t.image.id().hex().starts_with(id_prefix))).flatten()
    });
    let Some(found) = found else {
        return Err(Error::image(format!("no such image: {name}; `wbox images` lists what the store holds")));
    };
    if by_ref.is_none() || Some(found.reference.to_string()) != by_ref {
        // By id: it must name one image only.
        let ids: std::collections::BTreeSet<_> = tagged
            .iter()
            .filter(|t| t.image.id().hex().starts_with(id_prefix))
            .map(|t| t.image.id())
            .collect();
        if ids.len() > 1 {
            return Err(Error::usage(format!(
                "image id prefix {name} names {} images; give more of it",
                ids.len()
            )));
        }
    }
    let tags = tagged
        .iter()
        .filter(|t| t.image.manifest_digest == found.image.manifest_digest)
        .map(|t| t.reference.clone())
        .collect();
    Ok((found.image.clone(), tags))
}

/// What `rmi` did.
pub struct Removed {
    pub untagged: Vec<ImageRef>,
    /// The image id, and whether the image itself went (no name is left).
    pub id: Digest,
    pub deleted: bool,
}

/// `rmi`: removes a name, or by id every name of an image (with `force`
/// when there are several), then the blobs no image uses any more.
pub fn remove(store: &Store, name: &str, force: bool) -> Result<Removed> {
    let (found, tags) = lookup(store, name)?;
    let by_name = ImageRef::parse(name).ok().filter(|r| tags.contains(r));
    let untagged = match by_name {
        Some(reference) => vec![reference],
        None if tags.len() > 1 && !force => {
            return Err(Error::usage(format!(
                "image {name} has {} names ({}); remove them by name, or pass -f to remove them all",
                tags.len(),
                tags.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        None => tags.clone(),
    };
    for reference in &untagged {
        store.untag(reference)?;
    }
    let deleted = store.resolve_digest(&found.manifest_digest).is_err();
    if deleted {
        store.collect_garbage()?;
    }
    Ok(Removed { untagged, id: found.id().clone(), deleted })
}

/// Every tagged image in the store, newest tag last.
pub fn list(store: &Store) -> Result<Vec<Tagged>> {
    let mut tagged = Vec::new();
    for entry in store.index()?.manifests {
        let Some(name) = entry.annotation(crate::store::REF_NAME) else { continue };
        match ImageRef::parse(name) {
            Ok(reference) => tagged.push(Tagged { reference, image: Image::load(store, &entry.digest)? }),
            Err(_) => tracing::warn!("index.json names '{name}', which is not an image reference; skipped"),
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
