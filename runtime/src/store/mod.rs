//! The local image store: an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/…`) under `ROOT/store`, so that `skopeo` and `umoci` read it,
//! and the unpacked root filesystems of images under `ROOT/rootfs`.
//!
//! A blob enters the store only through [`BlobWriter`], which checks its size
//! and digest as it streams in and renames it into place only if both match:
//! a blob in `blobs/` is always the content its name says. `index.json` names
//! the tagged images; it is changed under a lock and replaced atomically, so
//! concurrent `wbox` processes never lose each other's tags.

mod descriptor;
mod space;
pub(crate) mod unpack;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

pub use descriptor::{Descriptor, Digest, Index, MAX_MANIFEST, Manifest, Platform, media};

use crate::reference::ImageRef;
use crate::{Error, Result};

/// The annotation that names a tagged image in `index.json`, as the image
/// layout spec defines it; we store the full normalised reference.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The annotation that records where a registry holds the image, as
/// `REPOSITORY@DIGEST` (Docker's `RepoDigests`): an image keeps it when it
/// loses its names, and `images` still shows its repository.
pub const REPO_DIGEST: &str = "io.wbox.image.repo-digest";

pub struct Store {
    /// The OCI image layout.
    dir: PathBuf,
    /// Unpacked root filesystems, one per image manifest.
    rootfs: PathBuf,
}

impl Store {
    /// Opens the store under a wbox root, creating an empty layout if needed.
    pub fn open(root: &Path) -> Result<Store> {
        let store = Store { dir: root.join("store"), rootfs: root.join("rootfs") };
        let fail =
            |e: io::Error| Error::image(format!("cannot create the image store in {}: {e}", root.display()));
        fs::create_dir_all(store.dir.join("blobs/sha256")).map_err(fail)?;
        fs::create_dir_all(store.dir.join("ingest")).map_err(fail)?;
        fs::create_dir_all(store.dir.join("sizes")).map_err(fail)?;
        fs::create_dir_all(&store.rootfs).map_err(fail)?;
        let layout = store.dir.join("oci-layout");
        if !layout.exists() {
            write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(fail)?;
        }
        if !store.dir.join("index.json").exists() {
            let _lock = store.lock()?;
            if !store.dir.join("index.json").exists() {
                store.write_index(&Index::default())?;
            }
        }
        Ok(store)
    }

    /// What a layer's files take unpacked, as Docker counts an image's
    /// size. Counting reads the whole layer, so the figure is kept
    /// (`store/sizes/HEX`, collected with the layer).
    pub fn content_size(&self, layer: &Descriptor) -> Result<u64> {
        let kept = self.dir.join("sizes").join(layer.digest.hex());
        if let Some(size) = fs::read_to_string(&kept).ok().and_then(|s| s.trim().parse().ok()) {
            return Ok(size);
        }
        let size = unpack::content_size(self, layer)?;
        // Only a cache: a figure not kept is counted again next time.
        let _ = write_atomic(&kept, size.to_string().as_bytes());
        Ok(size)
    }

    /// The layout directory, for tools that read OCI layouts.
    pub fn layout_dir(&self) -> &Path {
        &self.dir
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.hex())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// The wbox root this store is part of.
    pub(crate) fn root(&self) -> &Path {
        self.dir.parent().expect("the store is ROOT/store")
    }

    /// Refuses, before any is fetched, blobs that would not fit on the disk
    /// with room to spare (those already stored cost nothing).
    pub fn check_space_for(&self, blobs: &[Descriptor]) -> Result<()> {
        let missing: Vec<&Descriptor> = blobs.iter().filter(|b| !self.has_blob(&b.digest)).collect();
        let bytes = missing.iter().map(|b| b.size).sum();
        space::Space::of(&self.dir.join("ingest"))
            .claim(bytes, || format!("the image's {} blobs not yet stored", missing.len()))
    }

