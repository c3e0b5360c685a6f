//! wbox.exe, the Windows build (scripts/test.sh cross-builds it with
//! mingw-w64 into the same target directory), run under Wine in a Wine
//! prefix of its own, made fresh in a temporary directory and shut down
//! when the tests are done. Wine's processes share the host's loopback, so
//! the registry a test starts on 127.0.0.1 is reachable from Windows.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

use super::{binary, workspace};

const WINE: &str = "/usr/lib/wine/wine64";
const WINESERVER: &str = "/usr/lib/wine/wineserver";

pub struct Wine {
    prefix: TempDir,
}

impl Wine {
    /// A fresh prefix, with the one DLL Wine 8 lacks that Rust programs
    /// need (tests/windows/bcryptprimitives.c, built here with mingw-w64).
    pub fn start() -> Wine {
        assert!(
            exe().exists(),
            "{} is missing: scripts/test.sh builds it (cargo build --target x86_64-pc-windows-gnu -p wbox)",
            exe().display()
        );
        let prefix = tempfile::tempdir().expect("a Wine prefix");
        let wine = Wine { prefix };
        let booted = wine.command(Path::new("wineboot")).arg("--init").output().expect("running wineboot");
        assert!(booted.status.success(), "wineboot: {}", String::from_utf8_lossy(&booted.stderr));
        let system32 = wine.prefix.path().join("drive_c/windows/system32");
        assert!(system32.is_dir(), "wineboot made no {}", system32.display());
        let source = workspace().join("tests/windows");
        let built = Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-o"])
            .arg(system32.join("bcryptprimitives.dll"))
            .arg(source.join("bcryptprimitives.c"))
            .arg(source.join("bcryptprimitives.def"))
            .arg("-ladvapi32")
            .output()
            .expect("running x86_64-w64-mingw32-gcc (scripts/install-deps.sh installs gcc-mingw-w64-x86-64)");
        assert!(built.status.success(), "bcryptprimitives.dll: {}", String::from_utf8_lossy(&built.stderr));
        wine
    }

    /// `program` (a Windows path or a builtin such as `wineboot`) under
    /// this prefix's Wine, quiet, with stdin empty.
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(WINE);
        command
            .arg(program)
            .env("WINEPREFIX", self.prefix.path())
            .env("WINEDEBUG", "-all")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    /// wbox.exe with its state in `root` (a directory of this machine).
    pub fn wbox(&self, root: &Path) -> Command {
        let mut command = self.command(&exe());
        command.env("WBOX_ROOT", windows_path(root));
        command
    }

    /// Runs wbox.exe to its end. Its output is caught in files, not pipes:
    /// under Wine, a process it starts (the supervisor of `run -d`) holds
    /// its starter's Unix stdio open, and a pipe would not end until that
    /// process does.
    pub fn run(&self, root: &Path, args: &[&str]) -> Output {
        let (stdout, stderr) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
        let status = self
            .wbox(root)
            .args(args)
            .stdout(stdout.try_clone().unwrap())
            .stderr(stderr.try_clone().unwrap())
            .status()
            .expect("running wbox.exe under Wine");
        let read = |mut file: std::fs::File| {
            let mut bytes = Vec::new();
            file.seek(SeekFrom::Start(0)).unwrap();
            file.read_to_end(&mut bytes).unwrap();
            bytes
        };
        Output { status, stdout: read(stdout), stderr: read(stderr) }
    }
}

impl Drop for Wine {
    /// Ends the prefix's wineserver and whatever still runs in it.
    fn drop(&mut self) {
        let _ = Command::new(WINESERVER).arg("-k").env("WINEPREFIX", self.prefix.path()).status();
    }
}

/// The Windows build of wbox, beside the Linux one's target directory.
pub fn exe() -> PathBuf {
    let linux = binary("wbox");
    let profile = linux.parent().and_then(Path::file_name).expect("target/PROFILE/wbox").to_owned();
    let target = linux.parent().and_then(Path::parent).expect("target/PROFILE");
    target.join("x86_64-pc-windows-gnu").join(profile).join("wbox.exe")
}

/// How Windows under Wine names a path of this machine: on drive Z:.
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}
