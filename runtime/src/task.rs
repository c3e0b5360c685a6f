//! The one place that decides how a plan runs: a wasm program under
//! wasmtime, Linux binaries in a namespace container.

use std::sync::Arc;

use crate::Result;
use crate::plan::{Exit, RunPlan, Task, Workload};
use crate::wasm::{self, CompileCache};

/// Makes the task a plan describes, ready to start: a wasm program compiled
/// (through `cache`), a native container created.
pub fn create(plan: RunPlan, cache: &CompileCache) -> Result<Arc<dyn Task>> {
    match &plan.workload {
        Workload::Wasm(_) => Ok(Arc::new(wasm::create(plan, cache)?)),
        Workload::Native(_) => crate::native::create(plan),
    }
}

/// Runs a plan to its end in the foreground.
pub fn run(plan: RunPlan, cache: &CompileCache) -> Result<Exit> {
    create(plan, cache)?.run()
}
