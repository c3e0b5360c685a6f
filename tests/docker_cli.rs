//! The command line as Docker's: the same commands given to the `docker`
//! CLI against a private dockerd and to wbox, over the same images pulled
//! from the same registry. Their stdout and exit codes must be the same.
//!
//! Docker 20.10 pulls no wasi/wasm image, so the images here are
//! linux/amd64 ones (listing them runs nothing); their times are fixed in
//! the past, so that ages and the order of the list are the same in both.

use wbox_test_harness as harness;

use std::process::Output;

use harness::dockerd::Dockerd;
use harness::images::push_image;
use harness::registry::Registry;
use harness::{Wbox, code, guest, ok, stderr, stdout};

struct Both {
    dockerd: Dockerd,
    wbox: Wbox,
}

impl Both {
    fn new() -> Both {
        Both { dockerd: Dockerd::start(), wbox: Wbox::new() }
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.dockerd.command().args(args).output().expect("running docker")
    }

    /// Runs `args` through both; asserts the same stdout and exit code and
    /// returns the stdout.
    fn same(&self, args: &[&str]) -> String {
        let (docker, wbox) = (self.docker(args), self.wbox.run(args));
        assert_eq!(
            (stdout(&wbox), code(&wbox)),
            (stdout(&docker), code(&docker)),
            "wbox {args:?} differs from docker's\nwbox's stderr: {}\ndocker's stderr: {}",
            stderr(&wbox),
            stderr(&docker)
        );
        stdout(&docker)
    }

    /// `same`, for a list in which Docker's order is not set (the names of
    /// one image come in Go's random map order): the header, then the rows
    /// in any order.
    fn same_rows(&self, args: &[&str]) -> String {
        let (docker, wbox) = (self.docker(args), self.wbox.run(args));
        let rows = |out: &Output| {
            let text = stdout(out);
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let header = if lines.first().is_some_and(|l| l.starts_with("REPOSITORY")) {
                Some(lines.remove(0))
            } else {
                None
            };
            lines.sort();
            (header, lines, code(out))
        };
        assert_eq!(
            rows(&wbox),
            rows(&docker),
            "wbox {args:?} differs from docker's
wbox's stderr: {}",
            stderr(&wbox)
        );
        stdout(&docker)
    }

    /// Runs `args` through both, which must both succeed (their output
    /// may differ: a new container's id); returns their outputs.
    fn succeed(&self, args: &[&str]) -> (Output, Output) {
        let (docker, wbox) = (self.docker(args), self.wbox.run(args));
        assert_eq!((code(&docker), code(&wbox)), (0, 0), "{args:?}: {}{}", stderr(&docker), stderr(&wbox));
        (docker, wbox)
    }

    /// Runs `args` through both, which must both fail with `docker_code`
    /// and print the same (nothing, as a rule) on stdout.
    fn both_fail(&self, args: &[&str], docker_code: i32) {
        let (docker, wbox) = (self.docker(args), self.wbox.run(args));
        assert_eq!(code(&docker), docker_code, "docker {args:?}: {}", stderr(&docker));
        assert_eq!(code(&wbox), docker_code, "wbox {args:?}: {}{}", stdout(&wbox), stderr(&wbox));
        assert_eq!(stdout(&wbox), stdout(&docker), "{args:?}");
    }
}

/// Three images of other times, labels and contents: `hello:1.0`
/// (January 2024, tier=web), `hello:2.0` (February, tier=db) and
/// `other:latest` (March, no label).
fn images(registry: &Registry) -> [String; 3] {
    let module = format!("/app.wasm={}", guest("hello.wasm"));
    let push = |name: &str, created: &str, labels: &[&str]| {
        let mut args = vec!["--os", "linux", "--arch", "amd64", "--created", created, "--env", name];
        args.extend(["--entrypoint", "/app.wasm", "--cmd", "a", "b", "--file", &module]);
        if !labels.is_empty() {
            args.push("--label");
            args.extend(labels);
        }
        push_image(registry, name, &args);
        format!("{}/{name}", registry.addr)
    };
    [
        push("hello:1.0", "2024-01-01T00:00:00Z", &["tier=web", "team=a"]),
        push("hello:2.0", "2024-02-01T00:00:00Z", &["tier=db"]),
        push("other:latest", "2024-03-01T00:00:00Z", &[]),
    ]
}

