//! The containerd shim, driven by a real containerd (Debian's 1.6) and its
//! `ctr`: wasm images and native images through runtime
//! `io.containerd.wbox.v1`, their exit codes, grants, kills and clean-up,
//! and one shim process for a pod's containers.

use wbox_test_harness as harness;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use harness::containerd::Containerd;
use harness::images::{push_artifact, push_busybox_image, push_image};
use harness::registry::Registry;

const RUNTIME: &str = "io.containerd.wbox.v1";

/// One containerd at a time: each starts shims under the host's
/// /run/containerd, and the leak checks count the host's mounts.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A registry with the test images, and a containerd that found the shim
/// built with these tests and pulled them.
struct Cluster {
    containerd: Containerd,
    registry: Registry,
    _wbox_root: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let wbox_root = tempfile::tempdir().unwrap();
        let containerd =
            Containerd::with_shim(Path::new(env!("CARGO_BIN_EXE_containerd-shim-wbox-v1")), wbox_root.path());
        Cluster { containerd, registry: Registry::start(), _wbox_root: wbox_root }
    }

    /// Pushes an image of one wasm program at `/NAME` and pulls it into containerd.
    fn wasm_image(&self, name: &str, wasm: &Path, extra: &[&str]) -> String {
        let entrypoint = format!("/{name}");
        let file = format!("{entrypoint}={}", wasm.display());
        let mut args = vec!["--entrypoint", &entrypoint, "--file", &file];
        args.extend_from_slice(extra);
        let name_tag = format!("{}:1", name.trim_end_matches(".wasm"));
        push_image(&self.registry, &name_tag, &args);
        self.pull(&name_tag, Some("wasi/wasm"))
    }

    fn busybox(&self) -> String {
        push_busybox_image(&self.registry, "busybox:1");
        self.pull("busybox:1", None)
    }

    fn pull(&self, name_tag: &str, platform: Option<&str>) -> String {
        let reference = format!("{}/{name_tag}", self.registry.addr);
        let mut args = vec!["images", "pull", "--plain-http"];
        if let Some(platform) = platform {
            args.extend(["--platform", platform]);
        }
        args.push(&reference);
        ok(self.containerd.ctr(&args));
        reference
    }

    /// `ctr run --rm` of `image` with the wbox runtime; more ctr flags may
    /// come before the image in `flags`.
    fn run(&self, flags: &[&str], image: &str, id: &str, command: &[&str]) -> Output {
        self.ctr_run("--rm", flags, image, id, command)
    }

    /// `ctr run -d`, as `run`.
    fn run_detached(&self, flags: &[&str], image: &str, id: &str, command: &[&str]) {
        ok(self.ctr_run("-d", flags, image, id, command));
    }

    fn ctr_run(&self, mode: &str, flags: &[&str], image: &str, id: &str, command: &[&str]) -> Output {
        let mut args = vec!["run", mode, "--runtime", RUNTIME];
        args.extend_from_slice(flags);
        args.extend([image, id]);
        args.extend_from_slice(command);
        self.containerd.ctr(&args)
    }

    /// Makes container `id` of `image` through containerd's API, with a
    /// spec of our own (`args`, root filesystem `root`): what a CRI does,
    /// and what `ctr run` cannot do here for a wasm artifact, as Debian's
    /// containerd (1.6.20) tries to unpack its module as a layer.
    fn create_container(&self, id: &str, image: &str, root: &Path, args: &[&str]) {
        use containerd_client::services::v1::container::Runtime;
        use containerd_client::services::v1::containers_client::ContainersClient;
        use containerd_client::services::v1::{Container, CreateContainerRequest};
        let spec = serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {"args": args, "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "root": {"path": root},
            "linux": {"namespaces": [{"type": "network"}, {"type": "mount"}]},
        });
        let container = Container {
            id: id.to_owned(),
            image: image.to_owned(),
            runtime: Some(Runtime { name: RUNTIME.to_owned(), options: None }),
            spec: Some(prost_types::Any {
                type_url: "types.containerd.io/opencontainers/runtime-spec/1/Spec".to_owned(),
                value: spec.to_string().into_bytes(),
            }),
            ..Default::default()
        };
        let mut request =
            containerd_client::tonic::Request::new(CreateContainerRequest { container: Some(container) });
        request.metadata_mut().insert("containerd-namespace", "wbox-test".parse().unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let channel =
                containerd_client::connect(&self.containerd.socket).await.expect("connecting to containerd");
            ContainersClient::new(channel).create(request).await.expect("creating the container");
        });
    }

    fn ctr(&self, args: &[&str]) -> Output {
        self.containerd.ctr(args)
    }

    /// Waits (a while) for every shim process of this containerd to end.
    fn no_shim_left(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.containerd.shim_processes().is_empty() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }

    /// Kills, deletes and removes a detached container.
    fn remove(&self, id: &str) {
        self.ctr(&["tasks", "kill", "--signal", "SIGKILL", id]);
        wait_for(|| {
            stdout(&self.ctr(&["tasks", "ls"]))
                .lines()
                .all(|l| !l.starts_with(&format!("{id} ")) || l.contains("STOPPED"))
        });
        ok(self.ctr(&["tasks", "delete", id]));
        ok(self.ctr(&["containers", "rm", id]));
    }
}

