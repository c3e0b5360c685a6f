//! `RUN --mount`: what each mount of a step binds into it. A cache is a
//! directory under `ROOT/build-cache/mounts` kept across builds (until
//! `builder prune`); a secret is copied
//! into the step's own scratch directory and bound read-only, so it is
//! never among the stage's files; a bind shows files of the context, a
//! stage or an image, read-only, or a copy of them when `rw`.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::dockerfile::{Heredoc, Mount};
use crate::plan::DirGrant;
use crate::rootdir::RootDir;
use crate::scratch::Scratch;
use crate::{Error, Result};

/// What a step's mounts became, held until the step ends.
pub struct StepMounts {
    pub binds: Vec<DirGrant>,
    pub tmpfs: Vec<String>,
    /// Secrets' and `rw` binds' copies.
    _scratch: Option<Scratch>,
    /// Images whose files a bind shows.
    _held: Vec<std::fs::File>,
}

/// A stage's or an image's files, with what keeps an image's files while
/// they are used.
pub type Files = (PathBuf, Option<std::fs::File>);

/// Where a mount's files come from.
pub struct Sources<'a> {
    pub root: &'a Path,
    pub context: &'a Path,
    /// `--secret id=…,src=…` of the build.
    pub secrets: &'a [(String, PathBuf)],
    /// The files `from=` names.
    pub from: &'a dyn Fn(&str) -> Result<Files>,
}

/// The directory a cache mount of this id uses, made on first use.
fn cache_dir(root: &Path, id: &str, (mode, uid, gid): (u32, u32, u32)) -> Result<PathBuf> {
    let dir = root.join("build-cache/mounts").join(hex::encode(Sha256::digest(id.as_bytes())));
    if !dir.exists() {
        let fail = |e: std::io::Error| Error::Internal(anyhow::anyhow!("cannot make the cache {id}: {e}"));
        std::fs::create_dir_all(&dir).map_err(fail)?;
        crate::os::fs::set_owner_and_mode(&dir, mode, uid, gid).map_err(fail)?;
    }
    Ok(dir)
}

/// Prepares a step's mounts, and the directory `/dev/pipes` holding its
/// heredoc script, if it has one (as BuildKit runs one).
pub fn prepare(mounts: &[Mount], script: Option<&Heredoc>, sources: &Sources) -> Result<StepMounts> {
    let mut copies: Option<Scratch> = None;
    let mut scratch = || -> Result<PathBuf> {
        if copies.is_none() {
            copies = Some(Scratch::new(sources.root, "mounts-")?);
        }
        Ok(copies.as_ref().expect("made").path().to_owned())
    };
    let (mut binds, mut tmpfs, mut held) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(script) = script {
        let dir = scratch()?.join("pipes");
        let fail =
            |e: std::io::Error| Error::Internal(anyhow::anyhow!("cannot write the heredoc script: {e}"));
        std::fs::create_dir(&dir).map_err(fail)?;
        let file = RootDir::open(&dir).map_err(fail)?;
        file.dir().write(&script.name, &script.body).map_err(fail)?;
        crate::os::fs::set_owner_and_mode(&dir.join(&script.name), 0o755, 0, 0).map_err(fail)?;
        binds.push(DirGrant { host: dir, guest: "/dev/pipes".into(), read_only: true });
    }
    for (n, mount) in mounts.iter().enumerate() {
        match mount {
            Mount::Cache { id, target, read_only, mode, uid, gid } => binds.push(DirGrant {
                host: cache_dir(sources.root, id, (*mode, *uid, *gid))?,
                guest: target.clone(),
                read_only: *read_only,
            }),
            Mount::Secret { id, target, required, mode, uid, gid } => {
                let Some((_, file)) = sources.secrets.iter().rev().find(|(name, _)| name == id) else {
                    if *required {
                        return Err(Error::usage(format!(
                            "RUN --mount=type=secret,id={id},required: no secret {id} was given; pass \
                             --secret id={id},src=FILE"
                        )));
                    }
                    continue;
                };
                let copy = scratch()?.join(format!("secret-{n}"));
                std::fs::copy(file, &copy).map_err(|e| {
                    Error::usage(format!("--secret id={id}: cannot read {}: {e}", file.display()))
                })?;
                crate::os::fs::set_owner_and_mode(&copy, *mode, *uid, *gid)
                    .map_err(|e| Error::Internal(e.into()))?;
                binds.push(DirGrant { host: copy, guest: target.clone(), read_only: true });
            }
            Mount::Bind { source, target, from, read_write } => {
                let (base, hold) = match from {
                    None => (sources.context.to_owned(), None),
                    Some(name) => (sources.from)(name)?,
                };
                held.extend(hold);
                let shown = || format!("RUN --mount=type=bind,source={source}");
                let root = RootDir::open(&base).map_err(|e| Error::Internal(e.into()))?;
                let mut host =
                    root.host_path(&base, source).map_err(|e| Error::usage(format!("{}: {e}", shown())))?;
                if *read_write {
                    // Writes go to a copy, thrown away with the step.
                    let copy = scratch()?.join(format!("bind-{n}"));
                    copy_for_writing(&host, &copy)
                        .map_err(|e| Error::usage(format!("{}: cannot copy it for rw: {e}", shown())))?;
                    host = copy;
                }
                binds.push(DirGrant { host, guest: target.clone(), read_only: !*read_write });
            }
            Mount::Tmpfs { target } => tmpfs.push(target.clone()),
        }
    }
    Ok(StepMounts { binds, tmpfs, _scratch: copies, _held: held })
}

/// A throw-away copy of a bind mount's source, a directory or a file, for
/// a step that mounts it `rw`.
fn copy_for_writing(source: &Path, copy: &Path) -> std::io::Result<()> {
    if source.is_dir() {
        crate::rootdir::copy_dir(source, copy)
    } else {
        std::fs::copy(source, copy).map(drop)
    }
}
