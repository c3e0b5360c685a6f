//! The wasm sandbox: one wasmtime engine per process, a compile cache on disk,
//! WASI contexts built from grants, and the limits that bound a guest.

mod cache;
mod engine;
mod grants;
mod limits;
mod network;
mod program;
mod run;
mod serve;

pub use cache::{CompileCache, CompileProgress};
pub use grants::{DirGrant, Grants, StdioFiles, parse_env, read_env_file};
pub use limits::Limits;
pub use network::{Destination, Network, PublishedPort, Target};
pub use program::{Program, ProgramKind};
pub use run::{Outcome, Ready, StopHandle, StopSignal, ready, run, run_blocking, stoppable};
