//! `wbox build` of wasm Dockerfiles: the image it makes runs and inspects as
//! the Dockerfile says, is the same on every build, reads in skopeo and
//! containerd, and bad Dockerfiles and contexts are clear errors that make
//! no image.

use wbox_test_harness as harness;

use std::fs;
use std::path::Path;
use std::process::Command;

use harness::containerd::Containerd;
use harness::registry::Registry;
use harness::{Wbox, code, guest, ok, stderr, stdout, text_server};

const DOCKERFILE: &str = r#"# syntax=docker/dockerfile:1
ARG BASE=scratch
FROM ${BASE}
LABEL org.opencontainers.image.title="wc" \
      maintainer.team=tools
COPY wc.wasm /app/wc.wasm
COPY static/ /app/static/
ENV MODE=prod
WORKDIR /app
EXPOSE 8080
ENTRYPOINT ["/app/wc.wasm"]
CMD ["/app/static/index.html"]
"#;

/// A build context: the wc guest, a static file, the Dockerfile.
fn context(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(guest("wc.wasm"), dir.path().join("wc.wasm")).unwrap();
    fs::create_dir(dir.path().join("static")).unwrap();
    fs::write(dir.path().join("static/index.html"), "<p>hello static</p>\n").unwrap();
    fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn inspect_id(wbox: &Wbox, tag: &str) -> String {
    let inspected: serde_json::Value = serde_json::from_str(&ok(wbox.run(&["inspect", tag]))).unwrap();
    inspected[0]["Id"].as_str().unwrap().to_owned()
}

fn build(wbox: &Wbox, tag: &str, context: &Path) -> std::process::Output {
    wbox.run(&["build", "-q", "-t", tag, context.to_str().unwrap()])
}

#[test]
fn a_wasm_dockerfile_builds_an_image_that_runs_as_written() {
    let wbox = Wbox::new();
    let ctx = context(DOCKERFILE);
    let out = wbox.run(&["build", "-t", "local/wc:1", ctx.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Step 2/9 : LABEL") && stdout(&out).contains("Successfully tagged local/wc:1")
    );

    // ENTRYPOINT + CMD: wc counts the static file.
    assert_eq!(stdout(&wbox.run(&["run", "--rm", "local/wc:1"])), "1 2 20 /app/static/index.html\n");
    // The image's files are read-only to the guest.
    let out = wbox.run(&["run", "--rm", "local/wc:1", "/app/static/index.html", "/app/static/out.txt"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));

    let inspected: serde_json::Value =
        serde_json::from_str(&ok(wbox.run(&["inspect", "local/wc:1"]))).unwrap();
    let config = &inspected[0]["Config"];
    assert_eq!(config["Labels"]["org.opencontainers.image.title"], "wc");
    assert_eq!(config["Labels"]["maintainer.team"], "tools");
    // Docker's default PATH first, as BuildKit gives a base without one.
    assert_eq!(
        config["Env"],
        serde_json::json!(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "MODE=prod"])
    );
    assert_eq!(config["WorkingDir"], "/app");
    assert!(config["ExposedPorts"]["8080/tcp"].is_object(), "{config}");
    assert_eq!(
        (inspected[0]["Os"].as_str(), inspected[0]["Architecture"].as_str()),
        (Some("wasi"), Some("wasm"))
    );
    let history = ok(wbox.run(&["history", "local/wc:1"]));
    assert!(history.contains("COPY wc.wasm /app/wc.wasm"), "{history}");
}

#[test]
fn the_same_context_gives_the_same_digest_and_a_change_only_later_layers() {
    let wbox = Wbox::new();
    let ctx = context(DOCKERFILE);
    let first = ok(build(&wbox, "local/wc:1", ctx.path()));
    assert!(!first.contains("CACHED"));
    let other = Wbox::new();
    assert_eq!(ok(build(&other, "local/wc:2", ctx.path())), first, "another store, the same digest");
    assert!(first.starts_with("sha256:"), "{first}");

    // Built again: every layer comes from the cache.
    let again = ok(wbox.run(&["build", "-t", "local/wc:1", ctx.path().to_str().unwrap()]));
    assert_eq!(again.matches(" ---> CACHED").count(), 2, "{again}");
    let uncached = ok(wbox.run(&["build", "--no-cache", "-t", "local/wc:1", ctx.path().to_str().unwrap()]));
    let short_id = &first.trim()["sha256:".len()..][..12];
    assert!(
        !uncached.contains("CACHED") && uncached.contains(&format!("Successfully built {short_id}\n")),
        "{uncached}"
    );

    fs::write(ctx.path().join("static/index.html"), "<p>changed</p>\n").unwrap();
    let steps = ok(wbox.run(&["build", "-t", "local/wc:3", ctx.path().to_str().unwrap()]));
    let cached_after = |step: &str| {
        let rest = &steps[steps.find(step).unwrap()..];
        rest.lines().nth(1).is_some_and(|next| next.contains("CACHED"))
    };
    assert!(cached_after("COPY wc.wasm") && !cached_after("COPY static/"), "{steps}");
    let changed = ok(build(&wbox, "local/wc:3", ctx.path()));
    assert_ne!(changed, first);
    let layers = |tag: &str| {
        let inspected: serde_json::Value = serde_json::from_str(&ok(wbox.run(&["inspect", tag]))).unwrap();
        inspected[0]["RootFS"]["Layers"].as_array().unwrap().clone()
    };
    let (before, after) = (layers("local/wc:1"), layers("local/wc:3"));
    assert_eq!(before[0], after[0], "the module's layer is the same");
    assert_ne!(before[1], after[1], "the static files' layer changed");
}

#[test]
fn stages_copy_from_each_other() {
    let wbox = Wbox::new();
    let ctx = context(
        "FROM scratch AS tools\nCOPY wc.wasm /build/out/wc.wasm\n\
         FROM scratch\nCOPY --from=tools /build/out/*.wasm /bin/\nCOPY static/index.html /data/\n\
         ENTRYPOINT [\"/bin/wc.wasm\", \"/data/index.html\"]\n",
    );
    ok(build(&wbox, "local/staged:1", ctx.path()));
    assert_eq!(stdout(&wbox.run(&["run", "--rm", "local/staged:1"])), "1 2 20 /data/index.html\n");
}

#[test]
fn bad_dockerfiles_and_contexts_are_errors_that_make_no_image() {
    let wbox = Wbox::new();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    for (dockerfile, wanted) in [
        ("FROM scratch\nFETCH http://x /y\n", "line 2: unknown instruction FETCH"),
        // `..` stops at the context's root, and a link is followed inside
        // it, as Docker does: neither reaches the file beside the context.
        ("FROM scratch\nCOPY ../secret.txt /s\n", "line 2: COPY source ../secret.txt: No such file"),
        ("FROM scratch\nCOPY link /s\n", "line 2: COPY source link: No such file"),
        ("FROM scratch\nCOPY --from=nowhere /x /y\n", "line 2: --from=nowhere: no earlier stage"),
        ("FROM scratch\nCOPY missing.txt /x\n", "line 2: COPY source missing.txt"),
        (
            "FROM scratch\nCOPY wc.wasm /\nRUN echo hi\n",
            "line 3: RUN /bin/sh: no wasm program is at that path",
        ),
        // The program runs in the stage's files only: the host's and the context's are not there.
        (
            "FROM scratch\nCOPY wc.wasm /\nRUN [\"/wc.wasm\", \"/etc/passwd\"]\n",
            "line 3: RUN /wc.wasm /etc/passwd failed with exit code 1",
        ),
        (
            "FROM scratch\nCOPY wc.wasm /\nRUN [\"/wc.wasm\", \"../../Dockerfile\"]\n",
            "failed with exit code 1",
        ),
        ("FROM scratch\nRUN <<EOF\necho\n", "line 2: the heredoc <<EOF is never closed"),
    ] {
        let ctx = context(dockerfile);
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), ctx.path().join("link")).unwrap();
        let out = build(&wbox, "local/bad:1", ctx.path());
        assert_eq!(code(&out), 1, "{dockerfile}");
        assert!(stderr(&out).contains(wanted), "{dockerfile}: {}", stderr(&out));
        assert_eq!(ok(wbox.run(&["images", "-q"])), "", "{dockerfile}: no image");
    }
}