fn guest(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/out").join(name);
    assert!(path.exists(), "{} is missing: run examples/build.sh first", path.display());
    path
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    stdout(&output)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn wait_for(done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The host's mounts under `dir`.
fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&dir))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_wasm_image_runs_with_its_arguments_environment_and_mounts() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start();
    let hello = cluster.wasm_image("hello.wasm", &guest("hello.wasm"), &["--env", "GREETING=Howdy"]);
    let probe = cluster.wasm_image("probe.wasm", &guest("probe.wasm"), &["--env", "FROM_IMAGE=1"]);
    let wasm = ["--platform", "wasi/wasm"];

    let out = cluster.run(&wasm, &hello, "t1", &["/hello.wasm", "world"]);
    assert_eq!(ok(out), "Howdy from wbox!\narg 1: world\n");
    let out = cluster.run(
        &[&wasm[..], &["--env", "GREETING=Hi"]].concat(),
        &hello,
        "t2",
        &["/hello.wasm", "--exit", "7"],
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Hi from wbox!\n");

    let out = ok(cluster.run(
        &[&wasm[..], &["--env", "FROM_CTR=2"]].concat(),
        &probe,
        "t3",
        &["/probe.wasm", "env"],
    ));
    for var in ["FROM_IMAGE=1", "FROM_CTR=2"] {
        assert!(out.lines().any(|l| l == var), "{var} missing from:\n{out}");
    }

    // Bind mounts are directory grants; ro is enforced.
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("note.txt"), "from the host\n").unwrap();
    let mount =
        |options: &str| format!("type=bind,src={},dst=/data,options={options}", data.path().display());
    let ro_mount = mount("rbind:ro");
    let ro = [&wasm[..], &["--mount", &ro_mount]].concat();
    assert_eq!(
        ok(cluster.run(&ro, &probe, "t4", &["/probe.wasm", "show", "/data/note.txt"])),
        "from the host\n"
    );
    let out = cluster.run(&ro, &probe, "t5", &["/probe.wasm", "write", "/data/note.txt", "changed"]);
    assert_eq!(out.status.code(), Some(1), "a write to a read-only mount must fail: {}", stderr(&out));
    assert_eq!(std::fs::read_to_string(data.path().join("note.txt")).unwrap(), "from the host\n");
    let rw_mount = mount("rbind:rw");
    let rw = [&wasm[..], &["--mount", &rw_mount]].concat();
    ok(cluster.run(&rw, &probe, "t6", &["/probe.wasm", "write", "/data/new.txt", "written"]));
    assert_eq!(std::fs::read_to_string(data.path().join("new.txt")).unwrap(), "written");
    // stdin arrives through containerd's FIFO.
    let cat =
        ["run", "--rm", "--runtime", RUNTIME, "--platform", "wasi/wasm", &probe, "t10", "/probe.wasm", "cat"];
    assert_eq!(ok(cluster.containerd.ctr_with_input(&cat, b"piped in\n")), "piped in\n");
    // The spec's memory limit caps the guest's memory.
    let limited = [&wasm[..], &["--memory-limit", "33554432"]].concat();
    let out = cluster.run(&limited, &probe, "t8", &["/probe.wasm", "alloc", "64"]);
    assert_eq!(out.status.code(), Some(3), "64 MiB under a 32 MiB limit: {}", stderr(&out));
    ok(cluster.run(&limited, &probe, "t9", &["/probe.wasm", "alloc", "16"]));
    // Nothing else of the host: the guest's / is its image.
    let out = cluster.run(&wasm, &probe, "t7", &["/probe.wasm", "show", "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(cluster.no_shim_left());
}

#[test]
fn mounts_given_to_a_wasm_guest_hold_against_escapes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start();
    let escape = cluster.wasm_image("escape.wasm", &guest("escape.wasm"), &[]);
    // A secret beside the mounts, and symlinks in the rw mount that lead to it.
    let host = tempfile::tempdir().unwrap();
    let (rw, ro, secret) = (host.path().join("rw"), host.path().join("ro"), host.path().join("secret"));
    std::fs::create_dir_all(&rw).unwrap();
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::write(&secret, "the host's secret\n").unwrap();
    std::fs::write(ro.join("existing"), "read-only content\n").unwrap();
    std::os::unix::fs::symlink(&secret, rw.join("outside")).unwrap();
    std::os::unix::fs::symlink("../secret", rw.join("outside-rel")).unwrap();
    let rw_mount = format!("type=bind,src={},dst=/rw,options=rbind:rw", rw.display());
    let ro_mount = format!("type=bind,src={},dst=/ro,options=rbind:ro", ro.display());
    let flags = ["--platform", "wasi/wasm", "--mount", &rw_mount, "--mount", &ro_mount];
    let out = cluster.run(&flags, &escape, "escape", &["/escape.wasm", "/rw", "/ro"]);
    let report = stdout(&out);
    assert_eq!(report.lines().count(), 16, "{report}{}", stderr(&out));
    // Its / is its image's root filesystem, which it may list; every other
    // attempt must fail.
    for line in report.lines() {
        assert!(line.contains(": denied (") || line == "list /: ALLOWED", "escaped: {line}\n{report}");
    }
    assert_eq!(out.status.code(), Some(1), "the guest counts the attempts allowed");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "the host's secret\n");
    let ro_files: Vec<_> = std::fs::read_dir(&ro).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(ro_files, ["existing"], "nothing appears in a read-only mount");
    assert!(cluster.no_shim_left());
}

