//! Images for the registry tests, made and pushed by real tools: umoci and
//! skopeo for a Docker-style image, tests/tools/oci_push.py for what they cannot
//! make (wasm artifacts, Docker media types, indexes, hostile layers).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::registry::Registry;

/// Pushes a regular container image for the platform Docker gives wasm
/// (wasi/wasm), built with umoci: OCI media types, the module at /app.wasm as
/// the entrypoint, and each (guest path, content) of `extra` as a file in the
/// rootfs. Returns the manifest's digest in the registry.
pub fn push_docker_wasm_image(reg: &Registry, name_tag: &str, wasm: &Path, extra: &[(&str, &str)]) -> String {
    let fill = |rootfs: &Path| {
        fs::copy(wasm, rootfs.join("app.wasm")).expect("copying the wasm into the rootfs");
        for (guest_path, content) in extra {
            let path = rootfs.join(guest_path.trim_start_matches('/'));
            fs::create_dir_all(path.parent().unwrap()).expect("creating a directory in the rootfs");
            fs::write(&path, content).expect("writing a file into the rootfs");
        }
    };
    let config = ["--os", "wasi", "--architecture", "wasm", "--config.entrypoint", "/app.wasm"];
    push_umoci_image(reg, name_tag, fill, &config)
}

/// Pushes a native linux/amd64 image holding Debian's busybox-static as
/// /bin/busybox with a link for every applet, a minimal /etc/passwd and
/// /etc/group, and `sh` as its command. Returns the manifest's digest.
pub fn push_busybox_image(reg: &Registry, name_tag: &str) -> String {
    let fill = |rootfs: &Path| {
        let bin = rootfs.join("bin");
        fs::create_dir_all(&bin).unwrap();
        fs::copy("/bin/busybox", bin.join("busybox")).expect("Debian's busybox-static at /bin/busybox");
        let list = run(Command::new("/bin/busybox").arg("--list"));
        for applet in list.lines() {
            let link = bin.join(applet);
            // `busybox --list` names busybox itself.
            if !link.exists() {
                std::os::unix::fs::symlink("busybox", link).unwrap();
            }
        }
        fs::create_dir_all(rootfs.join("etc")).unwrap();
        fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )
        .unwrap();
        fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        for dir in ["root", "tmp", "var/www"] {
            fs::create_dir_all(rootfs.join(dir)).unwrap();
        }
        fs::write(rootfs.join("var/www/index.html"), "hello from busybox httpd\n").unwrap();
    };
    push_umoci_image(reg, name_tag, fill, &["--os", "linux", "--architecture", "amd64", "--config.cmd", "sh"])
}

/// The Debian packages of the Python base image. python3-pip because the
/// official `python` images have pip, and the Docker tutorials' Dockerfiles
/// `RUN pip install` on them.
const DEBIAN_PYTHON_PACKAGES: &str = "python3,python3-venv,python3-pip";

