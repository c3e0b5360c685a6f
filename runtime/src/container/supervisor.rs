//! Running a container's guest, either in a supervisor (the `wbox` binary
//! re-executed, detached in its own session by `run -d` and `start`), which
//! writes the guest's output to the log, or in a foreground `run`, where the
//! output is the terminal's. Both hold the run lock while the guest runs,
//! answer stop and kill requests, and record how the guest ended.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::logs::Logger;
use super::{Container, Containers, Request, Restart, RestartPolicy, Status, control, take_run_lock};
use crate::ids::SIGKILL;
use crate::image::Image;
use crate::plan::{Grants, PublishedPort, Reason, Task};
use crate::store::Store;
use crate::task;
use crate::wasm::CompileCache;
use crate::{Error, Result};

/// Where the guest's output goes.
pub enum Attach {
    /// To the container's log. This process is the supervisor `start`
    /// spawned: its stdout is the pipe the starter reads one line from,
    /// `ok` once the guest runs, or `error CODE MESSAGE`.
    Log,
    /// To this process's own stdio: a foreground `run`.
    Terminal,
}

/// What the starter reads when the container already runs.
pub(super) const ALREADY_RUNNING: &str = "already running";
/// What a restart's starter reads when a user stopped the container while
/// it waited to start again.
pub(super) const STOPPED_MEANWHILE: &str = "stopped meanwhile";

/// Runs the guest of container `id` to its end and records how it ended;
/// then, if its restart policy says so, has a new supervisor (`again`, the
/// front end's own) start it again. Returns its exit code.
pub fn supervise(
    root: &Path,
    id: &str,
    attach: Attach,
    cache: &CompileCache,
    again: &dyn Fn() -> std::process::Command,
) -> Result<i32> {
    let containers = Containers::open(root)?;
    let mut container = containers.lookup(id)?;
    // The starter's pipe, kept aside before stdout becomes the log's.
    let mut handshake = match attach {
        Attach::Log => Some(crate::os::stdio::keep_stdout().map_err(|e| Error::Internal(e.into()))?),
        Attach::Terminal => None,
    };
    let say = |handshake: &mut Option<fs::File>, line: &str| {
        if let Some(mut pipe) = handshake.take() {
            let _ = writeln!(pipe, "{line}");
        }
    };
    let run_lock = match take_run_lock(&container.dir)? {
        Ok(lock) => lock,
        Err(pid) => {
            say(&mut handshake, &format!("error 0 {ALREADY_RUNNING}"));
            return Err(Error::usage(format!(
                "container {} is already running (pid {pid})",
                container.config.name
            )));
        }
    };
    // A user's start clears the mark before it spawns this; a stop that
    // overtook a restart leaves it, and the restart does not happen.
    container.reload()?;
    if container.state.manually_stopped {
        say(&mut handshake, &format!("error 0 {STOPPED_MEANWHILE}"));
        return Ok(container.state.exit_code.unwrap_or(0));
    }
    let logger = match attach {
        Attach::Log => {
            let files = container.log_files()?;
            let path = files.as_ref().map(|f| f.current().display().to_string()).unwrap_or_default();
            Some(
                Logger::start(files)
                    .map_err(|e| Error::Internal(anyhow::anyhow!("cannot open the log {path}: {e}")))?,
            )
        }
        Attach::Terminal => None,
    };

    let planned = Store::open(root).and_then(|store| {
        let spec = &container.config.spec;
        let image = Image::load(&store, &spec.image_id)?;
        let grants = Grants { args: spec.argv.clone(), ..spec.grants.clone() };
        let plan = image.plan(
            &store,
            &container.config.id,
            &container.dir,
            grants,
            spec.limits.clone(),
            spec.native.clone(),
        )?;
        Ok((plan, image.exposed_tcp_ports()))
    });
    // A wasm guest on networks is moved onto them before it is made: its
    // listeners are then bound inside, the control channel's before.
    let channel = match control::open(&container.dir) {
        Ok(channel) => channel,
        Err(e) => return Err(not_started(e, &mut container, &mut handshake, logger, run_lock)),
    };
    let networked =
        planned.and_then(|(mut plan, exposed)| Ok((container.wasm_on_networks(&mut plan, &exposed)?, plan)));
    let (on_networks, task) = match networked.and_then(|(on, plan)| Ok((on, task::create(plan, cache)?))) {
        Ok(made) => made,
        Err(e) => return Err(not_started(e, &mut container, &mut handshake, logger, run_lock)),
    };
    // Stop and kill are answered, and the record says "running", before
    // the guest's command starts: a runner killed from then on leaves a
    // container that reads as dead, never one that reads as created while
    // its command runs.
    answer_requests(channel, Arc::clone(&task))?;
    let before = container.state.clone();
    let published = on_networks.as_ref().map_or_else(|| task.published(), |n| n.published.clone());
    mark_running(&mut container, task.pid(), &published)?;
    if let Err(e) = task.start() {
        container.update(|state| *state = before)?;
        return Err(not_started(e, &mut container, &mut handshake, logger, run_lock));
    }
    say(&mut handshake, "ok");
    crate::os::process::release_free_memory();

    let started = std::time::Instant::now();
    let exit = task.wait();
    let error = match exit.reason {
        // Told the guest's stderr already; kept for `inspect`.
        Reason::Exited | Reason::Signaled(_) => None,
        _ => exit.describe(&container.config.spec.argv[0]),
    };
    let policy = container.config.spec.restart;
    mark_ended(container, exit.code, error, exit.reason == Reason::OomKilled, logger, run_lock)?;
    drop(on_networks);
    if policy.name != Restart::No {
        // A foreground run returns now; its container goes on in the background.
        let wait = match attach {
            Attach::Log => RestartPolicy::wait(started.elapsed(), containers.lookup(id)?.state.restart_count),
            Attach::Terminal => Duration::ZERO,
        };
        start_again(&containers, id, exit.code, wait, again())?;
    }
    Ok(exit.code)
}

