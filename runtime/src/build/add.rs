//! What ADD does beyond COPY: a URL is downloaded (and checked against
//! `--checksum`), a local tar archive (plain, gzip or zstd) is unpacked at
//! the destination, as Docker does.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::layer::{Content, Entry, Layer};
use crate::{Error, Result};

/// The most an ADD may download.
const MAX_DOWNLOAD: u64 = 4 << 30;

pub fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// Downloads `url`, checked against `checksum` (`sha256:HEX`) when given.
pub fn download(url: &str, checksum: Option<&str>) -> Result<Vec<u8>> {
    let expected = checksum
        .map(|c| {
            c.strip_prefix("sha256:")
                .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_ascii_lowercase)
                .ok_or_else(|| Error::usage(format!("--checksum={c}: give sha256:<64 hex digits>")))
        })
        .transpose()?;
    let bytes = fetch(url, "ADD")?;
    if let Some(expected) = expected {
        let got = hex::encode(Sha256::digest(&bytes));
        if got != expected {
            return Err(Error::usage(format!(
                "ADD {url}: checksum mismatch: --checksum says sha256:{expected}, the download is sha256:{got}"
            )));
        }
    }
    Ok(bytes)
}

/// The bytes at `url`, for `doing` (what errors say: `ADD`, `import`).
pub fn fetch(url: &str, doing: &str) -> Result<Vec<u8>> {
    let failed = |e: &dyn std::fmt::Display| Error::usage(format!("{doing} {url}: {e}"));
    let bytes = crate::registry::block_on(async {
        let response = reqwest::get(url).await.map_err(|e| failed(&e))?;
        let response = response.error_for_status().map_err(|e| failed(&e))?;
        if response.content_length().is_some_and(|n| n > MAX_DOWNLOAD) {
            return Err(failed(&"larger than the 4 GiB wbox downloads"));
        }
        response.bytes().await.map_err(|e| failed(&e))
    })?;
    Ok(bytes.to_vec())
}

/// The file name a download gets in a destination directory: the URL's last
/// path segment.
pub fn file_name(url: &str) -> Result<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let after_host = path.splitn(4, '/').nth(3).unwrap_or("");
    after_host
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty() && *name != "." && *name != "..")
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::usage(format!(
                "ADD {url}: the URL names no file; give a destination file name, not a directory"
            ))
        })
}

/// The bytes of `source` in the context when it is a tar archive ADD
/// unpacks (plain, gzip, bzip2, xz or zstd, told by its first bytes), else `None`: a
/// plain file is then copied as COPY does, and only its head was read.
pub fn archive_in(root: &cap_std::fs::Dir, source: &Path) -> Result<Option<Vec<u8>>> {
    let failed = |e: std::io::Error| Error::usage(format!("ADD source {}: {e}", source.display()));
    let mut file = root.open(source).map_err(failed)?;
    let mut head = Vec::new();
    (&mut file).take(HEAD).read_to_end(&mut head).map_err(failed)?;
    if !is_archive(&head) {
        return Ok(None);
    }
    file.read_to_end(&mut head).map_err(failed)?;
    Ok(Some(head))
}

/// Enough of a compressed file to decompress its first tar header from.
const HEAD: u64 = 64 << 10;

/// Whether `bytes` (or their beginning) are a tar archive: plain or
/// compressed.
fn is_archive(bytes: &[u8]) -> bool {
    let mut head = Vec::new();
    let _ = decompressed(bytes).take(512).read_to_end(&mut head);
    head.len() > 262 && &head[257..262] == b"ustar"
}

fn decompressed(bytes: &[u8]) -> Box<dyn Read + '_> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        match zstd::stream::read::Decoder::new(bytes) {
            Ok(decoder) => Box::new(decoder),
            Err(_) => Box::new(bytes),
        }
    } else if bytes.starts_with(b"BZh") {
        Box::new(bzip2::read::BzDecoder::new(bytes))
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Box::new(liblzma::read::XzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    }
}

