//! The volumes a new container gets besides those it is given: the image's
//! `VOLUME`s and `--volumes-from`, and what Docker puts in an empty volume.

use std::path::Path;

use cap_std::fs::Dir;

use crate::filters::Filters;
use crate::image::{Image, Kind};
use crate::plan::{DirGrant, Grants};
use crate::rootdir::{self, RootDir};
use crate::store::Store;
use crate::volume::{Volume, Volumes};
use crate::{Error, Result};

use super::Containers;

/// The filters `volume ls` takes.
pub const LIST_FILTERS: &[&str] = &["dangling", "driver", "label", "name"];

/// `volume ls`: the volumes `filters` let through (`dangling`: whether no
/// container uses it).
pub fn list_volumes(root: &Path, filters: &Filters) -> Result<Vec<Volume>> {
    let dangling = filters.boolean("dangling")?;
    let users = super::volume_users(root)?;
    Ok(Volumes::open(root)?
        .list()?
        .into_iter()
        .filter(|v| {
            dangling.is_none_or(|d| d != users.contains_key(&v.name))
                && filters.any("name", |n| v.name.contains(n))
                && filters.any("driver", |d| d == "local")
                && filters.labels_match(&v.labels)
        })
        .collect())
}

/// The filters `volume prune` takes.
pub const PRUNE_FILTERS: &[&str] = &["label", "label!"];

/// `volume prune`: removes the anonymous volumes (with `all`, every volume)
/// that no container uses and `filters` let through; returns their names
/// and the bytes freed.
pub fn prune_volumes(root: &Path, all: bool, filters: &Filters) -> Result<(Vec<String>, u64)> {
    let volumes = Volumes::open(root)?;
    let _lock = volumes.lock()?;
    let users = super::volume_users(root)?;
    let mut removed = Vec::new();
    let mut freed = 0;
    for volume in volumes.list()? {
        if users.contains_key(&volume.name)
            || !(all || volume.anonymous)
            || !filters.labels_match(&volume.labels)
        {
            continue;
        }
        freed += volumes.remove(&volume.name, &[])?;
        removed.push(volume.name);
    }
    Ok((removed, freed))
}

/// `volume rm`: removes the volume `name`, unless a container uses it
/// (`-f` or not, as Docker). Returns the bytes freed.
pub fn remove_volume(root: &Path, name: &str) -> Result<u64> {
    let volumes = Volumes::open(root)?;
    let _lock = volumes.lock()?;
    let users = super::volume_users(root)?;
    volumes.remove(name, users.get(name).map_or(&[], Vec::as_slice))
}

impl Containers {
    /// Adds to `grants` the grants of each `--volumes-from` container
    /// (`NAME[:ro|rw]`: its volumes and host directories, at the same
    /// paths), then a new anonymous volume for each `VOLUME` of the image
    /// that no grant covers. Every volume still empty is then filled with
    /// what the image holds at its path, as Docker fills it.
    /// The anonymous volumes made are added to `made`.
    pub(super) fn add_volumes(
        &self,
        store: &Store,
        image: &Image,
        volumes_from: &[String],
        grants: &mut Grants,
        made: &mut Vec<String>,
    ) -> Result<()> {
        for spec in volumes_from {
            let (name, mode) = spec.split_once(':').unwrap_or((spec, ""));
            let read_only = match mode {
                "" => None,
                "ro" => Some(true),
                "rw" => Some(false),
                other => {
                    return Err(Error::usage(format!(
                        "--volumes-from {spec}: mode '{other}' is not ro or rw"
                    )));
                }
            };
            for grant in &self.lookup(name)?.config.spec.grants.dirs {
                if !grants.dirs.iter().any(|d| d.guest == grant.guest) {
                    let read_only = read_only.unwrap_or(grant.read_only);
                    grants.dirs.push(DirGrant { read_only, ..grant.clone() });
                }
            }
        }
        let volumes = Volumes::open(self.root())?;
        // A volume the command line named, removed since: made again.
        for grant in &grants.dirs {
            if let Some(name) = volumes.named_by(&grant.host).filter(|name| volumes.get(name).is_err()) {
                volumes.create(Some(&name), Default::default(), false)?;
            }
        }
        let wanted = image.config.config.volumes.iter().flat_map(|v| v.keys());
        for path in wanted {
            let guest = format!("/{}", rootdir::clamp(path).to_string_lossy());
            if !grants.dirs.iter().any(|d| d.guest == guest) {
                let volume = volumes.create(None, Default::default(), true)?;
                made.push(volume.name);
                grants.dirs.push(DirGrant { host: volume.mountpoint, guest, read_only: false });
            }
        }
        let empty: Vec<&DirGrant> =
            grants.dirs.iter().filter(|d| volumes.named_by(&d.host).is_some() && is_empty(&d.host)).collect();
        if empty.is_empty() || matches!(image.kind()?, Kind::WasmArtifact { .. }) {
            return Ok(());
        }
        let (rootfs, _held) = store.use_rootfs(&image.manifest_digest, &image.manifest.layers)?;
        let image_files = RootDir::open(&rootfs).map_err(|e| fill_error(&rootfs, e))?;
        for grant in empty {
            fill(&image_files, &grant.guest, &grant.host).map_err(|e| fill_error(&grant.host, e))?;
        }
        Ok(())
    }

    /// The wbox root: containers are `ROOT/containers`.
    pub(super) fn root(&self) -> &Path {
        self.dir.parent().expect("containers are ROOT/containers")
    }
}

/// Copies what the image holds at `guest` (resolved inside the image) into
/// the volume at `host`; nothing if it holds no directory there.
fn fill(image_files: &RootDir, guest: &str, host: &Path) -> std::io::Result<()> {
    let resolved = image_files.resolve(guest)?;
    let Ok(source) =
        image_files.dir().open_dir(if resolved.as_os_str().is_empty() { Path::new(".") } else { &resolved })
    else {
        return Ok(());
    };
    let volume = Dir::open_ambient_dir(host, cap_std::ambient_authority())?;
    rootdir::copy_tree(&source, &volume)?;
    // The volume itself takes the directory's mode and owner, as Docker's:
    // an image's service that runs as its own user can write to it.
    let seen = crate::os::fs::seen(&source.dir_metadata()?);
    crate::os::fs::set_mode(&volume, Path::new("."), seen.mode & 0o7777)?;
    crate::os::fs::set_owner(&volume, Path::new("."), seen.uid, seen.gid)
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

fn fill_error(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(anyhow::anyhow!("filling the volume at {} from the image: {e}", path.display()))
}
