//! Talking to OCI registries, through `oci-client`: pulling an image into the
//! store, with credentials, plain HTTP only where allowed, retries on
//! transient failures, and errors that say what to do.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use oci_client::RegistryOperation;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;

use crate::image::{self, Image};
use crate::os::platform;
use crate::reference::ImageRef;
use crate::store::{Descriptor, Digest, Index, MAX_MANIFEST, Manifest, REPO_DIGEST, Store, media};
use crate::{Error, Result};

/// How many blobs of one image download at once.
const PARALLEL_BLOBS: usize = 3;
/// Attempts for a request that failed in a way that may pass.
const ATTEMPTS: u32 = 3;

pub(crate) mod credentials;

use credentials::credentials;
pub use credentials::{check_login, login, logout};

/// Choices a pull (and, without the platform, a push or login) takes from
/// the command line.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `os/arch` to pick from an index; by default `wasi/wasm`, else the host's.
    pub platform: Option<String>,
    /// Registries reached over plain HTTP besides loopback ones, and besides
    /// those `ROOT/config.json` lists.
    pub insecure_registries: Vec<String>,
    /// A user and password to use instead of those kept for the registry
    /// (what a client of the Engine API sends with its request).
    pub credentials: Option<(String, String)>,
}

impl PullOptions {
    /// These options plus the registries `ROOT/config.json` marks insecure,
    /// under the key Docker's `daemon.json` uses:
    /// `{"insecure-registries": ["registry.lan:5000"]}`.
    fn with_config(&self, root: &Path) -> Result<PullOptions> {
        let config = crate::config::Config::load(root)?;
        let mut options = self.clone();
        options.insecure_registries.extend(config.insecure_registries);
        Ok(options)
    }
}

/// Told what a pull is doing, so that a front end can show it.
pub trait PullProgress: Send + Sync {
    /// The manifest is resolved: these blobs make the image.
    fn resolved(&self, reference: &ImageRef, manifest: &Digest, blobs: &[Descriptor]);
    /// Bytes of a blob arrived.
    fn advanced(&self, blob: &Digest, bytes: u64);
    /// A blob is in the store (`had` when it was there before the pull).
    fn stored(&self, blob: &Digest, had: bool);
}

/// A progress that shows nothing.
pub struct Silent;

impl PullProgress for Silent {
    fn resolved(&self, _: &ImageRef, _: &Digest, _: &[Descriptor]) {}
    fn advanced(&self, _: &Digest, _: u64) {}
    fn stored(&self, _: &Digest, _: bool) {}
}

/// The registries as a wbox root reaches them, for its store: with its
/// credentials and the insecure registries its `config.json` lists,
/// besides the options given.
pub struct Registries<'a> {
    root: &'a Path,
    /// Where what is pulled goes, and what is pushed comes from.
    store: &'a Store,
    options: PullOptions,
}

