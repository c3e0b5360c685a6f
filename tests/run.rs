//! `wbox run`: arguments, environment, stdio, exit codes, limits and bad input.

use wbox_test_harness as harness;

use std::time::{Duration, Instant};

use harness::{Wbox, both, code, guest, stderr, stdout};

#[test]
fn hello_prints_greeting_arguments_and_exits_with_its_code() {
    let wbox = Wbox::new();
    let hello = guest("hello.wasm");
    let out = wbox.run(&["run", "-e", "GREETING=Hi", &hello, "a", "b c", "--exit", "7"]);
    assert_eq!(stdout(&out), "Hi from wbox!\narg 1: a\narg 2: b c\n");
    assert_eq!(code(&out), 7, "stderr: {}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn arguments_reach_the_guest_exactly() {
    let wbox = Wbox::new();
    for probe in both("probe") {
        let out = wbox.run(&["run", &probe, "args", "", "two words", "ünïcödé ✓", "--env", "-v"]);
        assert_eq!(code(&out), 0, "{probe}: {}", stderr(&out));
        assert_eq!(
            stdout(&out),
            // argv[0] is the file's name, as the wasmtime CLI gives it.
            format!(
                "[{}]\n[args]\n[]\n[two words]\n[ünïcödé ✓]\n[--env]\n[-v]\n",
                std::path::Path::new(&probe).file_name().unwrap().to_string_lossy()
            ),
            "{probe}"
        );
    }
    // Right after the program, flags are the program's too, as in Docker.
    for flag in ["--help", "-V", "-e"] {
        let out = wbox.run(&["run", &guest("probe.wasm"), flag, "X=1"]);
        assert_eq!(code(&out), 2, "{flag}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("probe: unknown mode '{flag}'\n"));
    }
}

#[test]
fn environment_is_only_what_was_granted() {
    let wbox = Wbox::new();
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    std::fs::write(&env_file, "# a comment\n\nB=from file\nA=overridden\nFROM_HOST\n").unwrap();
    for probe in both("probe") {
        let none = wbox.command().env("SECRET", "host").args(["run", &probe, "env"]).output().unwrap();
        assert_eq!(code(&none), 0, "{}", stderr(&none));
        assert_eq!(stdout(&none), "", "{probe}: the host's environment must not leak");

        let out = wbox
            .command()
            .env("FROM_HOST", "passed")
            .env("NOT_PASSED", "x")
            .args(["run", "--env-file", env_file.to_str().unwrap(), "-e", "A=1", "-e", "C=x=y"])
            .args([&probe, "env"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(stdout(&out), "B=from file\nA=1\nFROM_HOST=passed\nC=x=y\n", "{probe}");
    }
}

#[test]
fn exit_codes_follow_docker() {
    let wbox = Wbox::new();
    let [module, component] = both("probe");
    assert_eq!(code(&wbox.run(&["run", &module, "exit", "42"])), 42);
    assert_eq!(code(&wbox.run(&["run", &module, "exit", "0"])), 0);
    // WASI preview 1 reserves 126 and up; wasmtime-wasi makes them a trap.
    let out = wbox.run(&["run", &module, "exit", "200"]);
    assert_eq!(code(&out), 134);
    assert!(stderr(&out).contains("invalid exit status"), "{}", stderr(&out));
    // WASI 0.2's wasi:cli/exit carries only success or failure.
    assert_eq!(code(&wbox.run(&["run", &component, "exit", "42"])), 1);
    assert_eq!(code(&wbox.run(&["run", &component, "exit", "0"])), 0);

    for probe in [&module, &component] {
        let out = wbox.run(&["run", probe, "trap"]);
        assert_eq!(code(&out), 134, "{probe}");
        let err = stderr(&out);
        assert!(err.contains("trapped") && err.contains("unreachable"), "{err}");
        assert!(err.contains("main"), "the guest's backtrace names its functions: {err}");
        assert!(!err.contains("tokio"), "the host's own stack stays out of it: {err}");
    }
}

#[test]
fn stdout_and_stderr_are_passed_byte_for_byte() {
    let wbox = Wbox::new();
    let pattern = |n: usize| (0..n).map(|i| (i % 4096) as u8).collect::<Vec<u8>>();
    for probe in both("probe") {
        let out = wbox.run(&["run", &probe, "out", "5000000"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(out.stdout == pattern(5_000_000), "{probe}: stdout differs");
        assert!(out.stderr.is_empty());

        let out = wbox.run(&["run", &probe, "err", "300000"]);
        assert!(out.stderr == pattern(300_000), "{probe}: stderr differs");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn stdin_reaches_the_guest_byte_for_byte() {
    let wbox = Wbox::new();
    let input: Vec<u8> = (0..2_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    for probe in both("probe") {
        let out = wbox.run_with_stdin(&["run", &probe, "cat"], &input);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(out.stdout == input, "{probe}: stdin came out different");
    }
}

#[test]
fn memory_cap_fails_the_guest_allocation_not_the_host() {
    let wbox = Wbox::new();
    let [module, component] = both("probe");
    let free = wbox.run(&["run", &module, "alloc", "100"]);
    assert_eq!(stdout(&free), "allocated 100 MiB\n", "without a cap the guest gets its 100 MiB");

    let capped = wbox.run(&["run", "--memory", "64m", &module, "alloc", "100"]);
    assert_eq!(code(&capped), 3, "malloc returned NULL in the guest: {}", stderr(&capped));
    let got: u64 = stdout(&capped)
        .strip_prefix("allocation failed after ")
        .and_then(|s| s.strip_suffix(" MiB\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output {:?}", stdout(&capped)));
    assert!((56..64).contains(&got), "got {got} MiB under a 64 MiB cap");

    // The preview-1 adapter inside a component asserts its own allocations:
    // the guest traps, cleanly, and wbox reports it.
    let capped = wbox.run(&["run", "--memory", "64m", &component, "alloc", "100"]);
    assert_eq!(code(&capped), 134, "{}", stderr(&capped));
    assert!(stderr(&capped).contains("trapped"));

    let tiny = wbox.run(&["run", "--memory", "64k", &module, "exit", "0"]);
    assert_eq!(code(&tiny), 126, "a module whose initial memory exceeds the cap cannot start");
    assert!(stderr(&tiny).contains("memory"), "{}", stderr(&tiny));
}

#[test]
fn timeout_interrupts_a_spinning_guest() {
    let wbox = Wbox::new();
    for probe in both("probe") {
        let started = Instant::now();
        let out = wbox.run(&["run", "--timeout", "2s", &probe, "spin"]);
        let took = started.elapsed();
        assert_eq!(code(&out), 124, "{}", stderr(&out));
        assert!(stderr(&out).contains("timed out after 2s"), "{}", stderr(&out));
        assert!(took >= Duration::from_secs(2), "stopped early: {took:?}");
        assert!(took < Duration::from_secs(3), "stopped {took:?} after start, deadline 2s");
    }
}

#[test]
fn timeout_interrupts_a_guest_blocked_in_the_host() {
    let wbox = Wbox::new();
    let started = Instant::now();
    let out = wbox.run(&["run", "--timeout", "500ms", &guest("probe.wasm"), "sleep", "30"]);
    assert_eq!(code(&out), 124);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn timeout_interrupts_a_guest_blocked_reading_stdin() {
    // The read is a blocking host call on a thread of its own; wbox must not
    // wait for it after the deadline.
    let wbox = Wbox::new();
    for probe in both("probe") {
        let mut child = wbox
            .command()
            .args(["run", "--timeout", "500ms", &probe, "cat"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let _stdin_kept_open = child.stdin.take();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(10) {
                child.kill().unwrap();
                panic!("{probe}: wbox still running 10s after a 500ms deadline");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(124), "{probe}");
    }
}

#[test]
fn a_trap_while_starting_is_a_trap() {
    // A module whose start function, run while instantiating, is `unreachable`.
    let start_traps: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
        0x03, 0x02, 0x01, 0x00, // one function of that type
        0x08, 0x01, 0x00, // start: function 0
        0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // body: unreachable
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("start.wasm");
    std::fs::write(&path, start_traps).unwrap();
    let out = Wbox::new().run(&["run", path.to_str().unwrap()]);
    assert_eq!(code(&out), 134, "{}", stderr(&out));
    assert!(stderr(&out).contains("unreachable"), "{}", stderr(&out));
}

#[test]
fn missing_file_is_127() {
    let wbox = Wbox::new();
    let out = wbox.run(&["run", "/nonexistent/hello.wasm"]);
    assert_eq!(code(&out), 127);
    assert_eq!(stderr(&out), "wbox: /nonexistent/hello.wasm: no such file; check the path\n");
}

#[test]
fn files_that_are_not_runnable_modules_are_126() {
    let wbox = Wbox::new();
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.wasm");
    std::fs::write(&text, "hello, I am text\n").unwrap();
    let hello = std::fs::read(guest("hello.wasm")).unwrap();
    let truncated = dir.path().join("truncated.wasm");
    std::fs::write(&truncated, &hello[..hello.len() / 2]).unwrap();
    let empty = dir.path().join("empty.wasm");
    std::fs::write(&empty, "").unwrap();

    let cases = [
        (text.to_str().unwrap(), "is not a WebAssembly module or component"),
        (truncated.to_str().unwrap(), "is not a valid WebAssembly program"),
        (empty.to_str().unwrap(), "is not a WebAssembly module or component"),
        (dir.path().to_str().unwrap(), "is a directory"),
    ];
    for (path, message) in cases {
        let out = wbox.run(&["run", path]);
        assert_eq!(code(&out), 126, "{path}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with("wbox: ") && err.contains(message), "{path}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    assert!(wbox.cache_entries().is_empty(), "nothing is cached for bad input");
}

#[test]
fn bad_flags_are_125_with_a_pointer_to_help() {
    let wbox = Wbox::new();
    let hello = guest("hello.wasm");
    let cases: [&[&str]; 8] = [
        &["run", "--frobnicate", &hello],
        &["run", "--memory", "lots", &hello],
        &["run", "--memory", "0", &hello],
        &["run", "--timeout", "soon", &hello],
        &["run", "-v", "/nonexistent-dir:/data", &hello],
        &["run", "-v", "/tmp:relative", &hello],
        &["run", "-e", "=x", &hello],
        &["run", "-w", "relative", &hello],
    ];
    for args in cases {
        let out = wbox.run(args);
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}: the guest must not run");
        assert!(stderr(&out).len() < 400, "{args:?}: short: {}", stderr(&out));
    }
    let out = wbox.run(&["run", "--frobnicate", &hello]);
    assert!(stderr(&out).contains("--frobnicate") && stderr(&out).contains("--help"));

    let help = wbox.run(&["run", "--help"]);
    assert_eq!(code(&help), 0);
    assert!(stdout(&help).contains("Examples:") && stdout(&help).contains("--volume"));
}

#[test]
fn non_utf8_arguments_are_refused_clearly() {
    use std::os::unix::ffi::OsStrExt;
    let wbox = Wbox::new();
    let out = wbox
        .command()
        .args(["run", &guest("probe.wasm"), "args"])
        .arg(std::ffi::OsStr::from_bytes(b"\xff\xfe"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    assert!(stderr(&out).contains("not valid UTF-8"), "{}", stderr(&out));
}