#[test]
fn images_lists_filters_and_formats_as_docker() {
    let registry = Registry::start();
    let [one, two, other] = images(&registry);
    let both = Both::new();
    for image in [&one, &two, &other] {
        both.same(&["pull", "-q", image]);
    }

    both.same(&["system", "df"]);
    both.same(&["system", "df", "-v"]);
    let table = both.same(&["images"]);
    assert!(table.starts_with("REPOSITORY "), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    both.same(&["image", "ls"]);
    both.same(&["image", "list", "-a"]);
    both.same(&["images", "-q"]);
    both.same(&["images", "--no-trunc"]);
    both.same(&["images", "--digests", &format!("{}/*", registry.addr)]);
    both.same(&["images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}} {{.VirtualSize}}"]);
    both.same(&["images", "--format", "table {{.Repository}}\t{{.Tag}}\t{{.CreatedAt}}"]);
    both.same(&["images", "--format", "{{json .}}"]);
    both.same(&["images", "--format", "{{.Tag | upper}} {{lower .Repository}} {{json .Tag}}"]);

    // An image of two names has a row for each.
    both.same(&["tag", &one, "mine"]);
    let table = both.same_rows(&["images"]);
    assert_eq!(table.lines().count(), 5, "{table}");
    both.same_rows(&["images", "-q"]);

    // Filters: one key's values OR, keys AND.
    let reference = format!("{}/hello", registry.addr);
    both.same(&["images", &reference]);
    both.same(&["images", "-f", "reference=*/hel*"]);
    both.same_rows(&["images", "-f", "reference=*/hello:1*", "-f", "reference=mine"]);
    both.same_rows(&["images", "-f", "label=tier"]);
    both.same(&["images", "-f", "label=tier=db"]);
    both.same_rows(&["images", "-f", "label=tier", "-f", "label=team=a"]);
    both.same_rows(&["images", "-f", &format!("before={other}")]);
    both.same(&["images", "-f", &format!("since={one}")]);
    both.same_rows(&["images", "-f", "dangling=false", "-q"]);

    // inspect with a template, over Docker's own fields.
    let fields = "{{.Id}} {{.Os}}/{{.Architecture}} {{.Created}} {{.Size}} {{json .Config.Env}} \
        {{index .Config.Labels \"tier\"}} {{.Config.Labels}} {{json .RepoTags}} {{len .RootFS.Layers}}";
    both.same(&["inspect", "-f", fields, &two]);
    both.same(&["image", "inspect", "--format", "{{.Config.Entrypoint}} {{.Config.Cmd}}", &two, &other]);
    both.same(&[
        "inspect",
        "--type",
        "image",
        "-f",
        "{{if .Config.Labels}}labelled{{else}}bare{{end}}",
        &other,
    ]);

    both.same(&["history", &one]);
    both.same(&[
        "image",
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.CreatedBy}} {{.Size}} {{.CreatedAt}}",
        &one,
    ]);
    both.same(&["history", "-q", &two]);
    both.same(&["logout", "localhost:5999"]);

    // A name taken by another image leaves the old one without a name.
    both.same(&["tag", &other, &two]);
    let dangling = both.same(&["images", "-q", "-f", "dangling=true"]);
    assert_eq!(dangling.lines().count(), 1, "{dangling}");
    both.same_rows(&["images"]);

    // prune asks first; no answer is no. Then it removes only the image
    // without a name.
    both.same(&["image", "prune"]);
    let pruned = both.same(&["image", "prune", "-f"]);
    assert!(pruned.starts_with("Deleted Images:\nuntagged: "), "{pruned}");
    both.same_rows(&["images"]);
    both.same(&["image", "prune", "-f"]);

    // Refused as Docker refuses them.
    both.both_fail(&["images", "-f", "colour=red"], 1);
    both.both_fail(&["images", "-f", "dangling"], 125);
    both.both_fail(&["images", "-f", "dangling=maybe"], 1);
    both.both_fail(&["images", "--format", "{{.ID"], 1);
}