impl Registries<'_> {
    pub fn new<'a>(root: &'a Path, store: &'a Store, options: &PullOptions) -> Result<Registries<'a>> {
        Ok(Registries { root, store, options: options.with_config(root)? })
    }

    /// Pulls an image into the store and tags it with `reference`. Nothing is
    /// tagged unless every blob arrived and verified.
    pub async fn pull(&self, reference: &ImageRef, progress: &dyn PullProgress) -> Result<Image> {
        let store = self.store;
        let _adding = store.adding()?;
        let (client, auth) = self.connect(reference)?;
        let (manifest_bytes, manifest_descriptor) =
            resolve_manifest(&client, &auth, reference, &self.options).await?;
        let manifest = Manifest::parse(&manifest_bytes)?;

        let blobs: Vec<Descriptor> = manifest.blobs().cloned().collect();
        store.check_space_for(&blobs)?;
        progress.resolved(reference, &manifest_descriptor.digest, &blobs);
        let blobs_of = Blobs { client: &client, store, reference, progress };
        each_blob(&blobs, |blob| blobs_of.fetch(blob)).await?;
        store.put_blob(&manifest_descriptor, &manifest_bytes)?;

        // The layers are unpacked when the image first runs (`Store::use_rootfs`),
        // not here: a pull is a download, as fast as the registry can send.
        let image = Image::load(store, &manifest_descriptor.digest)?;
        let mut pulled = manifest_descriptor.clone();
        let repo_digest = format!("{}@{}", reference.familiar_repository(), pulled.digest);
        pulled.annotations = Some([(REPO_DIGEST.to_owned(), repo_digest)].into());
        store.tag(reference, &pulled)?;
        let name = reference.familiar();
        crate::events::record(store.root(), "image", "pull", &name, &[("name", &name)]);
        Ok(image)
    }

    /// Pushes a tagged image from the store: the blobs the registry lacks, then
    /// the manifest. Returns the manifest's descriptor.
    pub async fn push(&self, reference: &ImageRef, progress: &dyn PullProgress) -> Result<Descriptor> {
        let store = self.store;
        let descriptor = store.resolve(reference)?.ok_or_else(|| {
            Error::image(format!(
                "there is no image {reference} in the store; pull it, or name it with `wbox tag SOURCE {reference}`"
            ))
        })?;
        let manifest_bytes = store.read_blob(&descriptor.digest)?;
        let manifest = Manifest::parse(&manifest_bytes)?;
        let (client, auth) = self.connect(reference)?;
        retry(reference, || client.auth(reference.as_oci(), &auth, RegistryOperation::Push)).await?;

        let blobs: Vec<Descriptor> = manifest.blobs().cloned().collect();
        progress.resolved(reference, &descriptor.digest, &blobs);
        let blobs_of = Blobs { client: &client, store, reference, progress };
        each_blob(&blobs, |blob| blobs_of.upload(blob)).await?;

        let media_type = manifest.media_type.as_deref().unwrap_or(&descriptor.media_type);
        let content_type = http::HeaderValue::from_str(media_type)
            .map_err(|_| Error::image(format!("the manifest's media type '{media_type}' cannot be sent")))?;
        retry(reference, || {
            client.push_manifest_raw(reference.as_oci(), manifest_bytes.clone(), content_type.clone())
        })
        .await?;
        let name = reference.familiar();
        crate::events::record(store.root(), "image", "push", &name, &[("name", &name)]);
        Ok(descriptor)
    }

    /// A client for the registry `reference` names, and its credentials.
    fn connect(&self, reference: &ImageRef) -> Result<(oci_client::Client, RegistryAuth)> {
        let auth = match &self.options.credentials {
            Some((user, password)) => RegistryAuth::Basic(user.clone(), password.clone()),
            None => credentials(self.root, reference.registry())?,
        };
        Ok((client_for(reference, &self.options), auth))
    }
}

/// Runs a registry operation (`pull`, `push`, `login`) for callers that are
/// not async.
pub fn block_on<T>(operation: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(e.into()))?
        .block_on(operation)
}

/// The blobs of one image moving between a registry and the store.
struct Blobs<'a> {
    client: &'a oci_client::Client,
    store: &'a Store,
    reference: &'a ImageRef,
    progress: &'a dyn PullProgress,
}

