//! Directory grants: each works, and each boundary holds against a guest that
//! tries `..`, absolute paths, symlinks and writes to read-only grants.

use wbox_test_harness as harness;

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
    let out = wbox.run(&[
        "run",
        "-v",
        &rw,
        "-v",
        &ro,
        "-w",
        "/data/sub",
        &guest("probe-cwd.component.wasm"),
        "write",
        "out.txt",
        "x",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!sub.join("out.txt").exists(), "the inner grant is read-only, from any path");
}

/// The probe built to start in WASI's working directory (initial-cwd), as a
/// guest whose runtime honours it does; wasi-libc's own guests start at `/`.
fn cwd_probe() -> String {
    guest("probe-cwd.component.wasm")
}

#[test]
fn workdir_makes_relative_paths_resolve_inside_its_grant() {
    let wbox = Wbox::new();
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub/in.txt"), "a b c\n").unwrap();
    let grant = format!("{}:/data:ro", dir.path().display());
    let out = wbox.run(&["run", "-v", &grant, "-w", "/data/sub/", &cwd_probe(), "show", "in.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "a b c\n");
    let out = wbox.run(&["run", "-v", &grant, "-w", "/data/sub/", &cwd_probe(), "cwd"]);
    assert_eq!(stdout(&out), "/data/sub\n");

    // The working directory's grant keeps its rights.
    let out = wbox.run(&["run", "-v", &grant, "-w", "/data/sub", &cwd_probe(), "write", "out.txt", "x"]);
    assert_eq!(code(&out), 1);
    assert!(!dir.path().join("sub/out.txt").exists());

    let out = wbox.run(&["run", "-v", &grant, "-w", "/data/missing", &guest("wc.wasm"), "in.txt"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
    assert!(stderr(&out).contains("/data/missing"));
}

/// A volume with one file, and what the guest must never leave in it.
struct Volume {
    dir: tempfile::TempDir,
}

impl Volume {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("in-volume.txt"), "volume content\n").unwrap();
        Volume { dir }
    }

    fn grant(&self, guest: &str) -> String {
        format!("{}:{guest}", self.dir.path().display())
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

#[test]
fn workdir_never_becomes_the_root_of_a_plain_module() {
    // `-w` moves the working directory; the guest's `/` stays what was
    // granted there (here nothing), so `/planted` cannot land in the volume.
    let wbox = Wbox::new();
    let volume = Volume::new();
    let grant = volume.grant("/data");
    for probe in both("probe").into_iter().chain([cwd_probe()]) {
        let out = wbox.run(&["run", "-w", "/data", "-v", &grant, &probe, "write", "/planted", "x"]);
        assert_eq!(code(&out), 1, "{probe}: {}", stderr(&out));
        let out = wbox.run(&["run", "-w", "/data", "-v", &grant, &probe, "ls", "/"]);
        assert_ne!(code(&out), 0, "{probe}: / must not list the volume: {}", stdout(&out));
        assert!(!stdout(&out).contains("in-volume.txt"), "{probe}: {}", stdout(&out));
        let out = wbox.run(&["run", "-w", "/data", "-v", &grant, &probe, "ls", "/data"]);
        assert_eq!(stdout(&out), "in-volume.txt\n", "{probe}: {}", stderr(&out));
    }
    assert_eq!(volume.names(), ["in-volume.txt"]);
}

/// Builds an image whose root holds the probes and /etc/marker, with the
/// Dockerfile's extra lines (a WORKDIR) before its ENTRYPOINT, the probe that
/// honours the working directory.
fn view_image(wbox: &Wbox, tag: &str, extra: &str) {
    let ctx = tempfile::tempdir().unwrap();
    fs::copy(guest("probe.wasm"), ctx.path().join("probe.wasm")).unwrap();
    fs::copy(cwd_probe(), ctx.path().join("probe-cwd.wasm")).unwrap();
    fs::write(ctx.path().join("marker"), "from the image\n").unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        format!(
            "FROM scratch\nCOPY probe.wasm probe-cwd.wasm /bin/\nCOPY marker /etc/marker\n{extra}\
             ENTRYPOINT [\"/bin/probe-cwd.wasm\"]\n"
        ),
    )
    .unwrap();
    let out = wbox.run(&["build", "-q", "-t", tag, ctx.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn an_image_root_stays_the_guests_root_under_a_workdir_in_a_volume() {
    // The attack of issue 26: `-w /data -v VOL:/data` made the volume the
    // guest's `/`, hid the image's files and took writes meant for `/`.
    let wbox = Wbox::new();
    view_image(&wbox, "local/view:1", "");
    let volume = Volume::new();
    let grant = volume.grant("/data");
    let run = |entrypoint: &str, args: &[&str]| {
        let mut all =
            vec!["run", "--rm", "-w", "/data", "-v", &grant, "--entrypoint", entrypoint, "local/view:1"];
        all.extend_from_slice(args);
        wbox.run(&all)
    };
    for probe in ["/bin/probe.wasm", "/bin/probe-cwd.wasm"] {
        let out = run(probe, &["ls", "/"]);
        assert_eq!(stdout(&out), "bin\netc\n", "{probe}: / is the image's root: {}", stderr(&out));
        let out = run(probe, &["show", "/etc/marker"]);
        assert_eq!(stdout(&out), "from the image\n", "{probe}: {}", stderr(&out));
        let out = run(probe, &["ls", "/data"]);
        assert_eq!(stdout(&out).lines().next(), Some("in-volume.txt"), "{probe}: {}", stderr(&out));
        // The image's root is read-only, and a write to it goes nowhere else.
        let out = run(probe, &["write", "/planted", "x"]);
        assert_eq!(code(&out), 1, "{probe}: {}", stderr(&out));
        let out = run(probe, &["write", "/data/written", "x"]);
        assert_eq!(code(&out), 0, "{probe}: the volume is writable: {}", stderr(&out));
    }
    assert_eq!(volume.names(), ["in-volume.txt", "written"]);
    // Relative paths resolve in the working directory, inside the volume.
    let out = run("/bin/probe-cwd.wasm", &["show", "in-volume.txt"]);
    assert_eq!(stdout(&out), "volume content\n", "{}", stderr(&out));
    let out = run("/bin/probe-cwd.wasm", &["write", "relative.txt", "y"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(fs::read_to_string(volume.dir.path().join("relative.txt")).unwrap(), "y");
    assert_eq!(stdout(&run("/bin/probe-cwd.wasm", &["cwd"])), "/data\n");
}

#[test]
fn an_images_workdir_moves_the_working_directory_not_the_root() {
    let wbox = Wbox::new();
    view_image(&wbox, "local/view:etc", "WORKDIR /etc\n");
    let out = wbox.run(&["run", "--rm", "local/view:etc", "ls", "/"]);
    assert_eq!(stdout(&out), "bin\netc\n", "{}", stderr(&out));
    let out = wbox.run(&["run", "--rm", "local/view:etc", "cwd"]);
    assert_eq!(stdout(&out), "/etc\n", "{}", stderr(&out));
    let out = wbox.run(&["run", "--rm", "local/view:etc", "show", "marker"]);
    assert_eq!(stdout(&out), "from the image\n", "{}", stderr(&out));
    let out = wbox.run(&["run", "--rm", "--entrypoint", "/bin/probe.wasm", "local/view:etc", "ls", "/"]);
    assert_eq!(stdout(&out), "bin\netc\n", "{}", stderr(&out));
    // `-w` wins over the image's WORKDIR, and neither is a root.
    let out = wbox.run(&["run", "--rm", "-w", "/bin", "local/view:etc", "ls", "."]);
    assert_eq!(stdout(&out), "probe-cwd.wasm\nprobe.wasm\n", "{}", stderr(&out));
    let out = wbox.run(&["run", "--rm", "-w", "/bin", "local/view:etc", "ls", "/"]);
    assert_eq!(stdout(&out), "bin\netc\n", "{}", stderr(&out));
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
