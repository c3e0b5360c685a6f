//! `wbox build` of what Dockerfiles and build commands use beyond the
//! basics: a Dockerfile or a whole context on stdin, untagged builds known
//! by their id, BuildKit's heredocs, and RUN's cache and secret mounts.

use wbox_test_harness as harness;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use harness::images::push_busybox_image;
use harness::registry::Registry;
use harness::{Wbox, code, guest, ok, stderr, stdout};

/// A wasm context: the wc guest and a Dockerfile that copies it.
fn wasm_context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(guest("wc.wasm"), dir.path().join("wc.wasm")).unwrap();
    fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nWORKDIR /app\nCOPY wc.wasm .\nENTRYPOINT [\"/app/wc.wasm\", \"/app/wc.wasm\"]\n",
    )
    .unwrap();
    dir
}

fn tar_of(dir: &Path, gzip: bool) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_dir_all(".", dir).unwrap();
    let tar = builder.into_inner().unwrap();
    if !gzip {
        return tar;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&tar).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn untagged_builds_and_stdin_contexts_make_the_same_image() {
    let wbox = Wbox::new();
    let ctx = wasm_context();
    let dir = ctx.path().to_str().unwrap();

    // Untagged: the id is printed, `images` lists it as <none>, and it
    // runs and is removed by that id, as with Docker.
    let built = ok(wbox.run(&["build", dir]));
    let short = built.lines().last().unwrap().strip_prefix("Successfully built ").expect(&built).to_owned();
    let id = ok(wbox.run(&["build", "-q", dir])).trim().to_owned();
    assert_eq!(id[7..19], short, "-q prints the whole id of the same image");
    let listed = ok(wbox.run(&["images"]));
    let row = listed.lines().nth(1).expect(&listed);
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..3], ["<none>", "<none>", short.as_str()], "{listed}");
    let inspected: serde_json::Value = serde_json::from_str(&ok(wbox.run(&["inspect", &short]))).unwrap();
    assert_eq!(inspected[0]["Id"], id.as_str());
    let size = fs::metadata(guest("wc.wasm")).unwrap().len();
    let counted = ok(wbox.run(&["run", "--rm", &short]));
    assert!(counted.ends_with(&format!(" {size} /app/wc.wasm\n")), "{counted}");

    // The Dockerfile from stdin, the context a directory.
    let dockerfile = fs::read(ctx.path().join("Dockerfile")).unwrap();
    let from_stdin = wbox.run_with_stdin(&["build", "-q", "-f", "-", dir], &dockerfile);
    assert_eq!(stdout(&from_stdin).trim(), id, "{}", stderr(&from_stdin));

    // The whole context from stdin, as tar and as tar.gz: the same image.
    for gzip in [false, true] {
        let out = wbox.run_with_stdin(&["build", "-q", "-t", "local/piped", "-"], &tar_of(ctx.path(), gzip));
        assert_eq!(stdout(&out).trim(), id, "gzip {gzip}: {}", stderr(&out));
    }
    let listed = ok(wbox.run(&["images"]));
    assert!(!listed.contains("<none>"), "tagged now, no longer dangling: {listed}");
    ok(wbox.run(&["rmi", "local/piped"]));
    assert_eq!(ok(wbox.run(&["images", "-q"])), "");

    // A Dockerfile alone on stdin has no context: config builds, COPY fails.
    let out = wbox.run_with_stdin(&["build", "-q", "-"], b"FROM scratch\nLABEL made=stdin\n");
    let id = stdout(&out).trim().to_owned();
    let inspected: serde_json::Value = serde_json::from_str(&ok(wbox.run(&["inspect", &id]))).unwrap();
    assert_eq!(inspected[0]["Config"]["Labels"]["made"], "stdin", "{}", stderr(&out));
    ok(wbox.run(&["rmi", &id]));
    let out = wbox.run_with_stdin(&["build", "-"], b"FROM scratch\nCOPY wc.wasm /\n");
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("line 2") && stderr(&out).contains("wc.wasm"), "{}", stderr(&out));
    assert_eq!(ok(wbox.run(&["images", "-q"])), "", "no image from a failed build");

    // A hostile tar on stdin cannot write outside the context it becomes.
    let canary = tempfile::tempdir().unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    builder.append_link(&mut header, "out", canary.path()).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o644);
    builder.append_data(&mut header, "out/planted", &b"bad"[..]).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(24);
    header.set_mode(0o644);
    builder.append_data(&mut header, "Dockerfile", &b"FROM scratch\nCOPY out /\n"[..]).unwrap();
    let _ = wbox.run_with_stdin(&["build", "-"], &builder.into_inner().unwrap());
    assert!(!canary.path().join("planted").exists(), "the tar wrote through its symlink onto the host");
}