impl Blobs<'_> {
    /// Uploads one blob unless the registry has it, streamed from the store.
    async fn upload(&self, blob: &Descriptor) -> Result<()> {
        let Blobs { client, store, reference, progress } = *self;
        let digest = blob.digest.as_str();
        if retry(reference, || client.blob_exists(reference.as_oci(), digest)).await? {
            progress.stored(&blob.digest, true);
            return Ok(());
        }
        retry(reference, || async {
            let file = std::fs::File::open(store.blob_path(&blob.digest)).map_err(|e| {
                Transient::No(Error::image(format!("blob {digest} cannot be read from the store: {e}")))
            })?;
            client
                .push_blob_stream(reference.as_oci(), chunks(file), digest, Some(blob.size))
                .await
                .map_err(|e| Transient::from_oci(reference, e))
        })
        .await?;
        progress.advanced(&blob.digest, blob.size);
        progress.stored(&blob.digest, false);
        Ok(())
    }

    /// Downloads one blob into the store, unless it is there already.
    async fn fetch(&self, blob: &Descriptor) -> Result<()> {
        let Blobs { client, store, reference, progress } = *self;
        if store.has_blob(&blob.digest) {
            progress.stored(&blob.digest, true);
            return Ok(());
        }
        retry(reference, || async {
            let mut writer = store.blob_writer(blob).map_err(Transient::No)?;
            let mut stream = client
                .pull_blob_stream(reference.as_oci(), blob.digest.as_str())
                .await
                .map_err(|e| Transient::from_oci(reference, e))?;
            while let Some(chunk) = stream.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    // oci-client checks the digest too, as the stream ends: then
                    // every byte is here, and our own check says what is wrong.
                    Err(_) if writer.is_complete() => break,
                    Err(e) => {
                        return Err(Transient::Yes(Error::image(format!(
                            "download of blob {} broke off: {e}",
                            blob.digest
                        ))));
                    }
                };
                writer.write_all(&chunk).map_err(|e| Transient::No(writer.error(e)))?;
                progress.advanced(&blob.digest, chunk.len() as u64);
            }
            writer.commit().map_err(Transient::No)
        })
        .await?;
        progress.stored(&blob.digest, false);
        Ok(())
    }
}

/// A file as a stream of 1 MiB chunks, ending at the first error.
fn chunks(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = oci_client::errors::Result<bytes::Bytes>> + Send + 'static {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buffer = vec![0; 1 << 20];
        match std::io::Read::read(&mut file, &mut buffer) {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(bytes::Bytes::from(buffer)), Some(file)))
            }
            Err(e) => Some((Err(OciDistributionError::IoError(e)), None)),
        }
    })
}

/// Does the same work for every blob, a few at a time.
async fn each_blob<'a, Fut>(blobs: &'a [Descriptor], work: impl FnMut(&'a Descriptor) -> Fut) -> Result<()>
where
    Fut: std::future::Future<Output = Result<()>>,
{
    futures_util::stream::iter(blobs.iter().map(work))
        .buffer_unordered(PARALLEL_BLOBS)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Fetches the manifest the reference names; from an index, the one for the
/// wanted platform. Every manifest is checked against the digest it was
/// asked by.
async fn resolve_manifest(
    client: &oci_client::Client,
    auth: &RegistryAuth,
    reference: &ImageRef,
    options: &PullOptions,
) -> Result<(Vec<u8>, Descriptor)> {
    let bytes = fetch_manifest(client, auth, reference).await?;
    let media_type = media_type_of(&bytes);
    if !media::is_index(&media_type) {
        return Ok((bytes.clone(), Descriptor::of(&media_type, &bytes)));
    }
    let index = Index::parse(&bytes)?;
    let chosen = choose_platform(&index, options.platform.as_deref()).ok_or_else(|| {
        let offered: Vec<String> =
            index.manifests.iter().filter_map(|m| m.platform.as_ref()).map(|p| p.to_string()).collect();
        Error::image(format!(
            "{reference} has no image for {}; it offers {}{}",
            options.platform.clone().unwrap_or_else(|| platform::runnable().join(" or ")),
            offered.join(", "),
            if options.platform.is_none() { "; choose one with --platform" } else { "" }
        ))
    })?;
    if chosen.size > MAX_MANIFEST {
        return Err(Error::image(format!(
            "the manifest for {} is {} bytes; wbox reads manifests up to {MAX_MANIFEST} bytes",
            chosen.platform.as_ref().map_or_else(String::new, |p| p.to_string()),
            chosen.size
        )));
    }
    let bytes = fetch_manifest(client, auth, &reference.with_digest(chosen.digest.as_str())).await?;
    if bytes.len() as u64 != chosen.size {
        return Err(Error::image(format!(
            "manifest {} is {} bytes, but the index says {}",
            chosen.digest,
            bytes.len(),
            chosen.size
        )));
    }
    let mut descriptor = Descriptor::of(&chosen.media_type, &bytes);
    descriptor.platform = chosen.platform.clone();
    Ok((bytes, descriptor))
}

async fn fetch_manifest(
    client: &oci_client::Client,
    auth: &RegistryAuth,
    reference: &ImageRef,
) -> Result<Vec<u8>> {
    let (bytes, _) =
        retry(reference, || client.pull_manifest_raw(reference.as_oci(), auth, &media::MANIFESTS)).await?;
    if let Some(pinned) = reference.digest() {
        let actual = Digest::of(&bytes);
        if actual.as_str() != pinned {
            return Err(Error::image(format!(
                "the registry answered {reference} with a manifest whose digest is {actual}: \
                 damaged or tampered; nothing was stored"
            )));
        }
    }
    Ok(bytes.to_vec())
}

/// The manifest's own `mediaType`, or the OCI manifest's when it has none.
fn media_type_of(bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Typed>(bytes) {
        Ok(Typed { media_type: Some(t), .. }) => t,
        Ok(Typed { manifests: Some(_), .. }) => media::OCI_INDEX.to_owned(),
        _ => media::OCI_MANIFEST.to_owned(),
    }
}

/// The index entry to run: the asked-for platform; by default wasi/wasm,
/// else this host's Linux platform where native images run.
pub(crate) fn choose_platform<'a>(index: &'a Index, wanted: Option<&str>) -> Option<&'a Descriptor> {
    let with = |pred: &dyn Fn(&str, &str) -> bool| {
        index.manifests.iter().find(|m| m.platform.as_ref().is_some_and(|p| pred(&p.os, &p.architecture)))
    };
    match wanted {
        Some(wanted) => with(&|os, arch| format!("{os}/{arch}") == wanted),
        None => {
            let native =
                |os: &str, arch: &str| platform::RUNS_NATIVE && os == "linux" && arch == platform::arch();
            with(&image::is_wasm_platform).or_else(|| with(&native))
        }
    }
}