#[test]
fn a_built_image_pushed_reads_in_skopeo_and_containerd() {
    let registry = Registry::start();
    let wbox = Wbox::new();
    let ctx = context(DOCKERFILE);
    let name = format!("{}/built/wc:1", registry.addr);
    let id = ok(build(&wbox, &name, ctx.path())).trim().to_owned();
    assert_eq!(id, inspect_id(&wbox, &name), "build -q prints the image id");
    let pushed = ok(wbox.run(&["push", &name]));
    let digest = pushed.split_whitespace().find(|w| w.starts_with("sha256:")).unwrap().to_owned();

    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", &format!("docker://{name}")])
        .output()
        .unwrap();
    let inspected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((inspected["Os"].as_str(), inspected["Architecture"].as_str()), (Some("wasi"), Some("wasm")));
    assert_eq!(inspected["Digest"], digest.as_str());

    let containerd = Containerd::start();
    let out = containerd.ctr(&["images", "pull", "--plain-http", "--platform", "wasi/wasm", &name]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&containerd.ctr(&["images", "ls"])).contains(&digest));

    // Another machine builds on it: the base image is pulled, as Docker does.
    let elsewhere = Wbox::new();
    let ctx = context(&format!(
        "FROM {name}\nCOPY Dockerfile /app/static/Dockerfile\nCMD [\"/app/static/Dockerfile\"]\n"
    ));
    ok(build(&elsewhere, "local/derived:1", ctx.path()));
    let out = elsewhere.run(&["run", "--rm", "local/derived:1"]);
    assert!(stdout(&out).ends_with(" /app/static/Dockerfile\n"), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0);
}

