//! What `version` and `info` report of this wbox, in Docker's fields, for
//! every front end.

use std::path::Path;

use crate::Result;
use crate::container::Containers;
use crate::store::Store;

/// The newest Engine API version the service speaks, and the oldest.
pub const API_VERSION: &str = "1.44";
pub const MIN_API_VERSION: &str = "1.24";

/// The system as Go names it (`darwin`, not `macos`), as Docker reports it.
pub fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// The engine's side of `version`.
pub fn version() -> serde_json::Value {
    let ours = env!("CARGO_PKG_VERSION");
    let (os, arch) = (go_os(), crate::os::platform::arch());
    serde_json::json!({
        "Platform": {"Name": "wbox"},
        "Version": ours,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "Os": os,
        "Arch": arch,
        "GitCommit": "",
        "GoVersion": "",
        "KernelVersion": "",
        "BuildTime": "",
        "Components": [
            {"Name": "Engine", "Version": ours, "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION}},
            {"Name": "wasmtime", "Version": crate::wasm::WASMTIME_VERSION},
        ],
    })
}

/// `info`: what the root holds, and what this host runs.
pub fn info(root: &Path) -> Result<serde_json::Value> {
    let containers = Containers::open(root)?.list()?;
    let running = containers.iter().filter(|c| c.is_running()).count();
    // Each image once, whatever its names, as Docker counts them.
    let mut images: Vec<_> = crate::image::list(&Store::open(root)?)?
        .into_iter()
        .map(|tagged| tagged.image.manifest_digest)
        .collect();
    images.sort();
    images.dedup();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut runtimes = serde_json::json!({ "wasmtime": { "path": "wasmtime" } });
    if crate::os::platform::RUNS_NATIVE {
        runtimes["libcontainer"] = serde_json::json!({ "path": "libcontainer" });
    }
    Ok(serde_json::json!({
        "ID": "",
        "Name": "wbox",
        "Containers": containers.len(),
        "ContainersRunning": running,
        "ContainersPaused": 0,
        "ContainersStopped": containers.len() - running,
        "Images": images.len(),
        "Driver": "oci-layout",
        "LoggingDriver": "json-file",
        "OSType": go_os(),
        "OperatingSystem": go_os(),
        "Architecture": std::env::consts::ARCH,
        "NCPU": cpus,
        "DockerRootDir": root,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": runtimes,
        "DefaultRuntime": "wasmtime",
        "Debug": false,
        "ExperimentalBuild": false,
        "MemTotal": crate::os::process::host_memory().unwrap_or(0),
    }))
}
