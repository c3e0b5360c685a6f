//! Running a program: a store with the grants and limits, instantiate, call
//! the command's entry point, and tell how it ended.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, oneshot};

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::p3::bindings::Command as CommandP3;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::context::report;
use super::engine::start_epoch_ticker;
use super::memory::{Gauge, MemoryCap};
use super::network::{OutboundHttp, listen_for_service, map_published_ports, reserve_for_guest};
use super::program::{Compiled, Program};
use super::serve::serve;
use crate::plan::{Exit, Grants, Limits, PublishedPort};
use crate::{Error, Result};

/// Ends a running guest from any thread, with a signal's effect: the guest
/// is interrupted at its next epoch tick, or at once if it waits in a host
/// call.
#[derive(Clone)]
pub(crate) struct StopHandle {
    stop: Arc<Mutex<Option<oneshot::Sender<i32>>>>,
    drain: Arc<Notify>,
}

/// What `run` waits on besides the guest: a `StopHandle` firing.
pub(crate) struct StopSignal {
    pub(crate) stop: oneshot::Receiver<i32>,
    pub(crate) drain: Arc<Notify>,
}

/// A handle to stop a run, and the signal to give `run`.
pub(crate) fn stoppable() -> (StopHandle, StopSignal) {
    let (sender, receiver) = oneshot::channel();
    let drain = Arc::new(Notify::new());
    (
        StopHandle { stop: Arc::new(Mutex::new(Some(sender))), drain: drain.clone() },
        StopSignal { stop: receiver, drain },
    )
}

impl StopHandle {
    /// Asks the guest to finish what it is doing and end: a service stops
    /// taking requests and ends when those in flight are answered. A
    /// command cannot be told (WASI has no signals) and runs on.
    pub fn drain(&self) {
        self.drain.notify_one();
    }

    pub fn stop(&self, signal: i32) {
        // A guest spinning in wasm code only yields to the executor, which
        // then sees the stop, once the epoch moves.
        start_epoch_ticker();
        if let Some(sender) = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = sender.send(signal);
        }
    }
}

/// A program with its grants, ready to run: the names in its network grant
/// resolved and, for an HTTP service, its published ports bound, so that a
/// bad name or a port in use is an error before anything starts.
pub(crate) struct Ready {
    program: Program,
    grants: Grants,
    limits: Limits,
    listeners: Vec<TcpListener>,
    gauge: Arc<Gauge>,
}

/// Prepares `program` to run with exactly these grants and limits.
pub(crate) fn ready(program: Program, mut grants: Grants, limits: Limits) -> Result<Ready> {
    grants.network = grants.network.resolved()?;
    let listeners = if program.is_http_service() {
        if grants.ports.is_empty() {
            report(
                grants.stdio.as_ref(),
                &format!(
                    "{} is an HTTP service, but no port is published: nothing can reach it; publish one, e.g. -p 8080:80",
                    program.name
                ),
            );
        }
        listen_for_service(&program.name, &mut grants.ports)?
    } else {
        reserve_for_guest(&mut grants.ports)?;
        Vec::new()
    };
    Ok(Ready { program, grants, limits, listeners, gauge: Arc::default() })
}

impl Ready {
    /// Where what its instances hold is counted.
    pub fn gauge(&self) -> Arc<Gauge> {
        Arc::clone(&self.gauge)
    }

    /// The published ports, with the host ports chosen for those given as 0.
    pub fn published(&self) -> &[PublishedPort] {
        &self.grants.ports
    }

    /// Runs the program to its end, or until `stop` fires; a service until
    /// it is stopped. The guest's stdio is the caller's.
    pub async fn run(self, stop: StopSignal) -> Result<Exit> {
        match &self.program.compiled {
            Compiled::Component(component) if self.program.is_http_service() => {
                let name = &self.program.name;
                serve(name, component, self.grants, self.limits, self.listeners, self.gauge, stop).await
            }
            _ => run_command(&self.program, &self.grants, &self.limits, &self.gauge, stop).await,
        }
    }

