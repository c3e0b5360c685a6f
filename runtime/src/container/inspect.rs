//! `docker inspect`'s view of a container.

use chrono::{DateTime, Utc};

use super::{Container, Status};
use crate::plan::{Network, PublishedPort};

impl Container {
    pub fn inspect(&self) -> serde_json::Value {
        let (c, spec) = (&self.config, &self.config.spec);
        let s = &self.state;
        let networks = self.network_settings();
        let time = |t: Option<DateTime<Utc>>| {
            t.map_or("0001-01-01T00:00:00Z".to_owned(), |t| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
            })
        };
        let mounts: Vec<_> = spec
            .grants
            .dirs
            .iter()
            .map(|d| {
                serde_json::json!({
                    "Type": "bind", "Source": d.host, "Destination": d.guest,
                    "Mode": if d.read_only { "ro" } else { "" }, "RW": !d.read_only,
                })
            })
            .collect();
        // The program before the arguments: the image's ENTRYPOINT or its
        // replacement.
        let program = &spec.argv[..spec.argv.len().saturating_sub(spec.args.len())];
        let entrypoint =
            if program.is_empty() { serde_json::Value::Null } else { serde_json::json!(program) };
        let mut inspected = serde_json::json!({
            "Id": c.id,
            "Created": time(Some(c.created)),
            "Path": spec.argv.first(),
            "Args": spec.argv.iter().skip(1).collect::<Vec<_>>(),
            "State": {
                "Status": s.status.as_str(),
                "Running": s.status == Status::Running,
                "Paused": false,
                "Restarting": false,
                "OOMKilled": s.oom_killed,
                "Dead": s.status == Status::Dead,
                "Pid": s.pid.filter(|_| s.status == Status::Running).unwrap_or(0),
                "ExitCode": s.exit_code.unwrap_or(0),
                "Error": s.error.clone().unwrap_or_default(),
                "StartedAt": time(s.started_at),
                "FinishedAt": time(s.finished_at),
            },
            "Image": spec.image_id,
            "Name": format!("/{}", c.name),
            "RestartCount": s.restart_count,
            "LogPath": self.log_path().unwrap_or_default(),
            "Mounts": mounts,
            "NetworkSettings": {
                "Ports": port_map(self.published_ports(), |p| serde_json::json!([{
                    "HostIp": p.host_ip.map_or("0.0.0.0".to_owned(), |ip| ip.to_string()),
                    "HostPort": p.host_port.to_string(),
                }])),
                "Networks": networks,
            },
            "HostConfig": {
                "PortBindings": port_map(&spec.grants.ports, |p| serde_json::json!([{
                    "HostIp": p.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    "HostPort": if p.host_port == 0 { String::new() } else { p.host_port.to_string() },
                }])),
                "NetworkMode": match (networks.keys().next(), &spec.grants.network) {
                    (Some(name), _) => name.as_str(),
                    (None, Network::None) => "none",
                    (None, Network::Host) => "host",
                    (None, Network::Allow(_)) => "allow-list",
                },
                "Binds": spec.grants.dirs.iter().map(|d| format!("{}:{}{}", d.host.display(), d.guest, if d.read_only { ":ro" } else { "" })).collect::<Vec<_>>(),
                "Memory": spec.limits.memory.unwrap_or(0),
                "NanoCpus": spec.native.cpus.map_or(0, |c| (c * 1e9) as i64),
                "PidsLimit": spec.native.pids_limit,
                "Privileged": spec.native.privileged,
                "ReadonlyRootfs": spec.native.read_only,
                "Tmpfs": spec.native.tmpfs.iter().map(|t| {
                    let (path, options) = t.split_once(':').unwrap_or((t, ""));
                    (path.to_owned(), serde_json::json!(options))
                }).collect::<serde_json::Map<_, _>>(),
                "AutoRemove": spec.auto_remove,
                "RestartPolicy": { "Name": spec.restart.docker_name(), "MaximumRetryCount": spec.restart.max_retries },
                "LogConfig": spec.log,
                "Timeout": spec.limits.timeout.map(|t| t.as_secs_f64()),
            },
            "Config": {
                "Image": spec.image,
                "Entrypoint": entrypoint,
                "Cmd": spec.args,
                "MacAddress": "",
                "Domainname": "",
                "Env": spec.grants.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
                "WorkingDir": spec.grants.workdir.clone().unwrap_or_default(),
                "Hostname": spec.native.hostname.clone().unwrap_or_else(|| c.id[..12].to_owned()),
                "User": spec.native.user.clone().unwrap_or_default(),
                "StopTimeout": spec.stop_timeout,
                "Labels": spec.labels,
                "Tty": spec.grants.tty == Some(true),
                "OpenStdin": spec.grants.stdin,
                "StdinOnce": spec.stdin_once,
                "AttachStdin": false,
                "AttachStdout": false,
                "AttachStderr": false,
            },
        });
        if let Some(host) = inspected["HostConfig"].as_object_mut() {
            host.extend(unset_host_config());
        }
        inspected
    }
}

/// The HostConfig fields wbox does not set, as Docker shows them unset:
/// typed clients read them.
fn unset_host_config() -> serde_json::Map<String, serde_json::Value> {
    let unset = serde_json::json!({
        "CgroupnsMode": "private", "IpcMode": "private", "PidMode": "", "UTSMode": "",
        "UsernsMode": "", "Isolation": "", "Runtime": "runc", "VolumeDriver": "",
        "VolumesFrom": null, "Links": null, "Init": null, "DeviceCgroupRules": null,
        "CapAdd": null, "CapDrop": null, "GroupAdd": null, "ExtraHosts": null, "SecurityOpt": null,
        "Dns": [], "DnsOptions": [], "DnsSearch": [], "Devices": [], "Ulimits": null,
        "CpuShares": 0, "CpuPeriod": 0, "CpuQuota": 0, "CpusetCpus": "", "CpusetMems": "",
        "BlkioWeight": 0, "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": null,
        "OomKillDisable": false, "ShmSize": 67108864,
    });
    match unset {
        serde_json::Value::Object(fields) => fields,
        _ => unreachable!("an object"),
    }
}

/// Docker's map of ports: `{"80/tcp": VALUE}`.
fn port_map(
    ports: &[PublishedPort],
    value: impl Fn(&PublishedPort) -> serde_json::Value,
) -> serde_json::Value {
    ports.iter().map(|p| (format!("{}/{}", p.container_port, p.protocol()), value(p))).collect()
}
