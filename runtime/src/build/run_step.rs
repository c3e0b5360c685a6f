//! RUN: in a wasm stage, the named wasm program from the stage's files runs
//! in the same sandbox as `wbox run`, with those files granted read-write at
//! `/` and nothing else; in a native stage (Linux), the command runs in a
//! namespace container on those files. What it changed becomes the step's
//! layer.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::dockerfile::Op;
use super::layer::{Content, Entry, Layer};
use super::{PROXY_ARGS, Stage, Step, env_vars, files_of, mounts, store_layer};
use crate::plan::{
    DirGrant, Grants, Limits, Module, ModuleSource, NativeOptions, NativeRoot, NativeRun, Network, StdioFiles,
};
use crate::plan::{RunPlan, Workload};
use crate::rootdir::{RootDir, S_IFDIR, S_IFREG, Snapshot};
use crate::scratch::Scratch;
use crate::wasm::CompileCache;
use crate::{Error, Result};

/// Applies a RUN (`kind`), whose step has the layer cache's `key`: its
/// layer from the cache, else from running it in the stage's files. True
/// when the layer came from the cache.
pub(super) fn apply(step: Step, stage: &mut Stage, kind: &Op) -> Result<bool> {
    let Step { b, built, key, workdir } = step;
    let Op::Run { command, mounts, network, script } = kind else { unreachable!("only RUN runs") };
    let mut env: Vec<(String, String)> =
        (b.options.build_args.iter()).filter(|(k, _)| PROXY_ARGS.contains(&k.as_str())).cloned().collect();
    env.extend(stage.vars.iter().cloned());
    // The image's ENV wins over build arguments of the same name.
    env.extend(env_vars(&stage.config));
    let (descriptor, diff_id) = match b.layers.get(b.store, key) {
        Some((descriptor, diff_id)) => {
            b.store.unpack_into(std::slice::from_ref(&descriptor), stage.files.path())?;
            stage.add_layer(descriptor, diff_id);
            return Ok(true);
        }
        None => {
            let argv = super::argv(command, &stage.config);
            let from = |name: &str| files_of(b, built, name);
            let sources = mounts::Sources {
                root: b.root,
                context: &b.context_path,
                secrets: &b.options.secrets,
                from: &from,
            };
            let mounts = mounts::prepare(mounts, script.as_ref(), &sources)?;
            let network = match network.as_deref() {
                Some("none") => Some(Network::None),
                Some("host") => Some(Network::Host),
                _ => b.options.network.clone(),
            };
            let layer = match &stage.platform {
                None => {
                    if !mounts.tmpfs.is_empty() || mounts.binds.iter().any(|m| !m.host.is_dir()) {
                        return Err(Error::usage(
                            "a wasm stage's RUN can mount directories (cache, bind of a directory) \
                             only; tmpfs and file mounts need a native stage",
                        ));
                    }
                    run(
                        stage.files.path(),
                        argv,
                        env,
                        workdir,
                        WasmStep {
                            network: network.as_ref().unwrap_or(&Network::None),
                            mounts: &mounts.binds,
                            cache: b.compile_cache,
                            output: b.options.step_output.as_ref(),
                        },
                    )?
                }
                Some(_) => run_native(
                    stage.files.path(),
                    argv,
                    env,
                    workdir,
                    NativeStep {
                        root: b.root,
                        user: stage
                            .config
                            .get("User")
                            .and_then(serde_json::Value::as_str)
                            .filter(|u| !u.is_empty()),
                        host_network: !matches!(network, Some(Network::None)),
                        mounts: &mounts.binds,
                        tmpfs: &mounts.tmpfs,
                        cache: b.compile_cache,
                        output: b.options.step_output.as_ref(),
                    },
                )?,
            };
            let (descriptor, diff_id) = store_layer(b.store, &layer, b.mtime)?;
            b.layers.put(key, &descriptor, &diff_id);
            (descriptor, diff_id)
        }
    };
    stage.add_layer(descriptor, diff_id);
    Ok(false)
}

