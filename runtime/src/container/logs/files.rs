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
use std::path::{Path, PathBuf};

use super::Entry;
use super::config::Retention;
use crate::os::fs::identity;

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
                // There was no log when this reader came: all there is now
                // is new, the oldest first.
                match files.open_all()?.into_iter().next() {
                    Some(file) => self.file = Some(BufReader::new(file)),
                    None => return Ok(()),
                }
                continue;
            };
            read_entries(file, &mut self.partial, &mut each)?;
            let ours = identity(file.get_ref())?;
            match File::open(files.current()) {
                Ok(current) if identity(&current)? == ours => return Ok(()),
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
                ids.push(identity(file)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries of one size, so that the tests know where rotations fall (a
    /// time of now would be shorter whenever its nanoseconds end in zeros).
    fn entry(n: u64) -> Vec<u8> {
        let time = chrono::DateTime::from_timestamp(1_800_000_000, 123_456_789).unwrap();
        let entry = Entry { log: format!("{n:06}\n"), stream: "stdout".into(), time };
        let mut json = serde_json::to_vec(&entry).unwrap();
        json.push(b'\n');
        json
    }

    /// Files rotated after every third entry.
    fn files(dir: &Path, max_files: u32) -> LogFiles {
        let max_size = Some(entry(0).len() as u64 * 3);
        LogFiles::new(dir, Retention::Files { max_size, max_files }).unwrap()
    }

    fn read(reader: &mut Reader) -> Vec<u64> {
        let mut numbers = Vec::new();
        reader.read_new(|e| numbers.push(e.log.trim().parse().unwrap())).unwrap();
        numbers
    }

    #[test]
    fn a_reader_goes_through_every_rotated_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path(), 10);
        let mut reader = Reader::from_start(Some(files.clone())).unwrap();
        let mut writer = Writer::open(files.clone()).unwrap();
        for n in 1..=20 {
            writer.write(&entry(n)).unwrap();
        }
        // Six rotations happened before it read: it reads them all, in turn.
        assert_eq!(files.paths().len(), 7);
        assert_eq!(read(&mut reader), (1..=20).collect::<Vec<_>>());
        assert_eq!(read(&mut Reader::from_start(Some(files.clone())).unwrap()), (1..=20).collect::<Vec<_>>());
        writer.write(&entry(21)).unwrap();
        assert_eq!(read(&mut reader), [21]);
        assert!(read(&mut reader).is_empty());
    }

    #[test]
    fn a_follower_sees_each_entry_once_across_rotations() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path(), 3);
        let mut writer = Writer::open(files.clone()).unwrap();
        writer.write(&entry(1)).unwrap();
        let mut reader = Reader::from_end(Some(files.clone())).unwrap();
        let mut seen = Vec::new();
        for n in 2..=30 {
            writer.write(&entry(n)).unwrap();
            if n % 2 == 0 {
                seen.extend(read(&mut reader));
            }
        }
        seen.extend(read(&mut reader));
        assert_eq!(seen, (2..=30).collect::<Vec<_>>());
        // Three files of three entries at most: the newest are kept.
        assert_eq!(read(&mut Reader::from_start(Some(files)).unwrap()), (25..=30).collect::<Vec<_>>());
    }

    #[test]
    fn a_reader_left_behind_goes_on_from_the_oldest_kept_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for max_files in [1, 2] {
            let files = files(&dir.path().join(max_files.to_string()), max_files);
            fs::create_dir(dir.path().join(max_files.to_string())).unwrap();
            let mut writer = Writer::open(files.clone()).unwrap();
            let mut reader = Reader::from_start(Some(files.clone())).unwrap();
            writer.write(&entry(1)).unwrap();
            assert_eq!(read(&mut reader), [1]);
            for n in 2..=20 {
                writer.write(&entry(n)).unwrap();
            }
            // Its file was dropped before it was done: it finishes the file
            // it holds, then goes on from the oldest kept, skipping what was
            // dropped, repeating nothing.
            let rest = read(&mut reader);
            let kept = read(&mut Reader::from_start(Some(files)).unwrap());
            assert!(kept.len() < 18 && kept.last() == Some(&20), "{kept:?}");
            assert!(kept.windows(2).all(|w| w[1] == w[0] + 1), "{kept:?}");
            assert!(rest.starts_with(&[2, 3]) && rest.ends_with(&kept), "max-file={max_files}: {rest:?}");
            assert!(rest.windows(2).all(|w| w[1] > w[0]), "{rest:?}");
        }
    }
}