    /// A writer for a blob that is expected to have this digest and size;
    /// refused at once if that size does not fit on the disk.
    pub fn blob_writer(&self, expected: &Descriptor) -> Result<BlobWriter> {
        let ingest = self.dir.join("ingest");
        space::Space::of(&ingest).claim(expected.size, || format!("blob {}", expected.digest))?;
        let file = tempfile::NamedTempFile::new_in(ingest)
            .map_err(|e| Error::image(format!("cannot write to the image store: {e}")))?;
        Ok(BlobWriter {
            file,
            hasher: Sha256::new(),
            written: 0,
            digest: expected.digest.clone(),
            size: expected.size,
            target: self.blob_path(&expected.digest),
        })
    }

    /// Stores a small blob held in memory (a manifest, a config).
    pub fn put_blob(&self, descriptor: &Descriptor, bytes: &[u8]) -> Result<()> {
        let mut writer = self.blob_writer(descriptor)?;
        writer.write_all(bytes).map_err(|e| writer.error(e))?;
        writer.commit()
    }

    /// Reads a whole blob and checks it is still what its digest says.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path).map_err(|e| unreadable_blob(digest, &path, e))?;
        if Digest::of(&bytes) != *digest {
            return Err(Error::damaged_blob(digest.as_str()));
        }
        Ok(bytes)
    }

    /// A blob's file, unread and unchecked: its reader checks it against
    /// `digest` (`Error::damaged_blob` when it does not match).
    pub fn open_blob_file(&self, digest: &Digest) -> Result<fs::File> {
        let path = self.blob_path(digest);
        fs::File::open(&path).map_err(|e| unreadable_blob(digest, &path, e))
    }

    /// Opens a blob for streaming; the reader fails at its end if the
    /// content does not match the digest.
    pub fn open_blob(&self, descriptor: &Descriptor) -> Result<VerifyingReader<fs::File>> {
        let path = self.blob_path(&descriptor.digest);
        let file = fs::File::open(&path).map_err(|e| {
            Error::image(format!("blob {} cannot be read from the image store: {e}", descriptor.digest))
        })?;
        Ok(VerifyingReader { inner: file, hasher: Sha256::new(), digest: descriptor.digest.clone() })
    }

    /// The tagged images, in `index.json` order.
    pub fn index(&self) -> Result<Index> {
        let path = self.dir.join("index.json");
        let bytes =
            fs::read(&path).map_err(|e| Error::image(format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::image(format!("{} is not a valid OCI index ({e}); the store is damaged", path.display()))
        })
    }

    /// The manifest descriptor tagged with this reference, if any.
    pub fn resolve(&self, reference: &ImageRef) -> Result<Option<Descriptor>> {
        let name = reference.to_string();
        Ok(self.index()?.manifests.into_iter().find(|d| d.annotation(REF_NAME) == Some(name.as_str())))
    }

    /// The index entry of a tagged manifest, by its digest.
    pub fn resolve_digest(&self, digest: &Digest) -> Result<Descriptor> {
        self.index()?
            .manifests
            .into_iter()
            .find(|d| d.digest == *digest)
            .ok_or_else(|| Error::image(format!("no image with manifest {digest} in the store")))
    }

    /// Points the reference at a manifest, replacing what it named before.
    /// The manifest stops being untagged.
    pub fn tag(&self, reference: &ImageRef, manifest: &Descriptor) -> Result<()> {
        let _lock = self.lock()?;
        let name = reference.to_string();
        let mut index = self.index()?;
        let displaced = index.manifests.iter().find(|d| d.annotation(REF_NAME) == Some(&name)).cloned();
        // Where a registry holds it: as given (a pull), or as known already.
        let repo_digest = manifest.annotation(REPO_DIGEST).map(str::to_owned).or_else(|| {
            let same = index.manifests.iter().filter(|d| d.digest == manifest.digest);
            same.filter_map(|d| d.annotation(REPO_DIGEST)).next().map(str::to_owned)
        });
        index.manifests.retain(|d| match d.annotation(REF_NAME) {
            Some(other) => other != name,
            None => d.digest != manifest.digest,
        });
        // The image the name leaves stays, without a name if it has no
        // other, as Docker keeps it (`<none>`, a dangling image).
        if let Some(mut displaced) = displaced
            && displaced.digest != manifest.digest
            && !index.manifests.iter().any(|d| d.digest == displaced.digest)
        {
            displaced.annotations = displaced
                .annotation(REPO_DIGEST)
                .map(|kept| BTreeMap::from([(REPO_DIGEST.to_owned(), kept.to_owned())]));
            index.manifests.push(displaced);
        }
        let mut entry = manifest.clone();
        let mut annotations = BTreeMap::from([(REF_NAME.to_owned(), name)]);
        annotations.extend(repo_digest.map(|kept| (REPO_DIGEST.to_owned(), kept)));
        entry.annotations = Some(annotations);
        index.manifests.push(entry);
        self.write_index(&index)
    }

    /// Keeps an image that has no name, as `docker build` without `-t`
    /// makes one: an `index.json` entry without a name, which `images`
    /// lists as `<none>` and garbage collection leaves alone. Nothing
    /// changes if the manifest is already in the index.
    pub fn keep_untagged(&self, manifest: &Descriptor) -> Result<()> {
        let _lock = self.lock()?;
        let mut index = self.index()?;
        if index.manifests.iter().any(|d| d.digest == manifest.digest) {
            return Ok(());
        }
        let mut entry = manifest.clone();
        entry.annotations = None;
        index.manifests.push(entry);
        self.write_index(&index)
    }

    /// Removes the index entries of a manifest that has no name.
    pub fn forget_untagged(&self, manifest: &Digest) -> Result<()> {
        let _lock = self.lock()?;
        let mut index = self.index()?;
        index.manifests.retain(|d| d.annotation(REF_NAME).is_some() || d.digest != *manifest);
        self.write_index(&index)
    }

    /// Removes a tag; the image's blobs stay until `collect_garbage`.
    /// Returns whether the tag existed.
    pub fn untag(&self, reference: &ImageRef) -> Result<bool> {
        let _lock = self.lock()?;
        let name = reference.to_string();
        let mut index = self.index()?;
        let before = index.manifests.len();
        index.manifests.retain(|d| d.annotation(REF_NAME) != Some(name.as_str()));
        let removed = index.manifests.len() != before;
        if removed {
            self.write_index(&index)?;
        }
        Ok(removed)
    }

    /// Work that adds blobs (a pull, a load) holds this shared, so that
    /// garbage collection never removes blobs not yet tagged.
    pub fn adding(&self) -> Result<fs::File> {
        let file = self.lock_file("gc.lock")?;
        file.lock_shared().map_err(|e| Error::image(format!("cannot lock the image store: {e}")))?;
        Ok(file)
    }

    /// Removes every blob and unpacked rootfs that no image in the index
    /// and no manifest of `in_use` (the images containers were made of,
    /// which the caller knows) needs, except a rootfs a running guest holds
    /// (`use_rootfs`), and what killed pulls left half-written. Returns how
    /// many bytes were freed.
    pub fn collect_garbage(&self, in_use: &[Digest]) -> Result<u64> {
        let gc = self.lock_file("gc.lock")?;
        gc.lock().map_err(|e| Error::image(format!("cannot lock the image store: {e}")))?;
        let _index = self.lock()?;
        let mut live = HashSet::new();
        // Roots: every tagged image, and every image a container was made of.
        let tagged = self.index()?.manifests.into_iter().map(|entry| entry.digest);
        for digest in tagged.chain(in_use.iter().cloned()) {
            live.insert(digest.hex().to_owned());
            let path = self.blob_path(&digest);
            let bytes = match fs::read(&path) {
                Ok(bytes) => bytes,
                // Gone: it keeps nothing alive.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                // Unreadable now is not proof of death: collect nothing.
                Err(e) => {
                    return Err(Error::image(format!(
                        "cannot read {}: {e}; nothing removed",
                        path.display()
                    )));
                }
            };
            // A damaged manifest keeps nothing alive either.
            if Digest::of(&bytes) == digest
                && let Ok(manifest) = Manifest::parse(&bytes)
            {
                live.extend(manifest.blobs().map(|blob| blob.digest.hex().to_owned()));
            }
        }
        let mut freed = 0;
        // Every writer holds `gc.lock` shared, so what `ingest/` holds now
        // belongs to no one.
        let dirs = [
            self.dir.join("blobs/sha256"),
            self.dir.join("ingest"),
            self.dir.join("sizes"),
            self.rootfs.clone(),
        ];
        for dir in dirs {
            for entry in
                fs::read_dir(&dir).map_err(|e| Error::image(format!("cannot read {}: {e}", dir.display())))?
            {
                let entry = entry.map_err(|e| Error::image(format!("cannot read {}: {e}", dir.display())))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                // Lock files stay: a guest may be waiting on one.
                if live.contains(&name) || name.ends_with(".lock") {
                    continue;
                }
                let path = entry.path();
                // A rootfs a running guest holds stays; one that is free is
                // held here until it is gone, so no guest starts on it.
                let _held = match fs::File::open(self.rootfs.join(format!("{name}.lock"))) {
                    Ok(lock) if dir == self.rootfs => match lock.try_lock() {
                        Ok(()) => Some(lock),
                        Err(_) => {
                            tracing::debug!("{} is in use by a running guest; kept", path.display());
                            continue;
                        }
                    },
                    _ => None,
                };
                freed += crate::root::disk_usage(&path);
                let removed = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
                removed.map_err(|e| Error::image(format!("cannot remove {}: {e}", path.display())))?;
            }
        }
        Ok(freed)
    }

    /// An image's unpacked rootfs, held for a running guest: garbage
    /// collection keeps it while the returned lock lives.
    pub fn use_rootfs(&self, manifest_digest: &Digest, layers: &[Descriptor]) -> Result<(PathBuf, fs::File)> {
        let lock_path = self.rootfs.join(format!("{}.lock", manifest_digest.hex()));
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::image(format!("cannot open {}: {e}", lock_path.display())))?;
        lock.lock_shared().map_err(|e| Error::image(format!("cannot lock {}: {e}", lock_path.display())))?;
        Ok((self.unpack(manifest_digest, layers)?, lock))
    }

    /// Unpacks layers of the store onto a directory, safely, as `unpack`
    /// does for an image's rootfs.
    pub(crate) fn unpack_into(&self, layers: &[Descriptor], dest: &Path) -> Result<()> {
        unpack::unpack_layers(self, layers, dest, &self.unpack_limits()?)
    }

    /// What an unpack may take: `max-layer-size` from `ROOT/config.json`.
    fn unpack_limits(&self) -> Result<unpack::Limits> {
        let config = crate::config::Config::load(self.root())?;
        Ok(unpack::Limits { max_layer_size: config.max_layer_size })
    }

    /// Where an image's layers are (or will be) unpacked.
    pub fn rootfs_path(&self, manifest: &Digest) -> PathBuf {
        self.rootfs.join(manifest.hex())
    }

    /// Unpacks an image's layers into its root filesystem, once: a rootfs
    /// that exists is complete, because it is built aside and renamed.
    fn unpack(&self, manifest_digest: &Digest, layers: &[Descriptor]) -> Result<PathBuf> {
        let target = self.rootfs_path(manifest_digest);
        if target.is_dir() {
            return Ok(target);
        }
        let limits = self.unpack_limits()?;
        let _adding = self.adding()?;
        let staging = tempfile::Builder::new()
            .prefix(".unpacking-")
            .tempdir_in(&self.rootfs)
            .map_err(|e| Error::image(format!("cannot unpack into {}: {e}", self.rootfs.display())))?;
        // On any error (a full disk among them) the staging directory is
        // removed as it drops: no half-unpacked rootfs is left to look whole.
        unpack::unpack_layers(self, layers, staging.path(), &limits)?;
        match fs::rename(staging.path(), &target) {
            Ok(()) => {
                // The directory is in place; nothing is left to clean up.
                let _ = staging.keep();
            }
            // Another wbox unpacked the same image first: keep theirs.
            Err(_) if target.is_dir() => {}
            Err(e) => return Err(Error::image(format!("cannot move the unpacked image into place: {e}"))),
        }
        Ok(target)
    }

    fn write_index(&self, index: &Index) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(index).expect("an index serialises");
        write_atomic(&self.dir.join("index.json"), &bytes)
            .map_err(|e| Error::image(format!("cannot write the image store's index.json: {e}")))
    }

    /// An exclusive lock on `index.json`, held until dropped.
    fn lock(&self) -> Result<fs::File> {
        let file = self.lock_file("index.lock")?;
        file.lock().map_err(|e| Error::image(format!("cannot lock the image store's index: {e}")))?;
        Ok(file)
    }

    fn lock_file(&self, name: &str) -> Result<fs::File> {
        let path = self.dir.join(name);
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::image(format!("cannot open {}: {e}", path.display())))
    }
}

