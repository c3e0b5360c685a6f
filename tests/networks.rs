//! User-defined networks: containers on one reach each other by name and
//! alias, containers elsewhere do not, and removing them leaves nothing.
//! As root, as CI runs: a network is a bridge in a network namespace wbox
//! makes (the host's own is never changed). Docker's own `network create`
//! would change the host's network, so the private dockerd of the CLI tests
//! cannot be the oracle here; the output follows Docker's documented shapes.
#![cfg(target_os = "linux")]

use wbox_test_harness as harness;

use harness::{Wbox, busybox_image, code, ok, one_at_a_time, stderr, stdout};

/// The network namespaces wbox has bound under `root`.
fn bound_namespaces(wbox: &Wbox) -> Vec<String> {
    let root = wbox.root.path().to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&root))
        .map(str::to_owned)
        .collect()
}

#[test]
fn networks_are_made_listed_inspected_and_removed() {
    let _turn = one_at_a_time();
    let wbox = Wbox::new();
    let id = ok(wbox.run(&["network", "create", "--label", "tier=back", "backnet"])).trim().to_owned();
    assert_eq!(id.len(), 64, "{id}");
    let out = wbox.run(&["network", "create", "backnet"]);
    assert!(
        code(&out) != 0 && stderr(&out).contains("network with name backnet already exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        ok(wbox.run(&["network", "ls"])),
        format!(
            "NETWORK ID     NAME      DRIVER    SCOPE\n{}   backnet   bridge    local\n{}   bridge    bridge    local\n{}   host      host      local\n{}   none      null      local\n",
            &id[..12],
            &ok(wbox.run(&["network", "inspect", "-f", "{{.Id}}", "bridge"]))[..12],
            &ok(wbox.run(&["network", "inspect", "-f", "{{.Id}}", "host"]))[..12],
            &ok(wbox.run(&["network", "inspect", "-f", "{{.Id}}", "none"]))[..12],
        )
    );
    assert_eq!(ok(wbox.run(&["network", "ls", "-q", "-f", "type=custom", "--no-trunc"])), format!("{id}\n"));
    let format = "{{.Name}} {{.Driver}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{.Labels.tier}}";
    assert_eq!(
        ok(wbox.run(&["network", "inspect", "-f", format, "backnet"])),
        "backnet bridge 172.18.0.0/16 172.18.0.1 back\n"
    );
    // A name that would leave the networks' directory, and a driver wbox lacks.
    let out = wbox.run(&["network", "create", "../escape"]);
    assert!(code(&out) != 0 && stderr(&out).contains("invalid network name"), "{}", stderr(&out));
    assert!(!wbox.root.path().join("escape").exists());
    let out = wbox.run(&["network", "create", "-d", "overlay", "other"]);
    assert!(code(&out) != 0 && stderr(&out).contains("wbox has only bridge"), "{}", stderr(&out));
    let out = wbox.run(&["network", "rm", "host"]);
    assert!(code(&out) != 0 && stderr(&out).contains("pre-defined"), "{}", stderr(&out));
    assert_eq!(ok(wbox.run(&["network", "rm", "backnet"])), "backnet\n");
    let out = wbox.run(&["network", "inspect", "backnet"]);
    assert!(code(&out) != 0 && stderr(&out).contains("network backnet not found"), "{}", stderr(&out));
}

#[test]
fn native_members_reach_each_other_by_name_and_alias_only_on_their_network() {
    let _turn = one_at_a_time();
    let (_registry, image) = busybox_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &image]));
    ok(wbox.run(&["network", "create", "front"]));
    ok(wbox.run(&["network", "create", "back"]));
    let serve = "while true; do echo hello from $(hostname) | nc -l -p 9000; done";
    ok(wbox.run(&[
        "run",
        "-d",
        "--name",
        "server",
        "--network",
        "front",
        "--network-alias",
        "db",
        &image,
        "sh",
        "-c",
        serve,
    ]));
    let fetch = |network: &str, target: &str| {
        wbox.run(&[
            "run",
            "--rm",
            "--network",
            network,
            &image,
            "sh",
            "-c",
            &format!("nc -w 3 {target} 9000"),
        ])
    };
    assert_eq!(
        ok(wbox.run(&["ps", "--filter", "network=front", "--format", "{{.Names}} {{.Networks}}"])),
        "server front\n"
    );
    let by_name = fetch("front", "server");
    assert_eq!(code(&by_name), 0, "{}", stderr(&by_name));
    assert!(stdout(&by_name).starts_with("hello from "), "{}", stdout(&by_name));
    assert!(stdout(&fetch("front", "db")).starts_with("hello from "), "the alias answers too");

    // Not from another network, by name or by address.
    let address = ok(wbox.run(&["inspect", "-f", "{{.NetworkSettings.Networks.front.IPAddress}}", "server"]));
    assert_eq!(address, "172.18.0.2\n");
    assert_ne!(code(&fetch("back", "server")), 0);
    assert_eq!(stdout(&fetch("back", address.trim())), "");

    // A container connected later is named in the members' /etc/hosts and reaches them.
    ok(wbox.run(&["run", "-d", "--name", "late", &image, "sleep", "60"]));
    ok(wbox.run(&["network", "connect", "--alias", "latecomer", "front", "late"]));
    let hosts = ok(wbox.run(&["exec", "server", "cat", "/etc/hosts"]));
    assert!(hosts.contains("172.18.0.3\tlate latecomer "), "{hosts}");
    let out = wbox.run(&["exec", "late", "nc", "-w", "3", "server", "9000"]);
    assert!(stdout(&out).starts_with("hello from "), "{}", stderr(&out));
    let members = "{{range .Containers}}{{.Name}} {{.IPv4Address}},{{end}}";
    // Go ranges over a map in the order of its keys, the containers' ids.
    let listed = ok(wbox.run(&["network", "inspect", "-f", members, "front"]));
    let mut listed: Vec<&str> = listed.trim_end().split(',').filter(|m| !m.is_empty()).collect();
    listed.sort();
    assert_eq!(listed, ["late 172.18.0.3/16", "server 172.18.0.2/16"]);

    // In use: refused; after rm -f, prune leaves nothing.
    let out = wbox.run(&["network", "rm", "front"]);
    assert!(code(&out) != 0 && stderr(&out).contains("has active endpoints"), "{}", stderr(&out));
    ok(wbox.run(&["rm", "-f", "server", "late"]));
    let pruned = ok(wbox.run(&["network", "prune", "-f"]));
    let mut lines: Vec<&str> = pruned.lines().collect();
    lines[1..3].sort();
    assert_eq!(lines, ["Deleted Networks:", "back", "front", ""], "{pruned}");
    assert_eq!(ok(wbox.run(&["network", "ls", "-q", "-f", "type=custom"])), "");
    assert_eq!(bound_namespaces(&wbox), Vec::<String>::new());
}