/// Starts the container again after `wait`, by a new supervisor, if its
/// policy says so: unless a user stopped it, removed it or started it
/// meanwhile.
fn start_again(
    containers: &Containers,
    id: &str,
    code: i32,
    wait: Duration,
    supervisor: std::process::Command,
) -> Result<()> {
    std::thread::sleep(wait);
    let Ok(mut container) = containers.lookup(id) else { return Ok(()) };
    let state = &container.state;
    let policy = container.config.spec.restart;
    if state.status != Status::Exited || !policy.restarts(code, state.restart_count, state.manually_stopped) {
        return Ok(());
    }
    container.update(|state| state.restart_count += 1)?;
    container.spawn_supervisor(supervisor).map(drop)
}

fn mark_running(container: &mut Container, pid: u32, ports: &[PublishedPort]) -> Result<()> {
    container.record("start", &[]);
    container.update(|state| {
        state.status = Status::Running;
        state.pid = Some(pid);
        state.started_at = Some(Utc::now());
        state.finished_at = None;
        state.exit_code = None;
        state.error = None;
        state.oom_killed = false;
        state.ports = ports.to_vec();
    })
}

/// Records how the guest ended, once its output is all in the log.
fn mark_ended(
    mut container: Container,
    code: i32,
    mut error: Option<String>,
    oom_killed: bool,
    logger: Option<Logger>,
    run_lock: fs::File,
) -> Result<()> {
    if let Some(failure) = logger.and_then(Logger::finish) {
        error = Some(error.map_or(failure.clone(), |e| format!("{e}; {failure}")));
    }
    control::close(&container.dir);
    container.record("die", &[("exitCode", &code.to_string())]);
    container.update(|state| {
        state.status = Status::Exited;
        state.exit_code = Some(code);
        state.finished_at = Some(Utc::now());
        state.error = error;
        state.oom_killed = oom_killed;
    })?;
    // Released first: Windows removes no file that is open.
    drop(run_lock);
    if container.config.spec.auto_remove {
        container.remove_automatically()?;
    }
    Ok(())
}

/// Records why the guest could not start and tells the starter.
fn not_started(
    e: Error,
    container: &mut Container,
    handshake: &mut Option<fs::File>,
    logger: Option<Logger>,
    run_lock: fs::File,
) -> Error {
    let recorded = container.update(|state| {
        state.exit_code = Some(e.exit_code());
        state.error = Some(e.to_string());
    });
    if let Some(mut pipe) = handshake.take() {
        let _ = writeln!(pipe, "error {} {}", e.exit_code(), e.to_string().replace('\n', " "));
    }
    if let Some(logger) = logger {
        logger.finish();
    }
    control::close(&container.dir);
    drop(run_lock);
    let removed = if container.config.spec.auto_remove { container.remove_automatically() } else { Ok(()) };
    recorded.and(removed).err().unwrap_or(e)
}

/// What a runner answers: stop and kill requests on the container's
/// control channel, and requests to end the process itself (SIGTERM or
/// Ctrl-C on a foreground run, a shutdown), which end the guest with their
/// effect.
fn answer_requests(channel: control::Channel, guest: Arc<dyn Task>) -> Result<()> {
    let ended = Arc::clone(&guest);
    crate::os::process::on_termination(move |signal| ended.signal(signal))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot handle termination: {e}")))?;
    channel.serve(move |request| {
        match request {
            Request::Kill(signal) => guest.signal(signal),
            Request::Stop(grace) => {
                // The guest has the grace period to end, then is killed, as
                // Docker kills a process that ignores SIGTERM.
                guest.ask_to_end();
                let guest = Arc::clone(&guest);
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(grace));
                    guest.signal(SIGKILL);
                });
            }
            Request::Usage => {
                return super::stats::usage_reply(guest.guest_usage().unwrap_or_default());
            }
        }
        "ok".to_owned()
    });
    Ok(())
}
