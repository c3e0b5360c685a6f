//! The same wasm images on Windows: wbox.exe (cross-built by
//! scripts/test.sh) under Wine, given the same commands as the Linux wbox
//! beside it, against the same registry. What they print, the digests and
//! the exit codes must be the same; grants are given as Windows paths.

use wbox_test_harness as harness;

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use harness::images::{push_docker_wasm_image, push_image};
use harness::registry::Registry;
use harness::wine::{Wine, windows_path};
use harness::{Wbox, code, get, guest, ok, stderr, stdout};

/// One wbox on each system, each with a root of its own.
struct Both {
    linux: Wbox,
    wine: Wine,
    windows_root: tempfile::TempDir,
}

impl Both {
    fn new() -> Both {
        Both { linux: Wbox::new(), wine: Wine::start(), windows_root: tempfile::tempdir().unwrap() }
    }

    fn windows(&self, args: &[&str]) -> Output {
        self.wine.run(self.windows_root.path(), args)
    }

    /// Runs the same command on both; asserts the same stdout and exit
    /// code, and returns the stdout.
    fn same(&self, args: &[&str]) -> String {
        self.same_with(args, args)
    }

    /// Runs `linux` on Linux and `windows` (the same, with Windows paths)
    /// under Wine; asserts the same stdout and exit code.
    fn same_with(&self, linux: &[&str], windows: &[&str]) -> String {
        let (on_linux, on_windows) = (self.linux.run(linux), self.windows(windows));
        assert_eq!(
            (stdout(&on_windows), code(&on_windows)),
            (stdout(&on_linux), code(&on_linux)),
            "wbox.exe {windows:?} differs from Linux's wbox {linux:?}\nWindows' stderr: {}\nLinux's stderr: {}",
            stderr(&on_windows),
            stderr(&on_linux)
        );
        stdout(&on_linux)
    }