/// What a wasm step runs with, besides its command.
pub struct WasmStep<'a> {
    pub network: &'a Network,
    /// `RUN --mount`s of directories.
    pub mounts: &'a [DirGrant],
    pub cache: &'a CompileCache,
    /// Where its output goes (see `BuildOptions::step_output`).
    pub output: Option<&'a Arc<std::fs::File>>,
}

/// Runs `argv` in `files` and returns the layer of what it changed.
pub fn run(
    files: &Path,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    workdir: &str,
    s: WasmStep,
) -> Result<Layer> {
    let root = open(files)?;
    let bytes = root.read(&argv[0]).ok().filter(|b| b.starts_with(b"\0asm"));
    let Some(bytes) = bytes else {
        return Err(Error::usage(format!(
            "RUN {}: no wasm program is at that path in the stage's files; a wasm stage runs wasm programs \
             from its own files, e.g. RUN [\"/bin/tool.wasm\", \"arg\"]",
            argv[0]
        )));
    };
    // Where the working directory really is: the guest cannot follow a
    // symlink that its grant's handle refuses (an absolute one).
    let workdir = format!("/{}", make_workdir(&root, workdir)?.display());
    let grants = Grants {
        dirs: std::iter::once(DirGrant { host: files.to_owned(), guest: "/".into(), read_only: false })
            .chain(s.mounts.iter().cloned())
            .collect(),
        env,
        args: argv.clone(),
        workdir: Some(workdir),
        stdin: false,
        tty: Some(false),
        // None unless the build is given one (`wbox build --network host`).
        network: s.network.clone(),
        stdio: output_files(s.output),
        ..Grants::default()
    };
    grants.check()?;
    let module = Module { name: argv[0].clone(), source: ModuleSource::Bytes(bytes) };
    let before = root.snapshot();
    let exit = crate::task::run(RunPlan::wasm(module, grants, Limits::default()), s.cache)?;
    if exit.code != 0 {
        // How it ended beyond its code (a trap) is on the build's output.
        return Err(Error::usage(format!("RUN {} failed with exit code {}", argv.join(" "), exit.code)));
    }
    changes(&root, &before, root.snapshot())
}

/// What a native step runs, besides its command.
pub struct NativeStep<'a> {
    pub root: &'a Path,
    pub user: Option<&'a str>,
    pub host_network: bool,
    /// `RUN --mount`s of files and directories.
    pub mounts: &'a [DirGrant],
    /// `RUN --mount=type=tmpfs` targets.
    pub tmpfs: &'a [String],
    pub cache: &'a CompileCache,
    /// Where its output goes (see `BuildOptions::step_output`).
    pub output: Option<&'a Arc<std::fs::File>>,
}

/// A step's stdout and stderr both to `output`, when given; else this
/// process's.
fn output_files(output: Option<&Arc<std::fs::File>>) -> Option<StdioFiles> {
    output.map(|file| StdioFiles {
        stdin: None,
        stdout: Some(Arc::clone(file)),
        stderr: Some(Arc::clone(file)),
    })
}

