//! A wasm run as a `Task`: compiled and made ready (network names resolved,
//! a service's ports bound) when created, run on a thread of its own once
//! started.

use std::sync::{Arc, Mutex};

use super::CompileCache;
use super::context::report;
use super::memory::Gauge;
use super::program::Program;
use super::run::{Ready, StopHandle, StopSignal, ready, stoppable};
use crate::ids::{SIGINT, SIGTERM};
use crate::plan::{
    Exit, ExitCell, GuestUsage, ModuleSource, PublishedPort, RunPlan, StdioFiles, Task, Workload,
};
use crate::{Error, Result};

pub struct WasmTask {
    name: String,
    /// An HTTP service, which ends as servers do on SIGTERM and SIGINT.
    service: bool,
    published: Vec<PublishedPort>,
    stop: StopHandle,
    /// Until it is started.
    pending: Mutex<Option<(Ready, StopSignal)>>,
    ended: Arc<ExitCell>,
    gauge: Arc<Gauge>,
    /// Where a trap or a deadline is reported: the guest's stderr.
    stdio: Option<StdioFiles>,
    _hold: Option<std::fs::File>,
}

/// Compiles a plan's wasm program (through `cache`) and makes it ready to
/// start: what cannot run is an error here, before anything starts.
pub fn create(plan: RunPlan, cache: &CompileCache) -> Result<WasmTask> {
    let Workload::Wasm(module) = plan.workload else {
        return Err(Error::Internal(anyhow::anyhow!("a native plan was given to the wasm executor")));
    };
    let program = match module.source {
        ModuleSource::Bytes(bytes) => Program::load_bytes(module.name, &bytes, cache)?,
        ModuleSource::File(path) => Program::load_file(&path, cache)?,
        ModuleSource::Open(file) => Program::load_open(module.name, file, None, cache)?,
        ModuleSource::Blob { file, digest } => Program::load_open(module.name, file, Some(&digest), cache)?,
    };
    let name = program.name().to_owned();
    let service = program.is_http_service();
    let stdio = plan.grants.stdio.clone();
    let ready = ready(program, plan.grants, plan.limits)?;
    let (stop, signal) = stoppable();
    Ok(WasmTask {
        name,
        service,
        published: ready.published().to_vec(),
        stop,
        gauge: ready.gauge(),
        pending: Mutex::new(Some((ready, signal))),
        ended: Arc::default(),
        stdio,
        _hold: plan.hold,
    })
}

impl WasmTask {
    fn take_pending(&self) -> Result<(Ready, StopSignal)> {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner()).take();
        pending.ok_or_else(|| Error::usage(format!("{} was started already", self.name)))
    }
}

/// Runs the guest to its end on this thread, tells its stderr how it ended
/// when its code does not say it all, and records the exit.
fn run_to_end(
    ready: Ready,
    signal: StopSignal,
    name: &str,
    stdio: Option<&StdioFiles>,
    ended: &ExitCell,
) -> Exit {
    let exit = ready.run_blocking(signal).unwrap_or_else(|e| Exit::failed(&e));
    if let Some(why) = exit.describe(name) {
        report(stdio, &why);
    }
    ended.set(exit.clone());
    exit
}

impl Task for WasmTask {
    fn pid(&self) -> u32 {
        std::process::id()
    }

    fn published(&self) -> Vec<PublishedPort> {
        self.published.clone()
    }

    fn start(&self) -> Result<()> {
        let (ready, signal) = self.take_pending()?;
        let (ended, name, stdio) = (Arc::clone(&self.ended), self.name.clone(), self.stdio.clone());
        std::thread::Builder::new()
            .name(format!("wasm {name}"))
            .spawn(move || run_to_end(ready, signal, &name, stdio.as_ref(), &ended))
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot start a thread for the guest: {e}")))?;
        Ok(())
    }

    fn run(&self) -> Result<Exit> {
        let (ready, signal) = self.take_pending()?;
        Ok(run_to_end(ready, signal, &self.name, self.stdio.as_ref(), &self.ended))
    }

    fn ask_to_end(&self) {
        self.stop.drain();
    }

    /// WASI has no signals: any signal ends the guest with its effect, but
    /// a service takes SIGTERM and SIGINT as servers do (gunicorn, `wasmtime
    /// serve`): it drains and ends with 0.
    fn signal(&self, signal: i32) {
        match signal {
            0 => {}
            SIGINT | SIGTERM if self.service => self.stop.drain(),
            _ => self.stop.stop(signal),
        }
    }

    fn wait(&self) -> Exit {
        self.ended.wait().0
    }

    fn discard(&self) {
        if self.pending.lock().unwrap_or_else(|e| e.into_inner()).take().is_some() {
            // As a native container's would: ended by SIGKILL before it ran.
            self.ended.set(Exit::signaled(9));
        }
    }

    fn processes(&self) -> Vec<u32> {
        vec![self.pid()]
    }

    fn is_wasm(&self) -> bool {
        true
    }

    fn guest_usage(&self) -> Option<GuestUsage> {
        Some(self.gauge.read())
    }
}
