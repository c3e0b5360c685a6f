//! The compile cache: compiled code on disk, so a program is compiled once.
//!
//! An entry is `<root>/cache/compiled/<engine>/<sha256 of the wasm>.cwasm`,
//! where `<engine>` names the system, the architecture and wasmtime's
//! compatibility hash of our engine's configuration: code from another
//! system, wasmtime or configuration never meets this engine. Each entry
//! starts with a header holding a checksum of the compiled code and the
//! sha256 of the wasm it came from; an entry whose header does not match
//! (torn write, bit rot, a file copied from elsewhere) is discarded and the
//! program compiled again, never executed.
//!
//! The checksum finds damage, not tampering: compiled code is trusted because
//! only its user can have written it. The cache's directories are made
//! private (0700), and an entry that another user owns, or that others could
//! write, is compiled again instead of loaded.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::Module;
use wasmtime::component::Component;

use super::program::{Compiled, ProgramKind};
use crate::{Error, Result};

const MAGIC: &[u8; 16] = b"wbox-cwasm-v1\0\0\0";
const HEADER_LEN: usize = 16 + 16 + 32;

pub struct CompileCache {
    /// `ROOT/cache/compiled`, or `None` when the cache is off: everything is
    /// compiled in memory.
    dir: Option<PathBuf>,
    progress: Option<Box<dyn CompileProgress>>,
}

/// Told when a program has to be compiled, which takes seconds for a large
/// one, so that a front end can show that something is happening.
pub trait CompileProgress {
    fn compiling(&self, name: &str, wasm_bytes: usize);
    fn compiled(&self);
}

impl CompileCache {
    /// The cache under a wbox root directory.
    pub fn in_root(root: &Path) -> Self {
        CompileCache { dir: Some(Self::base(root)), progress: None }
    }

    /// No cache: compile every time, write nothing.
    pub fn disabled() -> Self {
        CompileCache { dir: None, progress: None }
    }

    pub fn with_progress(mut self, progress: impl CompileProgress + 'static) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    fn base(root: &Path) -> PathBuf {
        root.join("cache").join("compiled")
    }

    /// Removes every compiled entry under `root`, returning the bytes freed.
    pub fn clear(root: &Path) -> Result<u64> {
        let base = Self::base(root);
        let freed = crate::root::disk_usage(&base);
        match fs::remove_dir_all(&base) {
            Ok(()) => Ok(freed),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(anyhow::anyhow!("removing {}: {e}", base.display()).into()),
        }
    }

    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        name: &str,
        kind: ProgramKind,
        wasm: &[u8],
    ) -> Result<Compiled> {
        let Some(base) = &self.dir else {
            return self.compile(engine, name, kind, wasm);
        };
        let dir = &base.join(engine_dir_name(engine));
        let digest: [u8; 32] = Sha256::digest(wasm).into();
        let entry = dir.join(format!("{}.cwasm", hex::encode(digest)));
        match read_trusted(&entry) {
            Ok(bytes) => match verified_payload(&bytes, &digest) {
                Some(payload) => match deserialize(engine, kind, payload) {
                    Ok(compiled) => {
                        tracing::debug!("compile cache hit: {name} (sha256:{})", hex::encode(digest));
                        return Ok(compiled);
                    }
                    Err(e) => tracing::warn!(
                        "compile cache entry {} does not load ({e}); compiling {name} again",
                        entry.display()
                    ),
                },
                None => tracing::warn!(
                    "compile cache entry {} is corrupt or foreign; compiling {name} again",
                    entry.display()
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("compile cache entry {}: {e}; compiling {name} again", entry.display()),
        }

        tracing::debug!("compile cache miss: compiling {name} (sha256:{})", hex::encode(digest));
        let compiled = self.compile(engine, name, kind, wasm)?;
        if let Err(e) = store(dir, &entry, &digest, &compiled) {
            // The program still runs; only the next start is slower.
            tracing::warn!("cannot write compile cache entry {}: {e:#}", entry.display());
        }
        Ok(compiled)
    }
}

impl CompileCache {
    fn compile(&self, engine: &Engine, name: &str, kind: ProgramKind, wasm: &[u8]) -> Result<Compiled> {
        if let Some(progress) = &self.progress {
            progress.compiling(name, wasm.len());
        }
        let compiled = compile(engine, name, kind, wasm);
        if let Some(progress) = &self.progress {
            progress.compiled();
        }
        compiled
    }
}

/// The directory name for an engine: entries from any engine whose compiled
/// code this one cannot load sit elsewhere. wasmtime's compatibility hash
/// covers its version, the target and the engine's settings; the system and
/// architecture are spelt out too, so that a root shared between systems
/// (a disk mounted in Linux and Windows) shows whose code is whose.
fn engine_dir_name(engine: &Engine) -> String {
    // SipHash with fixed keys: stable for a given wbox binary, which is all
    // a cache key needs.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{}-{}-{:016x}", std::env::consts::OS, std::env::consts::ARCH, hasher.finish())
}

fn compile(engine: &Engine, name: &str, kind: ProgramKind, wasm: &[u8]) -> Result<Compiled> {
    let invalid =
        |e: wasmtime::Error| Error::NotRunnable(format!("{name} is not a valid WebAssembly program: {e:#}"));
    Ok(match kind {
        ProgramKind::Module => Compiled::Module(Module::new(engine, wasm).map_err(invalid)?),
        ProgramKind::Component => Compiled::Component(Component::new(engine, wasm).map_err(invalid)?),
    })
}

fn verified_payload<'a>(bytes: &'a [u8], digest: &[u8; 32]) -> Option<&'a [u8]> {
    let (header, payload) = bytes.split_at_checked(HEADER_LEN)?;
    let (magic, rest) = header.split_at(16);
    let (checksum, wasm_digest) = rest.split_at(16);
    (magic == MAGIC
        && wasm_digest == digest
        && checksum == xxhash_rust::xxh3::xxh3_128(payload).to_le_bytes())
    .then_some(payload)
}

