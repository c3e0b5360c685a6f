//! A build never touches the host. Each test is a hostile Dockerfile that a
//! user could be handed, built against a canary directory on the host whose
//! tree must not change: symlinks that a step leaves pointing at the host,
//! fifos and device nodes, a build killed mid-step. Where Docker's build
//! succeeds (it resolves every path inside the stage), wbox's must too, with
//! the link kept inside the image; the positive halves check that.
//! Run as root, as CI does: native stages need it.
#![cfg(target_os = "linux")]

use wbox_test_harness as harness;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::images::push_busybox_image;
use harness::registry::Registry;
use harness::{Wbox, code, guest, ok, stderr, stdout};

/// A host directory an attack aims at, with the files a native step's
/// `/etc` would get.
struct Canary {
    dir: tempfile::TempDir,
    before: BTreeMap<String, String>,
}

impl Canary {
    fn new() -> Canary {
        let dir = tempfile::tempdir().unwrap();
        for file in ["hosts", "hostname", "resolv.conf"] {
            fs::write(dir.path().join(file), format!("canary {file}\n")).unwrap();
        }
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/kept"), "canary\n").unwrap();
        let before = tree(dir.path());
        Canary { dir, before }
    }

    fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn assert_untouched(&self) {
        assert_eq!(
            tree(self.dir.path()),
            self.before,
            "the build changed the host directory {}",
            self.path()
        );
    }
}

/// Every path below `dir` with its type, mode and content.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap().flatten() {
            let meta = entry.path().symlink_metadata().unwrap();
            let shown = if meta.is_dir() {
                pending.push(entry.path());
                "dir".to_owned()
            } else if meta.is_symlink() {
                format!("-> {}", fs::read_link(entry.path()).unwrap().display())
            } else {
                String::from_utf8_lossy(&fs::read(entry.path()).unwrap()).into_owned()
            };
            let key = entry.path().strip_prefix(dir).unwrap().display().to_string();
            found.insert(key, format!("{:o} {shown}", meta.permissions().mode()));
        }
    }
    found
}

fn busybox() -> (Registry, String) {
    let registry = Registry::start();
    push_busybox_image(&registry, "busybox:latest");
    let name = format!("{}/busybox:latest", registry.addr);
    (registry, name)
}

/// A build context with the Dockerfile and a small file to copy.
fn context(dockerfile: &str) -> tempfile::TempDir {
    let ctx = tempfile::tempdir().unwrap();
    fs::write(ctx.path().join("Dockerfile"), dockerfile).unwrap();
    fs::write(ctx.path().join("file.txt"), "copied\n").unwrap();
    ctx
}

