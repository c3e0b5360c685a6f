//! Differential conformance with Docker: every case under tests/dockerfiles/
//! is built by a private dockerd (Docker 20.10, BuildKit) and by `wbox build`,
//! both images are pushed to one registry and read back with skopeo, and
//! they are compared as a user meets them: the root filesystem their layers
//! make (type, permission bits, owner, content, link target and hard links of
//! every path) and the config fields `docker run` and `docker inspect` show.
//! Where Docker fails, wbox must fail too; where a case carries an
//! `expect-error` file, Docker deviates from the Dockerfile reference and the
//! reference is what wbox is held to. tests/dockerfiles/README.md describes
//! the corpus and its conventions.
//!
//! Every case is run and reported, one line each (with a compact diff when
//! the images differ); the test fails if any case does not match.
//! `DOCKERFILE_CASES=copy-,env-` runs only the cases whose names contain one
//! of those strings; `DOCKERFILE_JOBS` sets how many cases run at once (2);
//! `DOCKERFILE_DUMP=DIR` writes what was compared of each image to
//! DIR/CASE/docker.txt and wbox.txt.
//! Run as root: dockerd and native build steps need it.
#![cfg(target_os = "linux")]

use wbox_test_harness as harness;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use harness::Wbox;
use harness::dockerd::Dockerd;
use harness::images::{push_busybox_image, push_debian_python_image};
use harness::registry::Registry;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Files of a case directory that tell the test how to build it; they are
/// not part of the build context.
const CASE_FILES: &[&str] =
    &["build-args", "target", "expect-error", "not-for-docker", "docker.Dockerfile", "setup.sh", "parent"];

/// The config fields compared: what `docker run` uses and `docker inspect`
/// shows of an image's own making.
const CONFIG_FIELDS: &[&str] = &[
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "StopSignal",
    "Healthcheck",
    "Shell",
    "OnBuild",
];

/// How many diff lines a mismatching case shows.
const SHOWN_DIFFERENCES: usize = 25;

const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

#[test]
fn dockerfiles_build_as_docker_builds_them() {
    let cases = cases();
    assert!(!cases.is_empty(), "no case under {} matches DOCKERFILE_CASES", corpus().display());

    let registry = Registry::start();
    let dockerd = Dockerd::start();
    let mut placeholders = Vec::new();
    push_busybox_image(&registry, "base/busybox:latest");
    placeholders.push(("@BUSYBOX@", format!("{}/base/busybox:latest", registry.addr)));
    if cases.iter().any(|c| c.mentions("@PYTHON@")) {
        push_debian_python_image(&registry, "base/python:latest");
        placeholders.push(("@PYTHON@", format!("{}/base/python:latest", registry.addr)));
    }
    let world = World { registry: &registry, dockerd: &dockerd, placeholders };

    let jobs: usize = std::env::var("DOCKERFILE_JOBS").ok().and_then(|j| j.parse().ok()).unwrap_or(2);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                // After dockerd died, no result means anything.
                while world.dockerd.exited().is_none() {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let case_started = Instant::now();
                    let verdict =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| world.compare(case)))
                            .unwrap_or_else(|panic| {
                                let message = panic
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_default();
                                Verdict::Mismatch(vec![format!("the test itself failed: {message}")])
                            });
                    println!("{}", verdict.report(&case.name, case_started.elapsed()));
                    results.lock().unwrap().push((case.name.clone(), verdict));
                }
            });
        }
    });

    if let Some(status) = dockerd.exited() {
        panic!("dockerd exited ({status}); its log:\n{}", dockerd.log());
    }
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let matching = results.iter().filter(|(_, v)| matches!(v, Verdict::Match(_))).count();
    let mismatching: Vec<&str> =
        results.iter().filter(|(_, v)| !matches!(v, Verdict::Match(_))).map(|(n, _)| n.as_str()).collect();
    println!("\nin {:.0?}: {matching} of {} cases match Docker", started.elapsed(), results.len());
    assert!(
        mismatching.is_empty(),
        "{matching} of {} cases match Docker; these do not: {}",
        results.len(),
        mismatching.join(", ")
    );
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/dockerfiles")
}