/// Adds an archive's entries under `dest` (a path in the image without a
/// leading `/`). An entry that would land outside `dest` refuses the archive.
pub fn unpack(
    name: &str,
    bytes: &[u8],
    dest: &str,
    layer: &mut Layer,
    owner: Option<(u64, u64)>,
) -> Result<()> {
    let bad = |why: String| Error::usage(format!("ADD {name}: {why}"));
    let mut archive = tar::Archive::new(decompressed(bytes));
    let mut files: std::collections::HashMap<PathBuf, Vec<u8>> = std::collections::HashMap::new();
    for entry in archive.entries().map_err(|e| bad(format!("not a readable tar archive: {e}")))? {
        let mut entry = entry.map_err(|e| bad(format!("a damaged entry: {e}")))?;
        let raw = entry.path().map_err(|e| bad(format!("an entry's name: {e}")))?.into_owned();
        // Absolute names are taken inside the destination; `..` is refused.
        let relative = super::copy::inside(&raw.to_string_lossy())
            .filter(|_| !raw.components().any(|c| c == std::path::Component::ParentDir))
            .ok_or_else(|| bad(format!("entry {} climbs with '..'; nothing was added", raw.display())))?;
        if relative.as_os_str().is_empty() {
            continue;
        }
        let target = join(dest, &relative.to_string_lossy());
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644) & 0o7777 & !0o6000;
        let (uid, gid) = owner.unwrap_or((header.uid().unwrap_or(0), header.gid().unwrap_or(0)));
        let content = match header.entry_type() {
            tar::EntryType::Directory => Content::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).map_err(|e| bad(format!("reading {}: {e}", raw.display())))?;
                files.insert(relative.clone(), data.clone());
                Content::File(data)
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .ok_or_else(|| bad(format!("symlink {} has no target", raw.display())))?;
                Content::Symlink(link.to_string_lossy().into_owned())
            }
            tar::EntryType::Link => {
                // A hard link to an earlier file of the archive: its bytes.
                let link = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .ok_or_else(|| bad(format!("link {} has no target", raw.display())))?;
                let linked =
                    super::copy::inside(&link.to_string_lossy()).and_then(|p| files.get(&p).cloned());
                Content::File(linked.ok_or_else(|| {
                    bad(format!(
                        "hard link {} names {}, which is not an earlier file of the archive",
                        raw.display(),
                        link.display()
                    ))
                })?)
            }
            // Devices, fifos: nothing a wasm image can use.
            _ => continue,
        };
        layer.add(target, Entry { content, mode, uid, gid });
    }
    Ok(())
}

fn join(dest: &str, relative: &str) -> String {
    let dest = dest.trim_matches('/');
    if dest.is_empty() { relative.to_owned() } else { format!("{dest}/{relative}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            // Written raw: tar's own set_path refuses "..", which the
            // hostile case needs.
            header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn archives_are_told_by_their_bytes_and_unpacked_under_dest() {
        let tar = tar_of(&[("a/b.txt", b"bee"), ("c.txt", b"sea")]);
        assert!(is_archive(&tar));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        assert!(is_archive(&gz));
        assert!(!is_archive(b"just text"));
        let mut layer = Layer::default();
        unpack("x.tar.gz", &gz, "/opt/", &mut layer, None).unwrap();
        let tarball = layer.tar(0).unwrap();
        let mut names: Vec<String> = tar::Archive::new(&tarball[..])
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["opt/a/b.txt", "opt/c.txt"]);
    }

    #[test]
    fn an_entry_that_climbs_out_refuses_the_archive() {
        let tar = tar_of(&[("ok.txt", b"fine"), ("../escape.txt", b"bad")]);
        let mut layer = Layer::default();
        let e = unpack("evil.tar", &tar, "/app", &mut layer, None).unwrap_err();
        assert!(e.to_string().contains("../escape.txt"), "{e}");
    }

    #[test]
    fn download_names() {
        assert_eq!(file_name("https://example.com/files/tool.wasm?x=1").unwrap(), "tool.wasm");
        assert!(file_name("https://example.com/").is_err());
        assert!(file_name("https://example.com").is_err());
    }
}
