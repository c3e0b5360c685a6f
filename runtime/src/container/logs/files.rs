//! A container's log files, as Docker's json-file driver keeps them:
//! `container.log` is written; once it reaches the container's max-size it
//! becomes `container.log.1`, the one before becomes `.2`, and so on up to
//! max-file files in all, the oldest dropped. Readers go through them
//! oldest first and follow the writer across rotations.
//!
//! A rotation is several renames. The writer holds `log.lock` exclusively
//! while it rotates and a reader holds it shared while it looks for the file
//! after its own, so that a reader never sees the files half moved.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Entry;
use super::config::Retention;

/// Where a container's log files are and how many of them are kept.
#[derive(Debug, Clone)]
pub struct LogFiles {
    current: PathBuf,
    lock: PathBuf,
    max_size: Option<u64>,
    max_files: u32,
}

impl LogFiles {
    /// The files of the container whose directory is `dir`; None when it
    /// keeps no log.
    pub fn new(dir: &Path, retention: Retention) -> Option<LogFiles> {
        let Retention::Files { max_size, max_files } = retention else { return None };
        Some(LogFiles { current: dir.join("container.log"), lock: dir.join("log.lock"), max_size, max_files })
    }

    /// The file being written.
    pub fn current(&self) -> &Path {
        &self.current
    }

    /// The file rotated `n` times ago; 0 is the current one.
    fn rotated(&self, n: u32) -> PathBuf {
        if n == 0 {
            return self.current.clone();
        }
        let mut name = self.current.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Every file there is, oldest first.
    pub fn paths(&self) -> Vec<PathBuf> {
        (0..self.max_files).rev().map(|n| self.rotated(n)).filter(|p| p.exists()).collect()
    }

    fn lock(&self) -> io::Result<File> {
        fs::OpenOptions::new().create(true).truncate(false).write(true).open(&self.lock)
    }

    /// The kept files, opened oldest first, as they are between rotations.
    fn open_all(&self) -> io::Result<Vec<File>> {
        let lock = self.lock()?;
        lock.lock_shared()?;
        let mut files = Vec::new();
        for n in (0..self.max_files).rev() {
            match File::open(self.rotated(n)) {
                Ok(file) => files.push(file),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(files)
    }
}

/// Appends to the current file and rotates it when it is full.
pub(super) struct Writer {
    files: LogFiles,
    file: File,
    size: u64,
}

impl Writer {
    pub fn open(files: LogFiles) -> io::Result<Writer> {
        let file = append(files.current())?;
        let size = file.metadata()?.len();
        Ok(Writer { files, file, size })
    }

    /// Writes one whole entry: a rotation never splits one.
    pub fn write(&mut self, entry: &[u8]) -> io::Result<()> {
        self.file.write_all(entry)?;
        self.size += entry.len() as u64;
        // As Docker does: the file that reaches max-size is rotated, so it
        // may pass it by one entry.
        if self.files.max_size.is_some_and(|max| self.size >= max) {
            self.rotate()?;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let lock = self.files.lock()?;
        lock.lock()?;
        let oldest = self.files.max_files - 1;
        ignore_missing(fs::remove_file(self.files.rotated(oldest)))?;
        for n in (0..oldest).rev() {
            ignore_missing(fs::rename(self.files.rotated(n), self.files.rotated(n + 1)))?;
        }
        self.file = append(self.files.current())?;
        self.size = 0;
        Ok(())
    }
}

fn append(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new().create(true).append(true).open(path)
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// A file's identity, which survives renames.
fn identity(meta: &fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// Reads a container's log, oldest entry first, and then what is appended,
/// across rotations: nothing twice, and nothing lost unless the writer
/// dropped a file this reader had not finished.
pub struct Reader {
    files: Option<LogFiles>,
    file: Option<BufReader<File>>,
    partial: Vec<u8>,
}

impl Reader {
    /// From the oldest entry kept. `None` files: a container that keeps no
    /// log, whose reader finds nothing.
    pub fn from_start(files: Option<LogFiles>) -> io::Result<Reader> {
        let file = match &files {
            Some(files) => files.open_all()?.into_iter().next(),
            None => None,
        };
        Ok(Reader { files, file: file.map(BufReader::new), partial: Vec::new() })
    }

    /// From the next entry written.
    pub fn from_end(files: Option<LogFiles>) -> io::Result<Reader> {
        let file = match &files {
            Some(files) => files.open_all()?.pop(),
            None => None,
        };
        let file = match file {
            Some(mut file) => {
                file.seek(io::SeekFrom::End(0))?;
                Some(BufReader::new(file))
            }
            None => None,
        };
        Ok(Reader { files, file, partial: Vec::new() })
    }

    /// Hands `each` the entries written since the last call, oldest first;
    /// a line still being written waits for the next call.
    pub fn read_new(&mut self, mut each: impl FnMut(&Entry)) -> io::Result<()> {
        let Some(files) = self.files.clone() else { return Ok(()) };
        loop {
            let Some(file) = &mut self.file else {
                // No log yet: the container has not started.
                match File::open(files.current()) {
                    Ok(file) => self.file = Some(BufReader::new(file)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(e),
                }
                continue;
            };
            read_entries(file, &mut self.partial, &mut each)?;
            let ours = identity(&file.get_ref().metadata()?);
            match fs::metadata(files.current()) {
                Ok(current) if identity(&current) == ours => return Ok(()),
                Ok(_) => {}
                // Between the rename of the current file and the making of
                // the next: the next call sees the rotation whole.
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            }
            // Rotated. The writer finished with our file before it moved it:
            // what it holds now is all it will ever hold.
            read_entries(file, &mut self.partial, &mut each)?;
            self.partial.clear();
            let all = files.open_all()?;
            let mut ids = Vec::with_capacity(all.len());
            for file in &all {
                ids.push(identity(&file.metadata()?));
            }
            // The file after ours; the oldest kept if ours was dropped meanwhile.
            let next = ids.iter().position(|id| *id == ours).map_or(0, |i| i + 1);
            self.file = all.into_iter().nth(next).map(BufReader::new);
        }
    }
}

/// Reads whole lines to the end of `file`, each a JSON entry; an unfinished
/// line stays in `partial` for the next read.
fn read_entries(
    file: &mut BufReader<File>,
    partial: &mut Vec<u8>,
    each: &mut impl FnMut(&Entry),
) -> io::Result<()> {
    loop {
        let read = file.read_until(b'\n', partial)?;
        if read == 0 || !partial.ends_with(b"\n") {
            return Ok(());
        }
        if let Ok(entry) = serde_json::from_slice::<Entry>(partial) {
            each(&entry);
        }
        partial.clear();
    }
}
