//! Images from a real registry: every shape pulls into the store and runs;
//! tampered blobs, hostile layers and bad credentials are refused and leave
//! the store as it was; concurrent pulls end with one good copy.

use wbox_test_harness as harness;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use harness::images::{hostile_layer, push_artifact, push_docker_wasm_image, push_image, push_index};
use harness::registry::Registry;
use harness::{Wbox, code, guest, ok, stderr, stdout};

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    let text = String::from_utf8(out.stdout).unwrap();
    format!("sha256:{}", text.split_whitespace().next().unwrap())
}

fn blobs(wbox: &Wbox) -> Vec<PathBuf> {
    let dir = wbox.root.path().join("store/blobs/sha256");
    fs::read_dir(dir).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default()
}

/// Every blob in the store is the content its name says.
fn assert_store_verifies(wbox: &Wbox) {
    for blob in blobs(wbox) {
        let name = format!("sha256:{}", blob.file_name().unwrap().to_str().unwrap());
        assert_eq!(sha256_of(&blob), name, "blob {} does not verify", blob.display());
    }
    let ingest = wbox.root.path().join("store/ingest");
    assert_eq!(fs::read_dir(ingest).unwrap().count(), 0, "nothing half-written is left behind");
}

fn images_listed(wbox: &Wbox) -> String {
    let out = wbox.run(&["images", "--digests", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn a_docker_wasm_image_made_by_umoci_pulls_and_runs_with_its_rootfs_read_only() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    let name = format!("{}/tools/wc:1.0", registry.addr);
    let pushed = push_docker_wasm_image(
        &registry,
        "tools/wc:1.0",
        Path::new(&guest("wc.wasm")),
        &[("/data/in.txt", "one two\nthree\n")],
    );

    let out = wbox.run(&["pull", &name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("Digest: {pushed}")), "{}", stdout(&out));
    assert!(stdout(&out).ends_with(&format!("{name}\n")));
    assert_eq!(ok(wbox.run(&["pull", "-q", &name])), format!("{name}\n"), "-q prints only the name");

    // The entrypoint reads a file of the image; the image is read-only.
    let out = wbox.run(&["run", &name, "/data/in.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "2 3 14 /data/in.txt\n");
    let out = wbox.run(&["run", &name, "/data/in.txt", "/data/out.txt"]);
    assert_eq!(code(&out), 1, "writing into the image fails inside the guest: {}", stderr(&out));

    // A granted directory sits beside the image's files and is writable.
    let out_dir = tempfile::tempdir().unwrap();
    let grant = format!("{}:/out", out_dir.path().display());
    let out = wbox.run(&["run", "-v", &grant, &name, "/data/in.txt", "/out/count.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(fs::read_to_string(out_dir.path().join("count.txt")).unwrap(), "2 3 14 /data/in.txt\n");

    let listed = images_listed(&wbox);
    assert!(
        listed.contains(&format!("\"Digest\":\"{pushed}\"")) && listed.contains("\"Tag\":\"1.0\""),
        "{listed}"
    );
    assert_store_verifies(&wbox);

    // The store is an OCI layout that skopeo reads, with the same digest.
    let layout = format!("oci:{}:{name}", wbox.root.path().join("store").display());
    let out = Command::new("skopeo").args(["inspect", &layout]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let copy = tempfile::tempdir().unwrap();
    let target = format!("oci:{}:copy", copy.path().display());
    let out = Command::new("skopeo").args(["copy", &layout, &target]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let copied = fs::read_to_string(copy.path().join("index.json")).unwrap();
    assert!(copied.contains(&pushed), "skopeo copied the same manifest: {copied}");
}

#[test]
fn a_wasm_artifact_runs_and_is_pulled_when_missing() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    push_artifact(&registry, "hello:art", Path::new(&guest("hello.wasm")));
    let name = format!("{}/hello:art", registry.addr);

    let out = wbox.run(&["run", "-e", "GREETING=Hi", &name, "a", "b"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Hi from wbox!\narg 1: a\narg 2: b\n",
        "pull progress stays off the guest's stdout"
    );
    assert!(stderr(&out).starts_with(&format!("Unable to find image '{name}' locally")), "{}", stderr(&out));

    // The second run uses the store: nothing is pulled.
    let out = wbox.run(&["run", &name]);
    assert_eq!(code(&out), 0);
    assert_eq!(stderr(&out), "");
}

#[test]
fn image_config_gives_defaults_that_flags_override() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    let probe = guest("probe.wasm");
    push_image(
        &registry,
        "probe:docker",
        &[
            "--docker",
            "--entrypoint",
            "/bin/probe.wasm",
            "--cmd",
            "env",
            "--env",
            "FROM_IMAGE=1",
            "MODE=image",
            "--file",
            &format!("/bin/probe.wasm={probe}"),
        ],
    );
    let name = format!("{}/probe:docker", registry.addr);
    let out = wbox.run(&["run", "-e", "MODE=user", &name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "FROM_IMAGE=1\nMODE=user\n", "CMD ran with the image's env, -e wins");

    // Arguments replace CMD; argv[0] is the entrypoint's path in the image.
    let out = wbox.run(&["run", &name, "args", "x"]);
    assert_eq!(stdout(&out), "[/bin/probe.wasm]\n[args]\n[x]\n");

    // The same image with zstd layers and a working directory.
    push_image(
        &registry,
        "probe:zstd",
        &[
            "--zstd",
            "--entrypoint",
            "/bin/probe.wasm",
            "--workdir",
            "/bin",
            "--file",
            &format!("/bin/probe.wasm={probe}"),
        ],
    );
    let out = wbox.run(&["run", &format!("{}/probe:zstd", registry.addr), "exit", "7"]);
    assert_eq!(code(&out), 7, "{}", stderr(&out));
}

#[test]
fn an_index_gives_the_wasm_entry_unless_a_platform_is_asked_for() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    let wasm = push_artifact(&registry, "multi:wasm", Path::new(&guest("hello.wasm")));
    let native = push_image(
        &registry,
        "multi:linux",
        &["--os", "linux", "--arch", "amd64", "--entrypoint", "/bin/sh"],
    );
    push_index(&registry, "multi:1.0", &[(&native, "linux/amd64"), (&wasm, "wasi/wasm")]);
    let name = format!("{}/multi:1.0", registry.addr);

    let out = wbox.run(&["run", &name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "Hello from wbox!\n");

    let other = Wbox::new();
    // The native entry runs as a namespace container (tests/native.rs): here
    // its image holds no /bin/sh, which is said before anything runs.
    let out = other.run(&["run", "--platform", "linux/amd64", &name]);
    assert_eq!(code(&out), 127, "{}", stderr(&out));
    assert!(stderr(&out).contains("/bin/sh: no such file or directory in the container"), "{}", stderr(&out));

    let out = other.run(&["pull", "--platform", "windows/arm64", &name]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("offers linux/amd64, wasi/wasm"), "{}", stderr(&out));
}

#[test]
fn a_tampered_blob_is_refused_and_the_store_is_unchanged() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    push_artifact(&registry, "good:1", Path::new(&guest("hello.wasm")));
    assert_eq!(code(&wbox.run(&["pull", &format!("{}/good:1", registry.addr)])), 0);
    let before: Vec<PathBuf> = blobs(&wbox);
    let index_before = fs::read(wbox.root.path().join("store/index.json")).unwrap();

    let wasm = guest("probe.wasm");
    push_artifact(&registry, "bad:1", Path::new(&wasm));
    let layer = sha256_of(Path::new(&wasm));
    registry.tamper_blob(&layer);

    let out = wbox.run(&["pull", &format!("{}/bad:1", registry.addr)]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("does not match its digest"), "{}", stderr(&out));
    assert!(!wbox.root.path().join("store/blobs").join(layer.replace(':', "/")).exists());
    let index_after = fs::read(wbox.root.path().join("store/index.json")).unwrap();
    assert_eq!(index_after, index_before, "no tag was added");
    assert!(before.iter().all(|b| blobs(&wbox).contains(b)), "what was there is still there");
    assert_store_verifies(&wbox);
}

#[test]
fn hostile_layers_are_refused_and_nothing_is_written_outside() {
    let registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let hello = format!("/app.wasm={}", guest("hello.wasm"));
    for kind in ["dotdot", "hardlink"] {
        let wbox = Wbox::new();
        let layer = hostile_layer(kind, work.path());
        let tag = format!("hostile:{kind}");
        push_image(
            &registry,
            &tag,
            &["--entrypoint", "/app.wasm", "--file", &hello, "--raw-layer", layer.to_str().unwrap()],
        );
        // A pull downloads and verifies; the layers are unpacked at the first run.
        let name = format!("{}/{tag}", registry.addr);
        ok(wbox.run(&["pull", &name]));
        let out = wbox.run(&["run", &name]);
        assert_eq!(code(&out), 125, "{kind}: {}", stderr(&out));
        assert!(stderr(&out).contains("refused"), "{kind}: {}", stderr(&out));
        assert!(!wbox.root.path().join("escaped.txt").exists(), "{kind}");
        assert!(!wbox.root.path().join("rootfs/escaped.txt").exists(), "{kind}");
        let rootfs: Vec<_> = fs::read_dir(wbox.root.path().join("rootfs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| !name.ends_with(".lock"))
            .collect();
        assert!(rootfs.is_empty(), "{kind}: no rootfs, whole or partial, is left: {rootfs:?}");
    }

    // An absolute name is read inside the image; so is a symlink that
    // climbs, as a container's kernel (and Docker) resolves it: `..` stops
    // at the image's root. A device is skipped.
    for kind in ["absolute", "symlink", "device"] {
        let wbox = Wbox::new();
        let layer = hostile_layer(kind, work.path());
        let tag = format!("neutral:{kind}");
        push_image(
            &registry,
            &tag,
            &["--entrypoint", "/app.wasm", "--file", &hello, "--raw-layer", layer.to_str().unwrap()],
        );
        let out = wbox.run(&["run", &format!("{}/{tag}", registry.addr)]);
        assert_eq!(code(&out), 0, "{kind}: {}", stderr(&out));
        assert!(!Path::new("/abs-escaped.txt").exists());
        let rootfs = fs::read_dir(wbox.root.path().join("rootfs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir())
            .unwrap();
        assert!(!Path::new("/etc/escaped.txt").exists());
        if kind == "absolute" {
            assert!(rootfs.join("abs-escaped.txt").is_file());
        } else if kind == "symlink" {
            assert_eq!(fs::read_link(rootfs.join("link")).unwrap(), Path::new("etc"));
            assert!(rootfs.join("etc/escaped.txt").is_file());
        } else {
            assert!(!rootfs.join("dev/null2").exists());
        }
    }
}

#[test]
fn eight_concurrent_pulls_end_with_one_good_copy() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    let name = format!("{}/tools/wc:1.0", registry.addr);
    push_docker_wasm_image(
        &registry,
        "tools/wc:1.0",
        Path::new(&guest("wc.wasm")),
        &[("/data/in.txt", "x\n")],
    );
    let children: Vec<_> = (0..8)
        .map(|_| {
            wbox.command()
                .args(["pull", &name])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    assert_store_verifies(&wbox);
    let listed = images_listed(&wbox);
    assert_eq!(listed.lines().count(), 1, "one tag: {listed}");
    let out = wbox.run(&["run", &name, "/data/in.txt"]);
    assert_eq!(stdout(&out), "1 1 2 /data/in.txt\n", "{}", stderr(&out));
}

#[test]
fn bad_references_and_unreachable_registries_are_clear_errors() {
    let mut registry = Registry::start();
    let wbox = Wbox::new();
    let out = wbox.run(&["pull", "Not/Valid"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("invalid image reference 'Not/Valid'"), "{}", stderr(&out));

    let out = wbox.run(&["pull", &format!("{}/missing:1", registry.addr)]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("was not found"), "{}", stderr(&out));

    let out = wbox.run(&["run", &format!("{}/missing:1", registry.addr)]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));

    registry.stop();
    let out = wbox.run(&["pull", &format!("{}/hello:1", registry.addr)]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("cannot reach registry"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn basic_auth_uses_docker_credentials_and_says_what_to_do_without_them() {
    let registry = Registry::start_with_basic_auth("alice", "s3cret");
    push_artifact(&registry, "private:1", Path::new(&guest("hello.wasm")));
    let name = format!("{}/private:1", registry.addr);
    let wbox = Wbox::new();
    let docker_config = tempfile::tempdir().unwrap();

    let out =
        wbox.command().env("DOCKER_CONFIG", docker_config.path()).args(["pull", &name]).output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains(&format!("run `wbox login {}`", registry.addr)), "{}", stderr(&out));

    let write_auth = |user_password: &str| {
        let out =
            Command::new("sh").args(["-c", "printf %s \"$0\" | base64 -w0", user_password]).output().unwrap();
        let auth = String::from_utf8(out.stdout).unwrap();
        let config = format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.addr);
        fs::write(docker_config.path().join("config.json"), config).unwrap();
    };
    write_auth("alice:wrong");
    let out =
        wbox.command().env("DOCKER_CONFIG", docker_config.path()).args(["pull", &name]).output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("refused access"), "{}", stderr(&out));

    write_auth("alice:s3cret");
    let out =
        wbox.command().env("DOCKER_CONFIG", docker_config.path()).args(["run", &name]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "Hello from wbox!\n");

    // A credential helper, by Docker's protocol: the server on stdin, JSON out.
    let helpers = tempfile::tempdir().unwrap();
    let helper = helpers.path().join("docker-credential-wboxtest");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread server\n[ \"$server\" = {} ] || {{ echo 'credentials not found'; exit 1; }}\n\
         echo '{{\"ServerURL\":\"'$server'\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}}'\n",
        registry.addr
    );
    fs::write(&helper, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(docker_config.path().join("config.json"), r#"{"credsStore":"wboxtest"}"#).unwrap();
    let path = format!("{}:{}", helpers.path().display(), std::env::var("PATH").unwrap());
    let fresh = Wbox::new();
    let out = fresh
        .command()
        .env("DOCKER_CONFIG", docker_config.path())
        .env("PATH", path)
        .args(["run", &name])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Hello from wbox!\n", "{}", stderr(&out));
}

/// A small filesystem mounted over a wbox root for one test, and unmounted
/// when the test ends, whatever happens (tests run as root).
struct SmallDisk<'a> {
    dir: &'a Path,
}

impl<'a> SmallDisk<'a> {
    fn mount(dir: &'a Path, size: &str) -> Self {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount");
        assert!(status.success(), "mounting a tmpfs needs root");
        SmallDisk { dir }
    }

    /// Bytes in use, as df counts them.
    fn used(&self) -> u64 {
        let out = Command::new("df").args(["--output=used", "-B1"]).arg(self.dir).output().expect("df");
        String::from_utf8(out.stdout).unwrap().lines().nth(1).unwrap().trim().parse().unwrap()
    }
}

impl Drop for SmallDisk<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir).status();
    }
}

/// A host file of `bytes` bytes, zeros or random ones.
fn filler(dir: &Path, name: &str, bytes: usize, random: bool) -> String {
    let path = dir.join(name);
    let source = if random { "/dev/urandom" } else { "/dev/zero" };
    let status = Command::new("head")
        .args(["-c", &bytes.to_string(), source])
        .stdout(fs::File::create(&path).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_disk_too_small_stops_a_pull_or_an_unpack_and_keeps_the_images_it_has() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    let disk = SmallDisk::mount(wbox.root.path(), "64m");
    let files = tempfile::tempdir().unwrap();
    let probe = guest("probe.wasm");
    let image = |name: &str, extra: &str| {
        push_image(
            &registry,
            name,
            &[
                "--entrypoint",
                "/bin/probe.wasm",
                "--file",
                &format!("/bin/probe.wasm={probe}"),
                "--file",
                extra,
            ],
        );
        format!("{}/{name}", registry.addr)
    };
    let small = image("small:1", &format!("/etc/small={}", filler(files.path(), "small", 1024, false)));
    let big = image("big:1", &format!("/big={}", filler(files.path(), "big", 80 << 20, true)));
    // 4 GiB from a few MiB of gzip, as in issue 26; 200 MiB shows the same.
    let zeros = image("zeros:1", &format!("/zeros={}", filler(files.path(), "zeros", 200 << 20, false)));

    ok(wbox.run(&["pull", &small]));
    assert_eq!(code(&wbox.run(&["run", "--rm", &small, "exit", "7"])), 7);
    let before = disk.used();

    // 80 MiB of layers do not fit in 64: refused before a byte is fetched.
    let out = wbox.run(&["pull", &big]);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("not enough disk space"), "{}", stderr(&out));
    assert!(disk.used() <= before + (1 << 20), "the failed pull took space: {} > {before}", disk.used());

    // A small layer of zeros pulls, but cannot unpack: the run says why,
    // and no half-unpacked root is left.
    ok(wbox.run(&["pull", &zeros]));
    let pulled = disk.used();
    let out = wbox.run(&["run", "--rm", &zeros, "exit", "0"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
    assert!(stderr(&out).contains("not enough disk space"), "{}", stderr(&out));
    assert!(disk.used() <= pulled + (1 << 20), "the failed unpack took space: {} > {pulled}", disk.used());

    // What was there before still works.
    let listed = images_listed(&wbox);
    assert!(listed.contains("small") && !listed.contains("big"), "{listed}");
    assert_eq!(code(&wbox.run(&["run", "--rm", &small, "exit", "7"])), 7);
    assert_store_verifies(&wbox);

    // With a limit on what one layer may unpack to, the same layer is
    // refused by that limit, which the error names.
    fs::write(wbox.root.path().join("config.json"), r#"{"max-layer-size": "10m"}"#).unwrap();
    let out = wbox.run(&["run", "--rm", &zeros, "exit", "0"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
    assert!(stderr(&out).contains("max-layer-size") && stderr(&out).contains("10 MiB"), "{}", stderr(&out));
    assert_eq!(code(&wbox.run(&["run", "--rm", &small, "exit", "7"])), 7);
    drop(disk);
}