/// Builds, failing the test if the build takes more than a minute (a build
/// that blocks on a file a step made never ends).
fn build(wbox: &Wbox, tag: &str, ctx: &Path) -> std::process::Output {
    let mut child = wbox
        .command()
        .args(["build", "--progress", "plain", "-t", tag, ctx.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the build did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// One entry of a layer: its path, tar type, link target and device numbers.
#[derive(Debug, PartialEq)]
struct TarEntry {
    path: String,
    kind: tar::EntryType,
    link: Option<String>,
    device: (u32, u32),
}

/// The entries of each layer of an image, read from `wbox save`'s archive.
fn layers(wbox: &Wbox, image: &str) -> Vec<Vec<TarEntry>> {
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("image.tar");
    ok(wbox.run(&["save", "-o", archive.to_str().unwrap(), image]));
    let mut blobs = BTreeMap::new();
    let mut tar = tar::Archive::new(fs::File::open(&archive).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        blobs.insert(path, bytes);
    }
    let json = |path: &str| serde_json::from_slice::<serde_json::Value>(&blobs[path]).unwrap();
    let blob = |digest: &serde_json::Value| format!("blobs/sha256/{}", &digest.as_str().unwrap()[7..]);
    let index = json("index.json");
    let manifest = json(&blob(&index["manifests"][0]["digest"]));
    let mut found = Vec::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let gz = &blobs[&blob(&layer["digest"])];
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
        let entries = tar.entries().unwrap().map(|e| {
            let e = e.unwrap();
            let header = e.header();
            TarEntry {
                path: e.path().unwrap().display().to_string(),
                kind: header.entry_type(),
                link: e.link_name().unwrap().map(|l| l.display().to_string()),
                device: (
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0),
                ),
            }
        });
        found.push(entries.collect());
    }
    found
}

#[test]
fn symlinks_a_native_step_leaves_never_lead_the_build_to_the_host() {
    let canary = Canary::new();
    let (_registry, image) = busybox();
    let wbox = Wbox::new();
    let c = canary.path();
    // /etc replaced by a link to the host; a directory, and /etc files of
    // the next step, reached through links; COPY into a linked directory.
    let ctx = context(&format!(
        "FROM {image}\n\
         RUN mv /etc /etc.old && ln -s {c} /etc\n\
         RUN echo the second step sees its own files && cat /etc/hosts\n\
         RUN ln -s {c} /w && ln -s {c} /app && ln -s ../../../../../../../../../..{c} /rel\n\
         WORKDIR /w/made-by-build\n\
         RUN echo made > here.txt\n\
         COPY file.txt .\n\
         COPY file.txt /app/\n\
         COPY file.txt /rel/sub/\n\
         WORKDIR /\n\
         RUN mkdir -p /data/real && ln -s real /data/link\n\
         WORKDIR /data/link/inside\n\
         COPY file.txt .\n"
    ));
    let out = build(&wbox, "local/links", ctx.path());
    canary.assert_untouched();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("127.0.0.1\tlocalhost"), "the step's own /etc/hosts: {}", stdout(&out));

    // What Docker makes: every path resolved inside the image, the links kept.
    let run = |cmd: &str| ok(wbox.run(&["run", "--rm", "local/links", "sh", "-c", cmd]));
    assert_eq!(run("readlink -f /etc"), format!("{c}\n"));
    assert_eq!(run("cat /w/made-by-build/here.txt /w/made-by-build/file.txt"), "made\ncopied\n");
    assert_eq!(run("cat /app/file.txt /app/sub/file.txt"), "copied\ncopied\n");
    assert_eq!(run("cat /data/real/inside/file.txt"), "copied\n");
    // No /etc file of a step's container is in a layer the build made,
    // wherever /etc led.
    for layer in layers(&wbox, "local/links").into_iter().skip(1) {
        for entry in layer {
            let name = entry.path.rsplit('/').next().unwrap().to_owned();
            assert!(!["hosts", "hostname", "resolv.conf"].contains(&name.as_str()), "{entry:?}");
        }
    }
}

#[test]
fn a_linked_etc_hosts_alone_is_not_the_host_file() {
    let canary = Canary::new();
    let (_registry, image) = busybox();
    let wbox = Wbox::new();
    let c = canary.path();
    // A RUN step cannot replace its /etc/hosts (it is a mount, as in
    // Docker), so the links come in an archive.
    let ctx = context(&format!(
        "FROM {image}\nADD links.tar /\nRUN cat /etc/hosts /etc/hostname && echo hacked > /etc/hosts\n"
    ));
    let mut links = tar::Builder::new(Vec::new());
    for file in ["hosts", "hostname", "resolv.conf"] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_mode(0o777);
        links.append_link(&mut header, format!("etc/{file}"), format!("{c}/{file}")).unwrap();
    }
    fs::write(ctx.path().join("links.tar"), links.into_inner().unwrap()).unwrap();
    let out = build(&wbox, "local/hosts", ctx.path());
    canary.assert_untouched();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(!stdout(&out).contains("canary"), "a host file was read into the step: {}", stdout(&out));
}

