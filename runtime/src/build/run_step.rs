//! RUN: in a wasm stage, the named wasm program from the stage's files runs
//! in the same sandbox as `wbox run`, with those files granted read-write at
//! `/` and nothing else; in a native stage (Linux), the command runs in a
//! namespace container on those files. What it changed becomes the step's
//! layer.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::layer::{Content, Entry, Layer};
use crate::wasm::{self, CompileCache, DirGrant, Grants, Limits, Network, Outcome, Program};
use crate::{Error, Result};

/// What is known of a file to tell whether a step changed it.
#[derive(PartialEq, Eq)]
struct Seen {
    kind: u32,
    size: u64,
    mode: u32,
    modified: (i64, i64),
    inode: u64,
}

/// Runs `argv` in `files` and returns the layer of what it changed.
pub fn run(
    files: &Path,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    workdir: &str,
    network: &Network,
    cache: &CompileCache,
) -> Result<Layer> {
    let program_path = super::inside(&argv[0]).map(|p| files.join(p));
    let bytes = program_path.as_ref().and_then(|p| std::fs::read(p).ok()).filter(|b| b.starts_with(b"\0asm"));
    let Some(bytes) = bytes else {
        return Err(Error::usage(format!(
            "RUN {}: no wasm program is at that path in the stage's files; a wasm stage runs wasm programs \
             from its own files, e.g. RUN [\"/bin/tool.wasm\", \"arg\"]",
            argv[0]
        )));
    };
    let program = Program::load_bytes(argv[0].clone(), &bytes, cache)?;
    std::fs::create_dir_all(files.join(workdir.trim_start_matches('/')))
        .map_err(|e| Error::usage(format!("cannot make the working directory {workdir}: {e}")))?;
    let grants = Grants {
        dirs: vec![DirGrant { host: files.to_owned(), guest: "/".into(), read_only: false }],
        env,
        args: argv.clone(),
        workdir: Some(workdir.to_owned()),
        stdin: false,
        tty: Some(false),
        // None unless the build is given one (`wbox build --network host`).
        network: network.clone(),
        ..Grants::default()
    };
    grants.check()?;
    let before = snapshot(files);
    let (_stop, stop_signal) = wasm::stoppable();
    match wasm::run_blocking(&program, &grants, &Limits::default(), stop_signal)? {
        Outcome::Exited(0) => {}
        outcome => {
            return Err(Error::usage(format!(
                "RUN {} failed with exit code {}{}",
                argv.join(" "),
                outcome.exit_code(),
                match outcome {
                    Outcome::Trapped(message) => format!(": it trapped: {message}"),
                    _ => String::new(),
                }
            )));
        }
    }
    changes(files, &before)
}

/// Runs `argv` in a native container on `files` and returns the layer of
/// what it changed.
#[cfg(target_os = "linux")]
pub fn run_native(
    files: &Path,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    workdir: &str,
    user: Option<&str>,
    host_network: bool,
) -> Result<Layer> {
    let before = snapshot(files);
    let step = crate::native::BuildStep { files, argv: &argv, env: &env, workdir, user, host_network };
    match crate::native::run_build_step(step)? {
        0 => {}
        code => return Err(Error::usage(format!("RUN {} failed with exit code {code}", argv.join(" ")))),
    }
    // The mount points of the container's own /etc files are not the step's.
    for file in ["etc/hostname", "etc/hosts", "etc/resolv.conf"] {
        if !before.contains_key(file) {
            let _ = std::fs::remove_file(files.join(file));
        }
    }
    changes(files, &before)
}

/// The layer of what changed in `files` since `before`.
fn changes(files: &Path, before: &BTreeMap<String, Seen>) -> Result<Layer> {
    let after = snapshot(files);
    let mut layer = Layer::default();
    for (path, seen) in &after {
        if before.get(path) == Some(seen) {
            continue;
        }
        let full = files.join(path);
        let meta = std::fs::symlink_metadata(&full).map_err(|e| Error::Internal(e.into()))?;
        let content = if meta.is_dir() {
            Content::Dir
        } else if meta.is_symlink() {
            Content::Symlink(
                std::fs::read_link(&full)
                    .map_err(|e| Error::Internal(e.into()))?
                    .to_string_lossy()
                    .into_owned(),
            )
        } else {
            Content::File(std::fs::read(&full).map_err(|e| Error::Internal(e.into()))?)
        };
        layer.add(path.clone(), Entry { content, mode: meta.mode() & 0o7777, uid: 0, gid: 0 });
    }
    // What is gone is hidden from the layers below by a whiteout.
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        let (parent, name) = path.rsplit_once('/').map_or(("", path.as_str()), |(p, n)| (p, n));
        if parent.is_empty() || after.contains_key(parent) {
            let whiteout =
                if parent.is_empty() { format!(".wh.{name}") } else { format!("{parent}/.wh.{name}") };
            layer.add(whiteout, Entry { content: Content::File(Vec::new()), mode: 0o644, uid: 0, gid: 0 });
        }
    }
    Ok(layer)
}

fn snapshot(root: &Path) -> BTreeMap<String, Seen> {
    let mut seen = BTreeMap::new();
    walk(root, "", &mut seen);
    seen
}

fn walk(dir: &Path, prefix: &str, seen: &mut BTreeMap<String, Seen>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let Ok(meta) = entry.path().symlink_metadata() else { continue };
        seen.insert(
            path.clone(),
            Seen {
                kind: meta.mode() & 0o170000,
                size: meta.len(),
                mode: meta.mode(),
                modified: (meta.mtime(), meta.mtime_nsec()),
                inode: meta.ino(),
            },
        );
        if meta.is_dir() {
            walk(&entry.path(), &path, seen);
        }
    }
}
