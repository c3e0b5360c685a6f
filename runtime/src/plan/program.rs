//! Finding the program a run names inside its root filesystem, as execve
//! and a shell's PATH search would: one rule for native containers and for
//! the wasm programs an OCI bundle names.

use std::io;

use cap_std::fs::Dir;

/// Docker's PATH for an image that sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a program's name found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// A file, by its absolute path in the root. A non-executable one only
    /// when no executable one was found (it can still be a wasm module).
    File {
        path: String,
        executable: bool,
    },
    /// Nothing but something that cannot run: the first, and why.
    NotRunnable(String),
    Missing,
}

/// Looks `program` up inside `root` only: a name with a `/` as a path from
/// `cwd`, any other in each directory of `path` (Docker's default when the
/// environment has none) in turn, passing over what cannot run, as execve
/// does.
pub fn find_program(root: &Dir, program: &str, path: Option<&str>, cwd: &str) -> Found {
    let candidates: Vec<String> = if program.contains('/') {
        vec![if program.starts_with('/') { program.to_owned() } else { format!("{cwd}/{program}") }]
    } else if program.is_empty() {
        Vec::new()
    } else {
        let path = path.unwrap_or(DEFAULT_PATH);
        path.split(':').filter(|d| d.starts_with('/')).map(|d| format!("{d}/{program}")).collect()
    };
    let (mut fallback, mut refused) = (None, None);
    for candidate in candidates {
        match probe(root, &crate::rootdir::clamp(&candidate)) {
            Probe::Missing => {}
            Probe::Executable => return Found::File { path: candidate, executable: true },
            Probe::File => fallback = fallback.or(Some(candidate)),
            Probe::Directory => refused = refused.or(Some(format!("{candidate}: is a directory"))),
        }
    }
    match (fallback, refused) {
        (Some(path), _) => Found::File { path, executable: false },
        (None, Some(why)) => Found::NotRunnable(why),
        (None, None) => Found::Missing,
    }
}

enum Probe {
    Executable,
    File,
    Directory,
    Missing,
}

fn probe(root: &Dir, path: &std::path::Path) -> Probe {
    match root.metadata(path) {
        Ok(m) if m.is_dir() => Probe::Directory,
        Ok(m) if !crate::os::fs::is_executable(&m) => Probe::File,
        Ok(_) => Probe::Executable,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Probe::Missing,
        // A symlink cap-std will not follow (an absolute one, written by
        // the container itself): let the kernel decide.
        Err(_) => Probe::Executable,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn root(files: &[(&str, u32)]) -> (tempfile::TempDir, Dir) {
        let temp = tempfile::tempdir().unwrap();
        for (path, mode) in files {
            let full = temp.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, "x").unwrap();
            std::fs::set_permissions(&full, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        let dir = Dir::open_ambient_dir(temp.path(), cap_std::ambient_authority()).unwrap();
        (temp, dir)
    }

    fn file(path: &str, executable: bool) -> Found {
        Found::File { path: path.into(), executable }
    }

    #[test]
    fn programs_are_found_as_execve_would() {
        let (_t, dir) = root(&[("bin/tool", 0o755), ("bin/data", 0o644), ("usr/bin/data", 0o755)]);
        let path = Some("/bin:/usr/bin");
        assert_eq!(find_program(&dir, "tool", path, "/"), file("/bin/tool", true));
        assert_eq!(find_program(&dir, "/bin/tool", path, "/"), file("/bin/tool", true));
        assert_eq!(find_program(&dir, "./tool", path, "/bin"), file("/bin/./tool", true));
        assert_eq!(find_program(&dir, "tool", None, "/"), file("/bin/tool", true), "Docker's default PATH");
        assert_eq!(find_program(&dir, "data", path, "/"), file("/usr/bin/data", true), "passes over 644");
        assert_eq!(find_program(&dir, "data", Some("/bin"), "/"), file("/bin/data", false));
        assert_eq!(find_program(&dir, "nothere", path, "/"), Found::Missing);
        assert_eq!(find_program(&dir, "", path, "/"), Found::Missing);
        assert_eq!(find_program(&dir, "/bin", path, "/"), Found::NotRunnable("/bin: is a directory".into()));
        assert_eq!(find_program(&dir, "/../../etc/passwd", path, "/"), Found::Missing, "stays inside");
        assert_eq!(find_program(&dir, "../../bin/tool", path, "/usr"), file("/usr/../../bin/tool", true));
    }
}