#[test]
fn a_wasm_step_cannot_lead_wbox_out_through_a_guest_symlink() {
    let canary = Canary::new();
    let wbox = Wbox::new();
    let c = canary.path();
    let ctx = context(&format!(
        "FROM scratch\n\
         COPY probe.wasm /probe.wasm\n\
         RUN [\"/probe.wasm\", \"link\", \"../../../../../../../../../../../..\", \"/up\"]\n\
         WORKDIR /up{c}/made-by-build\n\
         RUN [\"/probe.wasm\", \"write\", \"marker.txt\", \"written\"]\n\
         COPY file.txt .\n"
    ));
    // The probe that starts in the working directory it is given, as a
    // guest reading WASI's initial-cwd does.
    fs::copy(guest("probe-cwd.component.wasm"), ctx.path().join("probe.wasm")).unwrap();
    let out = build(&wbox, "local/wasm-links", ctx.path());
    canary.assert_untouched();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let inside = c.trim_start_matches('/');
    let paths: Vec<String> =
        layers(&wbox, "local/wasm-links").into_iter().flatten().map(|e| e.path).collect();
    for file in ["marker.txt", "file.txt"] {
        let path = format!("{inside}/made-by-build/{file}");
        assert!(paths.contains(&path), "{path} is not in the image: {paths:?}");
    }
}

/// A loop device over a file that holds `marker`; detached when dropped.
struct LoopDevice {
    path: String,
    _file: tempfile::NamedTempFile,
}

impl LoopDevice {
    fn new(marker: &str) -> LoopDevice {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut bytes = vec![0u8; 1 << 20];
        bytes[4096..4096 + marker.len()].copy_from_slice(marker.as_bytes());
        fs::write(file.path(), bytes).unwrap();
        let out = Command::new("losetup").args(["-f", "--show"]).arg(file.path()).output().unwrap();
        assert!(out.status.success(), "losetup: {}", String::from_utf8_lossy(&out.stderr));
        LoopDevice { path: String::from_utf8_lossy(&out.stdout).trim().to_owned(), _file: file }
    }

    fn numbers(&self) -> (u32, u32) {
        let rdev = fs::metadata(&self.path).unwrap().rdev();
        assert!(fs::metadata(&self.path).unwrap().file_type().is_block_device());
        (libc::major(rdev), libc::minor(rdev))
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.path]).status();
    }
}

#[test]
fn fifos_and_device_nodes_are_recorded_never_read() {
    let marker = format!("wbox-disk-marker-{}", std::process::id());
    let disk = LoopDevice::new(&marker);
    let (major, minor) = disk.numbers();
    let (_registry, image) = busybox();
    let wbox = Wbox::new();
    let ctx = context(&format!(
        "FROM {image} AS made\n\
         RUN mkfifo /p && mknod /z c 1 5 && mknod /disk b {major} {minor} && ln /bin/busybox /bb\n\
         FROM {image}\n\
         COPY --from=made /p /z /disk /copied/\n"
    ));
    let out = build(&wbox, "local/nodes", ctx.path());
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    ok(wbox.run(&["build", "-q", "--target", "made", "-t", "local/nodes:run", ctx.path().to_str().unwrap()]));
    let run_layer = layers(&wbox, "local/nodes:run").pop().unwrap();
    let find = |layer: &[TarEntry], path: &str| -> (tar::EntryType, (u32, u32), Option<String>) {
        let e = layer.iter().find(|e| e.path == path).unwrap_or_else(|| panic!("{path} not in {layer:?}"));
        (e.kind, e.device, e.link.clone())
    };
    assert_eq!(find(&run_layer, "p"), (tar::EntryType::Fifo, (0, 0), None));
    assert_eq!(find(&run_layer, "z"), (tar::EntryType::Char, (1, 5), None));
    assert_eq!(find(&run_layer, "disk"), (tar::EntryType::Block, (major, minor), None));
    // A new name of a file from below is a file of its own in the layer,
    // and the old name is not in it, as in Docker's.
    assert_eq!(find(&run_layer, "bb").0, tar::EntryType::Regular);
    assert!(!run_layer.iter().any(|e| e.path == "bin/busybox"), "{run_layer:?}");
    let copied = layers(&wbox, "local/nodes").pop().unwrap();
    assert_eq!(find(&copied, "copied/disk"), (tar::EntryType::Block, (major, minor), None));
    assert_eq!(find(&copied, "copied/p").0, tar::EntryType::Fifo);

    // No byte of the host's disk is in any blob of the store.
    for blob in fs::read_dir(wbox.root.path().join("store/blobs/sha256")).unwrap().flatten() {
        let bytes = fs::read(blob.path()).unwrap();
        let mut plain = Vec::new();
        if flate2::read::GzDecoder::new(bytes.as_slice()).read_to_end(&mut plain).is_err() {
            plain = bytes;
        }
        assert!(!plain.windows(marker.len()).any(|w| w == marker.as_bytes()), "{:?}", blob.path());
    }
}

