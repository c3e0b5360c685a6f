//! Directory grants: each works, and each boundary holds against a guest that
//! tries `..`, absolute paths, symlinks and writes to read-only grants.

mod harness;

use std::fs;
use std::os::unix::fs::symlink;

use harness::{Wbox, both, code, guest, stderr, stdout};

/// A host layout with a secret outside the grants and symlinks that lead to it.
struct Layout {
    dir: tempfile::TempDir,
}

const SECRET: &str = "the host's secret\n";
const EXISTING: &str = "read-only content\n";

impl Layout {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        fs::create_dir_all(base.join("rw")).unwrap();
        fs::create_dir_all(base.join("ro")).unwrap();
        fs::write(base.join("secret"), SECRET).unwrap();
        fs::write(base.join("ro/existing"), EXISTING).unwrap();
        symlink(base.join("secret"), base.join("rw/outside")).unwrap();
        symlink("../secret", base.join("rw/outside-rel")).unwrap();
        Layout { dir }
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).to_str().unwrap().to_owned()
    }

    fn assert_host_untouched(&self) {
        assert_eq!(fs::read_to_string(self.path("secret")).unwrap(), SECRET);
        assert_eq!(fs::read_to_string(self.path("ro/existing")).unwrap(), EXISTING);
        let ro: Vec<_> = fs::read_dir(self.path("ro")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(ro, ["existing"], "nothing appears in or leaves a read-only grant");
        let top: Vec<_> = fs::read_dir(self.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(top.len(), 3, "nothing appears beside the grants: {top:?}");
    }
}

fn assert_every_attempt_denied(output: &std::process::Output, expected_attempts: usize) {
    let out = stdout(output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), expected_attempts, "{out}");
    for line in &lines {
        assert!(line.contains(": denied ("), "escaped: {line}\n{out}");
    }
    assert_eq!(code(output), 0, "the guest counts the attempts allowed: {out}{}", stderr(output));
}

#[test]
fn escape_attempts_fail_and_the_host_is_unchanged() {
    let wbox = Wbox::new();
    for escape in both("escape") {
        let layout = Layout::new();
        let rw = format!("{}:/rw", layout.path("rw"));
        let ro = format!("{}:/ro:ro", layout.path("ro"));
        let out = wbox.run(&["run", "-v", &rw, "-v", &ro, &escape, "/rw", "/ro"]);
        assert_every_attempt_denied(&out, 16);
        layout.assert_host_untouched();
    }
}