#[test]
fn ps_lists_filters_and_formats_as_docker() {
    let registry = Registry::start();
    let [one, two, _] = images(&registry);
    let both = Both::new();
    for image in [&one, &two] {
        both.same(&["pull", "-q", image]);
    }
    // Containers created, not started: Docker cannot run these images.
    // (Their ids differ: each prints its own.)
    let create = |args: &[&str]| {
        let (docker, wbox) = (both.docker(args), both.wbox.run(args));
        assert_eq!(code(&docker), 0, "docker {args:?}: {}", stderr(&docker));
        assert_eq!(code(&wbox), 0, "wbox {args:?}: {}", stderr(&wbox));
    };
    create(&["create", "--name", "first", "--label", "role=api", &one, "x"]);
    // Docker's times are to the second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    create(&["create", "--name", "second", "-l", "role=db", "-l", "backup", &two]);

    // (Not `.Labels`: Docker joins them in Go's random map order.)
    both.same(&["system", "df", "--format", "{{json .}}"]);
    let names = "{{.Names}} {{.Image}} {{.Command}} {{.State}} {{.Status}} {{.Label \"tier\"}}";
    assert_eq!(both.same(&["ps"]).lines().count(), 1, "only the header: nothing runs");
    both.same(&["ps", "--format", names]);
    let all = both.same(&["ps", "-a", "--format", names]);
    assert_eq!(all.lines().count(), 2, "{all}");
    both.same(&["container", "ls", "-a", "--format", "table {{.Names}}\t{{.Image}}\t{{.State}}"]);
    both.same(&["container", "list", "-a", "--format", "{{.Names}}: {{.Label \"role\"}}"]);
    both.same(&["ps", "-a", "--no-trunc", "--format", "{{.Command}} {{.Mounts}} {{.LocalVolumes}}"]);
    both.same(&["ps", "-a", "-n", "1", "--format", "{{.Names}}"]);
    both.same(&["ps", "-a", "--latest", "--format", "{{.Names}}"]);

    for filter in [
        "status=created",
        "status=exited",
        "name=sec",
        "name=^first$",
        "label=role",
        "label=role=api",
        "label=backup",
        "before=second",
        "since=first",
        "health=none",
    ] {
        both.same(&["ps", "-a", "-f", filter, "--format", "{{.Names}}"]);
    }
    both.same(&["ps", "-a", "-f", &format!("ancestor={one}"), "--format", "{{.Names}}"]);
    both.same(&["ps", "-a", "-f", "name=first", "-f", "name=second", "--format", "{{.Names}}"]);
    both.same(&["ps", "-a", "-f", "name=first", "-f", "label=role=db", "--format", "{{.Names}}"]);
    both.same(&["ps", "-f", "status=created", "--format", "{{.Names}}"]);

    let fields = "{{.Name}} {{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.Config.Labels}} \
        {{.Config.Image}} {{json .Args}} {{.Path}}";
    both.same(&["inspect", "-f", fields, "first", "second"]);
    both.same(&["container", "inspect", "-f", "{{index .Config.Labels \"role\"}}", "second"]);

    both.same(&["rename", "first", "renamed"]);
    both.same(&["container", "rename", "renamed", "first"]);
    both.same(&["ps", "-a", "--format", "{{.Names}}"]);
    both.both_fail(&["rename", "first", "first"], 1);
    both.both_fail(&["rename", "first", "second"], 1);
    both.both_fail(&["rename", "no-such", "other"], 1);

    // prune removes both, once asked; the ids differ, the shape not.
    both.same(&["container", "prune"]);
    let (docker, wbox) =
        (both.docker(&["container", "prune", "-f"]), both.wbox.run(&["container", "prune", "-f"]));
    let shape = |out: &Output| {
        stdout(out)
            .lines()
            .map(|l| if l.len() == 64 { "ID" } else { l })
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&wbox), shape(&docker), "{}", stderr(&wbox));
    both.same(&["ps", "-a"]);

    both.both_fail(&["ps", "-f", "colour=red"], 1);
    both.both_fail(&["ps", "-f", "status=sleeping"], 1);
    both.both_fail(&["ps", "-f", "name"], 125);
}

#[test]
fn volumes_list_inspect_and_refuse_as_docker() {
    let registry = Registry::start();
    let [one, ..] = images(&registry);
    let both = Both::new();
    both.same(&["pull", "-q", &one]);

    both.same(&["volume", "create", "data"]);
    both.same(&["volume", "create", "--label", "tier=db", "--label", "backup", "labelled"]);
    both.same(&["volume", "ls"]);
    both.same(&["volume", "list", "-q"]);
    both.same(&[
        "volume",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}} {{.Label \"tier\"}} {{.Label \"backup\"}}",
    ]);
    // (Not `.Labels` of two: Docker joins them in Go's random map order.)
    both.same(&["volume", "ls", "--format", "table {{.Name}}\t{{.Label \"tier\"}}\t{{.Driver}}"]);
    both.same(&["volume", "ls", "-f", "name=lab"]);
    both.same(&["volume", "ls", "-f", "label=tier=db", "-q"]);
    both.same(&["volume", "ls", "-f", "driver=local", "-q"]);
    let fields = "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Options}} {{json .Labels}}";
    both.same(&["volume", "inspect", "-f", fields, "data", "labelled"]);

    // In use: it stays, -f or not; unused, it goes.
    let create = ["create", "--name", "holder", "-v", "data:/data", &one];
    assert_eq!(code(&both.docker(&create)), 0);
    assert_eq!(code(&both.wbox.run(&create)), 0, "{}", stderr(&both.wbox.run(&["ps", "-a"])));
    both.same(&["volume", "ls", "-f", "dangling=true"]);
    both.same(&["system", "df"]);
    both.same(&["volume", "ls", "-f", "dangling=false", "-q"]);
    both.same(&["ps", "-a", "-f", "volume=/data", "--format", "{{.Names}}"]);
    both.same(&["ps", "-a", "-f", "volume=data", "--format", "{{.Names}} {{.Mounts}} {{.LocalVolumes}}"]);
    both.both_fail(&["volume", "rm", "data"], 1);
    both.both_fail(&["volume", "rm", "-f", "data"], 1);
    both.same(&["volume", "rm", "labelled"]);
    both.same(&["volume", "rm", "-f", "no-such"]);
    both.same(&["rm", "holder"]);
    both.same(&["volume", "rm", "data"]);
    both.same(&["volume", "ls"]);

    both.both_fail(&["volume", "inspect", "no-such"], 1);
    both.both_fail(&["volume", "rm", "no-such"], 1);
    both.both_fail(&["volume", "create", "bad/name"], 1);
    both.both_fail(&["volume", "ls", "-f", "colour=red"], 1);
}

