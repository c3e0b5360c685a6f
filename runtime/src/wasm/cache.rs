//! The compile cache: compiled code on disk, so a program is compiled once,
//! and a warm start costs the same whatever the program's size.
//!
//! Everything is under `<root>/cache/compiled/<engine>/`, where `<engine>`
//! names the system, the architecture and wasmtime's compatibility hash of
//! our engine's configuration: code from another system, wasmtime or
//! configuration never meets this engine.
//!
//! - `<sha256 of the wasm>.cwasm` is wasmtime's serialised code as it is,
//!   so that a start maps it rather than reads it.
//! - `<sha256>.seal` says what that code must be: a checksum of it and the
//!   sha256 of the wasm it came from. The first load of an entry reads it
//!   whole and checks it; an entry that does not match (torn, damaged, a
//!   file copied from elsewhere) is discarded and the program compiled
//!   again, never executed. Once checked, the seal records the entry file's
//!   identity (device, inode, size, times), and a later load that finds the
//!   same identity maps it without reading it. Entries are only ever
//!   replaced by a rename (a new inode) after an fsync, so an entry that is
//!   not the one checked has another identity and is checked again.
//! - `by-file/<key>` knows a program file by its identity, so that a warm
//!   start does not read a large module to hash it: the key is the file's
//!   device, inode, size and modification and change times, and the record
//!   names its sha256. Any write to the file changes its change time, which
//!   the kernel sets and no user can set back. A record is only made for a
//!   file unchanged for a second (git's "racily clean" rule): the kernel's
//!   clock ticks coarser than its nanoseconds, and a file written twice in
//!   one tick keeps its times; a second later, any write gives it a newer
//!   change time than the one recorded.
//!
//! The checksum finds damage, not tampering: compiled code is trusted because
//! only its user can have written it. The cache's directories are made
//! private (0700), and an entry, seal or record that another user owns, or
//! that others could write, is not used.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::Module;
use wasmtime::component::Component;

use super::program::{Compiled, ProgramKind};
use crate::{Error, Result};

/// A program's sha256: its cache key.
pub type WasmDigest = [u8; 32];

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

/// What a seal says of an entry.
#[derive(serde::Serialize, serde::Deserialize)]
struct Seal {
    /// xxh3-128 of the entry, hex.
    checksum: String,
    /// The sha256 of the wasm it came from, hex.
    wasm: String,
    /// The entry file's identity when its checksum last matched.
    checked: Option<crate::os::fs::Stamp>,
}

/// What `by-file/` knows of a program file.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct KnownFile {
    /// Its sha256, hex.
    pub wasm: String,
    pub component: bool,
    pub http_service: bool,
}

