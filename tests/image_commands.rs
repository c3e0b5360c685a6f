//! The image verbs beyond pull: push, tag, rmi, image prune, inspect,
//! history, login, save and load, against a real registry and skopeo.

use wbox_test_harness as harness;

use std::fs;
use std::path::Path;
use std::process::Command;

use harness::containerd::Containerd;
use harness::images::{push_artifact, push_docker_wasm_image};
use harness::registry::Registry;
use harness::{Wbox, code, guest, ok, stderr, stdout};

fn blob_count(wbox: &Wbox) -> usize {
    fs::read_dir(wbox.root.path().join("store/blobs/sha256")).unwrap().count()
}

#[test]
fn a_pushed_image_reads_the_same_in_skopeo_and_another_wbox() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    push_docker_wasm_image(&registry, "hello:1.0", Path::new(&guest("hello.wasm")), &[]);
    let source = format!("{}/hello:1.0", registry.addr);
    let target = format!("{}/team/hello:latest", registry.addr);
    ok(wbox.run(&["pull", &source]));
    ok(wbox.run(&["tag", &source, &target]));

    let pushed = ok(wbox.run(&["push", &target]));
    assert!(pushed.starts_with("The push refers to repository"), "{pushed}");
    let digest = pushed.lines().last().unwrap().split_whitespace().nth(2).unwrap().to_owned();

    let raw = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw", &format!("docker://{target}")])
        .output()
        .unwrap();
    assert!(raw.status.success(), "{}", String::from_utf8_lossy(&raw.stderr));
    let file = tempfile::NamedTempFile::new().unwrap();
    fs::write(file.path(), &raw.stdout).unwrap();
    let sum = Command::new("sha256sum").arg(file.path()).output().unwrap();
    assert_eq!(
        format!("sha256:{}", String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap()),
        digest
    );

    let other = Wbox::new();
    let out = other.run(&["run", &target, "a"]);
    assert_eq!(stdout(&out), "Hello from wbox!\narg 1: a\n", "{}", stderr(&out));

    // containerd pulls it too, and sees the same manifest.
    let containerd = Containerd::start();
    let out = containerd.ctr(&["images", "pull", "--plain-http", "--platform", "wasi/wasm", &target]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let listed = stdout(&containerd.ctr(&["images", "ls"]));
    assert!(listed.contains(&digest), "ctr lists {digest}: {listed}");

    // Pushing again sends no blob: the registry has them all.
    let again = ok(wbox.run(&["push", &target]));
    assert!(!again.contains(": Pushed"), "{again}");

    let out = wbox.run(&["push", &format!("{}/never/tagged:1", registry.addr)]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("wbox tag"), "{}", stderr(&out));
}