/// Runs `argv` in a native container on `files` and returns the layer of
/// what it changed.
pub fn run_native(
    files: &Path,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    workdir: &str,
    s: NativeStep,
) -> Result<Layer> {
    let stage = open(files)?;
    make_workdir(&stage, workdir)?;
    let mut targets: Vec<Target> = MountPoints::FILES.iter().map(|f| Target::Etc(f)).collect();
    // Under /dev, the container's own tmpfs, the runtime makes them there.
    let on_dev = |path: &str| Path::new(path).starts_with("/dev");
    targets.extend(
        s.mounts.iter().filter(|m| !on_dev(&m.guest)).map(|m| Target::Mount(&m.guest, m.host.is_dir())),
    );
    targets.extend(s.tmpfs.iter().map(|t| Target::Mount(t, true)));
    // Before the mount points are made: the directories made for the
    // step's own mounts are among its changes.
    let mut before = stage.snapshot();
    let mount_points = MountPoints::make(&stage, &targets)?;
    // Under ROOT, held while the step runs: if this process is killed, the
    // next wbox finds the container's state there and ends it.
    let work = Scratch::new(s.root, "run-")?;
    let id = format!("wbox-build-{}", &crate::ids::new_id()?[..16]);
    // Docker's default for a build is the host's network; else loopback.
    let network = if s.host_network { Network::Host } else { Network::None };
    let options = NativeOptions {
        hostname: Some(id.clone()),
        tmpfs: s.tmpfs.to_vec(),
        network_given: true,
        ..NativeOptions::default()
    };
    let files_run = NativeRun::Image {
        dir: work.path().to_owned(),
        root: NativeRoot::InPlace(files.to_owned()),
        options,
        user: s.user.map(str::to_owned),
    };
    let grants = Grants {
        dirs: s.mounts.to_vec(),
        env,
        args: argv.clone(),
        workdir: Some(workdir.to_owned()),
        tty: Some(false),
        network,
        stdio: output_files(s.output),
        ..Grants::default()
    };
    let plan = RunPlan {
        id,
        workload: Workload::Native(files_run),
        grants,
        limits: Limits::default(),
        stop_signal: crate::ids::SIGTERM,
        hold: None,
    };
    let code = crate::task::run(plan, s.cache)?.code;
    let mut after = stage.snapshot();
    mount_points.remove(&stage, &mut before, &mut after);
    if code != 0 {
        return Err(Error::usage(format!("RUN {} failed with exit code {code}", argv.join(" "))));
    }
    changes(&stage, &before, after)
}

fn open(files: &Path) -> Result<RootDir> {
    RootDir::open(files).map_err(|e| Error::Internal(anyhow::anyhow!("{}: {e}", files.display())))
}

/// Makes the step's working directory, inside the stage whatever its
/// symlinks say; returns where it is.
fn make_workdir(root: &RootDir, workdir: &str) -> Result<std::path::PathBuf> {
    root.create_dir_all(workdir)
        .map_err(|e| Error::usage(format!("cannot make the working directory {workdir}: {e}")))
}