#[test]
fn a_wasm_run_step_writes_into_the_image() {
    let wbox = Wbox::new();
    // wc writes only into a directory that exists: the image gets one first.
    // wc is built on wasi-libc, which starts at / whatever WORKDIR says: its
    // paths are absolute.
    let ctx = context(
        "FROM scratch\nCOPY wc.wasm /app/wc.wasm\nCOPY static/ /app/static/\nCOPY static/out /app/out\nWORKDIR /app\n\
         RUN [\"/app/wc.wasm\", \"/app/static/index.html\", \"/app/out/count.txt\"]\n\
         ENTRYPOINT [\"/app/wc.wasm\"]\n",
    );
    fs::create_dir(ctx.path().join("static/out")).unwrap();
    let out = wbox.run(&["build", "-t", "local/counted:1", ctx.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    // The file the step wrote is in the image.
    let counted = wbox.run(&["run", "--rm", "local/counted:1", "/app/out/count.txt"]);
    assert_eq!(stdout(&counted), "1 4 30 /app/out/count.txt\n", "{}", stderr(&counted));
    assert!(ok(wbox.run(&["history", "--no-trunc", "local/counted:1"])).contains("RUN [\"/app/wc.wasm\""));
    // Built again, the step is not run again: its layer comes from the cache.
    let again = ok(wbox.run(&["build", "-t", "local/counted:2", ctx.path().to_str().unwrap()]));
    assert_eq!(again.matches(" ---> CACHED").count(), 4, "{again}");
    let ids = |tag: &str| inspect_id(&wbox, tag);
    assert_eq!(ids("local/counted:1"), ids("local/counted:2"));
    // It wrote nothing into the context.
    assert!(!ctx.path().join("static/out/count.txt").exists());
    // Without the build cache every step runs again, to the same image.
    assert!(ok(wbox.run(&["builder", "prune", "-f"])).starts_with("Total reclaimed space: "));
    let fresh = ok(wbox.run(&["build", "-t", "local/counted:3", ctx.path().to_str().unwrap()]));
    assert_eq!(fresh.matches(" ---> CACHED").count(), 0, "{fresh}");
    assert_eq!(ids("local/counted:1"), ids("local/counted:3"));
}

#[test]
fn file_build_args_and_target_choose_what_is_built() {
    let wbox = Wbox::new();
    let ctx = context("FROM scratch\n");
    fs::write(
        ctx.path().join("Other.dockerfile"),
        "ARG WHERE=/app\nFROM scratch AS first\nARG WHERE=/app\nCOPY wc.wasm ${WHERE}/wc.wasm\n\
         ENTRYPOINT [\"/tools/wc.wasm\", \"/tools/wc.wasm\"]\n\
         FROM scratch AS second\nCOPY static/index.html /index.html\n",
    )
    .unwrap();
    let dockerfile = ctx.path().join("Other.dockerfile");
    let args = ["build", "-q", "-f", dockerfile.to_str().unwrap(), "--build-arg", "WHERE=/tools"];
    let out = wbox.run(
        &[&args[..], &["--target", "first", "-t", "local/first:1", ctx.path().to_str().unwrap()]].concat(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // wc counts its own bytes: it is at the path the build argument gave.
    let size = fs::metadata(guest("wc.wasm")).unwrap().len();
    let counted = stdout(&wbox.run(&["run", "--rm", "local/first:1"]));
    assert!(counted.ends_with(&format!(" {size} /tools/wc.wasm\n")), "{counted}");
    let out = wbox.run(
        &[&args[..], &["--target", "nothing", "-t", "local/x:1", ctx.path().to_str().unwrap()]].concat(),
    );
    assert!(code(&out) == 1 && stderr(&out).contains("--target nothing: no stage"), "{}", stderr(&out));
}

/// A context with the probe guest, which shows files.
fn probe_context(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(guest("probe.wasm"), dir.path().join("probe.wasm")).unwrap();
    fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn cat(wbox: &Wbox, image: &str, path: &str) -> (i32, String) {
    let out = wbox.run(&["run", "--rm", image, path]);
    (code(&out), stdout(&out))
}

#[test]
fn dockerignore_keeps_files_out_of_the_image() {
    let wbox = Wbox::new();
    let ctx = probe_context("FROM scratch\nCOPY . /app/\nENTRYPOINT [\"/app/probe.wasm\", \"show\"]\n");
    let dir = ctx.path();
    fs::write(
        dir.join(".dockerignore"),
        "# not for the image\n*.log\nsecrets\n!secrets/public.txt\n**/*.tmp\n",
    )
    .unwrap();
    fs::write(dir.join("keep.txt"), "kept\n").unwrap();
    fs::write(dir.join("build.log"), "noise\n").unwrap();
    fs::create_dir_all(dir.join("secrets")).unwrap();
    fs::write(dir.join("secrets/key"), "hunter2\n").unwrap();
    fs::create_dir_all(dir.join("src/deep")).unwrap();
    fs::write(dir.join("src/deep/x.tmp"), "scratch\n").unwrap();
    fs::write(dir.join("src/deep/main.c"), "int main;\n").unwrap();
    ok(build(&wbox, "local/ignored", dir));
    assert_eq!(cat(&wbox, "local/ignored", "/app/keep.txt"), (0, "kept\n".into()));
    assert_eq!(cat(&wbox, "local/ignored", "/app/src/deep/main.c"), (0, "int main;\n".into()));
    for excluded in ["/app/build.log", "/app/secrets/key", "/app/src/deep/x.tmp"] {
        assert_ne!(cat(&wbox, "local/ignored", excluded).0, 0, "{excluded} is in the image");
    }
    // Naming an excluded file is an error, as in Docker.
    let ctx2 = probe_context("FROM scratch\nCOPY build.log /app/\n");
    fs::write(ctx2.path().join(".dockerignore"), "*.log\n").unwrap();
    fs::write(ctx2.path().join("build.log"), "noise\n").unwrap();
    let out = build(&wbox, "local/named", ctx2.path());
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("excluded by .dockerignore"), "{}", stderr(&out));
}

#[test]
fn add_unpacks_a_local_archive_and_fetches_a_checked_url() {
    let wbox = Wbox::new();
    let body = "fetched over http\n";
    let port = text_server(body);
    let sha = {
        let out = Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        out.stdin.as_ref().unwrap().write_all(body.as_bytes()).unwrap();
        String::from_utf8(out.wait_with_output().unwrap().stdout).unwrap()[..64].to_owned()
    };
    let dockerfile = format!(
        "FROM scratch\nCOPY probe.wasm /app/probe.wasm\nADD files.tar.gz /data/\n\
         ADD files.tar.bz2 /bz/\nADD files.tar.xz /xz/\n\
         ADD --checksum=sha256:{sha} http://127.0.0.1:{port}/notes.txt /data/\n\
         ENTRYPOINT [\"/app/probe.wasm\", \"show\"]\n"
    );
    let ctx = probe_context(&dockerfile);
    fs::create_dir_all(ctx.path().join("src/inner")).unwrap();
    fs::write(ctx.path().join("src/inner/x.txt"), "from the archive\n").unwrap();
    for (flag, name) in [("czf", "files.tar.gz"), ("cjf", "files.tar.bz2"), ("cJf", "files.tar.xz")] {
        let tar = Command::new("tar")
            .args([flag, name, "-C", "src", "inner"])
            .current_dir(ctx.path())
            .status()
            .unwrap();
        assert!(tar.success());
    }
    ok(build(&wbox, "local/added", ctx.path()));
    assert_eq!(cat(&wbox, "local/added", "/data/inner/x.txt"), (0, "from the archive\n".into()));
    assert_eq!(cat(&wbox, "local/added", "/bz/inner/x.txt"), (0, "from the archive\n".into()));
    assert_eq!(cat(&wbox, "local/added", "/xz/inner/x.txt"), (0, "from the archive\n".into()));
    assert_eq!(cat(&wbox, "local/added", "/data/notes.txt"), (0, body.into()));
    assert_ne!(cat(&wbox, "local/added", "/data/files.tar.gz").0, 0, "the archive itself is not copied");

    // A download that is not what --checksum says makes no image.
    let wrong = dockerfile.replace(&sha, &"0".repeat(64));
    let ctx2 = probe_context(&wrong);
    for name in ["files.tar.gz", "files.tar.bz2", "files.tar.xz"] {
        fs::copy(ctx.path().join(name), ctx2.path().join(name)).unwrap();
    }
    let out = build(&wbox, "local/wrong", ctx2.path());
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("checksum mismatch"), "{}", stderr(&out));
    assert_ne!(code(&wbox.run(&["inspect", "local/wrong"])), 0);
}

#[test]
fn every_example_has_a_dockerfile_that_builds_an_image_that_runs() {
    let wbox = Wbox::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let context = examples.join("out");
    let build_example = |name: &str| {
        let dockerfile = examples.join(name).join("Dockerfile");
        let tag = format!("local/{name}");
        ok(wbox.run(&[
            "build",
            "-q",
            "-t",
            &tag,
            "-f",
            dockerfile.to_str().unwrap(),
            context.to_str().unwrap(),
        ]));
        tag
    };
    let hello = build_example("hello");
    assert_eq!(ok(wbox.run(&["run", "--rm", "-e", "GREETING=Hi", &hello, "x"])), "Hi from wbox!\narg 1: x\n");

    let data = tempfile::tempdir().unwrap();
    fs::create_dir_all(data.path().join("rw")).unwrap();
    fs::create_dir_all(data.path().join("ro")).unwrap();
    fs::write(data.path().join("rw/f.txt"), "hello world\n").unwrap();
    let grant =
        |dir: &str, guest: &str, mode: &str| format!("{}:{guest}{mode}", data.path().join(dir).display());
    let wc = build_example("wc");
    // wc is built on wasi-libc, which starts in / whatever WORKDIR says.
    let out = ok(wbox.run(&["run", "--rm", "-v", &grant("rw", "/data", ":ro"), &wc, "/data/f.txt"]));
    assert_eq!(out, "1 2 12 /data/f.txt\n");

    let escape = build_example("escape");
    let (rw, ro) = (grant("rw", "/rw", ""), grant("ro", "/ro", ":ro"));
    let out = wbox.run(&["run", "--rm", "-v", &rw, "-v", &ro, &escape]);
    // Everything is denied but listing "/", which in an image is the
    // image's own files, granted read-only.
    let lines = stdout(&out);
    assert!(lines.contains("read /etc/passwd: denied"), "{lines}");
    let allowed: Vec<&str> = lines.lines().filter(|l| !l.contains(": denied (")).collect();
    assert_eq!(allowed, ["list /: ALLOWED"], "{lines}");
    // The Python components' Dockerfiles build and are served in tests/http.rs.
    for name in ["hello-http", "fetch-http"] {
        assert!(examples.join(name).join("Dockerfile").exists(), "{name}");
    }
}

#[test]
fn output_format_artifact_writes_the_program_as_a_wasm_artifact() {
    let wbox = Wbox::new();
    let ctx = tempfile::tempdir().unwrap();
    fs::copy(guest("hello.component.wasm"), ctx.path().join("hello.wasm")).unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nLABEL org.opencontainers.image.source=\"examples/hello\"\nCOPY hello.wasm /bin/hello.wasm\n\
         ENTRYPOINT [\"/bin/hello.wasm\"]\n",
    )
    .unwrap();
    let build = |tag: &str| {
        ok(wbox.run(&["build", "-q", "--output-format", "artifact", "-t", tag, ctx.path().to_str().unwrap()]))
    };
    let digest = build("local/hello:art");
    assert_eq!(build("local/hello:again"), digest, "the same program gives the same artifact");
    let inspected: serde_json::Value =
        serde_json::from_str(&ok(wbox.run(&["inspect", "local/hello:art"]))).unwrap();
    assert_eq!(
        (inspected[0]["Os"].as_str(), inspected[0]["Architecture"].as_str()),
        (Some("wasip2"), Some("wasm"))
    );
    assert_eq!(ok(wbox.run(&["run", "--rm", "local/hello:art", "x"])), "Hello from wbox!\narg 1: x\n");

    // With no ENTRYPOINT or CMD there is no program to make an artifact of.
    fs::write(ctx.path().join("Dockerfile"), "FROM scratch\nCOPY hello.wasm /bin/hello.wasm\n").unwrap();
    let out = wbox.run(&[
        "build",
        "--output-format",
        "artifact",
        "-t",
        "local/none:art",
        ctx.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("no ENTRYPOINT or CMD"), "{}", stderr(&out));
}

#[test]
fn progress_is_live_on_a_terminal_and_plain_lines_elsewhere() {
    let wbox = Wbox::new();
    let ctx = context(DOCKERFILE);
    let dir = ctx.path().to_str().unwrap();
    let plain = ok(wbox.run(&["build", "--progress", "plain", "-t", "local/p:1", dir]));
    assert!(plain.contains("Step 3/9 : COPY wc.wasm /app/wc.wasm\n"), "{plain}");
    let out = wbox.run(&["build", "--progress", "tty", "-t", "local/p:2", dir]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("--progress tty needs a terminal"), "{}", stderr(&out));

    // On a terminal (script(1) gives one), each step is shown done, with its
    // time or as cached; a second build is all cached.
    let on_terminal = |tag: &str| {
        let command = format!("{} build -t {tag} {dir}", env!("CARGO_BIN_EXE_wbox"));
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("WBOX_ROOT", wbox.root.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stdout(&out));
        stdout(&out)
    };
    let first = on_terminal("local/p:3");
    assert!(first.contains("=> CACHED Step 3/9 : COPY wc.wasm /app/wc.wasm"), "{first}");
    assert!(first.contains("=> Step 2/9 : LABEL"), "{first}");
    assert!(first.contains("Successfully tagged local/p:3"), "{first}");
    assert!(!first.contains("\nStep "), "no plain lines on a terminal: {first}");
}

#[test]
fn a_run_step_has_no_network_unless_the_build_is_given_one() {
    let wbox = Wbox::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ctx = tempfile::tempdir().unwrap();
    fs::copy(guest("netprobe.component.wasm"), ctx.path().join("netprobe.wasm")).unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM scratch\nCOPY netprobe.wasm /netprobe.wasm\nRUN [\"/netprobe.wasm\", \"connect\", \"127.0.0.1\", \"{port}\"]\n"),
    )
    .unwrap();
    let dir = ctx.path().to_str().unwrap();
    let out = wbox.run(&["build", "-t", "local/offline", dir]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("tcp socket: denied (access-denied)"), "{}", stdout(&out));
    let out = wbox.run(&["build", "--network", "host", "-t", "local/online", dir]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(&format!("connect 127.0.0.1:{port}: connected")), "{}", stdout(&out));
}

#[test]
fn system_df_lists_the_build_cache_step_by_step() {
    let wbox = Wbox::new();
    let ctx = context(DOCKERFILE);
    ok(build(&wbox, "cached:1", ctx.path()));
    ok(build(&wbox, "cached:1", ctx.path()));
    let format = "{{.Type}} {{.TotalCount}} {{.Reclaimable}}";
    let summary = ok(wbox.run(&["system", "df", "--format", format]));
    let line = summary.lines().find(|l| l.starts_with("Build Cache")).unwrap().to_owned();
    // The two COPY steps, each built once and reused once; their layers are
    // the image's too, so removing the cache would free nothing.
    assert_eq!(line, "Build Cache 2 0B", "{summary}");
    let verbose = ok(wbox.run(&["system", "df", "-v"]));
    let table = verbose.split("Build cache usage: ").nth(1).unwrap();
    let rows: Vec<Vec<&str>> = table.lines().skip(2).map(|l| l.split_whitespace().collect()).collect();
    assert!(table.lines().nth(2).unwrap().starts_with("CACHE ID "), "{verbose}");
    assert_eq!(rows.len(), 3, "{verbose}");
    for row in &rows[1..] {
        assert_eq!((row[0].len(), row[1]), (12, "regular"), "{verbose}");
        assert_eq!(&row[row.len() - 2..], ["2", "true"], "{verbose}");
    }
    // Removing the image collects its layers: the steps that made them are
    // then no cache at all.
    ok(wbox.run(&["rmi", "cached:1"]));
    let summary = ok(wbox.run(&["system", "df", "--format", format]));
    assert!(summary.contains("Build Cache 0 0B"), "{summary}");
}
