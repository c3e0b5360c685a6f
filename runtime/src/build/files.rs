//! A stage's files while the build runs. A stage on a native image sees
//! the store's unpacked image (shared, read-only) under a writable layer of
//! its own, joined by overlayfs as a native container's root is, so that a
//! build does not copy the whole base for every run; off Linux, and where
//! the kernel refuses overlayfs, they are a copy.

use std::path::{Path, PathBuf};

use crate::scratch::Scratch;
use crate::{Error, Result};

pub struct StageFiles {
    /// The directory they are in, removed when the stage is done.
    _scratch: Scratch,
    /// Where the files are: the overlay's mount point, or in the scratch
    /// directory itself.
    path: PathBuf,
    overlay: Option<crate::native::Rootfs>,
    /// What keeps the store from collecting the image underneath.
    _held: Option<std::fs::File>,
}

impl StageFiles {
    /// Files of their own, empty.
    pub fn empty(root: &Path) -> Result<StageFiles> {
        let scratch = Scratch::new(root, "build-")?;
        let path = scratch.path().to_owned();
        Ok(StageFiles { _scratch: scratch, path, overlay: None, _held: None })
    }

    /// The files of an image unpacked at `image`, which `held` keeps.
    pub fn over(root: &Path, image: &Path, held: std::fs::File) -> Result<StageFiles> {
        let scratch = Scratch::new(root, "build-")?;
        let overlay = crate::native::Rootfs::mount(scratch.path(), image, true)?;
        let path = overlay.path.clone();
        Ok(StageFiles { _scratch: scratch, path, overlay: Some(overlay), _held: Some(held) })
    }

    /// A copy of the files at `from`.
    pub fn copy_of(root: &Path, from: &Path) -> Result<StageFiles> {
        let files = StageFiles::empty(root)?;
        crate::rootdir::copy_dir(from, &files.path)
            .map_err(|e| Error::Internal(anyhow::anyhow!("copying the stage's files failed: {e}")))?;
        Ok(files)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StageFiles {
    fn drop(&mut self) {
        // Unmounted before the scratch directory is removed, which would
        // otherwise walk into the overlay.
        if let Some(overlay) = self.overlay.take() {
            overlay.unmount();
        }
    }
}

/// Unmounts the overlay a killed build left in one of its scratch
/// directories, if any, before the directory is removed.
pub fn unmount_left_in(scratch: &Path) {
    crate::native::unmount_rootfs_in(scratch);
}