/// Writes a blob that must turn out to have a given digest and size. Until
/// `commit`, the bytes sit in a temporary file that vanishes if dropped.
pub struct BlobWriter {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    written: u64,
    digest: Digest,
    size: u64,
    target: PathBuf,
}

impl BlobWriter {
    /// Checks the size and digest, then puts the blob in place.
    pub fn commit(mut self) -> Result<()> {
        if self.written != self.size {
            return Err(Error::image(format!(
                "blob {} is {} bytes, but its manifest says {}: the registry sent something else; \
                 nothing was stored",
                self.digest, self.written, self.size
            )));
        }
        let actual = Digest::from_sha256(self.hasher.clone().finalize().into());
        if actual != self.digest {
            return Err(Error::image(format!(
                "blob {} does not match its digest (its content hashes to {actual}): the registry sent \
                 damaged or tampered data; nothing was stored",
                self.digest
            )));
        }
        self.file.flush().map_err(|e| self.error(e))?;
        self.file.as_file().sync_all().map_err(|e| self.error(e))?;
        // Renaming over a copy another wbox stored meanwhile is harmless:
        // both have the same content.
        self.file
            .persist(&self.target)
            .map_err(|e| Error::image(format!("cannot store blob {}: {}", self.digest, e.error)))?;
        Ok(())
    }

