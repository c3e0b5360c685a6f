//! Running a program: a store with the grants and limits, instantiate, call
//! the command's entry point, and tell how it ended.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxView, WasiView};

use super::engine::{engine, start_epoch_ticker};
use super::grants::Grants;
use super::limits::{Limits, MemoryCap};
use super::program::{Compiled, Program};
use crate::{Error, Result};

/// How a guest ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It returned or called exit with this code.
    Exited(i32),
    /// It trapped; the message says where and why.
    Trapped(String),
    /// It was still running at the deadline and was interrupted.
    TimedOut(Duration),
    /// It was ended with this signal's effect (`stop`, `kill`, Ctrl-C).
    Signaled(i32),
}

impl Outcome {
    /// The exit code Docker users expect: the guest's own, 134 for a trap
    /// (as for an abort), 124 for a deadline (as `timeout(1)` does).
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Exited(code) => *code,
            Outcome::Trapped(_) => 134,
            Outcome::TimedOut(_) => 124,
            Outcome::Signaled(signal) => 128 + signal,
        }
    }
}

/// Ends a running guest from any thread, with a signal's effect: the guest
/// is interrupted at its next epoch tick, or at once if it waits in a host
/// call.
#[derive(Clone)]
pub struct StopHandle(Arc<Mutex<Option<oneshot::Sender<i32>>>>);

/// What `run` waits on besides the guest: a `StopHandle` firing.
pub struct StopSignal(oneshot::Receiver<i32>);

/// A handle to stop a run, and the signal to give `run`.
pub fn stoppable() -> (StopHandle, StopSignal) {
    let (sender, receiver) = oneshot::channel();
    (StopHandle(Arc::new(Mutex::new(Some(sender)))), StopSignal(receiver))
}

impl StopHandle {
    pub fn stop(&self, signal: i32) {
        // A guest spinning in wasm code only yields to the executor, which
        // then sees the stop, once the epoch moves.
        start_epoch_ticker();
        if let Some(sender) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = sender.send(signal);
        }
    }
}

/// Runs a program to its end with exactly these grants and limits, or until
/// `stop` fires. The guest's stdio is the caller's.
pub async fn run(program: &Program, grants: &Grants, limits: &Limits, stop: StopSignal) -> Result<Outcome> {
    let grants = Grants { network: grants.network.resolved()?, ..grants.clone() };
    let mut builder = grants.wasi_builder()?;
    let run = async {
        match &program.compiled {
            Compiled::Module(module) => {
                let state = P1State { wasi: builder.build_p1(), cap: MemoryCap::new(limits.memory) };
                let mut store = new_store(state, |s| &mut s.cap);
                let mut linker = wasmtime::Linker::new(engine());
                wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut P1State| &mut s.wasi)
                    .map_err(internal)?;
                let instance = match linker.instantiate_async(&mut store, module).await {
                    Ok(instance) => instance,
                    Err(e) => return started_and_ended(&program.name, e),
                };
                let start = instance.get_typed_func::<(), ()>(&mut store, "_start").map_err(|_| {
                    Error::NotRunnable(format!(
                        "{} exports no _start function: it is a library (reactor) module, not a command",
                        program.name
                    ))
                })?;
                Ok(outcome(start.call_async(&mut store, ()).await))
            }
            Compiled::Component(component) => {
                let state = P2State {
                    ctx: builder.build(),
                    table: ResourceTable::new(),
                    cap: MemoryCap::new(limits.memory),
                };
                let mut store = new_store(state, |s| &mut s.cap);
                let mut linker = wasmtime::component::Linker::new(engine());
                wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(internal)?;
                let command = match Command::instantiate_async(&mut store, component, &linker).await {
                    Ok(command) => command,
                    Err(e) => return started_and_ended(&program.name, e),
                };
                Ok(match command.wasi_cli_run().call_run(&mut store).await {
                    Ok(Ok(())) => Outcome::Exited(0),
                    // WASI 0.2's exit carries only success or failure.
                    Ok(Err(())) => Outcome::Exited(1),
                    Err(e) => outcome(Err(e)),
                })
            }
        }
    };
    if limits.timeout.is_some() {
        // Before the guest first runs: one that never calls the host yields
        // only on epoch ticks.
        start_epoch_ticker();
    }
    let deadline = async {
        match limits.timeout {
            Some(after) => {
                tokio::time::sleep(after).await;
                after
            }
            None => std::future::pending().await,
        }
    };
    let stopped = async {
        match stop.0.await {
            Ok(signal) => signal,
            // Nobody can stop this run any more.
            Err(_) => std::future::pending().await,
        }
    };
    // Dropping the run future drops the store: the guest is gone.
    tokio::select! {
        result = run => result,
        after = deadline => Ok(Outcome::TimedOut(after)),
        signal = stopped => Ok(Outcome::Signaled(signal)),
    }
}

/// `run` for callers that are not async: on a runtime of its own, which is
/// shut down without waiting for host calls a deadline left blocked (a read
/// of a pipe that never ends), so that wbox exits when the guest does.
pub fn run_blocking(
    program: &Program,
    grants: &Grants,
    limits: &Limits,
    stop: StopSignal,
) -> Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(e.into()))?;
    let outcome = runtime.block_on(run(program, grants, limits, stop));
    runtime.shutdown_background();
    outcome
}

fn new_store<T: Send + 'static>(state: T, cap: fn(&mut T) -> &mut MemoryCap) -> Store<T> {
    let mut store = Store::new(engine(), state);
    store.limiter(move |s| cap(s) as &mut dyn wasmtime::ResourceLimiter);
    // The epoch only advances while some deadline is armed; then the guest
    // yields at every tick, so the deadline's timer fires even while the
    // guest never calls the host.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
    store
}

fn outcome(result: wasmtime::Result<()>) -> Outcome {
    match result {
        Ok(()) => Outcome::Exited(0),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Outcome::Exited(exit.0),
            None => Outcome::Trapped(trap_message(&e)),
        },
    }
}

/// The trap's cause and the guest's own backtrace; never the host's stack.
fn trap_message(e: &wasmtime::Error) -> String {
    let mut message = e.root_cause().to_string();
    if let Some(backtrace) = e.downcast_ref::<wasmtime::WasmBacktrace>() {
        message.push('\n');
        message.push_str(&backtrace.to_string());
    }
    message
}

/// Instantiation failed. If the guest's own start code trapped or exited, it
/// ran and ended like any run; otherwise it could not be started at all (an
/// import we do not grant, a memory larger than the cap allows).
fn started_and_ended(name: &str, e: wasmtime::Error) -> Result<Outcome> {
    if e.is::<I32Exit>() || e.is::<wasmtime::Trap>() {
        Ok(outcome(Err(e)))
    } else {
        Err(Error::NotRunnable(format!("cannot start {name}: {e:#}")))
    }
}

fn internal(e: wasmtime::Error) -> Error {
    Error::Internal(anyhow::anyhow!("{e:#}"))
}

struct P1State {
    wasi: WasiP1Ctx,
    cap: MemoryCap,
}

struct P2State {
    ctx: WasiCtx,
    table: ResourceTable,
    cap: MemoryCap,
}

impl WasiView for P2State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}
