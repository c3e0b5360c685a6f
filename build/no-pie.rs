//! Build script of the `wbox` and shim executables: on Linux they are linked
//! at a fixed address (not position-independent). A position-independent
//! executable has its pointer tables (vtables, the GOT: about 1 MiB here)
//! relocated at every start, which makes those pages private to each
//! process. Every detached container is a process of this binary, so that
//! was half of an idle container's memory and a seventh of a small module's
//! start. Linked at a fixed address, the tables stay shared, clean pages of
//! the file. The libraries, heap, stacks and the guests' memory are still
//! placed at random; only the executable's own image is not.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