#[test]
fn save_rmi_load_then_run_without_the_registry() {
    let mut registry = Registry::start();
    let wbox = Wbox::new();
    push_docker_wasm_image(&registry, "wc:1", Path::new(&guest("wc.wasm")), &[("/in.txt", "a b c\n")]);
    let name = format!("{}/wc:1", registry.addr);
    ok(wbox.run(&["pull", &name]));
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("wc.tar");
    ok(wbox.run(&["save", "-o", archive.to_str().unwrap(), &name]));
    registry.stop();

    let removed = ok(wbox.run(&["rmi", &name]));
    assert!(
        removed.contains(&format!("Untagged: {name}")) && removed.contains("Deleted: sha256:"),
        "{removed}"
    );
    assert_eq!(blob_count(&wbox), 0, "nothing is left of the image");
    assert_eq!(fs::read_dir(wbox.root.path().join("rootfs")).unwrap().count(), 0);

    let loaded = ok(wbox.run(&["load", "-i", archive.to_str().unwrap()]));
    assert_eq!(loaded, format!("Loaded image: {name}\n"));
    let out = wbox.run(&["run", &name, "/in.txt"]);
    assert_eq!(stdout(&out), "1 3 6 /in.txt\n", "{}", stderr(&out));

    // skopeo reads the archive as an OCI archive.
    let out = Command::new("skopeo")
        .args(["inspect", &format!("oci-archive:{}", archive.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_damaged_archive_loads_nothing() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    push_artifact(&registry, "hello:1", Path::new(&guest("hello.wasm")));
    let name = format!("{}/hello:1", registry.addr);
    ok(wbox.run(&["pull", &name]));
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("hello.tar");
    ok(wbox.run(&["save", "-o", archive.to_str().unwrap(), &name]));

    // Flip one byte in the largest blob of the archive.
    let damaged = dir.path().join("damaged.tar");
    let script = "import sys, tarfile, io\n\
        src = tarfile.open(sys.argv[1]); dst = tarfile.open(sys.argv[2], 'w')\n\
        members = src.getmembers(); big = max(members, key=lambda m: m.size)\n\
        for m in members:\n\
        \x20   data = bytearray(src.extractfile(m).read())\n\
        \x20   if m is big: data[len(data) // 2] ^= 1\n\
        \x20   dst.addfile(m, io.BytesIO(bytes(data)))\n\
        dst.close()\n";
    let out = Command::new("python3").args(["-c", script]).arg(&archive).arg(&damaged).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let fresh = Wbox::new();
    let out = fresh.run(&["load", "-i", damaged.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("does not match its digest"), "{}", stderr(&out));
    assert_eq!(ok(fresh.run(&["images", "-q"])), "", "nothing was tagged");

    let out = fresh.run(&["load", "-i", "/nonexistent.tar"]);
    assert_eq!(code(&out), 1);
}

#[test]
fn rmi_and_prune_remove_only_what_no_image_uses() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    push_artifact(&registry, "hello:1", Path::new(&guest("hello.wasm")));
    push_artifact(&registry, "probe:1", Path::new(&guest("probe.wasm")));
    let hello = format!("{}/hello:1", registry.addr);
    let probe = format!("{}/probe:1", registry.addr);
    ok(wbox.run(&["pull", &hello]));
    ok(wbox.run(&["pull", &probe]));
    ok(wbox.run(&["tag", &hello, "local/hello:2"]));
    let blobs = blob_count(&wbox);

    // By id, an image with two names needs -f.
    let id = ok(wbox.run(&["images", "-q", &hello])).trim().to_owned();
    let out = wbox.run(&["rmi", &id]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("pass -f"), "{}", stderr(&out));

    // Removing one of two names keeps the image.
    let out = ok(wbox.run(&["rmi", "local/hello:2"]));
    assert!(!out.contains("Deleted"), "{out}");
    assert_eq!(blob_count(&wbox), blobs);
    assert_eq!(stdout(&wbox.run(&["run", "--rm", &hello])), "Hello from wbox!\n");

    ok(wbox.run(&["rmi", &hello]));
    assert!(blob_count(&wbox) < blobs);
    let out = wbox.run(&["run", "--rm", &probe, "exit", "3"]);
    assert_eq!(code(&out), 3, "the other image still runs: {}", stderr(&out));

    let out = wbox.run(&["rmi", "no/such:image"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("no such image"), "{}", stderr(&out));

    let blobs = blob_count(&wbox);
    let unanswered = ok(wbox.run(&["image", "prune", "-a"]));
    assert!(unanswered.contains("[y/N] Total reclaimed space: 0B"), "it asks; no answer is no: {unanswered}");
    assert_eq!(blob_count(&wbox), blobs);
    ok(wbox.run(&["image", "prune", "-a", "-f"]));
    assert_eq!(blob_count(&wbox), 0);
    assert_eq!(ok(wbox.run(&["images", "-q"])), "");
}

#[test]
fn inspect_and_history_describe_the_image() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    push_docker_wasm_image(&registry, "hello:1.0", Path::new(&guest("hello.wasm")), &[]);
    let name = format!("{}/hello:1.0", registry.addr);
    ok(wbox.run(&["pull", &name]));
    let inspected = ok(wbox.run(&["inspect", &name]));
    for field in ["\"Os\": \"wasi\"", "\"Architecture\": \"wasm\"", "\"/app.wasm\"", &format!("\"{name}\"")] {
        assert!(inspected.contains(field), "{field} in {inspected}");
    }
    // RootFS lists the uncompressed layers, as the config's diff_ids do.
    let inspected: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    let id = inspected[0]["Id"].as_str().unwrap().replace(':', "/");
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(wbox.root.path().join("store/blobs").join(id)).unwrap()).unwrap();
    assert_eq!(inspected[0]["RootFS"]["Layers"], config["rootfs"]["diff_ids"]);
    assert!(config["rootfs"]["diff_ids"].as_array().is_some_and(|ids| !ids.is_empty()));
    let history = ok(wbox.run(&["history", &name]));
    assert!(history.starts_with("IMAGE") && history.lines().count() >= 2, "{history}");

    let out = wbox.run(&["inspect", "no/such:image"]);
    assert_eq!(code(&out), 1);
}

#[test]
fn login_checks_the_password_and_keeps_it_private() {
    let registry = Registry::start_with_basic_auth("alice", "s3cret");
    push_artifact(&registry, "private:1", Path::new(&guest("hello.wasm")));
    let wbox = Wbox::new();
    let no_docker = tempfile::tempdir().unwrap();
    let login = |password: &str| {
        wbox.command()
            .env("DOCKER_CONFIG", no_docker.path())
            .args(["login", &registry.addr, "-u", "alice", "--password-stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes())?;
                child.wait_with_output()
            })
            .unwrap()
    };

    let out = login("wrong");
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("refused the login of alice"), "{}", stderr(&out));
    assert!(!wbox.root.path().join("auth.json").exists(), "nothing is saved for a refused login");

    let out = login("s3cret");
    assert_eq!(stdout(&out), "Login Succeeded\n", "{}", stderr(&out));
    let auth = wbox.root.path().join("auth.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(&auth).unwrap().permissions().mode() & 0o777, 0o600);

    let out = wbox
        .command()
        .env("DOCKER_CONFIG", no_docker.path())
        .args(["run", &format!("{}/private:1", registry.addr)])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Hello from wbox!\n", "{}", stderr(&out));
}

#[test]
fn an_image_in_use_keeps_its_files_until_its_guest_ends() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    let probe = format!("/app.wasm={}", guest("probe.wasm"));
    harness::images::push_image(&registry, "sleeper:1", &["--entrypoint", "/app.wasm", "--file", &probe]);
    let name = format!("{}/sleeper:1", registry.addr);
    ok(wbox.run(&["pull", &name]));
    let running = wbox.command().args(["run", "--rm", &name, "sleep", "2"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    // The first run unpacked the image.
    let rootfs = fs::read_dir(wbox.root.path().join("rootfs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    ok(wbox.run(&["rmi", &name]));
    ok(wbox.run(&["image", "prune", "-a", "-f"]));
    assert!(rootfs.join("app.wasm").is_file(), "the running guest's image files stay");
    assert_eq!(running.wait_with_output().unwrap().status.code(), Some(0));

    ok(wbox.run(&["image", "prune", "-f"]));
    assert!(!rootfs.exists(), "once the guest ended, prune removes them");
}
