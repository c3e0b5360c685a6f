//! `save` and `load`: images as an OCI archive (a tar of an OCI image
//! layout), for hosts without a registry. A loaded blob goes through the same
//! checks as a pulled one, so a damaged or hostile archive stores nothing.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use crate::image::Image;
use crate::reference::ImageRef;
use crate::store::{Descriptor, Digest, Index, MAX_MANIFEST, REF_NAME, Store, media};
use crate::{Error, Result};

/// containerd's annotation for the full image name, which `ctr export` and
/// recent Docker set beside the OCI `ref.name`.
const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The images `names` name in the store, for `save`: by name, or by id (an
/// image saved by its id is saved without a name, as Docker saves it).
pub fn find(store: &Store, names: &[impl AsRef<str>]) -> Result<Vec<(Option<ImageRef>, Image)>> {
    let mut images = Vec::new();
    for name in names {
        let name = name.as_ref();
        let named = ImageRef::parse(name)
            .ok()
            .and_then(|reference| Some((crate::image::find(store, &reference).ok()??, reference)));
        images.push(match named {
            Some((image, reference)) => (Some(reference), image),
            None => (None, crate::image::lookup(store, name)?.0),
        });
    }
    Ok(images)
}

/// Writes the named images, with every blob they use, as an OCI archive.
pub fn save(store: &Store, images: &[(Option<ImageRef>, Image)], out: impl Write) -> Result<()> {
    let mut tar = tar::Builder::new(out);
    let fail = |e: std::io::Error| Error::image(format!("cannot write the archive: {e}"));
    let mut index = Index::default();
    let mut blobs: Vec<Descriptor> = Vec::new();
    for (reference, image) in images {
        let manifest = store.resolve_digest(&image.manifest_digest)?;
        let mut entry = manifest.clone();
        entry.annotations = reference.as_ref().map(|reference| {
            BTreeMap::from([
                (REF_NAME.to_owned(), reference.to_string()),
                (CONTAINERD_NAME.to_owned(), reference.to_string()),
            ])
        });
        index.manifests.push(entry);
        blobs.push(manifest);
        blobs.extend(image.manifest.blobs().cloned());
    }
    blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
    blobs.dedup_by(|a, b| a.digest == b.digest);

    append(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(fail)?;
    for blob in &blobs {
        let mut header = tar::Header::new_ustar();
        header.set_size(blob.size);
        header.set_mode(0o644);
        header.set_cksum();
        let path = format!("blobs/sha256/{}", blob.digest.hex());
        tar.append_data(&mut header, path, store.open_blob(blob)?).map_err(fail)?;
    }
    append(&mut tar, "index.json", &serde_json::to_vec(&index).expect("an index serialises"))
        .map_err(fail)?;
    tar.into_inner().map_err(fail)?.flush().map_err(fail)
}

/// `save` into a file, written aside and renamed, so that a failed save
/// leaves no half archive behind.
pub fn save_file(store: &Store, images: &[(Option<ImageRef>, Image)], path: &std::path::Path) -> Result<()> {
    let fail = |e: std::io::Error| Error::usage(format!("cannot write {}: {e}", path.display()));
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    save(store, images, std::io::BufWriter::new(file.as_file()))?;
    // As a file made by a shell redirection would be, not private.
    crate::os::fs::set_shared(file.as_file()).map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

fn append(tar: &mut tar::Builder<impl Write>, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, path, bytes)
}

/// Reads an OCI archive into the store and tags the images it names.
/// Returns the references loaded.
pub fn load(store: &Store, input: impl Read) -> Result<Vec<Loaded>> {
    let _adding = store.adding()?;
    let bad = |why: String| Error::image(format!("the archive cannot be loaded: {why}; nothing was tagged"));
    let mut archive = tar::Archive::new(input);
    let mut index = None;
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_owned();
        if path == "index.json" {
            if entry.size() > MAX_MANIFEST {
                return Err(bad(format!("its index.json is {} bytes", entry.size())));
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| bad(e.to_string()))?;
            index = Some(Index::parse(&bytes)?);
        } else if let Some(hex) = path.strip_prefix("blobs/sha256/") {
            // The name is the digest the content must have; any other name
            // (a path with `..`, a subdirectory) is not a blob and is skipped.
            let Ok(digest) = Digest::parse(&format!("sha256:{hex}")) else {
                tracing::debug!("archive entry {path} is not a blob; skipped");
                continue;
            };
            if store.has_blob(&digest) {
                continue;
            }
            let expected = Descriptor {
                media_type: String::new(),
                digest,
                size: entry.size(),
                platform: None,
                annotations: None,
            };
            let mut writer = store.blob_writer(&expected)?;
            std::io::copy(&mut entry, &mut writer).map_err(|e| writer.error(e))?;
            writer.commit()?;
        } else {
            tracing::debug!("archive entry {path} skipped");
        }
    }
    let index = index.ok_or_else(|| bad("it has no index.json: it is not an OCI archive".into()))?;

    let mut loaded = Vec::new();
    for entry in &index.manifests {
        // Saved by its id: kept without a name.
        let Some(name) = entry.annotation(CONTAINERD_NAME).or(entry.annotation(REF_NAME)) else {
            if media::is_index(&entry.media_type) {
                return Err(bad(format!(
                    "{} is a multi-platform index; load an archive of one platform's image",
                    entry.digest
                )));
            }
            let image = Image::load(store, &entry.digest)?;
            if let Some(blob) = image.manifest.blobs().find(|blob| !store.has_blob(&blob.digest)) {
                return Err(bad(format!("blob {} of {} is not in it", blob.digest, entry.digest)));
            }
            loaded.push((None, entry.clone(), image.id().clone()));
            continue;
        };
        if !name.contains(['/', ':', '@']) {
            return Err(bad(format!(
                "it names an image only by the tag '{name}'; wbox needs full names, as `wbox save` writes them"
            )));
        }
        if media::is_index(&entry.media_type) {
            return Err(bad(format!(
                "{name} is a multi-platform index; load an archive of one platform's image"
            )));
        }
        let reference = ImageRef::parse(name)?;
        let image = Image::load(store, &entry.digest)?;
        for blob in image.manifest.blobs() {
            if !store.has_blob(&blob.digest) {
                return Err(bad(format!("blob {} of {reference} is not in it", blob.digest)));
            }
        }
        loaded.push((Some(reference), entry.clone(), image.id().clone()));
    }
    // Tags only once every image is whole.
    for (reference, entry, _) in &loaded {
        match reference {
            Some(reference) => store.tag(reference, entry)?,
            None => store.keep_untagged(entry)?,
        }
    }
    Ok(loaded
        .into_iter()
        .map(|(reference, _, id)| match reference {
            Some(reference) => Loaded::Named(reference),
            None => Loaded::Untagged(id),
        })
        .collect())
}

/// An image `load` stored.
pub enum Loaded {
    Named(ImageRef),
    /// Saved by its id: stored without a name.
    Untagged(Digest),
}

impl std::fmt::Display for Loaded {
    /// As Docker says what it loaded.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loaded::Named(reference) => write!(f, "Loaded image: {}", reference.familiar()),
            Loaded::Untagged(id) => write!(f, "Loaded image ID: {id}"),
        }
    }
}
