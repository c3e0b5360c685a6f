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

/// `run` as the process's one task (`wbox run FILE`): SIGTERM and Ctrl-C
/// reach the guest as `kill` would, instead of ending wbox under it.
pub fn run_as_the_process(plan: RunPlan, cache: &CompileCache) -> Result<Exit> {
    let task = create(plan, cache)?;
    let signalled = Arc::clone(&task);
    crate::os::process::on_termination(move |signal| signalled.signal(signal))
        .map_err(|e| crate::Error::Internal(anyhow::anyhow!("cannot handle termination: {e}")))?;
    task.run()
}