#[test]
fn a_native_image_runs_in_its_own_namespaces_through_the_same_runtime() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start();
    let busybox = cluster.busybox();
    assert_eq!(ok(cluster.run(&[], &busybox, "n1", &["echo", "native"])), "native\n");
    let ps = ok(cluster.run(&[], &busybox, "n2", &["ps", "-o", "pid,comm"]));
    let processes: Vec<Vec<&str>> = ps.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(processes, [vec!["1", "ps"]], "ps sees only itself, as PID 1:\n{ps}");
    let out = cluster.run(&[], &busybox, "n3", &["sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let out = cluster.run(&["--env", "WHO=ctr"], &busybox, "n4", &["sh", "-c", "echo $WHO"]);
    assert_eq!(ok(out), "ctr\n");
    assert!(cluster.no_shim_left());
}

#[test]
fn kill_ends_a_looping_guest_and_delete_cleans_up() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start();
    let probe = cluster.wasm_image("probe.wasm", &guest("probe.wasm"), &[]);
    let busybox = cluster.busybox();
    // containerd's event stream, where the kubelet learns of exits.
    let mut events = std::process::Command::new("ctr")
        .arg("--address")
        .arg(&cluster.containerd.socket)
        .arg("events")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let wasm = ["--platform", "wasi/wasm"];
    cluster.run_detached(&wasm, &probe, "spin", &["/probe.wasm", "spin"]);
    cluster.run_detached(&[], &busybox, "loop", &["sh", "-c", "while :; do :; done"]);
    let tasks = stdout(&cluster.ctr(&["tasks", "ls"]));
    for id in ["spin", "loop"] {
        assert!(tasks.lines().any(|l| l.starts_with(id) && l.contains("RUNNING")), "{tasks}");
    }
    let native_pid: u32 = tasks
        .lines()
        .find(|l| l.starts_with("loop"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let pids = stdout(&cluster.ctr(&["tasks", "ps", "loop"]));
    assert!(pids.contains(&native_pid.to_string()), "{pids}");
    let metrics = ok(cluster.ctr(&["tasks", "metrics", "loop"]));
    assert!(metrics.contains("pids.current") && metrics.contains("memory.usage_in_bytes"), "{metrics}");
    // A wasm guest has no cgroup of its own; containerd logs the shim's
    // reason and tells ctr there is nothing.
    assert!(!cluster.ctr(&["tasks", "metrics", "spin"]).status.success());

    // SIGTERM for the guest; SIGKILL for sh, which as PID 1 ignores
    // signals it has no handler for.
    for (id, signal) in [("spin", "SIGTERM"), ("loop", "SIGKILL")] {
        ok(cluster.ctr(&["tasks", "kill", "--signal", signal, id]));
        wait_for(|| {
            stdout(&cluster.ctr(&["tasks", "ls"])).lines().any(|l| l.starts_with(id) && l.contains("STOPPED"))
        });
        ok(cluster.ctr(&["tasks", "delete", id]));
        ok(cluster.ctr(&["containers", "rm", id]));
    }
    assert!(!Path::new(&format!("/proc/{native_pid}")).exists(), "the native container's process is gone");
    events.kill().unwrap();
    let events = stdout(&events.wait_with_output().unwrap());
    for (id, status) in [("spin", 128 + 15), ("loop", 128 + 9)] {
        let exit = events.lines().find(|l| l.contains("/tasks/exit") && l.contains(&format!("\"{id}\"")));
        let exit = exit.unwrap_or_else(|| panic!("no exit event for {id}:\n{events}"));
        assert!(exit.contains(&format!("\"exit_status\":{status},")), "{exit}");
    }
    for topic in ["/tasks/create", "/tasks/start", "/tasks/delete"] {
        assert!(events.contains(topic), "no {topic} event:\n{events}");
    }
    assert!(cluster.no_shim_left(), "no shim process is left");
    let tasks_dir = cluster.containerd.dir().join("state/io.containerd.runtime.v2.task/wbox-test");
    assert_eq!(std::fs::read_dir(&tasks_dir).map(|d| d.count()).unwrap_or(0), 0, "bundles are removed");
}

#[test]
fn containers_run_back_to_back_leave_nothing_behind() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start();
    let hello = cluster.wasm_image("hello.wasm", &guest("hello.wasm"), &[]);
    let busybox = cluster.busybox();
    let snapshots = stdout(&cluster.ctr(&["snapshots", "ls"]));
    let mounts = mounts_under(cluster.containerd.dir());
    for i in 0..20 {
        let id = format!("c{i}");
        let out = if i % 2 == 0 {
            cluster.run(&["--platform", "wasi/wasm"], &hello, &id, &["/hello.wasm", &id])
        } else {
            cluster.run(&[], &busybox, &id, &["echo", &id])
        };
        let out = ok(out);
        assert!(out.contains(&id), "{out}");
    }
    assert!(cluster.no_shim_left(), "shim processes left: {:?}", cluster.containerd.shim_processes());
    assert_eq!(mounts_under(cluster.containerd.dir()), mounts, "mounts left");
    assert_eq!(stdout(&cluster.ctr(&["snapshots", "ls"])), snapshots, "snapshots left");
    assert_eq!(stdout(&cluster.ctr(&["containers", "ls", "-q"])), "");
    let tasks_dir = cluster.containerd.dir().join("state/io.containerd.runtime.v2.task/wbox-test");
    assert_eq!(std::fs::read_dir(&tasks_dir).map(|d| d.count()).unwrap_or(0), 0, "bundles left");
    let cgroups: Vec<_> = (0..20)
        .flat_map(|i| {
            ["pids", "memory", "cpu"].map(|c| PathBuf::from(format!("/sys/fs/cgroup/{c}/wbox-test/c{i}")))
        })
        .filter(|p| p.exists())
        .collect();
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
}

#[test]
fn a_pods_containers_share_one_shim_process() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start();
    let probe = cluster.wasm_image("probe.wasm", &guest("probe.wasm"), &[]);
    let wasm = ["--platform", "wasi/wasm"];
    let pod = ["--platform", "wasi/wasm", "--annotation", "io.kubernetes.cri.sandbox-id=pod-1"];
    for id in ["a", "b"] {
        cluster.run_detached(&pod, &probe, id, &["/probe.wasm", "sleep", "60"]);
    }
    assert_eq!(cluster.containerd.shim_processes().len(), 1, "one shim for the pod");
    cluster.run_detached(&wasm, &probe, "c", &["/probe.wasm", "sleep", "60"]);
    assert_eq!(cluster.containerd.shim_processes().len(), 2, "another for a container of no pod");

    // The pod's shim serves its second container after the first is gone.
    cluster.remove("a");
    assert_eq!(cluster.containerd.shim_processes().len(), 2);
    assert!(
        stdout(&cluster.ctr(&["tasks", "ls"])).lines().any(|l| l.starts_with("b ") && l.contains("RUNNING"))
    );
    cluster.remove("b");
    cluster.remove("c");
    assert!(cluster.no_shim_left());
}

