//! The compile cache: a program is compiled once; damaged or foreign entries
//! are never executed; concurrent runs leave one good entry.

use wbox_test_harness as harness;

use std::fs;

use harness::{Wbox, code, guest, stderr, stdout};

fn run_hello(wbox: &Wbox) -> std::process::Output {
    let out = wbox.run(&["--log-level", "debug", "run", &guest("hello.wasm"), "x"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "Hello from wbox!\narg 1: x\n");
    out
}

#[test]
fn second_run_does_not_compile_again() {
    let wbox = Wbox::new();
    assert!(wbox.cache_entries().is_empty());
    let first = stderr(&run_hello(&wbox));
    assert!(first.contains("compile cache miss"), "{first}");
    assert_eq!(wbox.cache_entries().len(), 1);

    let second = stderr(&run_hello(&wbox));
    assert!(second.contains("compile cache hit") && !second.contains("miss"), "{second}");
}

#[test]
fn a_corrupt_entry_is_detected_and_recompiled() {
    let wbox = Wbox::new();
    run_hello(&wbox);
    let entry = wbox.cache_entries().pop().unwrap();
    let good = fs::read(&entry).unwrap();

    // One flipped bit in the compiled code.
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    fs::write(&entry, &flipped).unwrap();
    let err = stderr(&run_hello(&wbox));
    assert!(err.contains("corrupt or foreign") && err.contains("compile cache miss"), "{err}");
    assert_eq!(fs::read(&entry).unwrap(), good, "the entry was rebuilt");

    // A torn write: the file cut short.
    fs::write(&entry, &good[..good.len() / 3]).unwrap();
    assert!(stderr(&run_hello(&wbox)).contains("corrupt or foreign"));
    assert!(stderr(&run_hello(&wbox)).contains("compile cache hit"));
}

#[test]
fn a_foreign_entry_is_never_executed() {
    let wbox = Wbox::new();
    // Compile another program, then plant its entry under hello's name.
    let out = wbox.run(&["run", &guest("probe.wasm"), "exit", "0"]);
    assert_eq!(code(&out), 0);
    let probe_entry = wbox.cache_entries().pop().unwrap();
    run_hello(&wbox);
    let hello_entry = wbox.cache_entries().into_iter().find(|e| *e != probe_entry).unwrap();
    fs::copy(&probe_entry, &hello_entry).unwrap();

    let err = stderr(&run_hello(&wbox));
    assert!(err.contains("corrupt or foreign"), "{err}");
}

#[test]
fn concurrent_first_runs_leave_one_good_entry() {
    let wbox = Wbox::new();
    let hello = guest("hello.wasm");
    let children: Vec<_> = (0..8)
        .map(|i| {
            wbox.command()
                .args(["run", &hello, &i.to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), 0);
        assert_eq!(stdout(&out), format!("Hello from wbox!\narg 1: {i}\n"));
    }
    assert_eq!(wbox.cache_entries().len(), 1);
    let leftovers: Vec<_> = fs::read_dir(wbox.cache_entries()[0].parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".cwasm") && !name.ends_with(".seal"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
    assert!(stderr(&run_hello(&wbox)).contains("compile cache hit"));
}

#[test]
fn system_prune_clears_the_cache() {
    let wbox = Wbox::new();
    run_hello(&wbox);
    assert_eq!(wbox.cache_entries().len(), 1);

    // Without -f it asks, as Docker does; no answer (stdin empty) is no.
    let unanswered = wbox.run(&["system", "prune"]);
    assert_eq!(code(&unanswered), 0, "{}", stderr(&unanswered));
    assert!(stdout(&unanswered).ends_with("Are you sure you want to continue? [y/N] "));
    assert_eq!(wbox.cache_entries().len(), 1);

    let out = wbox.run(&["system", "prune", "-f"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Total reclaimed space: "), "{}", stdout(&out));
    assert!(wbox.cache_entries().is_empty());
    assert!(stderr(&run_hello(&wbox)).contains("compile cache miss"));
}

#[test]
fn entries_are_private_and_a_writable_one_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let wbox = Wbox::new();
    run_hello(&wbox);
    let entry = wbox.cache_entries().pop().unwrap();
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&entry), 0o600);
    assert_eq!(mode(entry.parent().unwrap()), 0o700);

    // Anyone could have replaced code others can write: compile again.
    fs::set_permissions(&entry, fs::Permissions::from_mode(0o666)).unwrap();
    let err = stderr(&run_hello(&wbox));
    assert!(err.contains("not trusted") && err.contains("compile cache miss"), "{err}");
    assert_eq!(mode(&entry), 0o600, "the entry was rewritten privately");
}

#[test]
fn a_settled_file_is_known_by_its_identity_and_a_change_in_place_runs_the_new_code() {
    let wbox = Wbox::new();
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("program.wasm");
    fs::copy(guest("hello.wasm"), &program).unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--log-level", "debug", "run", program.to_str().unwrap()];
        all.extend(args);
        wbox.run(&all)
    };
    // Just written: read, as a file written twice in one clock tick keeps
    // its times.
    let first = run(&["x"]);
    assert!(!stderr(&first).contains("known to the compile cache"), "{}", stderr(&first));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let settled = run(&["x"]);
    assert!(!stderr(&settled).contains("known to the compile cache"), "{}", stderr(&settled));
    let known = run(&["x"]);
    assert_eq!(stdout(&known), "Hello from wbox!\narg 1: x\n");
    assert!(
        stderr(&known).contains("known to the compile cache by the file's identity"),
        "{}",
        stderr(&known)
    );

    // Written in place (the same inode, the same path): the new code runs.
    fs::write(&program, fs::read(guest("probe.wasm")).unwrap()).unwrap();
    let changed = run(&["exit", "7"]);
    assert_eq!(code(&changed), 7, "{}", stderr(&changed));
    assert!(!stderr(&changed).contains("known to the compile cache"), "{}", stderr(&changed));
}

#[test]
fn an_artifact_runs_from_its_blob_unread_once_known_and_a_damaged_blob_is_refused() {
    let registry = harness::registry::Registry::start();
    let wbox = Wbox::new();
    let program = fs::read(guest("hello.wasm")).unwrap();
    harness::images::push_artifact(&registry, "hello:1", std::path::Path::new(&guest("hello.wasm")));
    let name = format!("{}/hello:1", registry.addr);
    harness::ok(wbox.run(&["pull", &name]));
    let run = || wbox.run(&["--log-level", "debug", "run", &name, "x"]);
    let first = run();
    assert_eq!(stdout(&first), "Hello from wbox!\narg 1: x\n", "{}", stderr(&first));
    // Once the blob has settled (a second old) its identity is recorded,
    // and from then on it is not read.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run();
    let known = run();
    assert_eq!(stdout(&known), "Hello from wbox!\narg 1: x\n");
    assert!(
        stderr(&known).contains("known to the compile cache by the file's identity"),
        "{}",
        stderr(&known)
    );

    // One byte of the module changed in the store: refused, not run.
    let blob = fs::read_dir(wbox.root.path().join("store/blobs/sha256"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| fs::read(path).unwrap() == program)
        .expect("the module is a blob of the store");
    let digest = blob.file_name().unwrap().to_str().unwrap().to_owned();
    let mut damaged = fs::read(&blob).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    fs::write(&blob, &damaged).unwrap();
    let out = run();
    assert_ne!(code(&out), 0);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains(&format!("blob sha256:{digest} in the image store is damaged")),
        "{}",
        stderr(&out)
    );
}
