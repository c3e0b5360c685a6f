//! `containerd-shim-wbox-v1`: containerd's runtime `io.containerd.wbox.v1`.
//!
//! containerd starts this binary with `start` for each container; that
//! spawns (or, for a container of a pod whose shim runs already, finds) the
//! long-lived shim process, which serves the shim v2 task API over ttrpc.
//! The tasks themselves are run by `wbox-runtime`: a wasm program under
//! wasmtime inside this process, anything else as a namespace container.

mod image;
mod service;
mod tasks;

fn main() {
    let config = containerd_shim::Config {
        // The runtime waits for its own processes (a native container's
        // first process); a reaper taking every child would take those
        // exit codes first.
        no_reaper: true,
        // containerd's log gets the shim's warnings and errors; wasmtime's
        // trace of every host call a guest makes would flood it (containerd
        // asks for everything with -debug).
        default_log_level: "warn".to_owned(),
        ..Default::default()
    };
    containerd_shim::run::<service::Service>(service::RUNTIME, Some(config));
}