    fn windows_ok(&self, args: &[&str]) -> String {
        ok(self.windows(args))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_pulled_image_runs_with_the_same_output_and_grants_on_windows() {
    let registry = Registry::start();
    let hello = format!("{}/hello:1.0", registry.addr);
    push_docker_wasm_image(&registry, "hello:1.0", Path::new(&guest("hello.wasm")), &[]);
    let wc = format!("{}/wc:1.0", registry.addr);
    push_docker_wasm_image(&registry, "wc:1.0", Path::new(&guest("wc.wasm")), &[]);
    let both = Both::new();

    // (Without -q, layers are reported as they complete, in no set order.)
    both.same(&["pull", "-q", &hello]);
    let inspected = both.same(&["inspect", &hello]);
    assert!(inspected.contains("\"RepoDigests\""), "{inspected}");
    assert_eq!(
        both.same(&["run", "--rm", "-e", "GREETING=Hi", &hello, "a", "b c"]),
        "Hi from wbox!\narg 1: a\narg 2: b c\n"
    );
    assert_eq!(code(&both.windows(&["run", "--rm", &hello, "--exit", "3"])), 3);
    both.same(&["run", "--rm", &hello, "--exit", "3"]);
    both.same(&["inspect", "--format", "{{.Id}} {{.Os}}/{{.Architecture}}", &hello]);

    // A directory granted read-only, named as Windows names it.
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("notes.txt"), "one two three\nfour\n").unwrap();
    let on_linux = format!("{}:/data:ro", data.path().display());
    let on_windows = format!("{}:/data:ro", windows_path(data.path()));
    let counted = both.same_with(
        &["run", "--rm", "-v", &on_linux, &wc, "/data/notes.txt"],
        &["run", "--rm", "-v", &on_windows, &wc, "/data/notes.txt"],
    );
    assert_eq!(counted, "2 4 19 /data/notes.txt\n");

    // The escape guest: every attempt out of its grants, and every change
    // to the read-only grant, is denied on both systems alike; the host's
    // files are untouched. On Linux the grant also holds symlinks out of
    // it; Wine shows a Windows program a Unix symlink as what it points to
    // (no reparse point), so on Windows there are none: only what a
    // Windows user could make would be a fair test, and Wine cannot. (The
    // guest's own symlink is refused on Windows, which grants making one
    // only to the privileged; on Linux it is made, and reading out through
    // it is refused.)
    for system in ["linux", "windows"] {
        let host = tempfile::tempdir().unwrap();
        let (rw, ro, secret) = (host.path().join("rw"), host.path().join("ro"), host.path().join("secret"));
        std::fs::create_dir(&rw).unwrap();
        std::fs::create_dir(&ro).unwrap();
        std::fs::write(ro.join("existing"), "kept").unwrap();
        std::fs::write(&secret, "the host's secret").unwrap();
        if system == "linux" {
            std::os::unix::fs::symlink(&secret, rw.join("outside")).unwrap();
            std::os::unix::fs::symlink("../secret", rw.join("outside-rel")).unwrap();
        }
        let name =
            |path: &Path| if system == "linux" { path.display().to_string() } else { windows_path(path) };
        let rw_grant = format!("{}:/rw", name(&rw));
        let ro_grant = format!("{}:/ro:ro", name(&ro));
        let escape = name(Path::new(&guest("escape.wasm")));
        let args = ["run", "--rm", "-v", &rw_grant, "-v", &ro_grant, &escape, "/rw", "/ro"];
        let out = if system == "linux" { both.linux.run(&args) } else { both.windows(&args) };
        assert_eq!(code(&out), 0, "{system}: the guest got out:\n{}{}", stdout(&out), stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 16, "{system}: {}", stdout(&out));
        for line in stdout(&out).lines() {
            assert!(line.contains(": denied ("), "{system}: escaped: {line}");
        }
        assert_eq!(std::fs::read_to_string(ro.join("existing")).unwrap(), "kept", "{system}");
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "the host's secret", "{system}");
        let top: Vec<_> = std::fs::read_dir(host.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(top.len(), 3, "{system}: nothing appears beside the grants: {top:?}");
    }

    // Images: tag, list, save, remove, load.
    both.same(&["tag", &hello, "hello:copy"]);
    both.same(&["images", "-q"]);
    let listed = both.windows_ok(&["images"]);
    assert!(listed.lines().any(|l| l.split_whitespace().take(2).eq(["hello", "copy"])), "{listed}");
    let archive = tempfile::tempdir().unwrap();
    let linux_tar = archive.path().join("linux.tar").display().to_string();
    let windows_tar = windows_path(&archive.path().join("windows.tar"));
    both.same_with(&["save", "-o", &linux_tar, "hello:copy"], &["save", "-o", &windows_tar, "hello:copy"]);
    assert_eq!(
        std::fs::read(archive.path().join("windows.tar")).unwrap(),
        std::fs::read(archive.path().join("linux.tar")).unwrap(),
        "the same archive"
    );
    both.same(&["rmi", "hello:copy"]);
    both.same_with(&["load", "-i", &linux_tar], &["load", "-i", &windows_tar]);
    both.same(&["run", "--rm", "hello:copy", "loaded"]);
}

#[test]
fn detached_containers_are_run_followed_stopped_and_killed_on_windows() {
    let registry = Registry::start();
    let probe = format!("/app.wasm={}", guest("probe.wasm"));
    push_image(&registry, "probe:1", &["--entrypoint", "/app.wasm", "--file", &probe]);
    let image = format!("{}/probe:1", registry.addr);
    let both = Both::new();
    both.same(&["pull", "-q", &image]);

    // logs -f follows the guest's output until it ends.
    both.windows_ok(&["run", "-d", "--name", "counter", &image, "tick", "5"]);
    let followed = both.windows_ok(&["logs", "-f", "counter"]);
    assert_eq!(followed, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");

    // stop lets the grace period pass, then ends it; kill ends it at once.
    for name in ["sleeper", "victim"] {
        both.windows_ok(&["run", "-d", "--name", name, &image, "sleep", "60"]);
    }
    let statuses = || -> Vec<(String, String)> {
        let listed = both.windows_ok(&["ps", "-a", "--format", "json"]);
        listed
            .lines()
            .map(|line| {
                let c: serde_json::Value = serde_json::from_str(line).unwrap();
                (c["Names"].as_str().unwrap().to_owned(), c["Status"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    let running = statuses();
    assert!(running.iter().any(|(n, s)| n == "sleeper" && s.starts_with("Up ")), "{running:?}");
    assert_eq!(both.windows_ok(&["stop", "-t", "1", "sleeper"]), "sleeper\n");
    assert_eq!(both.windows_ok(&["kill", "victim"]), "victim\n");
    assert_eq!(both.windows_ok(&["wait", "victim"]), "137\n");
    let ended = statuses();
    for (name, code) in [("counter", 0), ("sleeper", 137), ("victim", 137)] {
        let status = &ended.iter().find(|(n, _)| n == name).unwrap().1;
        assert!(status.starts_with(&format!("Exited ({code})")), "{name}: {ended:?}");
    }
    for name in ["counter", "sleeper", "victim"] {
        both.windows_ok(&["rm", name]);
    }
    assert_eq!(both.windows_ok(&["ps", "-aq"]), "");
}

#[test]
fn an_image_built_on_windows_is_the_one_built_on_linux_and_serves_http() {
    // The hello-http example, as its README builds it, on both systems,
    // from a context whose files are rwxr-xr-x: what Windows' files are to
    // a build, as to Docker's (Windows has no modes).
    let context = tempfile::tempdir().unwrap();
    let app = context.path().join("hello-http");
    std::fs::create_dir(&app).unwrap();
    std::fs::copy(guest("hello-http/app.wasm"), app.join("app.wasm")).unwrap();
    let dockerfile = context.path().join("Dockerfile");
    std::fs::copy(harness::workspace().join("examples/hello-http/Dockerfile"), &dockerfile).unwrap();
    for path in [context.path(), &app, &app.join("app.wasm"), &dockerfile] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let both = Both::new();
    let built = both.same_with(
        &["build", "-q", "-t", "hello-http", context.path().to_str().unwrap()],
        &["build", "-q", "-t", "hello-http", &windows_path(context.path())],
    );
    assert!(built.starts_with("sha256:"), "{built}");

    // Served on a published port, to a client on Linux.
    let port = free_port();
    both.windows_ok(&["run", "-d", "--name", "web", "-p", &format!("{port}:80"), "hello-http"]);
    let (status, body) = get(port, "/");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("Hello"), "{body}");
    assert_eq!(both.windows_ok(&["stop", "web"]), "web\n");
    both.windows_ok(&["rm", "web"]);

    // The compiled module was kept: a second run compiles nothing.
    let cache = both.windows_root.path().join("cache/compiled");
    let entries = || -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
        let mut found = Vec::new();
        for engine in std::fs::read_dir(&cache).into_iter().flatten().flatten() {
            for entry in std::fs::read_dir(engine.path()).into_iter().flatten().flatten() {
                found.push((entry.path(), entry.metadata().unwrap().modified().unwrap()));
            }
        }
        found
    };
    let compiled = entries();
    let code = compiled.iter().filter(|(path, _)| path.extension().is_some_and(|e| e == "cwasm"));
    assert_eq!(code.count(), 1, "{compiled:?}");
    both.windows_ok(&["run", "-d", "--name", "again", "-p", &format!("{port}:80"), "hello-http"]);
    assert_eq!(get(port, "/").0, 200);
    both.windows_ok(&["rm", "-f", "again"]);
    assert_eq!(entries(), compiled, "the warm run used the cache entry as it was");
}

/// A layer of `(path, Some(content))` files and `(path, None)` directories,
/// and `(path, target)` symlinks.
fn layer(dir: &Path, name: &str, files: &[(&str, Option<&str>)], links: &[(&str, &str)]) -> String {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        let bytes = content.unwrap_or_default().as_bytes();
        header.set_entry_type(if content.is_some() {
            tar::EntryType::Regular
        } else {
            tar::EntryType::Directory
        });
        header.set_mode(if content.is_some() { 0o644 } else { 0o755 });
        header.set_size(bytes.len() as u64);
        tar.append_data(&mut header, path, bytes).unwrap();
    }
    for (path, target) in links {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        tar.append_link(&mut header, path, target).unwrap();
    }
    let path = dir.join(name);
    std::fs::write(&path, tar.into_inner().unwrap()).unwrap();
    path.display().to_string()
}

#[test]
fn symlinks_in_an_image_lead_where_they_do_on_linux_on_windows() {
    // Links to a file, relative and absolute, to a directory, through a
    // directory link, to a file of a later layer, and one that climbs out
    // (it stays in the image, where nothing is there). Windows lets only
    // the privileged make links; wbox then puts what each leads to at its
    // path.
    let layers = tempfile::tempdir().unwrap();
    let links = layer(
        layers.path(),
        "links.tar",
        &[("data", None), ("data/greeting.txt", Some("hello\n"))],
        &[
            ("data/link.txt", "greeting.txt"),
            ("data/abs.txt", "/data/greeting.txt"),
            ("docs", "data"),
            ("chain.txt", "docs/link.txt"),
            ("later.txt", "/data/late.txt"),
            ("out.txt", "../../../../../secret.txt"),
        ],
    );
    let late = layer(layers.path(), "late.tar", &[("data/late.txt", Some("late\n"))], &[]);
    let registry = Registry::start();
    let probe = format!("/app.wasm={}", guest("probe.wasm"));
    let args = ["--entrypoint", "/app.wasm", "--raw-layer", &links, &late, "--file", &probe];
    push_image(&registry, "links:1", &args);
    let image = format!("{}/links:1", registry.addr);
    let both = Both::new();
    both.same(&["pull", "-q", &image]);
    // The image's files are laid out at the first run; the user is told of
    // the link that leads nowhere.
    let first = both.windows(&["run", "--rm", &image, "show", "/data/link.txt"]);
    assert!(stderr(&first).contains("symlink /out.txt -> secret.txt left out"), "{}", stderr(&first));

    for (path, content) in [
        ("/data/link.txt", "hello\n"),
        ("/data/abs.txt", "hello\n"),
        ("/docs/greeting.txt", "hello\n"),
        ("/docs/link.txt", "hello\n"),
        ("/chain.txt", "hello\n"),
        ("/later.txt", "late\n"),
        ("/docs/late.txt", "late\n"),
    ] {
        assert_eq!(both.same(&["run", "--rm", &image, "show", path]), content, "{path}");
    }
    let listed = both.same(&["run", "--rm", &image, "ls", "/docs"]);
    assert_eq!(listed, "abs.txt\ngreeting.txt\nlate.txt\nlink.txt\n");
    both.same(&["run", "--rm", &image, "show", "/out.txt"]);
    assert_eq!(code(&both.windows(&["run", "--rm", &image, "show", "/out.txt"])), 1);
}