#[test]
fn an_images_volumes_are_made_and_filled_as_docker_makes_them() {
    let registry = Registry::start();
    let seed = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(seed.path(), "from the image\n").unwrap();
    let file = format!("/data/seed={}", seed.path().display());
    let args = [
        "--os",
        "linux",
        "--arch",
        "amd64",
        "--entrypoint",
        "/bin/true",
        "--file",
        &file,
        "--volume",
        "/data",
        // A service's data is its own, as a database image has it.
        "--owner",
        "/data=1000:1001:0750",
        "/data/seed=1000:1001:0640",
    ];
    push_image(&registry, "seeded:1", &args);
    let image = format!("{}/seeded:1", registry.addr);
    let both = Both::new();
    both.same(&["pull", "-q", &image]);

    // Each reads the files of its volumes where it says they are.
    // Each file's name and text, and each file's and the volume's mode.
    // (Not their owners: the store keeps no owner of an image's files.)
    let files = |out: Output| -> Vec<(String, String)> {
        use std::os::unix::fs::MetadataExt;
        let owned = |meta: std::fs::Metadata| format!("{:o}", meta.mode());
        let mut found = Vec::new();
        for mountpoint in stdout(&out).lines() {
            found.push((".".to_owned(), owned(std::fs::metadata(mountpoint).unwrap())));
            for entry in std::fs::read_dir(mountpoint).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let text = std::fs::read_to_string(entry.path()).unwrap();
                found.push((name, format!("{text} {}", owned(entry.metadata().unwrap()))));
            }
        }
        found.sort();
        found
    };
    let mountpoints = |args: &[&str]| -> [Vec<(String, String)>; 2] {
        let volumes = |which: &dyn Fn(&[&str]) -> Output| {
            let names = stdout(&which(&["volume", "ls", "-q"]));
            let mut inspect = vec!["volume", "inspect", "-f", "{{.Mountpoint}}"];
            inspect.extend(names.lines());
            if names.is_empty() { Vec::new() } else { files(which(&inspect)) }
        };
        let (docker, wbox) = (both.docker(args), both.wbox.run(args));
        assert_eq!(code(&docker), 0, "{}", stderr(&docker));
        assert_eq!(code(&wbox), 0, "{}", stderr(&wbox));
        [volumes(&|a| both.docker(a)), volumes(&|a| both.wbox.run(a))]
    };

    // An image's VOLUME: a new anonymous volume, filled from the image.
    let [docker, wbox] = mountpoints(&["create", "--name", "anonymous", &image]);
    let want = [(".", "40750"), ("seed", "from the image\n 100640")];
    assert_eq!(docker, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    assert_eq!(wbox, docker);
    both.same(&["rm", "-v", "anonymous"]);
    both.same(&["volume", "ls", "-q"]);

    // A named one at that path, empty, is filled the same way.
    let [docker, wbox] = mountpoints(&["create", "--name", "named", "-v", "kept:/data", &image]);
    assert_eq!(wbox, docker);
    both.same(&["volume", "ls", "-q"]);
    both.same(&["rm", "-v", "named"]);
    both.same(&["volume", "ls", "-q"]);
}

#[test]
fn events_tell_what_docker_tells() {
    let registry = Registry::start();
    let [one, ..] = images(&registry);
    let both = Both::new();
    both.same(&["pull", "-q", &one]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let now = || {
        let t = chrono::Utc::now();
        format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
    };
    let since = now();
    for args in [
        &["volume", "create", "kept"][..],
        &["create", "--name", "first", "-l", "role=api", "-v", "kept:/data", &one],
        &["tag", &one, "other:1"],
        &["rmi", "other:1"],
        &["rename", "first", "renamed"],
        &["rm", "renamed"],
        &["volume", "rm", "kept"],
    ] {
        let (docker, wbox) = (both.docker(args), both.wbox.run(args));
        assert_eq!((code(&wbox), code(&docker)), (0, 0), "{args:?}: {}{}", stderr(&docker), stderr(&wbox));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let until = now();
    let told = |filters_and_format: &[&str]| {
        let mut args = vec!["events", "--since", &since, "--until", &until];
        args.extend_from_slice(filters_and_format);
        both.same(&args)
    };
    let story =
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.role}} {{.Status}} {{.From}}";
    assert_eq!(told(&["--format", story]).lines().count(), 8);
    told(&["-f", "type=container", "--format", story]);
    told(&["-f", "event=destroy", "-f", "event=untag", "--format", "{{.Type}} {{.Action}}"]);
    told(&["-f", "container=renamed", "--format", "{{.Action}}"]);
    told(&["-f", "volume=kept", "--format", "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}"]);
    // Docker lets an unknown key through, and so everything.
    told(&["-f", "colour=red", "--format", "{{.Action}}"]);
    let system = [
        "system",
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "-f",
        "type=image",
        "--format",
        "{{.Action}}",
    ];
    both.same(&system);
}