#[test]
fn wasm_members_reach_their_networks_members_only_and_are_reached_by_name() {
    let _turn = one_at_a_time();
    let (registry, busybox) = busybox_image();
    let netprobe = format!("/app.wasm={}", harness::guest("netprobe.component.wasm"));
    harness::images::push_image(&registry, "netprobe:1", &["--entrypoint", "/app.wasm", "--file", &netprobe]);
    let netprobe = format!("{}/netprobe:1", registry.addr);
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", &busybox]));
    ok(wbox.run(&["pull", &netprobe]));
    ok(wbox.run(&["network", "create", "a"]));
    ok(wbox.run(&["network", "create", "b"]));
    let serve = "while true; do echo hello from $(hostname) | nc -l -p 9000; done";
    ok(wbox.run(&["run", "-d", "--name", "server", "--network", "a", &busybox, "sh", "-c", serve]));
    ok(wbox.run(&["run", "-d", "--name", "other", "--network", "b", &busybox, "sh", "-c", serve]));
    let probe = |args: &[&str]| {
        let out = wbox.run(&[&["run", "--rm", "--network", "a", &netprobe][..], args].concat());
        (code(&out), stdout(&out) + &stderr(&out))
    };

    // A member of its network, by name and at its address.
    assert_eq!(probe(&["resolve", "server"]), (0, "resolve server: ALLOWED\n".into()));
    assert_eq!(probe(&["connect", "172.18.0.2", "9000"]), (0, "connect 172.18.0.2:9000: connected\n".into()));
    // Not the other network's member, by name or address, nor the host.
    let (status, said) = probe(&["resolve", "other"]);
    assert!(status != 0 && said.starts_with("resolve other: denied"), "{said}");
    assert_eq!(
        probe(&["connect", "172.19.0.2", "9000"]).1,
        "connect 172.19.0.2:9000: failed (access-denied)\n"
    );
    assert_eq!(probe(&["connect", "10.0.2.2", "22"]).1, "connect 10.0.2.2:22: failed (access-denied)\n");

    // A native member reaches a wasm member by name, on a port it did not publish.
    ok(wbox.run(&["run", "-d", "--name", "wasmsrv", "--network", "a", &netprobe, "serve", "80"]));
    let fetch = "for i in 1 2 3 4 5 6 7 8 9 10; do nc -w 2 wasmsrv 80 && exit 0; sleep 0.3; done; exit 1";
    let out = wbox.run(&["run", "--rm", "--network", "a", &busybox, "sh", "-c", fetch]);
    assert_eq!(stdout(&out), "hello from netprobe on port 80\n", "{}", stderr(&out));

    // -p publishes a wasm member's port on the host, as a native member's.
    let out = wbox.run(&[
        "run",
        "-d",
        "--name",
        "published",
        "-p",
        "127.0.0.1::80",
        "--network",
        "a",
        &netprobe,
        "serve",
        "80",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let port = ok(wbox.run(&["port", "published", "80"]));
    let address = port.trim().to_owned();
    let line = (0..20)
        .find_map(|_| {
            let read = std::net::TcpStream::connect(&address).ok().and_then(|mut stream| {
                let mut line = String::new();
                std::io::Read::read_to_string(&mut stream, &mut line)
                    .ok()
                    .filter(|_| !line.is_empty())
                    .map(|_| line)
            });
            if read.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            read
        })
        .unwrap_or_default();
    assert_eq!(line, "hello from netprobe on port 80\n", "{address}");

    ok(wbox.run(&["rm", "-f", "server", "other", "wasmsrv", "published"]));
    ok(wbox.run(&["network", "prune", "-f"]));
    assert_eq!(bound_namespaces(&wbox), Vec::<String>::new());
}

#[test]
fn a_wasm_http_service_answers_its_networks_members_on_its_exposed_port() {
    let _turn = one_at_a_time();
    let (_registry, busybox) = busybox_image();
    let wbox = Wbox::with_shared_compile_cache();
    ok(wbox.run(&["pull", &busybox]));
    harness::build_hello_http(&wbox, "hello-http");
    ok(wbox.run(&["network", "create", "app"]));
    // Not published: only the network's members reach it, on the port its image EXPOSEs.
    ok(wbox.run(&["run", "-d", "--name", "hello", "--network", "app", "hello-http"]));
    assert_eq!(ok(wbox.run(&["port", "hello"])), "");
    let fetch = "for i in $(seq 60); do wget -qO- http://hello/ && exit 0; sleep 0.5; done; exit 1";
    let out = wbox.run(&["run", "--rm", "--network", "app", &busybox, "sh", "-c", fetch]);
    assert!(stdout(&out).starts_with("Hello"), "{}{}", stdout(&out), stderr(&out));
    ok(wbox.run(&["rm", "-f", "hello"]));
    ok(wbox.run(&["network", "rm", "app"]));
    assert_eq!(bound_namespaces(&wbox), Vec::<String>::new());
}

#[test]
fn twenty_containers_on_four_networks_leave_nothing_after_rm_and_prune() {
    let _turn = one_at_a_time();
    let (_registry, busybox) = busybox_image();
    let (_probe_registry, probe) = harness::probe_image();
    let wbox = Wbox::new();
    ok(wbox.run(&["pull", "-q", &busybox]));
    ok(wbox.run(&["pull", "-q", &probe]));
    for n in 0..4 {
        ok(wbox.run(&["network", "create", &format!("net{n}")]));
    }
    // Five on each network: four native, one wasm.
    let mut ids = Vec::new();
    for i in 0..20 {
        let network = format!("net{}", i % 4);
        let (image, command) = if i < 16 { (&busybox, ["sleep", "60"]) } else { (&probe, ["sleep", "60"]) };
        let name = format!("c{i}");
        let id = ok(wbox.run(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &network,
            image,
            command[0],
            command[1],
        ]));
        ids.push(id.trim().to_owned());
    }
    assert_eq!(ok(wbox.run(&["ps", "-q"])).lines().count(), 20);
    let all: Vec<&str> = ids.iter().map(String::as_str).collect();
    ok(wbox.run(&[&["rm", "-f"][..], &all].concat()));
    let pruned = ok(wbox.run(&["network", "prune", "-f"]));
    assert_eq!(pruned.lines().count(), 6, "{pruned}");
    assert_eq!(ok(wbox.run(&["ps", "-aq"])), "");
    assert_eq!(ok(wbox.run(&["network", "ls", "-q", "-f", "type=custom"])), "");
    assert_eq!(harness::leftovers(wbox.root.path(), &ids), Default::default());
}