/// Pushes a native Debian bookworm image with python3, python3-venv and pip,
/// shaped like the official `python` images (see below). Returns the
/// manifest's digest.
pub fn push_debian_python_image(reg: &Registry, name_tag: &str) -> String {
    let cached = debian_rootfs(DEBIAN_PYTHON_PACKAGES);
    let fill = |rootfs: &Path| {
        run(Command::new("cp").arg("-a").arg(cached.join(".")).arg(rootfs));
        // As the official python images: Dockerfiles written for them `RUN
        // pip install` into the system Python and run `python`. Debian marks
        // its Python as externally managed (PEP 668), so its pip refuses to
        // install there ("externally-managed-environment"); the official
        // images, whose Python is built apart from any package manager, have
        // no such marker. And Debian has no `python` unless
        // python-is-python3 is installed, which is this one link.
        for lib in fs::read_dir(rootfs.join("usr/lib")).unwrap().flatten() {
            if lib.file_name().to_string_lossy().starts_with("python3") {
                let _ = fs::remove_file(lib.path().join("EXTERNALLY-MANAGED"));
            }
        }
        let python = rootfs.join("usr/bin/python");
        if python.symlink_metadata().is_err() {
            std::os::unix::fs::symlink("python3", python).unwrap();
        }
        // The host's trusted certificates, as a site's base image carries
        // its own CA: where HTTPS goes through an intercepting proxy, pip in
        // the image trusts what the host trusts.
        let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
        if bundle.exists() {
            fs::create_dir_all(rootfs.join("etc/ssl/certs")).unwrap();
            fs::copy(bundle, rootfs.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
            fs::write(rootfs.join("etc/pip.conf"), "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
                .unwrap();
        }
    };
    push_umoci_image(
        reg,
        name_tag,
        fill,
        &["--os", "linux", "--architecture", "amd64", "--config.cmd", "bash"],
    )
}

/// Pushes a native Debian bookworm image with Debian's redis-server, run as
/// the official `redis` image runs it: listening on every address without
/// protected mode, keeping its data in /data. Returns the manifest's digest.
pub fn push_debian_redis_image(reg: &Registry, name_tag: &str) -> String {
    let cached = debian_rootfs("redis-server");
    let fill = |rootfs: &Path| {
        run(Command::new("cp").arg("-a").arg(cached.join(".")).arg(rootfs));
        fs::create_dir_all(rootfs.join("data")).unwrap();
    };
    let config = [
        "--os",
        "linux",
        "--architecture",
        "amd64",
        "--config.workingdir",
        "/data",
        "--config.volume",
        "/data",
        "--config.exposedports",
        "6379/tcp",
        "--config.cmd",
        "redis-server",
        "--config.cmd",
        "--protected-mode",
        "--config.cmd",
        "no",
    ];
    push_umoci_image(reg, name_tag, fill, &config)
}

/// A Debian bookworm rootfs with `packages` (comma-separated), made with
/// debootstrap (minbase) from Debian's mirror. It is kept in the target
/// directory under a name that says its packages, so a second run of the
/// tests skips debootstrap, and a change of the packages does not reuse an
/// old rootfs.
fn debian_rootfs(packages: &str) -> PathBuf {
    // Tests of one binary run in parallel: one debootstrap at a time.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let cached = super::target_tmpdir().join(format!("debian-rootfs-{}", packages.replace(',', "+")));
    let _making = MAKING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !cached.exists() {
        let staging = cached.with_extension("tmp");
        let _ = fs::remove_dir_all(&staging);
        run(Command::new("debootstrap")
            .args(["--variant=minbase", &format!("--include={packages}"), "bookworm"])
            .arg(&staging)
            .arg("http://deb.debian.org/debian"));
        // What an image does not need: downloaded packages, docs, locales.
        for dir in [
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/locale",
            "usr/share/man",
        ] {
            let _ = fs::remove_dir_all(staging.join(dir));
        }
        fs::rename(&staging, &cached).unwrap();
    }
    cached
}

/// Makes an image with umoci (OCI media types): `fill` writes its rootfs,
/// `config` are `umoci config` flags; pushes it with skopeo and returns the
/// manifest's digest in the registry.
fn push_umoci_image(reg: &Registry, name_tag: &str, fill: impl FnOnce(&Path), config: &[&str]) -> String {
    let work = tempfile::tempdir().expect("temporary directory");
    let layout = work.path().join("layout");
    let bundle = work.path().join("bundle");
    let image = format!("{}:t", layout.display());
    run(Command::new("umoci").args(["init", "--layout"]).arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    // Unpack before `umoci config` sets the os: umoci cannot unpack an image
    // for an os whose runtime config it does not know (wasi).
    run(Command::new("umoci").args(["unpack", "--rootless", "--image", &image]).arg(&bundle));
    fill(&bundle.join("rootfs"));
    run(Command::new("umoci").args(["repack", "--image", &image]).arg(&bundle));
    run(Command::new("umoci").args(["config", "--image", &image]).args(config));

    let destination = format!("docker://{}/{name_tag}", reg.addr);
    // --insecure-policy: no need for the host's /etc/containers/policy.json.
    run(Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--dest-tls-verify=false"])
        .args(skopeo_creds(reg, "--dest-creds"))
        .args([format!("oci:{image}"), destination.clone()]));
    run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
        .args(skopeo_creds(reg, "--creds"))
        .arg(&destination))
}

/// Pushes `wasm` as a wasm OCI artifact (config application/vnd.wasm.config.v0+json,
/// one application/wasm layer). Returns the manifest's digest.
pub fn push_artifact(reg: &Registry, name_tag: &str, wasm: &Path) -> String {
    let wasm = wasm.to_str().expect("a UTF-8 path");
    oci_push(reg, &["artifact", reg.addr.as_str(), name_tag, wasm])
}

/// Pushes a regular image made from `args`, those of `oci_push.py image` after
/// NAME:TAG, e.g. `&["--entrypoint", "/app.wasm", "--file", "/app.wasm=HOSTPATH"]`.
/// Returns the manifest's digest.
pub fn push_image(reg: &Registry, name_tag: &str, args: &[&str]) -> String {
    let mut all = vec!["image", reg.addr.as_str(), name_tag];
    all.extend_from_slice(args);
    oci_push(reg, &all)
}

/// Pushes an OCI image index over manifests already in the repository, given as
/// (digest, "os/arch"). Returns the index's digest.
pub fn push_index(reg: &Registry, name_tag: &str, manifests: &[(&str, &str)]) -> String {
    let specs: Vec<String> =
        manifests.iter().map(|(digest, platform)| format!("{digest}={platform}")).collect();
    let mut args = vec!["index", reg.addr.as_str(), name_tag, "--manifest"];
    args.extend(specs.iter().map(String::as_str));
    oci_push(reg, &args)
}

/// Writes a layer tar whose entries try to escape the directory it is unpacked
/// in, and returns its path: `kind` is one of dotdot, symlink, absolute,
/// hardlink and device (see tests/tools/oci_push.py). Push it with
/// `push_image(.., &["--raw-layer", path, ..])`.
pub fn hostile_layer(kind: &str, dir: &Path) -> PathBuf {
    let path = dir.join(format!("{kind}.tar"));
    run(Command::new("python3").arg(script()).arg("hostile-layer").arg(&path).arg(kind));
    path
}

/// Runs tests/tools/oci_push.py, with the registry's credentials if it has any,
/// and returns the digest it prints.
fn oci_push(reg: &Registry, args: &[&str]) -> String {
    let mut command = Command::new("python3");
    command.arg(script());
    if let Some((user, password)) = &reg.credentials {
        command.arg("--user").arg(format!("{user}:{password}"));
    }
    run(command.args(args))
}

fn script() -> PathBuf {
    super::workspace().join("tests/tools/oci_push.py")
}

/// skopeo's `FLAG=user:password` for a registry with basic auth; nothing otherwise.
fn skopeo_creds(reg: &Registry, flag: &str) -> Option<String> {
    reg.credentials.as_ref().map(|(user, password)| format!("{flag}={user}:{password}"))
}

/// Runs a command to completion and returns its stdout, trimmed; panics with
/// its stderr if it fails.
fn run(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(out.status.success(), "{command:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output").trim().to_owned()
}
