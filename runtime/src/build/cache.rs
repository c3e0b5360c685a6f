//! The layer cache: a step whose inputs are the same as in an earlier build
//! (the same chain of steps before it, the same instruction, the same
//! variables, the same files copied) reuses that build's layer.
//! `ROOT/build-cache/<key>.json` records the layer; the layer itself is a
//! blob of the store, and an entry whose blob was collected is a miss.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::store::{Descriptor, Digest, Store, write_atomic};

pub(super) struct LayerCache {
    /// None with `--no-cache`.
    dir: Option<PathBuf>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cached {
    layer: Descriptor,
    diff_id: Digest,
}

impl LayerCache {
    pub fn new(root: &Path, enabled: bool) -> LayerCache {
        LayerCache { dir: enabled.then(|| dir(root)) }
    }

    /// A key for a step: what came before it and what it is.
    pub fn key(parts: &[&str]) -> String {
        let mut hash = Sha256::new();
        for part in parts {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        hex::encode(hash.finalize())
    }

    pub fn get(&self, store: &Store, key: &str) -> Option<(Descriptor, Digest)> {
        let bytes = std::fs::read(self.dir.as_ref()?.join(format!("{key}.json"))).ok()?;
        let cached: Cached = serde_json::from_slice(&bytes).ok()?;
        store.has_blob(&cached.layer.digest).then_some((cached.layer, cached.diff_id))
    }

    /// Remembers a step's layer; a cache that cannot be written only costs
    /// the next build time.
    pub fn put(&self, key: &str, layer: &Descriptor, diff_id: &Digest) {
        let Some(dir) = &self.dir else { return };
        let entry = Cached { layer: layer.clone(), diff_id: diff_id.clone() };
        let written = std::fs::create_dir_all(dir).and_then(|()| {
            write_atomic(&dir.join(format!("{key}.json")), &serde_json::to_vec(&entry).expect("JSON"))
        });
        if let Err(e) = written {
            tracing::warn!("the build cache in {} cannot be written: {e}", dir.display());
        }
    }
}

fn dir(root: &Path) -> PathBuf {
    root.join("build-cache")
}

/// How many steps are cached, and the bytes their records take.
pub fn usage(root: &Path) -> (usize, u64) {
    let dir = dir(root);
    let count = std::fs::read_dir(&dir).map_or(0, |entries| entries.count());
    (count, crate::root::disk_usage(&dir))
}

/// Forgets every cached step, then removes the layers only the cache kept
/// (those of no image). Returns the bytes freed.
pub fn prune(root: &Path, store: &Store) -> crate::Result<u64> {
    let dir = dir(root);
    let entries = crate::root::disk_usage(&dir);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(anyhow::anyhow!("removing {}: {e}", dir.display()).into()),
    }
    Ok(entries + store.collect_garbage(&crate::container::images_in_use(root))?)
}