#[test]
fn a_native_containers_changes_are_what_docker_sees() {
    let registry = Registry::start();
    harness::images::push_busybox_image(&registry, "busybox:latest");
    let busybox = format!("{}/busybox:latest", registry.addr);
    let both = Both::new();
    both.same(&["pull", "-q", &busybox]);
    let script = "echo x > /new && mkdir -p /made/deep && rm /etc/group && echo y >> /etc/passwd";
    let run = ["run", "--network", "none", "--name", "changed", &busybox, "sh", "-c", script];
    let (docker, wbox) = (both.docker(&run), both.wbox.run(&run));
    assert_eq!((code(&docker), code(&wbox)), (0, 0), "{}{}", stderr(&docker), stderr(&wbox));
    // (Docker lists them in the order it walks its files: any.)
    let sorted = |out: Output| {
        let mut lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
        lines.sort_by(|a, b| a[2..].cmp(&b[2..]));
        (lines, code(&out))
    };
    let told = sorted(both.docker(&["diff", "changed"]));
    assert_eq!(told.0, ["C /etc", "D /etc/group", "C /etc/passwd", "A /made", "A /made/deep", "A /new"]);
    assert_eq!(sorted(both.wbox.run(&["diff", "changed"])), told);
    assert_eq!(sorted(both.wbox.run(&["container", "diff", "changed"])), told);

    // export: the image's files with the container's changes.
    let dir = tempfile::tempdir().unwrap();
    let files = |archive: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = tar::Archive::new(std::fs::File::open(archive).unwrap())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string().trim_end_matches('/').to_owned())
            .collect();
        names.sort();
        names
    };
    let (docker_tar, wbox_tar) = (dir.path().join("docker.tar"), dir.path().join("wbox.tar"));
    assert_eq!(code(&both.docker(&["export", "-o", docker_tar.to_str().unwrap(), "changed"])), 0);
    ok(both.wbox.run(&["export", "-o", wbox_tar.to_str().unwrap(), "changed"]));
    let wbox_files = files(&wbox_tar);
    assert!(wbox_files.contains(&"new".to_owned()) && !wbox_files.contains(&"etc/group".to_owned()));
    // Docker's own marker and the mount points of its init layer are
    // Docker's, not the container's.
    let dockers_own = [".dockerenv", "dev/console", "dev/pts", "dev/shm", "etc/mtab"];
    let docker_files: Vec<String> =
        files(&docker_tar).into_iter().filter(|f| !dockers_own.contains(&f.as_str())).collect();
    assert_eq!(wbox_files, docker_files);

    // And back: an image of those files runs with the changes in it.
    let platform = format!("linux/{}", wbox_runtime::os::platform::arch());
    let import =
        ["import", "--platform", &platform, "-c", "CMD [\"sh\"]", wbox_tar.to_str().unwrap(), "snap:1"];
    ok(both.wbox.run(&import));
    let shown = ok(both.wbox.run(&["run", "--rm", "snap:1", "sh", "-c", "cat /new; ls /etc/group || true"]));
    assert_eq!(shown, "x\n", "the file made is there, the one removed is not");

    // commit: the changes as a layer over the image, then the config asked.
    let commit = ["commit", "-m", "changed", "-c", "ENV STATE=committed", "changed", "committed:1"];
    let (docker, wbox) = (both.docker(&commit), both.wbox.run(&commit));
    assert_eq!((code(&docker), code(&wbox)), (0, 0), "{}{}", stderr(&docker), stderr(&wbox));
    let check = [
        "run",
        "--rm",
        "--network",
        "none",
        "committed:1",
        "sh",
        "-c",
        "cat /new /etc/passwd | tail -2; echo $STATE; ls /etc/group",
    ];
    both.same(&check);
    both.same(&["history", "--format", "{{.Comment}}", "committed:1"]);
    both.same(&["inspect", "-f", "{{len .RootFS.Layers}} {{.Config.Env}}", "committed:1"]);
}

