//! wbox-runtime: everything wbox does. The `wbox` CLI and the containerd shim
//! only parse their input, call into this crate and print the result.

pub mod archive;
pub mod build;
pub mod bundle;
pub mod config;
pub mod container;
pub mod disk;
pub mod error;
pub mod events;
pub mod filesystem;
pub mod filters;
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub mod image;
#[cfg(target_os = "linux")]
pub mod native;
#[cfg(not(target_os = "linux"))]
#[path = "native/elsewhere.rs"]
pub mod native;
pub mod network;
pub mod oci;
pub mod os;
pub mod plan;
pub mod reference;
pub mod registry;
pub mod root;
pub mod rootdir;
pub mod scratch;
pub mod store;
pub mod system;
pub mod task;
pub mod units;
pub mod users;
pub mod volume;
pub mod wasm;

pub use error::{Error, Result};

/// The layers, lowest first: a module uses only those below its own.
#[cfg(test)]
mod layers {
    const LAYERS: &[&[&str]] = &[
        &["os"],
        &["error", "reference", "root", "rootdir", "scratch", "units", "users", "ids", "oci"],
        &["filters"],
        &["events"],
        &["volume"],
        &["plan"],
        &["config", "wasm"],
        &["store"],
        &["image"],
        &["registry", "archive", "network"],
        &["native"],
        &["task"],
        &["bundle"],
        &["container"],
        &["build"],
        &["disk", "filesystem"],
        &["system"],
        &["fuzzing"],
    ];

    fn layer(module: &str) -> Option<usize> {
        LAYERS.iter().position(|layer| layer.contains(&module))
    }

    /// The files of a module: `src/NAME.rs`, or everything under `src/NAME/`.
    fn files(module: &str) -> Vec<std::path::PathBuf> {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let dir = src.join(module);
        if !dir.is_dir() {
            return vec![src.join(format!("{module}.rs"))];
        }
        let mut found = Vec::new();
        let mut pending = vec![dir];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() { pending.push(path) } else { found.push(path) }
            }
        }
        found
    }

    #[test]
    fn layers_only_point_down() {
        let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
        let modules: Vec<&str> =
            lib.lines().filter_map(|l| l.strip_prefix("pub mod ")).map(|m| m.trim_end_matches(';')).collect();
        let mut upward = Vec::new();
        for module in &modules {
            let own = layer(module).unwrap_or_else(|| panic!("module {module} has no layer in LAYERS"));
            for file in files(module) {
                let text = std::fs::read_to_string(&file).unwrap();
                // Unit tests may reach anywhere.
                let code = text.split("#[cfg(test)]").next().unwrap();
                for used in crate_modules_named(code) {
                    if used != *module && layer(used).is_some_and(|l| l >= own) && modules.contains(&used) {
                        upward.push(format!("{}: crate::{used}", file.display()));
                    }
                }
            }
        }
        upward.sort();
        upward.dedup();
        assert!(upward.is_empty(), "these reach a layer at or above their own:\n{}", upward.join("\n"));
    }

    /// The NAME of every `crate::NAME` in the text.
    fn crate_modules_named(code: &str) -> Vec<&str> {
        code.match_indices("crate::")
            .map(|(at, _)| {
                let rest = &code[at + "crate::".len()..];
                let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
                &rest[..end]
            })
            .collect()
    }
}
