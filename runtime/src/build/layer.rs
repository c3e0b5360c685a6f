//! Reproducible layers: entries sorted by path, owned by root unless told
//! otherwise, with one fixed timestamp, gzipped without a name or time in the
//! header, so that the same files always give the same digest.

use std::collections::BTreeMap;
use std::io::Write;

pub use crate::rootdir::Node as Content;
use crate::store::Descriptor;

pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[derive(Debug, Clone)]
pub struct Entry {
    pub content: Content,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// The files of one layer, by path inside the image (no leading `/`).
#[derive(Default)]
pub struct Layer {
    entries: BTreeMap<String, Entry>,
}

impl Layer {
    pub fn add(&mut self, path: String, entry: Entry) {
        self.entries.insert(path, entry);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn add_if_missing(&mut self, path: String, entry: Entry) {
        self.entries.entry(path).or_insert(entry);
    }

    /// Writes the files into a directory, through cap-std: nothing lands
    /// outside it, whatever symlinks it holds.
    pub fn write_into(&self, dir: &cap_std::fs::Dir) -> std::io::Result<()> {
        for (path, entry) in &self.entries {
            match &entry.content {
                Content::Dir => dir.create_dir_all(path)?,
                Content::File(bytes) => {
                    if let Some(parent) =
                        std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty())
                    {
                        dir.create_dir_all(parent)?;
                    }
                    dir.write(path, bytes)?;
                    crate::os::fs::set_mode(dir, std::path::Path::new(path), entry.mode)?;
                }
                Content::Symlink(target) => {
                    let _ = dir.remove_file(path);
                    // As the image says, even pointing out: it is read
                    // inside the stage, never followed out of it.
                    let path = std::path::Path::new(path);
                    crate::os::fs::symlink(dir, target, path)?.or_warn(path, target);
                }
                Content::HardLink(target) => {
                    let _ = dir.remove_file(path);
                    dir.hard_link(target, dir, path)?;
                }
                // The layer records them; the stage's own files need them
                // only for later RUN steps, which cannot open them anyway.
                Content::Fifo | Content::CharDevice { .. } | Content::BlockDevice { .. } => {
                    tracing::debug!("{path}: a fifo or device node is kept in the layer only");
                }
            }
        }
        Ok(())
    }

    /// The layer's tar: its digest is the layer's diff_id.
    pub fn tar(&self, mtime: u64) -> std::io::Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, entry) in &self.entries {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(mtime);
            header.set_uid(entry.uid);
            header.set_gid(entry.gid);
            header.set_mode(entry.mode);
            match &entry.content {
                Content::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    tar.append_data(&mut header, format!("{path}/"), std::io::empty())?;
                }
                Content::File(bytes) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(bytes.len() as u64);
                    tar.append_data(&mut header, path, bytes.as_slice())?;
                }
                Content::Symlink(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    tar.append_link(&mut header, path, target)?;
                }
                Content::HardLink(target) => {
                    header.set_entry_type(tar::EntryType::Link);
                    header.set_size(0);
                    tar.append_link(&mut header, path, target)?;
                }
                Content::Fifo => special(&mut tar, &mut header, path, tar::EntryType::Fifo, (0, 0))?,
                Content::CharDevice { major, minor } => {
                    special(&mut tar, &mut header, path, tar::EntryType::Char, (*major, *minor))?
                }
                Content::BlockDevice { major, minor } => {
                    special(&mut tar, &mut header, path, tar::EntryType::Block, (*major, *minor))?
                }
            }
        }
        tar.into_inner()
    }
}

/// A fifo or device node: a header and no data, as Docker writes them.
fn special(
    tar: &mut tar::Builder<Vec<u8>>,
    header: &mut tar::Header,
    path: &str,
    kind: tar::EntryType,
    (major, minor): (u32, u32),
) -> std::io::Result<()> {
    header.set_entry_type(kind);
    header.set_size(0);
    header.set_device_major(major)?;
    header.set_device_minor(minor)?;
    tar.append_data(header, path, std::io::empty())
}

/// A layer's tar gzipped (without a name or time in the header), and its
/// descriptor.
pub fn compress(tar: &[u8]) -> std::io::Result<(Vec<u8>, Descriptor)> {
    let mut gzip = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::default());
    gzip.write_all(tar)?;
    let compressed = gzip.finish()?;
    let descriptor = Descriptor::of(LAYER_MEDIA_TYPE, &compressed);
    Ok((compressed, descriptor))
}
