//! OCI runtime bundles, as containerd prepares them for its shim: a
//! `config.json` (the runtime spec) beside a mounted root filesystem.
//!
//! The spec's program decides how a bundle runs. A wasm module or
//! component runs under wasmtime, the spec's arguments, environment,
//! working directory, bind mounts and memory limit becoming its grants and
//! limits, and the root filesystem its `/`; anything else runs as a native
//! container (Linux), with the spec as given. A wasm OCI artifact has no
//! root filesystem to speak of: its module is read from the image, as its
//! maker (containerd) keeps it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use oci_spec::runtime::Spec;

use crate::store::{Descriptor, Digest, Index, Manifest, media};
use crate::wasm::{self, CompileCache, DirGrant, Grants, Limits, Network, Program, StdioFiles};
use crate::{Error, Result};

/// The files a bundle's process gets as stdin, stdout and stderr; a missing
/// one is empty (stdin) or discarded (output).
#[derive(Default)]
pub struct Io {
    pub stdin: Option<File>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
}

/// How a task ended.
#[derive(Debug, Clone, Copy)]
pub struct Exit {
    /// Its exit code, or 128 + the signal that ended it.
    pub code: i32,
    pub at: SystemTime,
}

/// A bundle's task, created and not yet started.
pub enum Created {
    Wasm(Box<WasmTask>),
    #[cfg(target_os = "linux")]
    Native(Box<crate::native::Created>),
}

/// A wasm program with its grants, compiled and ready to start.
pub struct WasmTask {
    id: String,
    program: Program,
    grants: Grants,
    limits: Limits,
}

/// The image a bundle was made from, as its maker keeps it. Asked only when
/// the spec's program is not in the root filesystem, as for a wasm OCI
/// artifact, whose one layer is the module itself.
pub trait ImageSource {
    /// The image's descriptor (a manifest or an index); none if the
    /// container names no image.
    fn target(&mut self) -> Result<Option<Descriptor>>;
    /// A blob's bytes (checked against the digest by the caller).
    fn read(&mut self, digest: &Digest) -> Result<Vec<u8>>;
}