#[test]
fn an_invalid_module_fails_to_start_with_a_clear_error() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0\x01\xffnot really a module").unwrap();
    let image = cluster.wasm_image("bad.wasm", &bad, &[]);
    let out = cluster.run(&["--platform", "wasi/wasm"], &image, "bad", &["/bad.wasm"]);
    assert!(!out.status.success());
    let error = stderr(&out);
    assert!(error.contains("/bad.wasm") && error.contains("not a valid"), "{error}");
    // containerd is fine and runs the next container.
    let hello = cluster.wasm_image("hello.wasm", &guest("hello.wasm"), &[]);
    assert_eq!(
        ok(cluster.run(&["--platform", "wasi/wasm"], &hello, "good", &["/hello.wasm"])),
        "Hello from wbox!\n"
    );
    assert_eq!(stdout(&cluster.ctr(&["containers", "ls", "-q"])), "", "ctr run --rm removed both");
    assert!(cluster.no_shim_left());
}

/// A WASI 0.3 command (`tests/guests/hello-p3`'s greet-p3) runs through
/// the shim as a 0.2 one does: arguments, environment, exit code.
#[test]
fn a_wasi_0_3_component_runs_through_ctr() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start();
    let greet = cluster.wasm_image("greet-p3.wasm", &guest("greet-p3.wasm"), &["--env", "GREETING=Howdy"]);
    let wasm = ["--platform", "wasi/wasm"];
    let out = cluster.run(&wasm, &greet, "p3", &["/greet-p3.wasm", "world"]);
    assert_eq!(ok(out), "Howdy from WASI 0.3! args: world\n");
    let out = cluster.run(&wasm, &greet, "p3-fail", &["/greet-p3.wasm", "fail"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn a_wasm_oci_artifact_runs_from_containerds_content_store() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start();
    let hello = guest("hello.wasm");
    push_artifact(&cluster.registry, "artifact:1", &hello);
    let reference = format!("{}/artifact:1", cluster.registry.addr);
    // Stored as it is, not unpacked: the module is the image's one layer.
    ok(cluster.ctr(&["content", "fetch", "--plain-http", &reference]));
    let root = tempfile::tempdir().unwrap();
    cluster.create_container("art", &reference, root.path(), &["hello.wasm", "artifact"]);
    assert_eq!(ok(cluster.ctr(&["tasks", "start", "art"])), "Hello from wbox!\narg 1: artifact\n");
    cluster.ctr(&["tasks", "delete", "art"]);
    ok(cluster.ctr(&["containers", "rm", "art"]));
    cluster.create_container("art-exit", &reference, root.path(), &["hello.wasm", "--exit", "4"]);
    assert_eq!(cluster.ctr(&["tasks", "start", "art-exit"]).status.code(), Some(4));
    cluster.ctr(&["tasks", "delete", "art-exit"]);
    ok(cluster.ctr(&["containers", "rm", "art-exit"]));

    // A module damaged in containerd's store is refused, not run.
    let digest = String::from_utf8_lossy(
        &std::process::Command::new("sha256sum").arg(&hello).output().unwrap().stdout,
    )
    .split_whitespace()
    .next()
    .unwrap()
    .to_owned();
    let blob =
        cluster.containerd.dir().join("root/io.containerd.content.v1.content/blobs/sha256").join(&digest);
    let mut bytes = std::fs::read(&blob).expect("the module in containerd's content store");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    cluster.create_container("damaged", &reference, root.path(), &["hello.wasm"]);
    let out = cluster.ctr(&["tasks", "start", "damaged"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not match its digest"), "{}", stderr(&out));
    ok(cluster.ctr(&["containers", "rm", "damaged"]));
    assert!(cluster.no_shim_left());
}