/// One directory of the corpus.
struct Case {
    name: String,
    dir: PathBuf,
    /// `build-args`: one `KEY=VALUE` a line, given to both builders.
    build_args: Vec<String>,
    /// `target`: the stage to build (`--target`).
    target: Option<String>,
    /// `expect-error`: the sentence of the reference by which the build must
    /// fail, whatever Docker 20.10 does.
    expect_error: Option<String>,
    /// `not-for-docker`: why Docker 20.10 is not asked at all (a Dockerfile
    /// that crashes its daemon); only with `expect-error`.
    not_for_docker: Option<String>,
    /// `parent/`: a context built (and pushed) first, by the same builder;
    /// the case's Dockerfile names it `@PARENT@`.
    parent: bool,
}

impl Case {
    fn mentions(&self, placeholder: &str) -> bool {
        ["Dockerfile", "parent/Dockerfile", "build-args"]
            .iter()
            .any(|f| fs::read_to_string(self.dir.join(f)).is_ok_and(|text| text.contains(placeholder)))
    }
}

fn cases() -> Vec<Case> {
    let only: Vec<String> = std::env::var("DOCKERFILE_CASES")
        .map(|v| v.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let mut cases = Vec::new();
    for entry in fs::read_dir(corpus()).expect("tests/dockerfiles").flatten() {
        let dir = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !dir.join("Dockerfile").is_file() || !(only.is_empty() || only.iter().any(|o| name.contains(o))) {
            continue;
        }
        let read = |file: &str| fs::read_to_string(dir.join(file)).ok();
        let build_args = read("build-args")
            .map(|text| text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        cases.push(Case {
            build_args,
            target: read("target").map(|t| t.trim().to_owned()),
            expect_error: read("expect-error").map(|t| t.trim().to_owned()),
            not_for_docker: read("not-for-docker").map(|t| t.trim().to_owned()),
            parent: dir.join("parent/Dockerfile").is_file(),
            name,
            dir,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

#[derive(Clone, Copy, PartialEq)]
enum Builder {
    Docker,
    Wbox,
}

impl Builder {
    fn name(self) -> &'static str {
        match self {
            Builder::Docker => "docker",
            Builder::Wbox => "wbox",
        }
    }
}

/// What the cases share: the registry, the daemon, the base images.
struct World<'a> {
    registry: &'a Registry,
    dockerd: &'a Dockerd,
    /// `@BUSYBOX@` and the like, and the references they stand for.
    placeholders: Vec<(&'static str, String)>,
}

enum Verdict {
    /// With a note when the match is not plain equality (both failed, or
    /// the reference decided).
    Match(Option<String>),
    Mismatch(Vec<String>),
}

impl Verdict {
    fn report(&self, name: &str, took: Duration) -> String {
        let took = format!("[{:.1}s]", took.as_secs_f64());
        match self {
            Verdict::Match(None) => format!("{name}: match {took}"),
            Verdict::Match(Some(note)) => format!("{name}: match ({note}) {took}"),
            Verdict::Mismatch(lines) => {
                let mut text = format!("{name}: MISMATCH {took}");
                for line in lines.iter().take(SHOWN_DIFFERENCES) {
                    text.push_str("\n    ");
                    text.push_str(line);
                }
                if lines.len() > SHOWN_DIFFERENCES {
                    text.push_str(&format!("\n    … and {} more", lines.len() - SHOWN_DIFFERENCES));
                }
                text
            }
        }
    }
}

impl World<'_> {
    fn compare(&self, case: &Case) -> Verdict {
        let wbox = Wbox::new();
        assert!(
            case.not_for_docker.is_none() || case.expect_error.is_some(),
            "not-for-docker needs expect-error: without Docker, only the reference can say what is right"
        );
        let docker = match &case.not_for_docker {
            None => self.build(case, Builder::Docker, &wbox),
            Some(why) => Err(format!("not built with Docker: {why}")),
        };
        // A daemon that died makes every later case look like a refusal.
        if let Some(status) = self.dockerd.exited() {
            let log = self.dockerd.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!("dockerd exited ({status}) during {}; its log ends:\n{}", case.name, tail.join("\n"));
        }
        let ours = self.build(case, Builder::Wbox, &wbox);
        if let Ok(dump) = std::env::var("DOCKERFILE_DUMP") {
            let dir = Path::new(&dump).join(&case.name);
            fs::create_dir_all(&dir).unwrap();
            for (builder, result) in [("docker", &docker), ("wbox", &ours)] {
                let text = match result {
                    Ok(image) => image.dump(),
                    Err(e) => format!("error: {e}\n"),
                };
                fs::write(dir.join(format!("{builder}.txt")), text).unwrap();
            }
        }
        if let Some(rule) = &case.expect_error {
            let docker_did = match (&docker, &case.not_for_docker) {
                (_, Some(_)) => "not built with Docker 20.10, see not-for-docker",
                (Ok(_), None) => "Docker 20.10 builds it",
                (Err(_), None) => "Docker refuses it too",
            };
            return match ours {
                Err(_) => Verdict::Match(Some(format!("refused, per the reference; {docker_did}"))),
                Ok(_) => Verdict::Mismatch(vec![
                    format!("wbox built it; the reference says: {rule}"),
                    format!("({docker_did})"),
                ]),
            };
        }
        match (docker, ours) {
            (Err(d), Err(w)) => {
                Verdict::Match(Some(format!("both refuse it; docker: {}; wbox: {}", short(&d), short(&w))))
            }
            (Ok(_), Err(e)) => Verdict::Mismatch(vec![format!("docker builds it; wbox fails: {e}")]),
            (Err(e), Ok(_)) => Verdict::Mismatch(vec![format!("wbox builds it; docker fails: {e}")]),
            (Ok(d), Ok(w)) => {
                let lines = d.diff(&w);
                if lines.is_empty() { Verdict::Match(None) } else { Verdict::Mismatch(lines) }
            }
        }
    }

    /// Builds the case (its parent first), pushes it and reads it back from
    /// the registry. Err holds why the build (or a step after it) failed.
    fn build(&self, case: &Case, builder: Builder, wbox: &Wbox) -> Result<Image, String> {
        let mut placeholders = self.placeholders.clone();
        let repository = format!("{}/conformance/{}/{}", self.registry.addr, builder.name(), case.name);
        if case.parent {
            let parent = format!("{repository}-parent:latest");
            let context = prepare_context(&case.dir.join("parent"), builder, &placeholders);
            self.build_push(builder, wbox, &parent, context.path(), &[], None)
                .map_err(|e| format!("the parent image: {e}"))?;
            placeholders.push(("@PARENT@", parent));
        }
        let tag = format!("{repository}:latest");
        let context = prepare_context(&case.dir, builder, &placeholders);
        let args: Vec<String> = case.build_args.iter().map(|a| substitute(a, &placeholders)).collect();
        self.build_push(builder, wbox, &tag, context.path(), &args, case.target.as_deref())?;
        fetch(&tag)
    }

    fn build_push(
        &self,
        builder: Builder,
        wbox: &Wbox,
        tag: &str,
        context: &Path,
        args: &[String],
        target: Option<&str>,
    ) -> Result<(), String> {
        let mut build = match builder {
            Builder::Docker => {
                let mut c = self.dockerd.command();
                c.args(["build", "--network", "host", "-t", tag]);
                c
            }
            Builder::Wbox => {
                let mut c = wbox.command();
                c.args(["build", "--progress", "plain", "-t", tag]);
                c
            }
        };
        for arg in args {
            build.arg("--build-arg").arg(arg);
        }
        if let Some(target) = target {
            build.args(["--target", target]);
        }
        build.arg(context);
        run_timed(&mut build, BUILD_TIMEOUT).map_err(|e| format!("build: {e}"))?;
        let mut push = match builder {
            Builder::Docker => self.dockerd.command(),
            Builder::Wbox => wbox.command(),
        };
        push.args(["push", tag]);
        run_timed(&mut push, BUILD_TIMEOUT).map_err(|e| format!("push: {e}"))?;
        Ok(())
    }
}

/// The first 150 characters of an error, for a one-line report.
fn short(error: &str) -> String {
    let mut shown: String = error.chars().take(150).collect();
    if shown.len() < error.len() {
        shown.push('…');
    }
    shown
}

fn substitute(text: &str, placeholders: &[(&str, String)]) -> String {
    placeholders.iter().fold(text.to_owned(), |text, (name, value)| text.replace(name, value))
}

/// A copy of a case's context with known modes (git keeps only 644 and
/// 755), its Dockerfile's placeholders replaced, after its setup.sh ran.
/// Docker gets the case's docker.Dockerfile instead, when it has one.
fn prepare_context(case: &Path, builder: Builder, placeholders: &[(&str, String)]) -> tempfile::TempDir {
    let context = tempfile::tempdir().expect("context directory");
    copy_tree(case, context.path(), true);
    let source = match builder {
        Builder::Docker if case.join("docker.Dockerfile").exists() => case.join("docker.Dockerfile"),
        _ => case.join("Dockerfile"),
    };
    let text = fs::read_to_string(&source).expect("the case's Dockerfile");
    fs::write(context.path().join("Dockerfile"), substitute(&text, placeholders)).unwrap();
    let setup = case.join("setup.sh");
    if setup.exists() {
        let out = Command::new("sh")
            .args(["-ec", "umask 022; . \"$1\"", "sh"])
            .arg(&setup)
            .current_dir(context.path())
            .output()
            .expect("running sh");
        assert!(
            out.status.success(),
            "{}: {}{}",
            setup.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    context
}

fn copy_tree(from: &Path, to: &Path, top: bool) {
    for entry in fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if top && CASE_FILES.iter().any(|f| name == *f) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let meta = fs::symlink_metadata(&source).unwrap();
        if meta.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source).unwrap(), &target).unwrap();
        } else if meta.is_dir() {
            fs::create_dir(&target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
            copy_tree(&source, &target, false);
        } else {
            fs::copy(&source, &target).unwrap();
            let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
            fs::set_permissions(&target, fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

/// Runs a command to its end (killed after `timeout`); Err holds the last
/// lines it printed.
fn run_timed(command: &mut Command, timeout: Duration) -> Result<(), String> {
    let output = tempfile::tempfile().unwrap();
    let mut child = command
        .stdout(output.try_clone().unwrap())
        .stderr(output.try_clone().unwrap())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.is_some_and(|s| s.success()) {
        return Ok(());
    }
    let mut text = String::new();
    let mut output = output;
    use std::io::Seek;
    output.rewind().unwrap();
    output.read_to_string(&mut text).unwrap_or_default();
    let last: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let tail = last[last.len().saturating_sub(2)..].join(" / ");
    let tail: String = tail.chars().take(300).collect();
    Err(match status {
        None => format!("timed out after {timeout:?}: {tail}"),
        Some(_) => tail,
    })
}

/// An image as a user meets it.
struct Image {
    /// Path → "type mode uid:gid detail".
    files: BTreeMap<String, String>,
    /// The compared config fields, normalised; absent ones left out.
    config: BTreeMap<&'static str, Value>,
    /// Each layer's entries as tar lists them, for DOCKERFILE_DUMP.
    layers: Vec<String>,
}

/// Copies an image out of the registry with skopeo and reads it.
fn fetch(reference: &str) -> Result<Image, String> {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("image");
    let copied = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--src-tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .arg(format!("dir:{}", dir.display()))
        .stdin(Stdio::null())
        .output()
        .expect("running skopeo");
    if !copied.status.success() {
        return Err(format!("skopeo copy: {}", String::from_utf8_lossy(&copied.stderr).trim()));
    }
    let blob = |digest: &Value| dir.join(digest.as_str().unwrap_or_default().trim_start_matches("sha256:"));
    let manifest: Value = serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let config: Value = serde_json::from_slice(&fs::read(blob(&manifest["config"]["digest"])).unwrap())
        .map_err(|e| format!("the image's config: {e}"))?;
    let mut rootfs = Rootfs::default();
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        rootfs.apply(&fs::read(blob(&layer["digest"])).unwrap()).map_err(|e| format!("a layer: {e}"))?;
    }
    let fields = config["config"].as_object().cloned().unwrap_or_default();
    let config = CONFIG_FIELDS
        .iter()
        .filter_map(|&name| {
            normalise(name, fields.get(name).cloned().unwrap_or(Value::Null)).map(|v| (name, v))
        })
        .collect();
    Ok(Image { files: rootfs.render(), config, layers: rootfs.listing })
}

/// A config value as it matters: empty and absent are the same, a
/// WorkingDir of "/" is the default one (the reference: "If not specified,
/// the default working directory is /"), and a healthcheck's unset
/// durations (0) are left out.
fn normalise(name: &str, value: Value) -> Option<Value> {
    let value = match (name, value) {
        ("WorkingDir", Value::String(s)) if s == "/" => Value::Null,
        ("Healthcheck", Value::Object(map)) => {
            Value::Object(map.into_iter().filter(|(_, v)| !(v.is_null() || v.as_i64() == Some(0))).collect())
        }
        (_, value) => value,
    };
    let empty = match &value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    (!empty).then_some(value)
}

impl Image {
    /// Everything compared, a line each, for DOCKERFILE_DUMP.
    fn dump(&self) -> String {
        let mut text = String::new();
        for (name, value) in &self.config {
            text.push_str(&format!("{name}: {value}\n"));
        }
        for (path, shown) in &self.files {
            text.push_str(&format!("/{path}: {shown}\n"));
        }
        for (i, layer) in self.layers.iter().enumerate() {
            text.push_str(&format!("\nlayer {i}:\n{layer}"));
        }
        text
    }

    /// "what: docker … | wbox …" for each difference, Docker first.
    fn diff(&self, wbox: &Image) -> Vec<String> {
        let mut lines = Vec::new();
        for name in CONFIG_FIELDS {
            let (d, w) = (self.config.get(name), wbox.config.get(name));
            if d != w {
                let show = |v: Option<&Value>| v.map_or("(none)".to_owned(), Value::to_string);
                lines.push(format!("{name}: docker {} | wbox {}", show(d), show(w)));
            }
        }
        // A tree one side lacks is one line, with the count of what is below.
        let mut missing: Option<(String, bool, usize, usize)> = None;
        let paths: BTreeSet<&String> = self.files.keys().chain(wbox.files.keys()).collect();
        for path in paths {
            let (d, w) = (self.files.get(path), wbox.files.get(path));
            if d == w {
                continue;
            }
            if let Some((top, docker_lacks, line, below)) = &mut missing {
                let inside = path.starts_with(&format!("{top}/"));
                if inside && (d.is_none() == *docker_lacks) && (d.is_none() || w.is_none()) {
                    *below += 1;
                    let side = if *docker_lacks { "docker" } else { "wbox" };
                    lines[*line] = lines[*line]
                        .split(" (and ")
                        .next()
                        .map(|l| format!("{l} (and {below} paths below it, all absent from {side})"))
                        .unwrap();
                    continue;
                }
            }
            let show = |v: Option<&String>| v.map_or("absent".to_owned(), Clone::clone);
            lines.push(format!("/{path}: docker {} | wbox {}", show(d), show(w)));
            missing = (d.is_none() || w.is_none()).then(|| (path.clone(), d.is_none(), lines.len() - 1, 0));
        }
        lines
    }
}

/// The tree that a sequence of layers makes, as an unpacker makes it:
/// whiteouts remove what lower layers had, missing parents are created
/// (0755, root), a later entry replaces an earlier one.
#[derive(Default)]
struct Rootfs {
    nodes: BTreeMap<String, Node>,
    inodes: u64,
    /// Each layer's entries as tar lists them.
    listing: Vec<String>,
}

#[derive(Clone)]
struct Node {
    /// "dir", "file sha256:…", "symlink -> target", "char 1,3", "fifo", …
    kind: String,
    mode: u32,
    uid: u64,
    gid: u64,
    /// Hard links share one.
    inode: u64,
}

enum Item {
    Whiteout(String),
    Opaque(String),
    Node(String, Node),
    HardLink(String, String, Node),
}

/// A tar path as a key: no leading "./" or "/", no trailing "/".
fn clean(path: &str) -> String {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn parent_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

impl Rootfs {
    fn apply(&mut self, blob: &[u8]) -> Result<(), String> {
        let reader: Box<dyn Read + '_> = match blob {
            [0x1f, 0x8b, ..] => Box::new(flate2::read::GzDecoder::new(blob)),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => {
                Box::new(zstd::stream::read::Decoder::new(blob).map_err(|e| e.to_string())?)
            }
            _ => Box::new(blob),
        };
        let mut items = Vec::new();
        let mut listing = String::new();
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(|e| e.to_string())? {
            let mut entry = entry.map_err(|e| e.to_string())?;
            let raw = entry.path().map_err(|e| e.to_string())?.to_string_lossy().into_owned();
            let header = entry.header();
            listing.push_str(&format!(
                "  {:?} {raw} {:o} {}:{}{}\n",
                header.entry_type(),
                header.mode().unwrap_or(0),
                header.uid().unwrap_or(0),
                header.gid().unwrap_or(0),
                entry.link_name().ok().flatten().map(|l| format!(" -> {}", l.display())).unwrap_or_default()
            ));
            let path = clean(&raw);
            if path.is_empty() {
                continue;
            }
            let name = path.rsplit('/').next().unwrap();
            if name == ".wh..wh..opq" {
                items.push(Item::Opaque(parent_of(&path).to_owned()));
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                let parent = parent_of(&path);
                items.push(Item::Whiteout(if parent.is_empty() {
                    hidden.into()
                } else {
                    format!("{parent}/{hidden}")
                }));
                continue;
            }
            let header = entry.header();
            let link = entry.link_name().ok().flatten().map(|l| l.to_string_lossy().into_owned());
            let device = || {
                format!(
                    "{},{}",
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0)
                )
            };
            let kind = match header.entry_type() {
                tar::EntryType::Directory => "dir".to_owned(),
                tar::EntryType::Symlink => format!("symlink -> {}", link.clone().unwrap_or_default()),
                tar::EntryType::Char => format!("char {}", device()),
                tar::EntryType::Block => format!("block {}", device()),
                tar::EntryType::Fifo => "fifo".to_owned(),
                tar::EntryType::Link => String::new(),
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let mut hasher = Sha256::new();
                    std::io::copy(&mut entry, &mut hasher).map_err(|e| e.to_string())?;
                    format!("file sha256:{}", &hex(&hasher.finalize())[..16])
                }
                other => format!("{other:?}"),
            };
            let header = entry.header();
            let node = Node {
                kind,
                mode: header.mode().unwrap_or(0) & 0o7777,
                uid: header.uid().unwrap_or(0),
                gid: header.gid().unwrap_or(0),
                inode: 0,
            };
            if header.entry_type() == tar::EntryType::Link {
                items.push(Item::HardLink(path, clean(&link.unwrap_or_default()), node));
            } else {
                items.push(Item::Node(path, node));
            }
        }
        self.listing.push(listing);
        // Whiteouts hide what the layers below had, not this layer's entries.
        for item in &items {
            match item {
                Item::Whiteout(path) => self.remove(path),
                Item::Opaque(dir) => {
                    let below = format!("{dir}/");
                    self.nodes.retain(|p, _| !p.starts_with(&below));
                }
                _ => {}
            }
        }
        for item in items {
            match item {
                Item::Node(path, mut node) => {
                    self.inodes += 1;
                    node.inode = self.inodes;
                    self.insert(path, node);
                }
                Item::HardLink(path, target, fallback) => {
                    let node = self
                        .nodes
                        .get(&target)
                        .cloned()
                        .unwrap_or(Node { kind: format!("hard link to missing /{target}"), ..fallback });
                    self.insert(path, node);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn remove(&mut self, path: &str) {
        let below = format!("{path}/");
        self.nodes.retain(|p, _| p != path && !p.starts_with(&below));
    }

    fn insert(&mut self, path: String, node: Node) {
        let mut parent = parent_of(&path);
        let mut missing = Vec::new();
        while !parent.is_empty() && self.nodes.get(parent).is_none_or(|n| n.kind != "dir") {
            missing.push(parent.to_owned());
            parent = parent_of(parent);
        }
        // Outermost first: removing what stands in a parent's place takes
        // what is below it too.
        for dir in missing.into_iter().rev() {
            self.remove(&dir);
            self.inodes += 1;
            let node = Node { kind: "dir".into(), mode: 0o755, uid: 0, gid: 0, inode: self.inodes };
            self.nodes.insert(dir, node);
        }
        if node.kind != "dir" || self.nodes.get(&path).is_some_and(|n| n.kind != "dir") {
            self.remove(&path);
        }
        self.nodes.insert(path, node);
    }

    fn render(&self) -> BTreeMap<String, String> {
        let mut links: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
        for (path, node) in &self.nodes {
            links.entry(node.inode).or_default().push(path);
        }
        self.nodes
            .iter()
            .map(|(path, node)| {
                let mut shown = if node.kind.starts_with("symlink") {
                    // A symlink's permission bits mean nothing on Linux.
                    format!("{} {}:{}", node.kind, node.uid, node.gid)
                } else {
                    format!("{} {:04o} {}:{}", node.kind, node.mode, node.uid, node.gid)
                };
                let others: Vec<String> =
                    links[&node.inode].iter().filter(|p| **p != path).map(|p| format!("/{p}")).collect();
                if !others.is_empty() {
                    shown.push_str(&format!(" hard-linked with {}", others.join(",")));
                }
                (path.clone(), shown)
            })
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
