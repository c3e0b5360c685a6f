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

use oci_spec::runtime::Spec;

use crate::plan::{
    DirGrant, Found, Grants, Limits, Module, ModuleSource, NativeRun, Network, RunPlan, StdioFiles, Workload,
    find_program,
};
use crate::store::{Descriptor, Digest, Index, Manifest, media};
use crate::{Error, Result};

/// The files a bundle's process gets as stdin, stdout and stderr; a missing
/// one is empty (stdin) or discarded (output).
#[derive(Default)]
pub struct Io {
    pub stdin: Option<File>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
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

/// Reads the bundle in `dir` and makes the plan of its task: a wasm
/// program, or a native container run as the spec says.
pub fn plan(id: &str, dir: &Path, io: Io, image: &mut dyn ImageSource) -> Result<RunPlan> {
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
        Some(program) => wasm_program(&root, program, &env, &cwd),
        None => Found::Missing,
    };
    let wasm = match found {
        Found::File { path, .. } => read_wasm(&root, &path).map(|bytes| (path, bytes)),
        Found::NotRunnable(_) => None,
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
    let stdio = StdioFiles {
        stdin: io.stdin.map(Arc::new),
        stdout: io.stdout.map(Arc::new),
        stderr: io.stderr.map(Arc::new),
    };
    let Some((path, bytes)) = wasm else {
        let grants = Grants { args, env, stdio: Some(stdio), ..Grants::default() };
        return Ok(RunPlan {
            id: id.to_owned(),
            workload: Workload::Native(NativeRun::Bundle { dir: dir.to_owned() }),
            grants,
            limits: Limits::default(),
            stop_signal: crate::ids::SIGTERM,
            hold: None,
        });
    };
    let grants = Grants {
        dirs: dir_grants(&spec, &rootfs),
        env,
        args,
        workdir: Some(cwd).filter(|c| c != "/" && !c.is_empty()),
        stdin: stdio.stdin.is_some(),
        tty: Some(process.terminal().unwrap_or(false)),
        network: if crate::oci::has_own_network(&spec) { Network::None } else { Network::Host },
        ports: Vec::new(),
        own_network: false,
        stdio: Some(stdio),
    };
    grants.check()?;
    Ok(RunPlan {
        id: id.to_owned(),
        workload: Workload::Wasm(Module { name: path, source: ModuleSource::Bytes(bytes) }),
        grants,
        limits: Limits { memory: memory_limit(&spec), ..Limits::default() },
        stop_signal: crate::ids::SIGTERM,
        hold: None,
    })
}

/// Removes what a bundle's task left (its native container's processes,
/// cgroup and state), after a shim that was killed or a create that failed.
pub fn clean_up(id: &str, dir: &Path) {
    crate::native::clean_up_bundle(id, dir);
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

/// The spec's program, found as execve would (`plan::find_program`) on
/// the spec's PATH, inside the root filesystem only.
fn wasm_program(root: &cap_std::fs::Dir, program: &str, env: &[(String, String)], cwd: &str) -> Found {
    let path = env.iter().rev().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str());
    find_program(root, program, path, cwd)
}

/// The file's bytes if it is a wasm module or component; none for
/// anything else (a native program).
fn read_wasm(root: &cap_std::fs::Dir, path: &str) -> Option<Vec<u8>> {
    let relative = path.trim_start_matches('/');
    let mut file = root.open(relative).ok()?;
    let mut magic = [0; 4];
    std::io::Read::read_exact(&mut file, &mut magic).ok()?;
    if &magic != b"\0asm" {
        return None;
    }
    root.read(relative).ok()
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
    use crate::wasm::CompileCache;

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
            let task = plan("c", dir.path(), Io::default(), &mut NoImage)
                .and_then(|plan| crate::task::create(plan, &cache));
            match task {
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
        let wasm =
            |program: &str, env: &[(String, String)], cwd: &str| match wasm_program(&root, program, env, cwd)
            {
                Found::File { path, .. } => read_wasm(&root, &path).map(|_| path),
                _ => None,
            };
        assert_eq!(wasm("app.wasm", &env, "/").as_deref(), Some("/bin/app.wasm"));
        assert_eq!(wasm("/bin/app.wasm", &[], "/").as_deref(), Some("/bin/app.wasm"));
        assert_eq!(wasm("app.wasm", &[], "/").as_deref(), Some("/bin/app.wasm"), "Docker's default PATH");
        assert_eq!(wasm("./app.wasm", &[], "/bin").as_deref(), Some("/bin/./app.wasm"));
        assert_eq!(wasm("echo", &env, "/"), None);
        assert_eq!(wasm_program(&root, "/../../etc/passwd", &env, "/"), Found::Missing);
        // A link out of the root to a host module is never read as the
        // bundle's program.
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("host.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::os::unix::fs::symlink(host.path().join("host.wasm"), dir.path().join("bin/out.wasm")).unwrap();
        std::os::unix::fs::symlink("../../../../../../../../..", dir.path().join("bin/up")).unwrap();
        assert_eq!(wasm("out.wasm", &env, "/"), None);
        let climbing = format!("/bin/up{}", host.path().join("host.wasm").display());
        assert_eq!(wasm(&climbing, &env, "/"), None);
    }
}
