//! wbox-runtime: everything wbox does. The `wbox` CLI (and later the containerd
//! shim) only parse their input, call into this crate and print the result.

pub mod archive;
pub mod build;
pub mod bundle;
pub mod config;
pub mod container;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod image;
pub mod native;
pub mod reference;
pub mod registry;
pub mod root;
pub mod rootdir;
pub mod scratch;
pub mod store;
pub mod units;
pub mod users;
pub mod wasm;

pub use error::{Error, Result};