/// Runs `script` with bash, `$TOOL` being `command`'s program with its
/// environment; it must succeed. Returns what it printed.
fn script_through(command: std::process::Command, script: &str, dir: &std::path::Path) -> String {
    let mut bash = std::process::Command::new("bash");
    bash.args(["-euo", "pipefail", "-c", script]).current_dir(dir).env("TOOL", command.get_program());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => bash.env(key, value),
            None => bash.env_remove(key),
        };
    }
    let out = bash.stdin(std::process::Stdio::null()).output().expect("running bash");
    assert_eq!(code(&out), 0, "{script}\nfailed: {}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

#[test]
fn the_tutorials_command_lists_run_as_scripts_with_either() {
    // The tutorials' `docker image build|push|ls|history|inspect|rm` and
    // `docker container create|start|run|ls|inspect|logs|stop|kill|rm`,
    // word for word but for the tool's name, over an image either can run.
    let registry = Registry::start();
    harness::images::push_busybox_image(&registry, "busybox:latest");
    let context = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {}/busybox:latest\nLABEL tier=web\nCMD [\"sh\", \"-c\", \"echo serving; sleep 30\"]\n",
        registry.addr
    );
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let app = format!("{}/app:1.0", registry.addr);
    let script = format!(
        r#"
        $TOOL image build -q -t {app} . > /dev/null
        $TOOL image push -q {app} > /dev/null
        $TOOL image ls --format '{{{{.Repository}}}}:{{{{.Tag}}}}' {app}
        $TOOL image history -q {app} | wc -l
        $TOOL image inspect -f '{{{{.Config.Cmd}}}} {{{{.Config.Labels.tier}}}}' {app}
        $TOOL container create --name web --network none {app} > /dev/null
        $TOOL container start web
        $TOOL container ls --format '{{{{.Names}}}} {{{{.State}}}} {{{{.Image}}}}'
        $TOOL container inspect -f '{{{{.State.Running}}}}' web
        sleep 1
        $TOOL container logs web
        $TOOL container stop -t 1 web
        $TOOL container ls -a --format '{{{{.Names}}}} {{{{.State}}}}'
        $TOOL container inspect -f '{{{{.State.ExitCode}}}}' web
        $TOOL container run --rm --network none {app} echo ran
        $TOOL container start web > /dev/null
        $TOOL container kill web
        $TOOL container wait web
        $TOOL container rm web
        $TOOL image rm {app} > /dev/null
        $TOOL image ls -q {app} | wc -l
        "#
    );
    let both = Both::new();
    let told = script_through(both.dockerd.command(), &script, context.path());
    assert!(told.contains("serving\n"), "{told}");
    assert_eq!(script_through(both.wbox.command(), &script, context.path()), told);
}

/// What a host directory holds, as `cp` must make it: each path with its
/// kind, size, mode and modification time, and a symlink's target.
fn tree(dir: &std::path::Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            let target = std::fs::read_link(&path).map(|t| t.display().to_string()).unwrap_or_default();
            let size = if meta.is_file() { meta.size() } else { 0 };
            let mode = if meta.file_type().is_symlink() { 0 } else { meta.mode() };
            found.push(format!("{name} {mode:o} {size} {} {target}", meta.mtime()));
            if meta.is_dir() {
                pending.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn cp_copies_into_and_out_of_a_running_container_as_docker_does() {
    use std::os::unix::fs::PermissionsExt;
    let registry = Registry::start();
    harness::images::push_busybox_image(&registry, "busybox:latest");
    let busybox = format!("{}/busybox:latest", registry.addr);
    let both = Both::new();
    both.same(&["pull", "-q", &busybox]);
    let run = ["run", "-d", "--network", "none", "--name", "box", &busybox, "sleep", "600"];
    let (docker, wbox) = (both.docker(&run), both.wbox.run(&run));
    assert_eq!((code(&docker), code(&wbox)), (0, 0), "{}{}", stderr(&docker), stderr(&wbox));

    // A host tree of a file, a directory, a symlink, modes and old times.
    let host = tempfile::tempdir().unwrap();
    let src = host.path().join("src");
    std::fs::create_dir_all(src.join("dir/sub")).unwrap();
    std::fs::write(src.join("a.txt"), "aaa").unwrap();
    std::fs::write(src.join("dir/b.txt"), "bee").unwrap();
    std::fs::write(src.join("dir/sub/c"), "sea").unwrap();
    std::os::unix::fs::symlink("b.txt", src.join("dir/link")).unwrap();
    std::fs::set_permissions(src.join("a.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::set_permissions(src.join("dir/sub"), std::fs::Permissions::from_mode(0o750)).unwrap();
    // Another user's file, copied with -a and without: dockerd (as root)
    // keeps its owner either way.
    std::fs::write(src.join("owned.txt"), "theirs").unwrap();
    std::os::unix::fs::chown(src.join("owned.txt"), Some(1000), Some(1001)).unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    for file in ["a.txt", "dir/b.txt", "dir/sub/c"] {
        std::fs::File::options().write(true).open(src.join(file)).unwrap().set_modified(old).unwrap();
    }
    let src = |path: &str| format!("{}/{path}", src.display());

    // Into the container, by each of Docker's rules; then what it holds.
    for into in [
        vec![src("a.txt"), "box:/tmp/".into()],
        vec![src("a.txt"), "box:/tmp/renamed.txt".into()],
        vec![src("dir"), "box:/tmp/newdir".into()],
        vec![src("dir"), "box:/tmp".into()],
        vec![src("dir/."), "box:/home".into()],
        vec!["-L".into(), src("dir/link"), "box:/tmp/followed".into()],
        vec!["-a".into(), src("owned.txt"), "box:/tmp/owned-with-a".into()],
        vec![src("owned.txt"), "box:/tmp/owned-without-a".into()],
    ] {
        let args: Vec<&str> = std::iter::once("cp").chain(into.iter().map(String::as_str)).collect();
        let (_, wbox) = both.succeed(&args);
        assert_eq!(stdout(&wbox), "", "as Docker 20.10's, a copy prints nothing");
    }
    for refused in [
        vec![src("a.txt"), "box:/nowhere/x.txt".into()],
        vec![src("a.txt"), "box:/nowhere/".into()],
        vec![src("dir"), "box:/etc/passwd".into()],
        vec![src("missing"), "box:/tmp".into()],
        vec!["box:/etc/passwd".into(), "box:/tmp".into()],
        vec![src("a.txt"), src("b.txt")],
        vec!["box:/nothing-here".into(), src("x")],
    ] {
        let args: Vec<&str> = std::iter::once("cp").chain(refused.iter().map(String::as_str)).collect();
        both.both_fail(&args, 1);
    }
    let listing = "find /tmp /home | sort | xargs stat -c '%n %F %s %a %u:%g %Y' | grep -v ' directory .* [0-9]*$' \
                   ; find /tmp /home -type d | sort | xargs stat -c '%n %a %u:%g'";
    both.same(&["exec", "box", "sh", "-c", listing]);
    // A tar on stdin is unpacked into a directory as it is.
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o600);
    header.set_mtime(1_500_000_000);
    tar.append_data(&mut header, "from-tar/note", &b"tar\n"[..]).unwrap();
    let tar = tar.into_inner().unwrap();
    let mut docker = both.dockerd.command();
    docker.args(["cp", "-", "box:/tmp"]);
    let docker = harness::output_with_stdin(docker, &tar);
    assert_eq!(code(&docker), 0, "{}", stderr(&docker));
    ok(both.wbox.run_with_stdin(&["cp", "-", "box:/tmp"], &tar));
    both.same(&["exec", "box", "stat", "-c", "%n %s %a %Y", "/tmp/from-tar/note"]);

    // Out of the container: the same files, modes and times on the host; a
    // link in the container that points at /etc leads to the container's
    // /etc, never the host's.
    let (docker, wbox) = both.succeed(&["exec", "box", "ln", "-s", "/etc", "/tmp/etc-link"]);
    assert_eq!((stdout(&docker), stdout(&wbox)), (String::new(), String::new()));
    let out = |tool: &str, path: &str| format!("{}/{tool}/{path}", host.path().display());
    for tool in ["docker", "wbox"] {
        std::fs::create_dir_all(out(tool, "")).unwrap();
        let copies = [
            vec!["box:/tmp/newdir".to_owned(), out(tool, "")],
            vec!["box:/etc/passwd".to_owned(), out(tool, "pw")],
            vec!["box:/tmp/newdir/.".to_owned(), out(tool, "contents")],
            vec!["box:/tmp/newdir/link".to_owned(), out(tool, "as-link")],
            vec!["-L".to_owned(), "box:/tmp/newdir/link".to_owned(), out(tool, "followed")],
            vec!["box:/tmp/etc-link/passwd".to_owned(), out(tool, "via-link")],
        ];
        for copy in copies {
            let args: Vec<&str> = std::iter::once("cp").chain(copy.iter().map(String::as_str)).collect();
            let done = if tool == "docker" { both.docker(&args) } else { both.wbox.run(&args) };
            assert_eq!(code(&done), 0, "{tool} {args:?}: {}", stderr(&done));
        }
    }
    assert_eq!(tree(&host.path().join("wbox")), tree(&host.path().join("docker")));
    let via_link = std::fs::read_to_string(out("wbox", "via-link")).unwrap();
    assert!(
        via_link.starts_with("root:x:0:0:") && via_link != std::fs::read_to_string("/etc/passwd").unwrap()
    );
    // `-` as the destination: a tar of the source, its name on top.
    let entries = |out: Output| -> Vec<String> {
        tar::Archive::new(out.stdout.as_slice())
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                format!("{} {:o}", e.path().unwrap().display(), e.header().mode().unwrap())
            })
            .collect()
    };
    let args = ["cp", "box:/tmp/newdir", "-"];
    assert_eq!(entries(both.wbox.run(&args)), entries(both.docker(&args)));
    for tool in [both.docker(&["rm", "-f", "box"]), both.wbox.run(&["rm", "-f", "box"])] {
        assert_eq!(code(&tool), 0, "{}", stderr(&tool));
    }
}

#[test]
fn prunes_take_label_and_until_filters_as_docker_does() {
    let registry = Registry::start();
    let [one, two, other] = images(&registry);
    let both = Both::new();
    for image in [&one, &two, &other] {
        both.same(&["pull", "-q", image]);
    }
    let listed = ["images", "--format", "{{.Repository}}:{{.Tag}}"];

    // Images: created before `until`, with or without a label.
    both.same(&["image", "prune", "-a", "-f", "--filter", "until=2024-01-15T00:00:00Z"]);
    assert_eq!(both.same(&listed).lines().count(), 2);
    both.same(&["image", "prune", "-a", "-f", "--filter", "label!=tier"]);
    assert_eq!(both.same(&listed), format!("{}:2.0\n", two.rsplit_once(':').unwrap().0));
    both.same(&["image", "prune", "-a", "-f", "--filter", "label=tier=web"]);
    assert_eq!(both.same(&listed).lines().count(), 1, "no image of that label is left");

    // Containers: by their labels, and made before `until`.
    for (name, label) in [("first", "keep=yes"), ("second", "keep=no"), ("third", "other=1")] {
        both.succeed(&["create", "--name", name, "--label", label, &two]);
    }
    let names = ["ps", "-a", "--format", "{{.Names}}"];
    for prune in [&["--filter", "label=keep=no"][..], &["--filter", "label!=keep"]] {
        let args: Vec<&str> = ["container", "prune", "-f"].iter().chain(prune).copied().collect();
        let (docker, wbox) = both.succeed(&args);
        assert_eq!(stdout(&wbox).lines().count(), stdout(&docker).lines().count(), "{}", stdout(&wbox));
        both.same(&names);
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    both.succeed(&["create", "--name", "fourth", &two]);
    both.both_fail(&["create", "--name", "fourth", &two], 1);
    both.succeed(&["container", "prune", "-f", "--filter", &format!("until={between}")]);
    assert_eq!(both.same(&names), "fourth\n");

    // What each prune does not take.
    both.both_fail(&["volume", "prune", "-f", "--filter", "until=1h"], 1);
    both.both_fail(&["container", "prune", "-f", "--filter", "dangling=true"], 1);
    both.both_fail(&["image", "prune", "-f", "--filter", "until=1h", "--filter", "until=2h"], 1);
}

#[test]
fn import_makes_one_step_with_its_message_as_docker_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(6);
    header.set_mode(0o755);
    header.set_mtime(1_600_000_000);
    tar.append_data(&mut header, "bin/tool", &b"#!x\nok"[..]).unwrap();
    let tar_path = dir.path().join("files.tar");
    std::fs::write(&tar_path, tar.into_inner().unwrap()).unwrap();
    let tar_arg = tar_path.to_str().unwrap();
    let both = Both::new();
    let platform = format!("linux/{}", wbox_runtime::os::platform::arch());
    // From a file, a URL and stdin; with a message and changes, and without.
    let served = harness::file_server(std::fs::read(&tar_path).unwrap());
    let url = format!("http://127.0.0.1:{served}/files.tar");
    for (source, name, extra) in [
        (tar_arg, "imp:1", &["-m", "first import", "-c", "ENV A=1", "-c", "CMD [\"/bin/tool\"]"][..]),
        (tar_arg, "imp:2", &[][..]),
        (url.as_str(), "imp:3", &["--message", "from the web"][..]),
    ] {
        let mut args = vec!["import", "--platform", &platform];
        args.extend(extra);
        args.extend([source, name]);
        both.succeed(&args);
        let history = ["history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}|{{.Size}}", name];
        both.same(&history);
        let config = "{{.Comment}}|{{.Author}}|{{json .Config.Env}}|{{json .Config.Cmd}}|{{.Os}}|{{len .RootFS.Layers}}|{{.Size}}";
        both.same(&["inspect", "-f", config, name]);
    }
    let mut docker = both.dockerd.command();
    docker.args(["import", "--platform", &platform, "-", "imp:4"]);
    let docker = harness::output_with_stdin(docker, &std::fs::read(&tar_path).unwrap());
    assert_eq!(code(&docker), 0, "{}", stderr(&docker));
    let args = ["import", "--platform", &platform, "-", "imp:4"];
    ok(both.wbox.run_with_stdin(&args, &std::fs::read(&tar_path).unwrap()));
    both.same(&["history", "--format", "{{.CreatedBy}}|{{.Comment}}", "imp:4"]);
    both.both_fail(&["import", "http://127.0.0.1:1/nothing.tar"], 1);
}
