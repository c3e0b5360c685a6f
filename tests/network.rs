//! Network grants: a guest reaches only what `--allow-net` or `--network
//! host` grants, looks names up only with a network, and binds only
//! published ports. Each grant is tried from both sides of its boundary.

use wbox_test_harness as harness;

use std::net::TcpListener;

use harness::{Wbox, code, guest, stderr, stdout};

/// A listener on a free loopback port; connects to it succeed without an
/// accept (the kernel's backlog takes them).
fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    (listener, port)
}

fn probe(wbox: &Wbox, flags: &[&str], probe_args: &[&str]) -> (i32, String) {
    let netprobe = guest("netprobe.component.wasm");
    let mut args = vec!["run"];
    args.extend(flags);
    args.push(&netprobe);
    args.extend(probe_args);
    let out = wbox.run(&args);
    (code(&out), stdout(&out) + &stderr(&out))
}

#[test]
fn allow_net_reaches_only_the_granted_destination() {
    let wbox = Wbox::new();
    let (_a, port_a) = listener();
    let (_b, port_b) = listener();
    let connect = |flags: &[&str], port: &str| probe(&wbox, flags, &["connect", "127.0.0.1", port]);

    let grant_a = format!("127.0.0.1:{port_a}");
    assert_eq!(
        connect(&["--allow-net", &grant_a], &port_a),
        (0, format!("connect 127.0.0.1:{port_a}: connected\n"))
    );
    let (status, output) = connect(&["--allow-net", &grant_a], &port_b);
    assert_eq!(
        (status, output.as_str()),
        (1, format!("connect 127.0.0.1:{port_b}: failed (access-denied)\n").as_str())
    );

    // No grant: not even a socket.
    for port in [&port_a, &port_b] {
        assert_eq!(connect(&[], port), (1, "tcp socket: denied (access-denied)\n".into()));
        assert_eq!(connect(&["--network", "none"], port), (1, "tcp socket: denied (access-denied)\n".into()));
    }
    // A range, and the host's whole network.
    assert_eq!(connect(&["--allow-net", "127.0.0.0/8"], &port_b).0, 0);
    assert_eq!(connect(&["--network", "host"], &port_b).0, 0);
    // What was refused is in wbox's log at debug level.
    let out = wbox.run(&[
        "--log-level",
        "debug",
        "run",
        "--allow-net",
        &grant_a,
        &guest("netprobe.component.wasm"),
        "connect",
        "127.0.0.1",
        &port_b,
    ]);
    assert!(
        stderr(&out).contains(&format!("network: denied TcpConnect 127.0.0.1:{port_b}")),
        "{}",
        stderr(&out)
    );
    // A range that does not hold the address.
    assert_eq!(
        connect(&["--allow-net", "10.0.0.0/8"], &port_a).1,
        format!("connect 127.0.0.1:{port_a}: failed (access-denied)\n")
    );
}

#[test]
fn name_lookups_need_a_network() {
    let wbox = Wbox::new();
    let (_a, port) = listener();
    let denied = "resolve localhost: denied (permanent-resolver-failure)\n";
    assert_eq!(probe(&wbox, &[], &["resolve", "localhost"]), (1, denied.into()));
    // Publishing a port grants binding it, not lookups.
    assert_eq!(probe(&wbox, &["-p", "18080:18080"], &["resolve", "localhost"]), (1, denied.into()));

    // A name in the allow-list is resolved at start; the guest reaches its
    // addresses at the granted port only.
    let grant = format!("localhost:{port}");
    assert_eq!(
        probe(&wbox, &["--allow-net", &grant], &["resolve", "localhost"]),
        (0, "resolve localhost: ALLOWED\n".into())
    );
    assert_eq!(probe(&wbox, &["--allow-net", &grant], &["connect", "127.0.0.1", &port]).0, 0);
    let (other, other_port) = listener();
    assert_eq!(
        probe(&wbox, &["--allow-net", &grant], &["connect", "127.0.0.1", &other_port]).1,
        format!("connect 127.0.0.1:{other_port}: failed (access-denied)\n")
    );
    drop(other);
}

#[test]
fn binding_needs_a_published_port() {
    let wbox = Wbox::new();
    // A free port, released for the guest to bind.
    let (free, port) = listener();
    drop(free);
    let publish = format!("{port}:{port}");
    assert_eq!(probe(&wbox, &["-p", &publish], &["bind", &port]), (0, format!("bind {port}: bound\n")));
    let (status, output) = probe(&wbox, &["-p", &publish, "--allow-net", "127.0.0.1"], &["bind", "1"]);
    assert_eq!((status, output), (1, "bind 1: denied (access-denied)\n".into()));
    // Egress alone grants no listening port.
    assert_eq!(
        probe(&wbox, &["--allow-net", "127.0.0.1"], &["bind", &port]).1,
        format!("bind {port}: denied (access-denied)\n")
    );
}

#[test]
fn bad_network_flags_are_refused_before_the_guest_runs() {
    let wbox = Wbox::new();
    for (flags, expected) in [
        (&["--network", "bridge"][..], "unknown network 'bridge'"),
        (&["--allow-net", "10.0.0.0/40"], "invalid --allow-net '10.0.0.0/40'"),
        (&["--allow-net", "1.2.3.4", "--network", "host"], "cannot be combined"),
        (&["-p", "80:http"], "invalid -p '80:http'"),
        (&["--allow-net", "no-such-host.invalid"], "cannot resolve"),
    ] {
        let (status, output) = probe(&wbox, flags, &["connect", "127.0.0.1", "1"]);
        assert_eq!(status, 125, "{flags:?}: {output}");
        assert!(output.contains(expected), "{flags:?}: {output}");
        assert!(!output.contains("connect 127.0.0.1"), "{flags:?}: the guest must not run: {output}");
    }
}

/// A guest listening on container port 80 in a foreground `wbox run`,
/// killed when dropped.
struct Listening(std::process::Child);

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The line a connection to `port` reads, once something answers there.
fn line_from(port: u16) -> String {
    use std::io::Read;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut stream) => {
                let mut line = String::new();
                stream.read_to_string(&mut line).unwrap();
                return line;
            }
            Err(e) if std::time::Instant::now() > deadline => panic!("nothing listens on {port}: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}

#[test]
fn guests_listening_on_the_same_container_port_are_reached_on_their_host_ports() {
    let wbox = Wbox::new();
    let ports: Vec<u16> = (0..2).map(|_| listener().0.local_addr().unwrap().port()).collect();
    let _guests: Vec<Listening> = ports
        .iter()
        .map(|port| {
            let child = wbox
                .command()
                .args([
                    "run",
                    "-p",
                    &format!("127.0.0.1:{port}:80"),
                    &guest("netprobe.component.wasm"),
                    "serve",
                    "80",
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            Listening(child)
        })
        .collect();
    for port in &ports {
        assert_eq!(line_from(*port), "hello from netprobe on port 80\n", "host port {port}");
        // It goes on answering.
        assert_eq!(line_from(*port), "hello from netprobe on port 80\n", "host port {port}");
    }
}