#[test]
fn without_grants_the_guest_sees_no_files_at_all() {
    let wbox = Wbox::new();
    for escape in both("escape") {
        let out = wbox.run(&["run", &escape, "/rw", "/ro"]);
        assert_every_attempt_denied(&out, 16);
    }
    for probe in both("probe") {
        let out = wbox.run(&["run", "-w", "/", &probe, "cwd"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(stdout(&out), "/\n", "{probe}");
    }
}

#[test]
fn a_read_only_grant_is_readable_and_a_read_write_grant_writable() {
    let wbox = Wbox::new();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out_dir = dir.path().join("out");
    fs::create_dir_all(&data).unwrap();
    fs::create_dir_all(&out_dir).unwrap();
    fs::write(data.join("in.txt"), "one two\nthree four five\n").unwrap();
    let data_grant = format!("{}:/data:ro", data.display());
    let out_grant = format!("{}:/out", out_dir.display());

    let out = wbox.run(&[
        "run",
        "-v",
        &data_grant,
        "-v",
        &out_grant,
        &guest("wc.wasm"),
        "/data/in.txt",
        "/out/count.txt",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "2 5 24 /data/in.txt\n");
    assert_eq!(fs::read_to_string(out_dir.join("count.txt")).unwrap(), "2 5 24 /data/in.txt\n");

    // The same write into the read-only grant fails inside the guest.
    let out = wbox.run(&["run", "-v", &data_grant, &guest("wc.wasm"), "/data/in.txt", "/data/count.txt"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).starts_with("wc: /data/count.txt: "), "{}", stderr(&out));
    assert!(!data.join("count.txt").exists());
}

#[test]
fn a_read_only_grant_inside_a_read_write_one_stays_read_only() {
    let wbox = Wbox::new();
    let dir = tempfile::tempdir().unwrap();
    let (data, sub) = (dir.path().join("data"), dir.path().join("sub"));
    fs::create_dir_all(&data).unwrap();
    fs::create_dir_all(&sub).unwrap();
    fs::write(sub.join("in.txt"), "x\n").unwrap();
    let rw = format!("{}:/data", data.display());
    let ro = format!("{}:/data/sub:ro", sub.display());

    let out =
        wbox.run(&["run", "-v", &rw, "-v", &ro, &guest("wc.wasm"), "/data/sub/in.txt", "/data/out.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(data.join("out.txt").exists(), "the outer grant is writable");

    let out =
        wbox.run(&["run", "-v", &rw, "-v", &ro, &guest("wc.wasm"), "/data/sub/in.txt", "/data/sub/out.txt"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let out =
        wbox.run(&["run", "-v", &rw, "-v", &ro, "-w", "/data/sub", &guest("wc.wasm"), "in.txt", "out.txt"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!sub.join("out.txt").exists(), "the inner grant is read-only, from any path");
}

#[test]
fn workdir_makes_relative_paths_resolve_inside_its_grant() {
    let wbox = Wbox::new();
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub/in.txt"), "a b c\n").unwrap();
    let grant = format!("{}:/data:ro", dir.path().display());
    for wc in both("wc") {
        let out = wbox.run(&["run", "-v", &grant, "-w", "/data/sub/", &wc, "in.txt"]);
        assert_eq!(code(&out), 0, "{wc}: {}", stderr(&out));
        assert_eq!(stdout(&out), "1 3 6 in.txt\n", "{wc}");
    }

    // The working directory's grant keeps its rights.
    let out = wbox.run(&["run", "-v", &grant, "-w", "/data/sub", &guest("wc.wasm"), "in.txt", "out.txt"]);
    assert_eq!(code(&out), 1);
    assert!(!dir.path().join("sub/out.txt").exists());

    let out = wbox.run(&["run", "-v", &grant, "-w", "/data/missing", &guest("wc.wasm"), "in.txt"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
    assert!(stderr(&out).contains("/data/missing"));
}

#[test]
fn a_workdir_through_a_symlink_cannot_leave_its_grant() {
    // A guest with a read-write grant can leave symlinks behind; a later run
    // whose working directory follows one must not reach the host outside.
    let wbox = Wbox::new();
    let layout = Layout::new();
    symlink("..", layout.path("rw/up")).unwrap();
    symlink(layout.dir.path(), layout.path("rw/abs")).unwrap();
    let grant = format!("{}:/rw", layout.path("rw"));
    for workdir in ["/rw/up", "/rw/abs"] {
        let out = wbox.run(&["run", "-v", &grant, "-w", workdir, &guest("wc.wasm"), "secret"]);
        assert_eq!(code(&out), 125, "{workdir}: {}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).is_empty(), "{workdir}: the guest must not run");
        assert!(stderr(&out).contains(workdir), "{}", stderr(&out));
    }
}

#[test]
fn no_network_of_any_kind() {
    // WASI preview 1 has no call that opens a socket; a component's every
    // socket and name lookup must fail inside the guest.
    let wbox = Wbox::new();
    let out = wbox.run(&["run", &guest("netprobe.component.wasm")]);
    assert_eq!(
        stdout(&out),
        "tcp socket (ipv4): denied (access-denied)\n\
         tcp socket (ipv6): denied (access-denied)\n\
         udp socket (ipv4): denied (access-denied)\n\
         resolve localhost: denied (permanent-resolver-failure)\n\
         resolve example.com: denied (permanent-resolver-failure)\n"
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}
