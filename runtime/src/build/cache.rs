//! The layer cache: a step whose inputs are the same as in an earlier build
//! (the same chain of steps before it, the same instruction, the same
//! variables, the same files copied) reuses that build's layer.
//! `ROOT/build-cache/<key>.json` records the layer; the layer itself is a
//! blob of the store, and an entry whose blob was collected is a miss.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
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
    /// When the step was built, when a build last reused it, and how many
    /// builds used it (none for records older than these fields).
    #[serde(default)]
    created: Option<DateTime<Utc>>,
    #[serde(default)]
    last_used: Option<DateTime<Utc>>,
    #[serde(default)]
    usage: u64,
}

/// A cached step, as `system df -v` lists it.
pub struct CachedStep {
    /// Its key.
    pub id: String,
    pub layer: Descriptor,
    pub created: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
    pub usage: u64,
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
        let path = self.dir.as_ref()?.join(format!("{key}.json"));
        let mut cached: Cached = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        if !store.has_blob(&cached.layer.digest) {
            return None;
        }
        // Counted for `system df -v`; a count that cannot be written is lost.
        cached.last_used = Some(Utc::now());
        cached.usage += 1;
        let _ = write_atomic(&path, &serde_json::to_vec(&cached).expect("JSON"));
        Some((cached.layer, cached.diff_id))
    }

    /// Remembers a step's layer; a cache that cannot be written only costs
    /// the next build time.
    pub fn put(&self, key: &str, layer: &Descriptor, diff_id: &Digest) {
        let Some(dir) = &self.dir else { return };
        let now = Some(Utc::now());
        let entry =
            Cached { layer: layer.clone(), diff_id: diff_id.clone(), created: now, last_used: now, usage: 1 };
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

/// The cached steps whose layers the store still has, oldest first.
pub fn entries(root: &Path, store: &Store) -> Vec<CachedStep> {
    let Ok(listed) = std::fs::read_dir(dir(root)) else { return Vec::new() };
    let mut steps: Vec<CachedStep> = listed
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let id = name.strip_suffix(".json")?.to_owned();
            let cached: Cached = serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok()?;
            store.has_blob(&cached.layer.digest).then_some(CachedStep {
                id,
                layer: cached.layer,
                created: cached.created,
                last_used: cached.last_used,
                usage: cached.usage,
            })
        })
        .collect();
    steps.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    steps
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