/// Where a native step's container gets something mounted.
enum Target<'a> {
    /// Its own `/etc/hostname`, `/etc/hosts` or `/etc/resolv.conf`: made
    /// for the step only, with the directories made for it.
    Etc(&'a str),
    /// A `RUN --mount` target, a directory when `true`. As BuildKit, the
    /// directories made for it stay in the image (empty); a file made to
    /// mount a file on does not.
    Mount(&'a str, bool),
}

/// The files a native step's container gets its own `/etc/hostname`,
/// `/etc/hosts` and `/etc/resolv.conf` mounted on, and the targets of its
/// `RUN --mount`s. Made by us, inside the
/// stage, where the runtime will look for them (resolved in the stage, as it
/// resolves them); known afterwards by their inode, wherever the step moved
/// them, so that neither they nor a directory made for them lands in the
/// layer.
struct MountPoints {
    made: Vec<(u64, u64)>,
}

impl MountPoints {
    const FILES: [&str; 3] = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

    /// Makes each target that is missing, and the directories above it.
    fn make(root: &RootDir, targets: &[Target]) -> Result<MountPoints> {
        let mut made = Vec::new();
        let inode = |meta: cap_std::fs::Metadata| crate::os::fs::seen(&meta).inode;
        for target in targets {
            let (target, is_dir, keep_dirs) = match *target {
                Target::Etc(file) => (file, false, false),
                Target::Mount(path, is_dir) => (path, is_dir, true),
            };
            let mut make_one = || -> std::io::Result<()> {
                let path = root.resolve(target)?;
                if root.dir().symlink_metadata(&path).is_ok() || path.as_os_str().is_empty() {
                    return Ok(());
                }
                let mut dir = std::path::PathBuf::new();
                for part in path.parent().into_iter().flat_map(Path::components) {
                    dir.push(part);
                    if root.dir().symlink_metadata(&dir).is_err() {
                        root.dir().create_dir(&dir)?;
                        if !keep_dirs {
                            made.push(inode(root.dir().symlink_metadata(&dir)?));
                        }
                    }
                }
                if is_dir {
                    root.dir().create_dir(&path)?;
                    if !keep_dirs {
                        made.push(inode(root.dir().symlink_metadata(&path)?));
                    }
                } else {
                    made.push(inode(root.dir().create(&path)?.metadata()?));
                }
                Ok(())
            };
            make_one().map_err(|e| Error::usage(format!("cannot make {target} in the stage: {e}")))?;
        }
        Ok(MountPoints { made })
    }

    /// Removes the mount points, and the directories made for them that
    /// the step left empty, from the stage and from both snapshots.
    fn remove(&self, root: &RootDir, before: &mut Snapshot, after: &mut Snapshot) {
        let ours = |seen: &crate::rootdir::Seen| self.made.contains(&seen.inode);
        before.retain(|_, seen| !ours(seen));
        let mut found: Vec<(String, bool)> = after
            .iter()
            .filter(|(_, seen)| ours(seen))
            .map(|(p, s)| (p.clone(), s.kind == S_IFDIR))
            .collect();
        // Deepest first, so that a directory is empty when its turn comes.
        found.sort_by_key(|(path, _)| std::cmp::Reverse(path.matches('/').count()));
        for (path, is_dir) in found {
            // The path is one the walk found: it has no symlink in it.
            let removed = if is_dir { root.dir().remove_dir(&path) } else { root.dir().remove_file(&path) };
            if removed.is_ok() {
                after.remove(&path);
            }
        }
    }
}

/// Whether a path is the same file, with the same contents and metadata,
/// as before. Its link count and ctime are not asked: a new hard link to a
/// file changes neither it nor what it holds (Docker's layer then has the
/// new name as a file of its own, and not the old one).
fn unchanged(was: &crate::rootdir::Seen, is: &crate::rootdir::Seen) -> bool {
    (was.kind, was.size, was.mode, was.uid, was.gid, was.modified, was.inode, was.rdev)
        == (is.kind, is.size, is.mode, is.uid, is.gid, is.modified, is.inode, is.rdev)
}

/// The layer of what changed in the stage between two snapshots. Owners
/// are kept when wbox runs as root (a native step's `chown` is the image's);
/// otherwise every file is wbox's own, and the image's root's.
pub(crate) fn changes(root: &RootDir, before: &Snapshot, after: Snapshot) -> Result<Layer> {
    let keep_owners = crate::os::process::is_root();
    let mut layer = Layer::default();
    // A file with several names in this layer: the first name holds the
    // bytes, the others are hard links to it, as in Docker's layers.
    let mut first_names: HashMap<(u64, u64), String> = HashMap::new();
    for (path, seen) in &after {
        if before.get(path).is_some_and(|was| unchanged(was, seen)) {
            continue;
        }
        let linked = (seen.kind == S_IFREG && seen.links > 1).then(|| first_names.get(&seen.inode)).flatten();
        let content = match linked {
            Some(first) => Content::HardLink(first.clone()),
            None => match root.node(path) {
                Ok((content, _)) => content,
                Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                    tracing::debug!("{e}; left out of the layer, as Docker does");
                    continue;
                }
                Err(e) => return Err(Error::Internal(anyhow::anyhow!("reading {path} from the stage: {e}"))),
            },
        };
        if seen.kind == S_IFREG && seen.links > 1 {
            first_names.entry(seen.inode).or_insert_with(|| path.clone());
        }
        let (uid, gid) = if keep_owners { (seen.uid.into(), seen.gid.into()) } else { (0, 0) };
        layer.add(path.clone(), Entry { content, mode: seen.mode & 0o7777, uid, gid });
    }
    // What is gone is hidden from the layers below by a whiteout; inside a
    // directory that is itself gone, or now a file or a symlink, the entry
    // that replaced it does that.
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        let (parent, name) = path.rsplit_once('/').map_or(("", path.as_str()), |(p, n)| (p, n));
        if parent.is_empty() || after.get(parent).is_some_and(|seen| seen.kind == S_IFDIR) {
            let whiteout =
                if parent.is_empty() { format!(".wh.{name}") } else { format!("{parent}/.wh.{name}") };
            layer.add(whiteout, Entry { content: Content::File(Vec::new()), mode: 0o644, uid: 0, gid: 0 });
        }
    }
    Ok(layer)
}