fn deserialize(engine: &Engine, kind: ProgramKind, payload: &[u8]) -> wasmtime::Result<Compiled> {
    // SAFETY: wasmtime requires that the bytes were produced by wasmtime's own
    // serialisation. They were: `store` wrote them, and `verified_payload`
    // checked they are unchanged since; wasmtime then checks the version and
    // engine configuration itself.
    Ok(unsafe {
        match kind {
            ProgramKind::Module => Compiled::Module(Module::deserialize(engine, payload)?),
            ProgramKind::Component => Compiled::Component(Component::deserialize(engine, payload)?),
        }
    })
}

/// Writes an entry atomically: to a temporary file in the same directory,
/// then renamed into place, so a concurrent reader sees all of it or none.
/// No fsync: an entry torn by a crash fails its checksum and is rebuilt.
fn store(dir: &Path, entry: &Path, digest: &[u8; 32], compiled: &Compiled) -> anyhow::Result<()> {
    let payload = match compiled {
        Compiled::Module(m) => m.serialize(),
        Compiled::Component(c) => c.serialize(),
    }
    .map_err(|e| anyhow::anyhow!("serialising compiled code: {e}"))?;
    crate::os::fs::create_private_dir(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(MAGIC)?;
    file.write_all(&xxhash_rust::xxh3::xxh3_128(&payload).to_le_bytes())?;
    file.write_all(digest)?;
    file.write_all(&payload)?;
    file.persist(entry)?;
    Ok(())
}

/// Reads an entry only if the current user owns it and no one else can write
/// it: executing compiled code is as good as running a binary.
fn read_trusted(entry: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = fs::File::open(entry)?;
    crate::os::fs::check_private(&file.metadata()?)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        let digest = [7u8; 32];
        let payload = b"compiled code".as_slice();
        let mut entry = Vec::new();
        entry.extend_from_slice(MAGIC);
        entry.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(payload).to_le_bytes());
        entry.extend_from_slice(&digest);
        entry.extend_from_slice(payload);
        assert_eq!(verified_payload(&entry, &digest), Some(payload));
        assert_eq!(verified_payload(&entry, &[8u8; 32]), None, "another program's entry");
        let mut flipped = entry.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(verified_payload(&flipped, &digest), None, "a flipped bit");
        assert_eq!(verified_payload(&entry[..HEADER_LEN - 1], &digest), None, "truncated");
    }
}