/// A failure, and whether trying again may help.
enum Transient {
    Yes(Error),
    No(Error),
}

impl Transient {
    fn from_oci(reference: &ImageRef, e: OciDistributionError) -> Transient {
        let transient = match &e {
            OciDistributionError::RequestError(e) => e.is_connect() || e.is_timeout() || e.is_body(),
            OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
            _ => false,
        };
        let error = registry_error(reference, e);
        if transient { Transient::Yes(error) } else { Transient::No(error) }
    }
}

/// Runs a registry request, again after a pause when it failed in a way
/// that may pass (connection refused, 5xx, a stream that broke off).
async fn retry<T, E, F, Fut>(reference: &ImageRef, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, E>>,
    E: IntoTransient,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await.map_err(|e| e.into_transient(reference)) {
            Ok(value) => return Ok(value),
            Err(Transient::Yes(e)) if tries < ATTEMPTS => {
                tracing::info!("{e}; trying again");
                tokio::time::sleep(Duration::from_millis(300 * u64::from(tries))).await;
            }
            Err(Transient::Yes(e) | Transient::No(e)) => return Err(e),
        }
    }
}

trait IntoTransient {
    fn into_transient(self, reference: &ImageRef) -> Transient;
}

impl IntoTransient for OciDistributionError {
    fn into_transient(self, reference: &ImageRef) -> Transient {
        Transient::from_oci(reference, self)
    }
}

impl IntoTransient for Error {
    fn into_transient(self, _: &ImageRef) -> Transient {
        Transient::No(self)
    }
}

impl IntoTransient for Transient {
    fn into_transient(self, _: &ImageRef) -> Transient {
        self
    }
}