fn busybox() -> (Registry, String) {
    let registry = Registry::start();
    push_busybox_image(&registry, "busybox:latest");
    let name = format!("{}/busybox:latest", registry.addr);
    (registry, name)
}

/// What a file of an image holds, read by running `cat` in it.
fn cat(wbox: &Wbox, image: &str, path: &str) -> String {
    ok(wbox.run(&["run", "--rm", image, "cat", path]))
}

#[test]
fn heredocs_run_scripts_and_write_files() {
    let (_registry, base) = busybox();
    let wbox = Wbox::new();
    let ctx = tempfile::tempdir().unwrap();
    // As the Dockerfile reference's examples write them.
    let dockerfile = format!(
        "# syntax=docker/dockerfile:1\n\
         FROM {base}\n\
         ARG WHO=world\n\
         RUN <<EOF\n\
         echo one > /one\n\
         echo two >> /one\n\
         EOF\n\
         RUN <<-'SCRIPT'\n\
         \t#!/bin/sh\n\
         \techo \"script as $0\" > /script\n\
         \tSCRIPT\n\
         RUN cat <<EOT > /shell\n\
         from the shell\n\
         EOT\n\
         COPY <<greeting.txt <<\"raw.txt\" /texts/\n\
         hello ${{WHO}}\n\
         greeting.txt\n\
         hello ${{WHO}}\n\
         raw.txt\n\
         COPY --chmod=755 <<EOF /bin/hi\n\
         #!/bin/sh\n\
         echo hi\n\
         EOF\n"
    );
    fs::write(ctx.path().join("Dockerfile"), dockerfile).unwrap();
    let out =
        wbox.run(&["build", "-t", "local/heredocs", "--build-arg", "WHO=docs", ctx.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let image = "local/heredocs";
    assert_eq!(cat(&wbox, image, "/one"), "one\ntwo\n");
    assert_eq!(cat(&wbox, image, "/script"), "script as /dev/pipes/SCRIPT\n", "run as a file, not by sh -c");
    assert_eq!(cat(&wbox, image, "/shell"), "from the shell\n");
    assert_eq!(cat(&wbox, image, "/texts/greeting.txt"), "hello docs\n", "unquoted: substituted");
    assert_eq!(cat(&wbox, image, "/texts/raw.txt"), "hello ${WHO}\n", "quoted: as written");
    assert_eq!(ok(wbox.run(&["run", "--rm", image, "hi"])), "hi\n");
    let listing = ok(wbox.run(&["run", "--rm", image, "ls", "-ln", "/bin/hi", "/texts/raw.txt"]));
    assert!(listing.contains("-rwxr-xr-x") && listing.contains("-rw-r--r--"), "{listing}");
    let out = wbox.run(&["run", "--rm", image, "ls", "/dev/pipes"]);
    assert_ne!(code(&out), 0, "the script's mount is not in the image: {}", stdout(&out));

    // A heredoc never closed: an error naming its line, and no image.
    fs::write(ctx.path().join("Dockerfile"), format!("FROM {base}\n\nRUN <<EOF\necho never\nEOT\n")).unwrap();
    let out = wbox.run(&["build", "-t", "local/open", ctx.path().to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("line 3") && stderr(&out).contains("<<EOF is never closed"),
        "{}",
        stderr(&out)
    );
    assert!(!ok(wbox.run(&["images"])).contains("local/open"));
}

/// Every layer of every image in the store, unpacked: what a secret must
/// never be in.
fn all_layer_bytes(wbox: &Wbox) -> Vec<u8> {
    let mut all = Vec::new();
    let blobs = wbox.root.path().join("store/blobs/sha256");
    for blob in fs::read_dir(blobs).unwrap() {
        let bytes = fs::read(blob.unwrap().path()).unwrap();
        all.extend_from_slice(&bytes);
        let mut decoded = Vec::new();
        if flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut decoded).is_ok() {
            all.extend(decoded);
        }
    }
    all
}

#[test]
fn cache_mounts_persist_and_secret_mounts_leave_no_trace() {
    let (_registry, base) = busybox();
    let wbox = Wbox::new();
    let ctx = tempfile::tempdir().unwrap();
    let secret = ctx.path().join("token");
    let secret_value = format!("s3cret-{}", std::process::id());
    fs::write(&secret, &secret_value).unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        format!(
            "FROM {base}\n\
             RUN --mount=type=cache,target=/var/cache/counter \\\n\
                 n=$(cat /var/cache/counter/n 2>/dev/null || echo 0); echo $((n+1)) > /var/cache/counter/n; \\\n\
                 cp /var/cache/counter/n /seen\n\
             RUN --mount=type=secret,id=token,target=/token-here,required \\\n\
                 wc -c < /token-here > /secret-size\n\
             RUN --mount=type=secret,id=token \\\n\
                 grep -q '^s3cret-[0-9]*$' /run/secrets/token && echo used > /secret-used\n"
        ),
    )
    .unwrap();
    let dir = ctx.path().to_str().unwrap();
    let secret_flag = format!("id=token,src={}", secret.display());
    let build = |extra: &[&str]| {
        wbox.run(&[&["build", "-t", "local/mounts", "--secret", &secret_flag][..], extra, &[dir]].concat())
    };
    let out = build(&[]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(cat(&wbox, "local/mounts", "/seen"), "1\n");
    assert_eq!(cat(&wbox, "local/mounts", "/secret-used"), "used\n");
    assert_eq!(cat(&wbox, "local/mounts", "/secret-size").trim(), secret_value.len().to_string());
    // What was mounted is not in the image; as in Docker's, the directories
    // made to mount on are, empty, and a file made to mount on is not.
    let listing =
        ok(wbox.run(&["run", "--rm", "local/mounts", "ls", "-A", "/var/cache/counter", "/run/secrets"]));
    assert_eq!(listing, "/run/secrets:\n\n/var/cache/counter:\n", "{listing}");
    let out = wbox.run(&["run", "--rm", "local/mounts", "ls", "/token-here"]);
    assert_ne!(code(&out), 0, "{}", stdout(&out));

    // Built again from scratch: the cache directory kept its contents.
    let out = build(&["--no-cache"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(cat(&wbox, "local/mounts", "/seen"), "2\n");

    // The secret is in no layer, no config and no history.
    let all = all_layer_bytes(&wbox);
    assert!(!all.windows(secret_value.len()).any(|w| w == secret_value.as_bytes()), "the secret is stored");
    assert!(!ok(wbox.run(&["history", "--no-trunc", "local/mounts"])).contains(&secret_value));

    // A required secret not given: an error naming the line, and what to pass.
    let out = wbox.run(&["build", "--no-cache", "-t", "local/nosecret", dir]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("line 5") && err.contains("--secret id=token"), "{err}");
}

#[test]
fn a_newline_in_an_arg_is_a_value_or_an_error_never_an_instruction() {
    let wbox = Wbox::new();
    let ctx = tempfile::tempdir().unwrap();
    let dir = ctx.path().to_str().unwrap();
    // A quote opened on an ARG line and closed on the next: an error there.
    fs::write(ctx.path().join("Dockerfile"), "FROM scratch\nARG V=\"one\nLABEL two\"\n").unwrap();
    let out = wbox.run(&["build", "-t", "local/quote", dir]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("line 2") && stderr(&out).contains("quote"), "{}", stderr(&out));
    assert_eq!(ok(wbox.run(&["images", "-q"])), "", "no image");

    // A value with a newline stays one value: no instruction comes of it.
    fs::write(ctx.path().join("Dockerfile"), "FROM scratch\nARG V\nLABEL v=$V\nONBUILD LABEL w=$V\n")
        .unwrap();
    let value = "ok\nEXPOSE 1234\nLABEL injected=yes";
    ok(wbox.run(&["build", "-t", "local/newline", "--build-arg", &format!("V={value}"), dir]));
    let inspected: serde_json::Value =
        serde_json::from_str(&ok(wbox.run(&["inspect", "local/newline"]))).unwrap();
    let config = &inspected[0]["Config"];
    assert_eq!(config["Labels"]["v"], value);
    assert!(
        config["Labels"].get("injected").is_none() && config.get("ExposedPorts").is_none_or(|p| p.is_null())
    );
    assert_eq!(config["OnBuild"], serde_json::json!(["LABEL w=$V"]), "a trigger is kept as written");
}

#[test]
fn a_bind_mount_source_is_found_inside_the_context_never_through_a_link_out() {
    let (_registry, base) = busybox();
    let wbox = Wbox::new();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.txt"), "host secret\n").unwrap();
    let ctx = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), ctx.path().join("out")).unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {base}\nRUN --mount=type=bind,source=out,target=/m cat /m/secret.txt > /copied\n"),
    )
    .unwrap();
    // The link is followed inside the context, where it leads nowhere.
    let out = wbox.run(&["build", "-t", "local/bind-out", ctx.path().to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("line 2") && stderr(&out).contains("source=out"), "{}", stderr(&out));
    assert!(!ok(wbox.run(&["images"])).contains("local/bind-out"));
    assert!(!all_layer_bytes(&wbox).windows(11).any(|w| w == b"host secret"), "the host file is in a layer");
}
