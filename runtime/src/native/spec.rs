//! The OCI runtime spec of a native container, from the image config and
//! the run flags, with Docker's defaults: its mounts, capabilities, masked
//! paths and syscall filter.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::plan::DirGrant;
use crate::plan::NativeOptions;
use crate::{Error, Result};

/// Docker's default capabilities.
const CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability Linux has, by number, for `--privileged`.
const ALL_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// `--privileged`: every capability this process may hand on (its bounding
/// set, as Docker gives its daemon's): asking for one outside it fails.
fn privileged_capabilities() -> Vec<&'static str> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let bounding = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(u64::MAX);
    ALL_CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| bounding & (1 << bit) != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// Paths of the host's kernel a container must not read (Docker's list).
const MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths it may read but not change.
const READ_ONLY: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// Everything a native container's spec is made of.
pub(super) struct Plan<'a> {
    pub args: &'a [String],
    pub env: &'a [String],
    pub cwd: &'a str,
    pub user: super::command::User,
    pub hostname: &'a str,
    pub rootfs: &'a Path,
    /// Holds the container's own `hostname`, `hosts` and `resolv.conf`.
    pub etc: &'a Path,
    pub dirs: &'a [DirGrant],
    pub options: &'a NativeOptions,
    pub memory: Option<u64>,
    pub host_network: bool,
    /// `-t`: the process gets a pseudo-terminal.
    pub terminal: bool,
    pub cgroup: String,
    /// When wbox runs unprivileged: the user and group it runs as, mapped
    /// to root in the container's own user namespace.
    pub rootless: Option<(u32, u32)>,
}

pub(super) fn generate(plan: &Plan) -> Result<oci_spec::runtime::Spec> {
    let privileged = plan.options.privileged;
    let rootless = plan.rootless.is_some();
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"]),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            // Group 5 (tty) is not mapped in a rootless container.
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                if rootless { "" } else { "gid=5" },
            ]
            .into_iter()
            .filter(|o| !o.is_empty())
            .collect::<Vec<_>>(),
        ),
        mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
    ];
    if rootless {
        // Without root, sysfs cannot be mounted anew, nor the cgroup
        // hierarchy: the host's /sys is bound, read-only.
        mounts.push(json!({"destination": "/sys", "type": "none", "source": "/sys",
            "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}));
    } else {
        let mode = if privileged { "rw" } else { "ro" };
        mounts.push(mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", mode]));
        mounts.push(mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ));
    }
    for file in ["hostname", "hosts", "resolv.conf"] {
        mounts.push(bind(&plan.etc.join(file), &format!("/etc/{file}"), false));
    }
    for dir in plan.dirs {
        mounts.push(bind(&dir.host, &dir.guest, dir.read_only));
    }
    for tmpfs in &plan.options.tmpfs {
        let (path, options) = tmpfs.split_once(':').unwrap_or((tmpfs, ""));
        let mut all = vec!["nosuid", "nodev", "noexec"];
        all.extend(options.split(',').filter(|o| !o.is_empty()));
        mounts.push(mount(path, "tmpfs", "tmpfs", &all));
    }

    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if !plan.host_network {
        namespaces.push(json!({"type": "network"}));
    }
    namespaces.push(json!({"type": "cgroup"}));
    if rootless {
        namespaces.push(json!({"type": "user"}));
    }

    let mut resources = json!({
        "devices": [{"allow": privileged, "access": "rwm"}],
    });
    if let Some(memory) = plan.memory {
        let memory = i64::try_from(memory).unwrap_or(i64::MAX);
        // No swap beyond the limit: past it the guest is OOM-killed, not slowed.
        resources["memory"] = json!({"limit": memory, "swap": memory});
    }
    if let Some(cpus) = plan.options.cpus {
        let period = 100_000u64;
        resources["cpu"] = json!({"quota": (cpus * period as f64) as i64, "period": period});
    }
    if let Some(pids) = plan.options.pids_limit {
        resources["pids"] = json!({"limit": pids});
    }

    let capabilities = if privileged { privileged_capabilities() } else { CAPABILITIES.to_vec() };
    let mut linux = json!({"namespaces": namespaces});
    match plan.rootless {
        // Cgroups are root's: a rootless container has no limits (the
        // caller refuses limit flags) and stays in wbox's own cgroup.
        Some((uid, gid)) => {
            linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
            linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
        }
        None => {
            linux["resources"] = resources;
            linux["cgroupsPath"] = json!(plan.cgroup);
        }
    }
    if !privileged {
        linux["maskedPaths"] = json!(MASKED);
        linux["readonlyPaths"] = json!(READ_ONLY);
        linux["seccomp"] = super::seccomp::default_profile();
    }

    let spec = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": plan.terminal,
            "user": {"uid": plan.user.uid, "gid": plan.user.gid, "additionalGids": plan.user.groups},
            "args": plan.args,
            "env": plan.env,
            "cwd": plan.cwd,
            "capabilities": {
                "bounding": capabilities,
                "effective": capabilities,
                "permitted": capabilities,
            },
            // Left out rather than false (Docker's default): libcontainer
            // 0.7 loads the syscall filter while it still has
            // CAP_SYS_ADMIN only when the field is absent.
        },
        "root": {"path": plan.rootfs, "readonly": plan.options.read_only},
        "hostname": plan.hostname,
        "mounts": mounts,
        "linux": linux,
    });
    serde_json::from_value(spec)
        .map_err(|e| Error::Internal(anyhow::anyhow!("the runtime spec wbox made is invalid: {e}")))
}

fn mount(destination: &str, kind: &str, source: &str, options: &[&str]) -> Value {
    json!({"destination": destination, "type": kind, "source": source, "options": options})
}

fn bind(host: &PathBuf, guest: &str, read_only: bool) -> Value {
    let mode = if read_only { "ro" } else { "rw" };
    json!({"destination": guest, "type": "bind", "source": host, "options": ["rbind", "rprivate", mode]})
}