    /// Whether as many bytes as announced have arrived.
    pub fn is_complete(&self) -> bool {
        self.written == self.size
    }

    pub fn error(&self, e: io::Error) -> Error {
        if space::is_full(&e) {
            return Error::image(format!(
                "cannot store blob {}: the disk is full ({e}); nothing of it was kept. Free some space \
                 (`wbox image prune -a`, `wbox system prune`) and try again",
                self.digest
            ));
        }
        Error::image(format!("cannot store blob {}: {e}", self.digest))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A registry that sends more than it announced is stopped at once,
        // not after it has filled the disk.
        if self.written + buf.len() as u64 > self.size {
            return Err(io::Error::other(format!(
                "more than the {} bytes the manifest announced",
                self.size
            )));
        }
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Reads a blob and, at its end, fails if it did not match its digest.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Sha256,
    digest: Digest,
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if n == 0 && !buf.is_empty() {
            let actual = Digest::from_sha256(self.hasher.clone().finalize().into());
            if actual != self.digest {
                return Err(io::Error::other(format!(
                    "blob {} in the image store is damaged (it hashes to {actual})",
                    self.digest
                )));
            }
        }
        Ok(n)
    }
}

/// Writes a file whole or not at all: to a temporary file beside it, then
/// renamed over it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().expect("a file in a directory");
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn unreadable_blob(digest: &Digest, path: &Path, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::NotFound => {
            Error::image(format!("blob {digest} is missing from the image store; pull the image again"))
        }
        _ => Error::image(format!("cannot read {}: {e}", path.display())),
    }
}