/// Reads the bundle in `dir` and makes its task: a wasm program compiled
/// (through `cache`), or a native container created. A program that cannot
/// run is an error here, before anything starts.
pub fn create(
    id: &str,
    dir: &Path,
    io: Io,
    cache: &CompileCache,
    image: &mut dyn ImageSource,
) -> Result<Created> {
    let spec = Spec::load(dir.join("config.json"))
        .map_err(|e| Error::usage(format!("the bundle's config.json cannot be read: {e}")))?;
    let rootfs = root_path(dir, &spec);
    let process = spec.process().as_ref().ok_or_else(|| Error::usage("the bundle's spec has no process"))?;
    let mut args = process.args().clone().unwrap_or_default();
    let env: Vec<(String, String)> = process
        .env()
        .iter()
        .flatten()
        .map(|pair| {
            pair.split_once('=').map_or((pair.clone(), String::new()), |(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    let cwd = process.cwd().to_string_lossy().into_owned();
    let root = cap_std::fs::Dir::open_ambient_dir(&rootfs, cap_std::ambient_authority())
        .map_err(|e| Error::usage(format!("the bundle's root filesystem cannot be opened: {e}")))?;
    let found = match args.first() {
        Some(program) => find_program(&root, program, &env, &cwd),
        None => Found::Missing,
    };
    let wasm = match found {
        Found::Wasm(path, bytes) => Some((path, bytes)),
        Found::Other => None,
        Found::Missing => artifact_module(image)?.map(|(title, bytes)| {
            if args.is_empty() {
                args.push(title);
            }
            (args[0].clone(), bytes)
        }),
    };
    if args.is_empty() {
        return Err(Error::usage(
            "the bundle's spec names no program (process.args), and its image is no wasm artifact",
        ));
    }
    match wasm {
        Some((path, bytes)) => {
            let program = Program::load_bytes(path, &bytes, cache)?;
            let grants = Grants {
                dirs: dir_grants(&spec, &rootfs),
                env,
                args,
                workdir: Some(cwd).filter(|c| c != "/" && !c.is_empty()),
                stdin: io.stdin.is_some(),
                tty: Some(process.terminal().unwrap_or(false)),
                network: if crate::oci::has_own_network(&spec) { Network::None } else { Network::Host },
                ports: Vec::new(),
                stdio: Some(StdioFiles {
                    stdin: io.stdin.map(Arc::new),
                    stdout: io.stdout.map(Arc::new),
                    stderr: io.stderr.map(Arc::new),
                }),
            };
            grants.check()?;
            let limits = Limits { memory: memory_limit(&spec), ..Limits::default() };
            Ok(Created::Wasm(Box::new(WasmTask { id: id.to_owned(), program, grants, limits })))
        }
        None => create_native(id, dir, io),
    }
}

#[cfg(target_os = "linux")]
fn create_native(id: &str, dir: &Path, io: Io) -> Result<Created> {
    let state = dir.join("wbox-state");
    let stdio = [io.stdin.map(Into::into), io.stdout.map(Into::into), io.stderr.map(Into::into)];
    let created = crate::native::create_from_bundle(crate::native::FromBundle {
        id,
        bundle: dir,
        state: &state,
        stdio,
    })?;
    Ok(Created::Native(Box::new(created)))
}

#[cfg(not(target_os = "linux"))]
fn create_native(_id: &str, _dir: &Path, _io: Io) -> Result<Created> {
    Err(Error::NotRunnable("the bundle's program is not wasm, and native containers need Linux".to_owned()))
}

/// A task that was started: running, or ended.
pub struct Task {
    pid: u32,
    /// A native container's cgroup, which holds its processes.
    cgroup: Option<String>,
    signal: Box<dyn Fn(i32) + Send + Sync>,
}

impl Created {
    /// The process the task is: a native container's first process; for
    /// wasm, this process, which runs the guest.
    pub fn pid(&self) -> u32 {
        match self {
            Created::Wasm(_) => std::process::id(),
            #[cfg(target_os = "linux")]
            Created::Native(native) => native.pid() as u32,
        }
    }

    /// Starts the task; `on_exit` is called (on another thread) once it ends.
    pub fn start(self, on_exit: impl FnOnce(Exit) + Send + 'static) -> Result<Task> {
        let ended = move |code: i32| on_exit(Exit { code, at: SystemTime::now() });
        let pid = self.pid();
        let mut cgroup = None;
        let signal: Box<dyn Fn(i32) + Send + Sync> = match self {
            Created::Wasm(task) => {
                let (stop, stop_signal) = wasm::stoppable();
                let WasmTask { id, program, grants, limits } = *task;
                let stderr = grants.stdio.as_ref().and_then(|s| s.stderr.clone());
                std::thread::Builder::new()
                    .name(format!("wasm {id}"))
                    .spawn(move || {
                        let outcome =
                            wasm::ready(&program, &grants, &limits).and_then(|r| r.run_blocking(stop_signal));
                        let code = match outcome {
                            Ok(outcome) => {
                                if let wasm::Outcome::Trapped(message) = &outcome {
                                    report(
                                        stderr.as_deref(),
                                        &format!("{} trapped: {message}", program.name()),
                                    );
                                }
                                outcome.exit_code()
                            }
                            Err(e) => {
                                report(stderr.as_deref(), &e.to_string());
                                e.exit_code()
                            }
                        };
                        ended(code);
                    })
                    .map_err(|e| {
                        Error::Internal(anyhow::anyhow!("cannot start a thread for the guest: {e}"))
                    })?;
                // WASI has no signals: any signal ends the guest with its effect.
                Box::new(move |signal| {
                    if signal != 0 {
                        stop.stop(signal)
                    }
                })
            }
            #[cfg(target_os = "linux")]
            Created::Native(created) => {
                let signaller = created.signaller();
                let running = created.start()?;
                cgroup = Some(running.cgroup().to_owned());
                std::thread::Builder::new()
                    .name(format!("wait {pid}"))
                    .spawn(move || ended(running.wait().exit_code))
                    .map_err(|e| Error::Internal(anyhow::anyhow!("cannot start a thread to wait: {e}")))?;
                Box::new(move |signal| signaller.send(signal))
            }
        };
        Ok(Task { pid, cgroup, signal })
    }

    /// Removes a task that was never started.
    pub fn discard(self) {
        match self {
            Created::Wasm(_) => {}
            #[cfg(target_os = "linux")]
            Created::Native(native) => {
                native.discard();
            }
        }
    }
}

impl Task {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends a signal: to a native container's process; a wasm guest is
    /// ended with the signal's effect.
    pub fn signal(&self, signal: i32) {
        (self.signal)(signal)
    }

    pub fn is_wasm(&self) -> bool {
        self.cgroup.is_none()
    }

    /// The task's processes: a native container's, as its cgroup lists
    /// them; a wasm guest is this process.
    pub fn processes(&self) -> Vec<u32> {
        #[cfg(target_os = "linux")]
        if let Some(cgroup) = &self.cgroup
            && let Some(pids) = crate::native::processes(cgroup)
        {
            return pids;
        }
        vec![self.pid]
    }
}

/// Removes what a bundle's task left (its native container's processes,
/// cgroup and state), after a shim that was killed or a create that failed.
pub fn clean_up(id: &str, dir: &Path) {
    #[cfg(target_os = "linux")]
    crate::native::remove_state(&dir.join("wbox-state"), id);
    let _ = std::fs::remove_dir_all(dir.join("wbox-state"));
}

/// Where the guest's own errors go: its stderr, as a runtime's would.
fn report(stderr: Option<&File>, message: &str) {
    use std::io::Write;
    if let Some(mut stderr) = stderr {
        let _ = writeln!(stderr, "wbox: {message}");
    }
}

/// The spec's memory limit (of a Linux container's cgroup): the guest's cap.
fn memory_limit(spec: &Spec) -> Option<u64> {
    let memory = spec.linux().as_ref()?.resources().as_ref()?.memory().as_ref()?;
    memory.limit().filter(|&limit| limit > 0).map(|limit| limit as u64)
}

/// The spec's root, which may be relative to the bundle.
fn root_path(dir: &Path, spec: &Spec) -> PathBuf {
    let root = spec.root().as_ref().map(|r| r.path().clone()).unwrap_or_else(|| "rootfs".into());
    dir.join(root)
}

/// What the spec's program is in the root filesystem.
#[derive(Debug, PartialEq)]
enum Found {
    /// A wasm module or component: its path and bytes.
    Wasm(String, Vec<u8>),
    /// Something else (a native program).
    Other,
    Missing,
}

/// The program, found as a shell would (a name without `/` on the spec's
/// PATH, a relative path from the working directory), inside the root
/// filesystem only.
fn find_program(root: &cap_std::fs::Dir, program: &str, env: &[(String, String)], cwd: &str) -> Found {
    let candidates: Vec<String> = if program.contains('/') {
        vec![if program.starts_with('/') { program.to_owned() } else { format!("{cwd}/{program}") }]
    } else {
        let path = env.iter().rev().find(|(k, _)| k == "PATH").map_or("", |(_, v)| v.as_str());
        path.split(':').filter(|d| d.starts_with('/')).map(|d| format!("{d}/{program}")).collect()
    };
    for candidate in candidates {
        let relative = candidate.trim_start_matches('/');
        let Ok(mut file) = root.open(relative) else { continue };
        let mut magic = [0; 4];
        if std::io::Read::read_exact(&mut file, &mut magic).is_err() || &magic != b"\0asm" {
            return Found::Other;
        }
        return match root.read(relative) {
            Ok(bytes) => Found::Wasm(candidate, bytes),
            Err(_) => Found::Other,
        };
    }
    Found::Missing
}

/// The module of a wasm OCI artifact image (or of an index's wasm entry),
/// with its title: none if the image is not one. Every blob read is
/// checked against its digest.
fn artifact_module(image: &mut dyn ImageSource) -> Result<Option<(String, Vec<u8>)>> {
    let Some(mut target) = image.target()? else { return Ok(None) };
    let mut read = |descriptor: &Descriptor| -> Result<Vec<u8>> {
        let bytes = image.read(&descriptor.digest)?;
        if Digest::of(&bytes) != descriptor.digest {
            return Err(Error::image(format!(
                "the image's blob {} does not match its digest: the content store is damaged; pull the image again",
                descriptor.digest
            )));
        }
        Ok(bytes)
    };
    if media::is_index(&target.media_type) {
        let index = Index::parse(&read(&target)?)?;
        match crate::registry::choose_platform(&index, None) {
            Some(chosen) => target = chosen.clone(),
            None => return Ok(None),
        }
    }
    let manifest = Manifest::parse(&read(&target)?)?;
    let is_artifact = manifest.config.media_type == media::WASM_CONFIG
        || manifest.layers.iter().any(|l| media::is_wasm_layer(&l.media_type));
    if !is_artifact {
        return Ok(None);
    }
    let [layer] = manifest.layers.as_slice() else {
        return Err(Error::image(format!(
            "this wasm artifact has {} layers; the wasm OCI artifact format allows exactly one",
            manifest.layers.len()
        )));
    };
    let title = layer.annotation("org.opencontainers.image.title").unwrap_or("module.wasm").to_owned();
    Ok(Some((title, read(layer)?)))
}

/// The root filesystem as `/` (read-only if the spec says so), and each
/// bind mount of a directory at its destination, read-only with `ro`. A
/// wasm guest is granted directories: bind mounts of single files (which
/// Kubernetes adds, such as /etc/hosts) and the kernel filesystems a native
/// container gets (/proc, /dev, /sys) are not given.
fn dir_grants(spec: &Spec, rootfs: &Path) -> Vec<DirGrant> {
    let read_only = spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false);
    let mut grants = vec![DirGrant { host: rootfs.to_owned(), guest: "/".into(), read_only }];
    for mount in spec.mounts().iter().flatten() {
        let options = mount.options().clone().unwrap_or_default();
        let bind =
            mount.typ().as_deref() == Some("bind") || options.iter().any(|o| o == "bind" || o == "rbind");
        let Some(source) = mount.source() else { continue };
        if !bind || !source.is_dir() {
            continue;
        }
        let guest = mount.destination().to_string_lossy().into_owned();
        grants.retain(|g| g.guest != guest);
        grants.push(DirGrant { host: source.clone(), guest, read_only: options.iter().any(|o| o == "ro") });
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> Spec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn bind_mounts_of_directories_become_grants() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hosts");
        std::fs::write(&file, "").unwrap();
        let spec = spec(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs", "readonly": true},
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/data", "type": "bind", "source": dir.path(), "options": ["rbind", "ro"]},
                {"destination": "/rw", "source": dir.path(), "options": ["rbind", "rw"]},
                {"destination": "/etc/hosts", "type": "bind", "source": file, "options": ["rbind", "ro"]},
            ],
        }));
        let grants = dir_grants(&spec, Path::new("/bundle/rootfs"));
        let summary: Vec<_> = grants.iter().map(|g| (g.guest.as_str(), g.read_only)).collect();
        assert_eq!(summary, [("/", true), ("/data", true), ("/rw", false)]);
    }

    struct NoImage;

    impl ImageSource for NoImage {
        fn target(&mut self) -> Result<Option<Descriptor>> {
            Ok(None)
        }

        fn read(&mut self, digest: &Digest) -> Result<Vec<u8>> {
            panic!("nothing to read, yet {digest} was asked for")
        }
    }

    #[test]
    fn a_bad_bundle_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        let cache = CompileCache::disabled();
        let create = |config: &str| {
            std::fs::write(dir.path().join("config.json"), config).unwrap();
            match create("c", dir.path(), Io::default(), &cache, &mut NoImage) {
                Ok(_) => panic!("{config} was accepted"),
                Err(e) => e.to_string(),
            }
        };
        assert!(create("{not json").contains("config.json cannot be read"));
        let no_program = r#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "user": {"uid": 0, "gid": 0}}, "root": {"path": "rootfs"}}"#;
        assert!(create(no_program).contains("names no program"));
        std::fs::write(dir.path().join("rootfs/bad.wasm"), b"\0asm\x01\0\0\0\xffgarbage").unwrap();
        let bad_module = r#"{"ociVersion": "1.0.2", "process": {"args": ["/bad.wasm"], "cwd": "/", "user": {"uid": 0, "gid": 0}}, "root": {"path": "rootfs"}}"#;
        assert!(create(bad_module).contains("/bad.wasm"), "{}", create(bad_module));
    }

    #[test]
    fn wasm_is_found_on_the_path_and_native_programs_are_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/app.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(dir.path().join("bin/echo"), b"\x7fELF").unwrap();
        let root = cap_std::fs::Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
        let env = [("PATH".to_owned(), "/usr/bin:/bin".to_owned())];
        let path = |found| match found {
            Found::Wasm(path, _) => Some(path),
            _ => None,
        };
        assert_eq!(path(find_program(&root, "app.wasm", &env, "/")).as_deref(), Some("/bin/app.wasm"));
        assert_eq!(path(find_program(&root, "/bin/app.wasm", &[], "/")).as_deref(), Some("/bin/app.wasm"));
        assert_eq!(find_program(&root, "app.wasm", &[], "/bin"), Found::Missing, "not on a PATH");
        assert_eq!(path(find_program(&root, "./app.wasm", &[], "/bin")).as_deref(), Some("/bin/./app.wasm"));
        assert_eq!(find_program(&root, "echo", &env, "/"), Found::Other);
        assert_eq!(find_program(&root, "/../../etc/passwd", &env, "/"), Found::Missing);
    }
}
