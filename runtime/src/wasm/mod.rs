//! The wasm sandbox: one wasmtime engine per process, a compile cache on disk,
//! WASI contexts built from a plan's grants, the memory cap, and wasi:http
//! serving.

mod cache;
mod context;
mod engine;
mod memory;
mod network;
mod program;
mod run;
mod serve;
mod task;

pub use cache::{CompileCache, CompileProgress};
pub use engine::WASMTIME_VERSION;
pub use program::{Program, ProgramKind};
pub use task::{WasmTask, create};
