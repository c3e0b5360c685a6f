//! Volumes: storage that outlives containers, shared by wasm and native
//! containers, read-only where asked, and as escape-proof as any grant.

use wbox_test_harness as harness;

use std::fs;
use std::path::{Path, PathBuf};

use harness::images::{push_busybox_image, push_image};
use harness::registry::Registry;
use harness::{Wbox, code, guest, ok, stderr, stdout};

fn probe(registry: &Registry) -> String {
    let module = format!("/app.wasm={}", guest("probe.wasm"));
    push_image(registry, "probe:1", &["--entrypoint", "/app.wasm", "--file", &module]);
    format!("{}/probe:1", registry.addr)
}

fn mountpoint(wbox: &Wbox, volume: &str) -> PathBuf {
    PathBuf::from(ok(wbox.run(&["volume", "inspect", "-f", "{{.Mountpoint}}", volume])).trim())
}

fn volume_names(wbox: &Wbox) -> Vec<String> {
    ok(wbox.run(&["volume", "ls", "-q"])).lines().map(str::to_owned).collect()
}

#[test]
fn a_volume_outlives_its_containers_and_is_shared_by_wasm_and_native_ones() {
    let registry = Registry::start();
    let probe = probe(&registry);
    push_busybox_image(&registry, "busybox:latest");
    let busybox = format!("{}/busybox:latest", registry.addr);
    let wbox = Wbox::new();

    // Made on first use; what one container writes, the next reads.
    ok(wbox.run(&["run", "--name", "writer", "-v", "data:/data", &probe, "write", "/data/note", "hello"]));
    ok(wbox.run(&["rm", "writer"]));
    assert_eq!(volume_names(&wbox), ["data"]);
    assert_eq!(ok(wbox.run(&["run", "--rm", "-v", "data:/data", &probe, "show", "/data/note"])), "hello");

    // Read-only where asked, by -v and by --mount.
    let out = wbox.run(&["run", "--rm", "-v", "data:/data:ro", &probe, "write", "/data/planted", "x"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let mount = "type=volume,source=data,target=/d,readonly";
    assert_eq!(ok(wbox.run(&["run", "--rm", "--mount", mount, &probe, "show", "/d/note"])), "hello");
    let out = wbox.run(&["run", "--rm", "--mount", mount, &probe, "write", "/d/planted", "x"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!mountpoint(&wbox, "data").join("planted").exists());

    // A native container sees the same files, and a wasm one what it wrote.
    assert_eq!(ok(wbox.run(&["run", "--rm", "-v", "data:/data", &busybox, "cat", "/data/note"])), "hello");
    let script = "echo native > /data/from-native";
    ok(wbox.run(&["run", "--rm", "-v", "data:/data", &busybox, "sh", "-c", script]));
    let read = ok(wbox.run(&["run", "--rm", "-v", "data:/data", &probe, "show", "/data/from-native"]));
    assert_eq!(read, "native\n");
    let out = wbox.run(&["run", "--rm", "-v", "data:/data:ro", &busybox, "touch", "/data/planted"]);
    assert_ne!(code(&out), 0, "read-only for a native container too");

    // A volume a container uses stays, -f or not, until the container goes.
    ok(wbox.run(&["create", "--name", "holder", "-v", "data:/data", &probe]));
    for args in [&["volume", "rm", "data"][..], &["volume", "rm", "-f", "data"]] {
        let out = wbox.run(args);
        assert_eq!(code(&out), 1, "{}", stdout(&out));
        assert!(stderr(&out).contains("volume is in use"), "{}", stderr(&out));
    }
    let listed = ok(wbox.run(&["ps", "-a", "-f", "volume=/data", "--format", "{{.Names}}"]));
    assert_eq!(listed, "holder\n");
    ok(wbox.run(&["rm", "holder"]));
    assert_eq!(ok(wbox.run(&["volume", "rm", "data"])), "data\n");
    assert!(volume_names(&wbox).is_empty());
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_prune_and_names_stay_inside_the_root() {
    let registry = Registry::start();
    let probe = probe(&registry);
    let wbox = Wbox::new();

    ok(wbox.run(&["create", "--name", "first", "-v", "/scratch", &probe]));
    let made = volume_names(&wbox);
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].len(), 64, "a random name: {made:?}");
    ok(wbox.run(&["rm", "-v", "first"]));
    assert!(volume_names(&wbox).is_empty(), "rm -v removes the anonymous volume");

    // `run --rm` removes its anonymous volumes too; plain `rm` keeps them.
    ok(wbox.run(&["run", "--rm", "-v", "/scratch", &probe, "write", "/scratch/x", "y"]));
    assert!(volume_names(&wbox).is_empty());
    ok(wbox.run(&["create", "--name", "second", "-v", "/scratch", &probe]));
    ok(wbox.run(&["rm", "second"]));
    ok(wbox.run(&["volume", "create", "--label", "keep=yes", "named"]));
    assert_eq!(volume_names(&wbox).len(), 2);
    let dangling = ok(wbox.run(&["volume", "ls", "-q", "-f", "dangling=true", "-f", "label=keep"]));
    assert_eq!(dangling, "named\n");

    // prune: anonymous ones; with -a, named ones too.
    let pruned = ok(wbox.run(&["volume", "prune", "-f"]));
    assert!(pruned.starts_with("Deleted Volumes:\n"), "{pruned}");
    assert_eq!(volume_names(&wbox), ["named"]);
    ok(wbox.run(&["volume", "prune", "-a", "-f"]));
    assert!(volume_names(&wbox).is_empty());

    // A name is one directory below ROOT/volumes, never a path.
    let root = wbox.root.path();
    for bad in ["..", "a/b", "../escaped", "x"] {
        let out = wbox.run(&["volume", "create", bad]);
        assert_eq!(code(&out), 1, "{bad}: {}", stdout(&out));
        assert!(stderr(&out).contains("invalid characters for a local volume name"), "{}", stderr(&out));
    }
    let out = wbox.run(&["run", "--rm", "--mount", "type=volume,src=../up,dst=/x", &probe, "ls", "/x"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
    assert!(!root.join("up").exists() && !root.parent().unwrap().join("up").exists());
    // A bind's source is a path, never taken for a volume's name.
    let out = wbox.run(&["run", "--rm", "--mount", "type=bind,source=data,target=/x", &probe, "ls", "/x"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
    assert!(stderr(&out).contains("absolute source path"), "{}", stderr(&out));
    assert!(volume_names(&wbox).is_empty(), "no volume was made of it");
}

#[test]
fn a_guest_cannot_leave_its_volumes() {
    let wbox = Wbox::new();
    let host = tempfile::tempdir().unwrap();
    let secret = host.path().join("secret");
    fs::write(&secret, "the host's").unwrap();
    ok(wbox.run(&["volume", "create", "rw"]));
    ok(wbox.run(&["volume", "create", "ro"]));
    let (rw, ro) = (mountpoint(&wbox, "rw"), mountpoint(&wbox, "ro"));
    // Links planted in the volume lead out, as a user's files could.
    std::os::unix::fs::symlink(&secret, rw.join("outside")).unwrap();
    std::os::unix::fs::symlink(
        "../../../../../../../../..".to_owned() + secret.to_str().unwrap(),
        rw.join("outside-rel"),
    )
    .unwrap();
    fs::write(ro.join("existing"), "kept").unwrap();

    let escape = guest("escape.wasm");
    let out = wbox.run(&["run", "--rm", "-v", "rw:/rw", "-v", "ro:/ro:ro", &escape, "/rw", "/ro"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 16, "{}", stdout(&out));
    for line in stdout(&out).lines() {
        assert!(line.contains(": denied ("), "escaped: {line}");
    }
    assert_eq!(fs::read_to_string(&secret).unwrap(), "the host's");
    assert_eq!(fs::read_dir(host.path()).unwrap().count(), 1, "nothing appears beside the secret");
    assert_eq!(fs::read_to_string(ro.join("existing")).unwrap(), "kept");
    let in_ro: Vec<_> = fs::read_dir(&ro).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(in_ro, ["existing"], "nothing appears in a read-only volume");
    let volumes_dir = wbox.root.path().join("volumes");
    let beside: Vec<_> = fs::read_dir(&volumes_dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(beside.len(), 2, "nothing appears beside the volumes: {beside:?}");
    assert!(Path::new(&volumes_dir).join("rw/volume.json").exists());
}

#[test]
fn an_images_volume_is_a_new_volume_per_container_filled_from_the_image() {
    let wbox = Wbox::new();
    let context = tempfile::tempdir().unwrap();
    fs::copy(guest("probe.wasm"), context.path().join("probe.wasm")).unwrap();
    fs::create_dir(context.path().join("seed")).unwrap();
    fs::write(context.path().join("seed/first"), "from the image").unwrap();
    let dockerfile = "FROM scratch\nCOPY probe.wasm /probe.wasm\nCOPY seed /data\nVOLUME /data\n\
        ENTRYPOINT [\"/probe.wasm\"]\n";
    fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    ok(wbox.run(&["build", "-q", "-t", "seeded", context.path().to_str().unwrap()]));

    // The image is read-only, its volume not: filled from the image, then
    // the container's own.
    ok(wbox.run(&["run", "--name", "one", "seeded", "write", "/data/second", "mine"]));
    let made = volume_names(&wbox);
    assert_eq!(made.len(), 1, "{made:?}");
    // A container that cannot be made leaves no volume behind.
    let taken = wbox.run(&["create", "--name", "one", "seeded"]);
    assert_eq!(code(&taken), 1, "{}", stderr(&taken));
    assert_eq!(volume_names(&wbox), made);
    let files = mountpoint(&wbox, &made[0]);
    assert_eq!(fs::read_to_string(files.join("first")).unwrap(), "from the image");
    assert_eq!(fs::read_to_string(files.join("second")).unwrap(), "mine");

    // Another container gets a volume of its own, and --volumes-from the
    // first one's, read-only if asked.
    assert_eq!(ok(wbox.run(&["run", "--rm", "seeded", "ls", "/data"])), "first\n");
    let shared = ok(wbox.run(&["run", "--rm", "--volumes-from", "one", "seeded", "show", "/data/second"]));
    assert_eq!(shared, "mine");
    let out = wbox.run(&["run", "--rm", "--volumes-from", "one:ro", "seeded", "write", "/data/third", "x"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(volume_names(&wbox), made, "--rm took only its own anonymous volume");

    // A named volume that is not empty is left as it is.
    ok(wbox.run(&["run", "--rm", "-v", "kept:/data", "seeded", "write", "/data/only", "this"]));
    let kept = mountpoint(&wbox, "kept");
    let names: Vec<_> = fs::read_dir(&kept).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names.len(), 2, "filled once, when empty: {names:?}");
    fs::remove_file(kept.join("first")).unwrap();
    ok(wbox.run(&["run", "--rm", "-v", "kept:/data", "seeded", "ls", "/data"]));
    assert!(!kept.join("first").exists(), "a volume with files is not filled again");
    ok(wbox.run(&["rm", "-v", "one"]));
    assert_eq!(volume_names(&wbox), ["kept"]);
}

#[test]
fn cp_reaches_a_stopped_containers_files_and_mounts_and_nothing_else() {
    let registry = Registry::start();
    let probe = probe(&registry);
    push_busybox_image(&registry, "busybox:latest");
    let busybox = format!("{}/busybox:latest", registry.addr);
    let wbox = Wbox::new();
    let host = tempfile::tempdir().unwrap();
    let note = host.path().join("note");
    fs::write(&note, "copied in").unwrap();
    let note = note.to_str().unwrap();

    // A wasm container: its volumes take a copy, its image's files do not.
    ok(wbox.run(&["create", "--name", "wa", "-v", "box:/data", &probe, "show", "/data/note"]));
    ok(wbox.run(&["cp", note, "wa:/data/"]));
    assert_eq!(ok(wbox.run(&["start", "-a", "wa"])), "copied in");
    let out = wbox.run(&["cp", note, "wa:/note"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("image files are read-only"), "{}", stderr(&out));
    ok(wbox.run(&["create", "--name", "ro", "-v", "box:/data:ro", &probe]));
    let out = wbox.run(&["cp", note, "ro:/data/other"]);
    assert!(stderr(&out).contains("/data is mounted read-only"), "{}", stderr(&out));
    assert!(!mountpoint(&wbox, "box").join("other").exists());
    // Out of it: the image's files and the volume's.
    let out = host.path().join("out");
    ok(wbox.run(&["cp", "wa:/app.wasm", out.to_str().unwrap()]));
    assert_eq!(fs::read(&out).unwrap(), fs::read(guest("probe.wasm")).unwrap());
    let tar = wbox.run(&["cp", "wa:/data/note", "-"]);
    assert_eq!(code(&tar), 0, "{}", stderr(&tar));
    let mut entries = tar::Archive::new(tar.stdout.as_slice());
    let mut entry = entries.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(entry.path().unwrap().to_str(), Some("note"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
    assert_eq!(text, "copied in");

    // A native container that never ran gets its own layer; the image's
    // files stay as they were.
    ok(wbox.run(&["create", "--name", "nat", &busybox, "cat", "/etc/motd-copied"]));
    ok(wbox.run(&["cp", note, "nat:/etc/motd-copied"]));
    assert_eq!(ok(wbox.run(&["start", "-a", "nat"])), "copied in");
    let fresh = ok(wbox.run(&["run", "--rm", &busybox, "sh", "-c", "ls /etc/motd-copied || echo none"]));
    assert_eq!(fresh, "none\n");

    // A hostile tar: a link out of the container, then a file through it;
    // an entry that climbs. Nothing lands on the host.
    let canary = tempfile::tempdir().unwrap();
    let mut evil = tar::Builder::new(Vec::new());
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    evil.append_link(&mut link, "out", canary.path()).unwrap();
    let mut file = tar::Header::new_gnu();
    file.set_size(5);
    file.set_mode(0o644);
    evil.append_data(&mut file, "out/planted", &b"owned"[..]).unwrap();
    let out = wbox.run_with_stdin(&["cp", "-", "nat:/tmp"], &evil.into_inner().unwrap());
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let mut climbing = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_mode(0o644);
    header.as_old_mut().name[..13].copy_from_slice(b"../../planted");
    header.set_cksum();
    climbing.append(&header, &b"owned"[..]).unwrap();
    let out = wbox.run_with_stdin(&["cp", "-", "nat:/tmp"], &climbing.into_inner().unwrap());
    assert!(stderr(&out).contains("climbs out"), "{}", stderr(&out));
    assert_eq!(fs::read_dir(canary.path()).unwrap().count(), 0, "nothing reached the host");
}
