//! The platforms (`os/arch`, as images name them) this host runs: wasm
//! images everywhere, native Linux images on Linux only (they need its
//! namespaces).

/// Whether native (Linux) images run here.
pub const RUNS_NATIVE: bool = cfg!(target_os = "linux");

/// This host's architecture as images name it (`amd64`, `arm64`).
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// What an image may be for to run here, in the order of preference.
pub fn runnable() -> Vec<String> {
    let mut platforms = vec!["wasi/wasm".to_owned()];
    if RUNS_NATIVE {
        platforms.push(format!("linux/{}", arch()));
    }
    platforms
}