/// How long a file must have been left alone before its identity is
/// trusted to name its contents.
const SETTLED: std::time::Duration = std::time::Duration::from_secs(1);

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

    fn engine_dir(&self, engine: &Engine) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(engine_dir_name(engine)))
    }

    /// What the cache knows of the program file `file` (open, with its
    /// metadata), by its identity alone; none if nothing, or if it changed.
    pub(crate) fn known_file(&self, meta: &fs::Metadata) -> Option<KnownFile> {
        let path = self.dir.as_ref()?.join("by-file").join(file_key(meta)?);
        let bytes = read_trusted(&path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Remembers what a program file is, if it has been left alone long
    /// enough for its identity to say (see the module's comment).
    pub(crate) fn remember_file(&self, meta: &fs::Metadata, known: &KnownFile) {
        let (Some(dir), Some(key)) = (self.dir.as_ref().map(|d| d.join("by-file")), file_key(meta)) else {
            return;
        };
        let settled = crate::os::fs::changed_at(meta)
            .and_then(|changed| changed.elapsed().ok())
            .is_some_and(|age| age >= SETTLED);
        if !settled {
            return;
        }
        let written = crate::os::fs::create_private_dir(&dir).map_err(anyhow::Error::from).and_then(|()| {
            write_private(&dir, &dir.join(key), &serde_json::to_vec(known).expect("JSON"), false)
        });
        if let Err(e) = written {
            tracing::debug!("cannot remember a program file in {}: {e:#}", dir.display());
        }
    }

    /// The compiled code of the wasm whose sha256 is `digest`, if the cache
    /// holds a good entry of it.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        name: &str,
        kind: ProgramKind,
        digest: &WasmDigest,
    ) -> Option<Compiled> {
        let dir = self.engine_dir(engine)?;
        let entry = dir.join(format!("{}.cwasm", hex::encode(digest)));
        match check(&entry, digest) {
            Ok(read) => match deserialize(engine, kind, &entry, read) {
                Ok(compiled) => {
                    tracing::debug!("compile cache hit: {name} (sha256:{})", hex::encode(digest));
                    return Some(compiled);
                }
                Err(e) => tracing::warn!(
                    "compile cache entry {} does not load ({e}); compiling {name} again",
                    entry.display()
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("compile cache entry {}: {e}; compiling {name} again", entry.display()),
        }
        None
    }

    /// The compiled code of `wasm` (whose sha256 is `digest`): the cache's,
    /// or compiled now and kept.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        name: &str,
        kind: ProgramKind,
        wasm: &[u8],
        digest: &WasmDigest,
    ) -> Result<Compiled> {
        if let Some(compiled) = self.load(engine, name, kind, digest) {
            return Ok(compiled);
        }
        let compiled = self.compile(engine, name, kind, wasm)?;
        let Some(dir) = self.engine_dir(engine) else { return Ok(compiled) };
        tracing::debug!("compile cache miss: compiled {name} (sha256:{})", hex::encode(digest));
        if let Err(e) = store(&dir, digest, &compiled) {
            // The program still runs; only the next start is slower.
            tracing::warn!("cannot write a compile cache entry in {}: {e:#}", dir.display());
        }
        Ok(compiled)
    }

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

/// A program's sha256.
pub(crate) fn digest_of(wasm: &[u8]) -> WasmDigest {
    Sha256::digest(wasm).into()
}

/// The name of a program file's record: a hash of its identity; none where
/// the system gives no identity to trust (Windows).
fn file_key(meta: &fs::Metadata) -> Option<String> {
    let stamp = crate::os::fs::stamp(meta)?;
    Some(hex::encode(Sha256::digest(serde_json::to_vec(&stamp).expect("JSON"))))
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
    let invalid = |e: wasmtime::Error| {
        let why = format!("{e:#}");
        // wasmparser's words for a proposal the engine does not enable: the
        // program may be valid, wbox does not run it.
        Error::NotRunnable(if why.contains("feature") && why.contains("requires") {
            format!("{name} uses a WebAssembly feature that wbox does not support: {why}")
        } else {
            format!("{name} is not a valid WebAssembly program: {why}")
        })
    };
    Ok(match kind {
        ProgramKind::Module => Compiled::Module(Module::new(engine, wasm).map_err(invalid)?),
        ProgramKind::Component => Compiled::Component(Component::new(engine, wasm).map_err(invalid)?),
    })
}

/// Whether an entry is the user's own and matches its seal: checked by its
/// checksum (then its bytes, read for that, are returned), or known to be
/// the file checked before. An entry that does not match is an
/// `InvalidData` error.
fn check(entry: &Path, digest: &WasmDigest) -> std::io::Result<Option<Vec<u8>>> {
    let seal_path = entry.with_extension("seal");
    let mut seal: Seal = serde_json::from_slice(&read_trusted(&seal_path)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut file = fs::File::open(entry)?;
    let meta = file.metadata()?;
    crate::os::fs::check_private(&meta)?;
    let corrupt = || std::io::Error::new(std::io::ErrorKind::InvalidData, "corrupt or foreign");
    if seal.wasm != hex::encode(digest) {
        return Err(corrupt());
    }
    let stamp = crate::os::fs::stamp(&meta);
    if stamp.is_some() && seal.checked == stamp {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)?;
    if hex::encode(xxhash_rust::xxh3::xxh3_128(&bytes).to_le_bytes()) != seal.checksum {
        return Err(corrupt());
    }
    // Checked: later loads of this very file need not read it.
    if let (Some(stamp), Some(dir)) = (stamp, entry.parent()) {
        seal.checked = Some(stamp);
        let _ = write_private(dir, &seal_path, &serde_json::to_vec(&seal).expect("JSON"), false);
    }
    Ok(Some(bytes))
}

fn deserialize(
    engine: &Engine,
    kind: ProgramKind,
    entry: &Path,
    read: Option<Vec<u8>>,
) -> wasmtime::Result<Compiled> {
    // SAFETY: wasmtime requires that the code is what its own serialisation
    // wrote, and a mapped file stays unchanged while mapped. It is: `store`
    // wrote it, `check` found it unchanged since, and an entry is only ever
    // replaced by a rename, which leaves a mapped file as it was (and puts
    // there the same program's code, sealed). wasmtime then checks the
    // version and engine configuration itself. Bytes read to be checked
    // are used as they are (always so on Windows, which gives no identity
    // to trust); otherwise the file is mapped, by path, as wasmtime opens it.
    Ok(unsafe {
        match (kind, read) {
            (ProgramKind::Module, Some(bytes)) => Compiled::Module(Module::deserialize(engine, bytes)?),
            (ProgramKind::Component, Some(bytes)) => {
                Compiled::Component(Component::deserialize(engine, bytes)?)
            }
            (ProgramKind::Module, None) => Compiled::Module(Module::deserialize_file(engine, entry)?),
            (ProgramKind::Component, None) => {
                Compiled::Component(Component::deserialize_file(engine, entry)?)
            }
        }
    })
}

/// Writes an entry and its seal, each atomically and durably (written
/// aside, synced, renamed into place): a reader sees all of one or none,
/// and a crash leaves no torn entry that a seal would vouch for.
fn store(dir: &Path, digest: &WasmDigest, compiled: &Compiled) -> anyhow::Result<()> {
    let payload = match compiled {
        Compiled::Module(m) => m.serialize(),
        Compiled::Component(c) => c.serialize(),
    }
    .map_err(|e| anyhow::anyhow!("serialising compiled code: {e}"))?;
    crate::os::fs::create_private_dir(dir)?;
    let name = hex::encode(digest);
    let seal = Seal {
        checksum: hex::encode(xxhash_rust::xxh3::xxh3_128(&payload).to_le_bytes()),
        wasm: name.clone(),
        checked: None,
    };
    write_private(dir, &dir.join(format!("{name}.cwasm")), &payload, true)?;
    write_private(dir, &dir.join(format!("{name}.seal")), &serde_json::to_vec(&seal).expect("JSON"), true)
}

/// Writes a private file atomically (aside in `dir`, then renamed), synced
/// first if `durable`.
fn write_private(dir: &Path, path: &Path, bytes: &[u8], durable: bool) -> anyhow::Result<()> {
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    if durable {
        file.as_file().sync_all()?;
    }
    file.persist(path)?;
    Ok(())
}

/// Reads a file only if the current user owns it and no one else can write
/// it: what the cache holds decides which code runs.
fn read_trusted(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = fs::File::open(path)?;
    crate::os::fs::check_private(&file.metadata()?)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}
