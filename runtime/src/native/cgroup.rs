//! What a container's cgroup tells (its processes, OOM kills), and removing
//! what a container left when its runner was killed.

use std::fs;
use std::path::Path;

use libcontainer::container::Container as Runtime;

use crate::plan::CgroupUsage;

/// How many times the kernel's OOM killer struck in a cgroup (v1 or v2).
pub(super) fn oom_kills(cgroup: &str) -> u64 {
    let relative = cgroup.trim_start_matches('/');
    let files = [
        (format!("/sys/fs/cgroup/memory/{relative}/memory.oom_control"), "oom_kill "),
        (format!("/sys/fs/cgroup/{relative}/memory.events"), "oom_kill "),
    ];
    files
        .iter()
        .filter_map(|(path, key)| {
            let text = fs::read_to_string(path).ok()?;
            text.lines().find_map(|l| l.strip_prefix(key)).and_then(|n| n.trim().parse().ok())
        })
        .next()
        .unwrap_or(0)
}

/// The processes in a cgroup (v2, or v1's pids controller).
pub fn processes(cgroup: &str) -> Option<Vec<u32>> {
    let relative = cgroup.trim_start_matches('/');
    [
        format!("/sys/fs/cgroup/{relative}/cgroup.procs"),
        format!("/sys/fs/cgroup/pids/{relative}/cgroup.procs"),
    ]
    .iter()
    .find_map(|path| fs::read_to_string(path).ok())
    .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Kills and removes the container libcontainer keeps state for in
/// `root`, if any: its processes, cgroup and state directory.
pub fn remove_state(root: &Path, id: &str) {
    let state = root.join(id);
    if state.exists() {
        // A killed process takes a moment to leave its cgroup, which cannot
        // be removed before: try again for a while.
        for attempt in 1..=20 {
            let deleted = Runtime::load(state.clone()).map(|mut runtime| runtime.delete(true));
            match deleted {
                Ok(Err(e)) if attempt < 20 => {
                    tracing::debug!("cleaning up container {id} (attempt {attempt}): {e}");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Ok(Err(e)) => tracing::warn!("cleaning up container {id}: {e}"),
                Ok(Ok(())) => break,
                Err(e) => {
                    tracing::warn!("cleaning up container {id}: {e}");
                    break;
                }
            }
        }
        let _ = fs::remove_dir_all(&state);
    }
}

/// Removes what a native container left when its supervisor was killed:
/// its processes and cgroup (through libcontainer's state) and its
/// rootfs mount. Nothing to do for one that ended normally.
pub fn clean_up(container_dir: &Path, id: &str) {
    let dir = container_dir.join("native");
    remove_state(&dir.join("runtime"), id);
    super::rootfs::unmount(&dir.join("rootfs"));
}

/// The use of the cgroup of container `id`.
pub fn usage(id: &str) -> Option<CgroupUsage> {
    let cgroup = format!("wbox/{id}");
    // v2: /sys/fs/cgroup/CGROUP/FILE; v1: /sys/fs/cgroup/CONTROLLER/CGROUP/FILE.
    let read = |files: &[&str]| {
        files.iter().find_map(|file| {
            let path = match file.split_once('/') {
                Some((controller, name)) => format!("/sys/fs/cgroup/{controller}/{cgroup}/{name}"),
                None => format!("/sys/fs/cgroup/{cgroup}/{file}"),
            };
            fs::read_to_string(path).ok()
        })
    };
    // `max` is no number: no limit.
    let number = |files: &[&str]| read(files).and_then(|text| text.trim().parse::<u64>().ok());
    let cpu_v2 = read(&["cpu.stat"]).and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("usage_usec ")?.trim().parse::<u64>().ok())
            .map(|us| us * 1000)
    });
    Some(CgroupUsage {
        cpu_nanos: cpu_v2.or_else(|| number(&["cpuacct/cpuacct.usage"]))?,
        memory: number(&["memory.current", "memory/memory.usage_in_bytes"])?,
        limit: number(&["memory.max", "memory/memory.limit_in_bytes"]),
        pids: number(&["pids.current", "pids/pids.current"]).unwrap_or(0),
    })
}

/// Bytes received and sent on the interfaces other than loopback of the
/// network namespace `pid` is in.
pub fn network(pid: u32) -> (u64, u64) {
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/net/dev")) else { return (0, 0) };
    text.lines()
        .skip(2)
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim() != "lo")
        .map(|(_, counters)| {
            let fields: Vec<u64> = counters.split_whitespace().filter_map(|f| f.parse().ok()).collect();
            (fields.first().copied().unwrap_or(0), fields.get(8).copied().unwrap_or(0))
        })
        .fold((0, 0), |(rx, tx), (r, t)| (rx + r, tx + t))
}