/// What a registry's refusal means to the user, and what to do about it.
fn registry_error(reference: &ImageRef, e: OciDistributionError) -> Error {
    let registry = reference.registry();
    let denied = || {
        Error::image(format!(
            "{registry} refused access to {reference}: the credentials are wrong or missing; \
             run `wbox login {registry}`"
        ))
    };
    let not_found =
        || Error::image(format!("{reference} was not found in {registry}: check the name and tag"));
    match e {
        OciDistributionError::AuthenticationFailure(_) | OciDistributionError::UnauthorizedError { .. } => {
            denied()
        }
        OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
        OciDistributionError::RegistryError { ref envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied)) {
                denied()
            } else if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::BlobUnknown
                )
            }) {
                not_found()
            } else {
                Error::image(format!("{registry}: {envelope}"))
            }
        }
        OciDistributionError::ServerError { code: 401 | 403, .. } => denied(),
        OciDistributionError::ServerError { code: 404, .. } => not_found(),
        OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => Error::image(format!(
            "cannot reach registry {registry}: {}; check that it is running and the address is right",
            root_cause(&e)
        )),
        OciDistributionError::RequestError(e) => Error::image(format!(
            "talking to registry {registry} failed: {}; if it serves plain HTTP, pass --insecure-registry {registry}",
            root_cause(&e)
        )),
        other => Error::image(format!("{registry}: {other}")),
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn plain_http(reference: &ImageRef, options: &PullOptions) -> bool {
    reference.is_loopback() || options.insecure_registries.iter().any(|r| r == reference.registry())
}

/// A client that speaks plain HTTP to loopback and insecure registries only.
fn client_for(reference: &ImageRef, options: &PullOptions) -> oci_client::Client {
    oci_client::Client::new(ClientConfig {
        protocol: if plain_http(reference, options) { ClientProtocol::Http } else { ClientProtocol::Https },
        platform_resolver: None,
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(Duration::from_secs(60)),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Platform;

    fn entry(os: &str, arch: &str) -> Descriptor {
        let mut d = Descriptor::of(media::OCI_MANIFEST, format!("{os}/{arch}").as_bytes());
        d.platform = Some(Platform { os: os.into(), architecture: arch.into(), variant: None });
        d
    }

    #[test]
    fn an_index_gives_wasm_first_then_the_host() {
        let index = Index {
            manifests: vec![entry("linux", platform::arch()), entry("wasi", "wasm")],
            ..Default::default()
        };
        let platform =
            |wanted| choose_platform(&index, wanted).and_then(|d| d.platform.clone()).map(|p| p.to_string());
        assert_eq!(platform(None).as_deref(), Some("wasi/wasm"));
        let host = format!("linux/{}", platform::arch());
        assert_eq!(platform(Some(&host)), Some(host.clone()));
        assert_eq!(platform(Some("windows/amd64")), None);
        let native_only = Index { manifests: vec![entry("linux", platform::arch())], ..Default::default() };
        assert!(choose_platform(&native_only, None).is_some());
    }

    #[test]
    fn the_root_config_marks_registries_insecure() {
        let root = tempfile::tempdir().unwrap();
        let lan = ImageRef::parse("registry.lan:5000/app:1").unwrap();
        let flags = PullOptions::default();
        assert!(!plain_http(&lan, &flags.with_config(root.path()).unwrap()), "HTTPS without a config");
        assert!(plain_http(&ImageRef::parse("127.0.0.1:5000/app").unwrap(), &flags), "loopback is plain");

        std::fs::write(root.path().join("config.json"), r#"{"insecure-registries": ["registry.lan:5000"]}"#)
            .unwrap();
        assert!(plain_http(&lan, &flags.with_config(root.path()).unwrap()));
        assert!(!plain_http(
            &ImageRef::parse("registry.lan/app").unwrap(),
            &flags.with_config(root.path()).unwrap()
        ));

        std::fs::write(root.path().join("config.json"), r#"{"insecure-registries": "registry.lan"}"#)
            .unwrap();
        let err = flags.with_config(root.path()).unwrap_err().to_string();
        assert!(err.contains("config.json is not valid") && err.contains("insecure-registries"), "{err}");
    }
}