    /// `run` for callers that are not async: on a runtime of its own, which
    /// is shut down without waiting for host calls a deadline left blocked
    /// (a read of a pipe that never ends), so that wbox exits when the guest
    /// does. A service's runtime has a thread per core.
    pub fn run_blocking(self, stop: StopSignal) -> Result<Exit> {
        let runtime = if self.program.is_http_service() {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()
        } else {
            tokio::runtime::Builder::new_current_thread().enable_all().build()
        }
        .map_err(|e| Error::Internal(e.into()))?;
        let outcome = runtime.block_on(self.run(stop));
        runtime.shutdown_background();
        outcome
    }
}

async fn run_command(
    program: &Program,
    grants: &Grants,
    limits: &Limits,
    gauge: &Arc<Gauge>,
    stop: StopSignal,
) -> Result<Exit> {
    let mut builder = grants.wasi_builder()?;
    let run = async {
        match &program.compiled {
            Compiled::Module(module) => {
                let state = P1State { wasi: builder.build_p1(), cap: MemoryCap::new(limits.memory, gauge) };
                let mut store = new_store(program.engine(), state, |s| &mut s.cap);
                let mut linker = wasmtime::Linker::new(program.engine());
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
                Ok(exit_of(start.call_async(&mut store, ()).await))
            }
            Compiled::Component(component) => {
                let state = ComponentState::new(&mut builder, grants, limits, gauge);
                let mut store = new_store(program.engine(), state, |s| &mut s.cap);
                let mut linker = wasmtime::component::Linker::new(program.engine());
                wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(internal)?;
                map_published_ports(&mut linker, &grants.ports).map_err(internal)?;
                let wasi = WasiVersions::of(component);
                if wasi.imports_0_3 || wasi.runs_0_3 {
                    wasmtime_wasi::p3::add_to_linker(&mut linker).map_err(internal)?;
                }
                if wasi.imports_http_0_3 {
                    wasmtime_wasi_http::p3::add_to_linker(&mut linker).map_err(internal)?;
                }
                if wasi.runs_0_3 {
                    let command = match CommandP3::instantiate_async(&mut store, component, &linker).await {
                        Ok(command) => command,
                        Err(e) => return started_and_ended(&program.name, e),
                    };
                    let ran = store
                        .run_concurrent(async move |store| command.wasi_cli_run().call_run(store).await)
                        .await;
                    return Ok(exit_of_run(ran.and_then(|run| run)));
                }
                let command = match Command::instantiate_async(&mut store, component, &linker).await {
                    Ok(command) => command,
                    Err(e) => return started_and_ended(&program.name, e),
                };
                Ok(exit_of_run(command.wasi_cli_run().call_run(&mut store).await))
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
        match stop.stop.await {
            Ok(signal) => signal,
            // Nobody can stop this run any more.
            Err(_) => std::future::pending().await,
        }
    };
    // Dropping the run future drops the store: the guest is gone.
    tokio::select! {
        result = run => result,
        after = deadline => Ok(Exit::timed_out(after)),
        signal = stopped => Ok(Exit::signaled(signal)),
    }
}

pub(crate) fn new_store<T: Send + 'static>(
    engine: &Engine,
    state: T,
    cap: fn(&mut T) -> &mut MemoryCap,
) -> Store<T> {
    let mut store = Store::new(engine, state);
    store.limiter(move |s| cap(s) as &mut dyn wasmtime::ResourceLimiter);
    // The epoch only advances while some deadline is armed; then the guest
    // yields at every tick, so the deadline's timer fires even while the
    // guest never calls the host.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
    store
}

/// How a `wasi:cli/run` call ended. WASI's exit carries only success or
/// failure, unless the guest exited with a code.
fn exit_of_run(result: wasmtime::Result<Result<(), ()>>) -> Exit {
    match result {
        Ok(Ok(())) => Exit::exited(0),
        Ok(Err(())) => Exit::exited(1),
        Err(e) => exit_of(Err(e)),
    }
}

/// Which WASI a component speaks: 0.3 interfaces are linked only for one
/// that imports them, and it is run as 0.3 when it exports 0.3's
/// `wasi:cli/run` (also when it exports 0.2's: the newest it supports).
struct WasiVersions {
    imports_0_3: bool,
    /// Outgoing requests through `wasi:http/client`, checked against the
    /// network grant as a service's are.
    imports_http_0_3: bool,
    runs_0_3: bool,
}

impl WasiVersions {
    fn of(component: &wasmtime::component::Component) -> WasiVersions {
        let engine = component.engine();
        let ty = component.component_type();
        let imports = |prefix: &str| {
            ty.imports(engine).any(|(name, _)| name.starts_with(prefix) && name.contains("@0.3."))
        };
        WasiVersions {
            imports_0_3: imports("wasi:"),
            imports_http_0_3: imports("wasi:http/"),
            runs_0_3: ty.exports(engine).any(|(name, _)| name.starts_with("wasi:cli/run@0.3.")),
        }
    }
}

/// How a guest's call into wasm ended.
pub(crate) fn exit_of(result: wasmtime::Result<()>) -> Exit {
    match result {
        Ok(()) => Exit::exited(0),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Exit::exited(exit.0),
            None => Exit::trapped(trap_message(&e)),
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
fn started_and_ended(name: &str, e: wasmtime::Error) -> Result<Exit> {
    if e.is::<I32Exit>() || e.is::<wasmtime::Trap>() {
        Ok(exit_of(Err(e)))
    } else if let Some(import) = unprovided_import(&e) {
        Err(Error::NotRunnable(match import.strip_prefix("wasi:").and(import.split_once('@')) {
            Some((_, version)) => format!(
                "{name} needs WASI {} interface `{import}` that wbox does not provide (the README lists \
                 the WASI versions and interfaces wbox links)",
                version.splitn(3, '.').take(2).collect::<Vec<_>>().join(".")
            ),
            None => {
                format!("{name} imports `{import}`, which is not a WASI interface; wbox provides only WASI's")
            }
        }))
    } else {
        Err(Error::NotRunnable(format!("cannot start {name}: {e:#}")))
    }
}

/// The import wasmtime found nothing linked for, from its error.
fn unprovided_import(e: &wasmtime::Error) -> Option<String> {
    let message = e.to_string();
    let rest = message.strip_prefix("component imports ")?;
    rest.contains("matching implementation was not found")
        .then(|| rest.split('`').nth(1).map(str::to_owned))?
}

pub(crate) fn internal(e: wasmtime::Error) -> Error {
    Error::Internal(anyhow::anyhow!("{e:#}"))
}

struct P1State {
    wasi: WasiP1Ctx,
    cap: MemoryCap,
}

/// A component's store state, a command's or a service request's: WASI
/// and wasi:http with the grants, and the memory cap.
pub(crate) struct ComponentState {
    ctx: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHttp,
    table: ResourceTable,
    pub(crate) cap: MemoryCap,
}

impl ComponentState {
    /// `builder` is `grants.wasi_builder()`'s.
    pub(crate) fn new(
        builder: &mut WasiCtxBuilder,
        grants: &Grants,
        limits: &Limits,
        gauge: &Arc<Gauge>,
    ) -> ComponentState {
        ComponentState {
            ctx: builder.build(),
            http: WasiHttpCtx::new(),
            hooks: OutboundHttp { network: grants.network.clone() },
            table: ResourceTable::new(),
            cap: MemoryCap::new(limits.memory, gauge),
        }
    }
}

impl WasiView for ComponentState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

impl WasiHttpView for ComponentState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// wasmtime's own words when a component imports what nothing links.
    fn unlinked(import: &str) -> wasmtime::Error {
        wasmtime::Error::msg(format!(
            "component imports instance `{import}`, but a matching implementation was not found in the linker"
        ))
    }

    #[test]
    fn an_import_nobody_provides_is_named_with_its_wasi_version() {
        let said = |e| match started_and_ended("app.wasm", e) {
            Err(Error::NotRunnable(message)) => message,
            other => panic!("{:?}", other.map(|exit| exit.code)),
        };
        let message = said(unlinked("wasi:keyvalue/store@0.2.0-draft"));
        assert!(message.starts_with("app.wasm needs WASI 0.2 interface `wasi:keyvalue/store@0.2.0-draft` that wbox does not provide"), "{message}");
        let message = said(unlinked("wasi:cli/environment@0.4.0"));
        assert!(
            message.starts_with("app.wasm needs WASI 0.4 interface `wasi:cli/environment@0.4.0`"),
            "{message}"
        );
        let message = said(unlinked("acme:db/query"));
        assert!(message.contains("`acme:db/query`, which is not a WASI interface"), "{message}");
        let message = said(wasmtime::Error::msg("something else"));
        assert_eq!(message, "cannot start app.wasm: something else");
    }
}