/// The processes whose command line is exactly `words`.
fn processes(words: &[&str]) -> Vec<u32> {
    let wanted: Vec<u8> = words.iter().flat_map(|w| w.bytes().chain([0])).collect();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted))
        .filter(|pid| {
            // A zombie waiting for its parent has ended.
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
        })
        .collect()
}

#[test]
fn a_killed_build_leaves_nothing_once_wbox_runs_again() {
    let (_registry, image) = busybox();
    let wbox = Wbox::new();
    // A number of this run's own: a step that an earlier run left behind
    // is not this one.
    let seconds = (100_000 + std::process::id()).to_string();
    let step = ["sleep", seconds.as_str()];
    let ctx = context(&format!("FROM {image}\nRUN sleep {seconds}\n"));
    let mut child = wbox
        .command()
        .args(["build", "-q", "-t", "local/killed", ctx.path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let pid = loop {
        if let Some(&pid) = processes(&step).first() {
            break pid;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the step never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    let cgroups: Vec<PathBuf> = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("wbox-build-"))
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let controller = controllers.split(',').next().unwrap_or("").trim_start_matches("name=");
            Some(Path::new("/sys/fs/cgroup").join(controller).join(path.trim_start_matches('/')))
        })
        .filter(|p| p.exists())
        .collect();
    assert!(!cgroups.is_empty(), "the step runs in a cgroup of its own");
    let scratch = wbox.root.path().join("tmp");
    assert!(fs::read_dir(&scratch).unwrap().count() > 0, "the build's scratch directories are under ROOT");

    child.kill().unwrap();
    child.wait().unwrap();
    ok(wbox.run(&["images"]));
    let start = Instant::now();
    while !processes(&step).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "the killed build's step still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
    for cgroup in &cgroups {
        assert!(!cgroup.exists(), "{} is left", cgroup.display());
    }
    assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0, "scratch directories are left");
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(wbox.root.path().to_str().unwrap()), "{mounts}");
}

/// Where a root of someone else's content is joined with a path and handed
/// to `std::fs`, a symlink in it leads out: every such path goes through
/// `runtime::rootdir` instead. This looks for the joins it replaced.
#[test]
fn no_path_inside_a_root_is_joined_by_hand() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let places =
        ["runtime/src/build", "runtime/src/native", "runtime/src/store", "runtime/src/bundle.rs", "shim/src"];
    let roots = ["files.join(", "files.path().join(", "rootfs.join(", "stage.join(", "image_root.join("];
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = places.iter().map(|p| source.join(p)).collect();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        // Unit tests make their own temporary trees.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (number, line) in code.lines().enumerate() {
            let line = line.replace("self.rootfs.join(", "");
            if roots.iter().any(|root| line.contains(root)) {
                found.push(format!("{}:{}: {}", path.display(), number + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "open these through runtime::rootdir:\n{}", found.join("\n"));
}

#[test]
fn a_killed_native_run_leaves_nothing_once_wbox_runs_again() {
    let (_registry, image) = busybox();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &image]));
    let seconds = (200_000 + std::process::id()).to_string();
    let step = ["sleep", seconds.as_str()];
    let mut child = wbox
        .command()
        .args(["run", "--rm", "--name", "killed", &image, "sleep", &seconds])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while processes(&step).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "the container never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let listed = ok(wbox.run(&["ps", "-a"]));
    assert!(listed.contains("Dead"), "{listed}");
    let start = Instant::now();
    while !processes(&step).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "the killed run's container still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
    ok(wbox.run(&["rm", "killed"]));
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(wbox.root.path().to_str().unwrap()), "{mounts}");
}
