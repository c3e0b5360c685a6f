//! Containers: a record per container under `ROOT/containers/<id>/`, and
//! their lifecycle, daemonless. A container's directory holds
//!
//! - `config.json`: what it runs, written once at create;
//! - `state.json`: created, running, exited or dead, replaced atomically
//!   under `lock` so that concurrent `wbox` commands never tear it;
//! - `running.lock`: locked by whoever runs the guest, a supervisor or a
//!   foreground `run`, for as long as it lives, with its pid in
//!   `running.pid`. The system drops the lock when that process dies however
//!   it dies, so a record that says "running" while nobody holds the lock is
//!   known to be dead (see `lock`);
//! - `container.log`: the guest's output, one JSON object a line, as
//!   Docker's json-file driver writes it, and the files it was rotated to,
//!   `container.log.1` (the newest) and on (see `logs`); none with the log
//!   driver `none`;
//! - `control`: where the runner answers stop and kill requests (see
//!   `control`).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::image::Image;
use crate::os::watch::Watch;
use crate::plan::{Grants, Limits, NativeOptions, PublishedPort};
use crate::reference::ImageRef;
use crate::store::{Digest, Store};
use crate::volume::Volumes;
use crate::{Error, Result};

mod control;
mod filter;
mod inspect;
mod lock;
pub mod logs;
mod names;
mod networks;
mod options;
mod record;
mod restart;
mod stats;
mod supervisor;
mod top;
mod volumes;
mod wait;

pub use filter::{FILTERS, PRUNE_FILTERS};
pub use options::{CreateOptions, GrantOptions};
pub use record::{Config, Spec, State, Status};
pub use restart::{Restart, RestartPolicy};
pub use stats::Usage;
pub use supervisor::{Attach, supervise};
pub use top::Top;
pub use volumes::{
    LIST_FILTERS as VOLUME_LIST_FILTERS, PRUNE_FILTERS as VOLUME_PRUNE_FILTERS, list_volumes, prune_volumes,
    remove_volume,
};
pub use wait::WaitCondition;

use lock::{lock_file, lock_holder, take_run_lock};
use record::{read_json, remove_files, write_json};

pub use crate::ids::parse_signal;

/// The fifo in a container's directory that feeds a detached `-i`
/// container's stdin.
const STDIN_CHANNEL: &str = "stdin";

/// Seconds `stop` waits for a guest to end before interrupting it.
pub const DEFAULT_STOP_TIMEOUT: u64 = 10;

/// What a running container's runner is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// End within this many seconds: the guest may finish by itself until
    /// then, and is interrupted after (137, as Docker's SIGKILL).
    Stop(u64),
    /// The effect of this signal, now.
    Kill(i32),
    /// What a wasm guest's instances hold (`usage BYTES INSTANCES`).
    Usage,
}

impl Request {
    fn encode(self) -> String {
        match self {
            Request::Stop(seconds) => format!("stop {seconds}"),
            Request::Kill(signal) => format!("kill {signal}"),
            Request::Usage => "usage".to_owned(),
        }
    }

    fn decode(text: &str) -> Option<Request> {
        let text = text.trim();
        if text == "usage" {
            return Some(Request::Usage);
        }
        let (verb, n) = text.split_once(' ')?;
        match verb {
            "stop" => n.parse().ok().map(Request::Stop),
            "kill" => n.parse().ok().map(Request::Kill),
            _ => None,
        }
    }
}

/// What a user asks of a new container (the flags of `run` and `create`),
/// before Docker's rules make it a `Spec`.
pub struct NewContainer {
    pub name: Option<String>,
    /// The arguments given after the image's name.
    pub args: Vec<String>,
    /// The program instead of the image's ENTRYPOINT; empty clears it.
    pub entrypoint: Option<Vec<String>>,
    pub grants: Grants,
    pub limits: Limits,
    pub native: NativeOptions,
    /// `-i`: the guest reads the caller's stdin.
    pub interactive: bool,
    /// Docker's StdinOnce: the guest's stdin ends when the first attachment
    /// that feeds it ends.
    pub stdin_once: bool,
    pub restart: RestartPolicy,
    /// `-t`: the guest is told its stdio is a terminal.
    pub tty: bool,
    /// `--rm`.
    pub auto_remove: bool,
    pub stop_timeout: Option<u64>,
    pub log: logs::LogConfig,
    /// `--label`, over the image's labels.
    pub labels: BTreeMap<String, String>,
    /// `--volumes-from CONTAINER[:ro|rw]`.
    pub volumes_from: Vec<String>,
    /// The user-defined networks it joins, each with its aliases there.
    pub networks: Vec<(String, Vec<String>)>,
}

/// How long a follower of a container's output waits for a change in its
/// directory (see `os::watch`) before it looks again anyway.
const FOLLOW_AT_MOST: Duration = Duration::from_millis(50);

/// All containers of one root.
pub struct Containers {
    dir: PathBuf,
}

impl Containers {
    pub fn open(root: &Path) -> Result<Containers> {
        let dir = root.join("containers");
        fs::create_dir_all(&dir).map_err(|e| fs_error(&dir, e))?;
        Ok(Containers { dir })
    }

    /// Records a new container, with a unique name (the one given, or a
    /// generated one).
    fn create(&self, name: Option<String>, spec: Spec) -> Result<Container> {
        if let Some(name) = &name {
            names::check(name)?;
        }
        // Names are unique: check and claim under one lock, through the
        // names' index, whatever the number of containers.
        let _names = lock_file(&self.dir.join(".names.lock"))?;
        let index = self.names_index()?;
        let name = match name {
            Some(name) => {
                if let Some(other) = self.named(&index, &name) {
                    return Err(Error::Conflict(format!(
                        "the name \"{name}\" is already in use by container {}; remove it (wbox rm {name}) \
                         or choose another --name",
                        other.short_id()
                    )));
                }
                name
            }
            None => names::generate(|name| self.named(&index, name).is_some()),
        };
        let config = Config { id: crate::ids::new_id()?, name, created: Utc::now(), spec };
        index.claim(&config.name, &config.id)?;
        // Built aside and renamed, so that no one sees half a container.
        let staging = self.dir.join(format!(".creating-{}", config.id));
        fs::create_dir(&staging).map_err(|e| fs_error(&staging, e))?;
        write_json(&staging.join("config.json"), &config)?;
        write_json(&staging.join("state.json"), &State::default())?;
        if let Some(files) = logs::LogFiles::new(&staging, config.spec.log.retention()?) {
            fs::File::create(files.current()).map_err(|e| fs_error(&staging, e))?;
        }
        let dir = self.dir.join(&config.id);
        fs::rename(&staging, &dir).map_err(|e| fs_error(&dir, e))?;
        let container = Container { dir, config, state: State::default() };
        container.record("create", &[]);
        Ok(container)
    }

    /// Records a container of `image` (from `store`), which the user named
    /// `reference`, with Docker's rules for its stdio, command, stop timeout
    /// and volumes.
    pub fn create_of(
        &self,
        store: &Store,
        image: &Image,
        reference: &ImageRef,
        new: NewContainer,
    ) -> Result<Container> {
        new.native.check()?;
        let networks = crate::network::Networks::open(self.root())?;
        for (name, _) in &new.networks {
            networks.get(name)?;
        }
        let argv = image.argv(&reference.to_string(), &new.args, new.entrypoint.as_deref())?;
        // A container's stdin is empty unless `-i`, and it is told of a
        // terminal only with `-t`, whatever wbox's own stdio are.
        let mut grants = Grants { stdin: new.interactive, tty: Some(new.tty), ..new.grants };
        let volumes = Volumes::open(self.root())?;
        // Until the record names its volumes: a `volume rm` meanwhile waits,
        // then finds them in use.
        let _lock = volumes.lock()?;
        let mut made = Vec::new();
        let created =
            self.add_volumes(store, image, &new.volumes_from, &mut grants, &mut made).and_then(|()| {
                grants.check()?;
                let mut labels = image.config.config.labels.clone().unwrap_or_default();
                labels.extend(new.labels);
                let spec = Spec {
                    image: reference.familiar(),
                    image_id: image.manifest_digest.clone(),
                    argv,
                    args: new.args,
                    grants,
                    limits: new.limits,
                    auto_remove: new.auto_remove,
                    stop_timeout: new.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
                    native: new.native,
                    log: new.log,
                    labels,
                    stdin_once: new.stdin_once && new.interactive,
                    restart: new.restart,
                };
                let container = self.create(new.name, spec)?;
                match self.join_networks(&container, &new.networks) {
                    Ok(()) => Ok(container),
                    Err(e) => {
                        let _ = container.remove(true);
                        Err(e)
                    }
                }
            });
        // No container came of it: the volumes made for it go too.
        if created.is_err() {
            for name in made {
                let _ = volumes.remove(&name, &[]);
            }
        }
        created
    }

    /// `rename`: gives a container another name, unique as at create.
    pub fn rename(&self, name_or_id: &str, new_name: &str) -> Result<()> {
        names::check(new_name)?;
        let _names = lock_file(&self.dir.join(".names.lock"))?;
        let index = self.names_index()?;
        let container = self.lookup(name_or_id)?;
        if container.config.name == new_name {
            return Err(Error::usage("Renaming a container with the same name as its current name"));
        }
        if let Some(other) = self.named(&index, new_name) {
            return Err(Error::Conflict(format!(
                "the name \"{new_name}\" is already in use by container {}; choose another",
                other.short_id()
            )));
        }
        let _lock = lock_file(&container.dir.join("lock"))?;
        let old_name = format!("/{}", container.config.name);
        index.claim(new_name, &container.config.id)?;
        let config = Config { name: new_name.to_owned(), ..container.config };
        write_json(&container.dir.join("config.json"), &config)?;
        index.release(&old_name[1..], &config.id);
        Container { config, ..container }.record("rename", &[("oldName", &old_name)]);
        Ok(())
    }

    /// Every container, oldest first; a record that cannot be read is
    /// skipped with a warning.
    pub fn list(&self) -> Result<Vec<Container>> {
        let mut containers = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| fs_error(&self.dir, e))?.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            match Container::load(&entry.path()) {
                Ok(container) => containers.push(container),
                // Removed meanwhile by another wbox.
                Err(Error::Gone { .. }) => {}
                Err(e) => tracing::warn!("skipping container {}: {e}", name.to_string_lossy()),
            }
        }
        containers.sort_by_key(|c| c.config.created);
        Ok(containers)
    }

    /// The names' index, made from the records the first time (a root
    /// from before it). Called under the names' lock.
    fn names_index(&self) -> Result<names::Index> {
        let index = names::Index::in_dir(&self.dir);
        if !index.exists() {
            let containers = self.list()?;
            index.build(containers.iter().map(|c| (c.config.name.as_str(), c.config.id.as_str())))?;
        }
        Ok(index)
    }

    /// The container that has `name` now, found through the index.
    fn named(&self, index: &names::Index, name: &str) -> Option<Container> {
        let id = index.id_of(name)?;
        Container::load(&self.dir.join(id)).ok().filter(|c| c.config.name == name)
    }

    /// A container by name, full id or unique id prefix, as Docker finds them.
    /// A full id or a name is found at once; a prefix, by reading every
    /// record.
    pub fn lookup(&self, name_or_id: &str) -> Result<Container> {
        let wanted = name_or_id.trim_start_matches('/');
        if crate::ids::is_full_id(wanted)
            && let Ok(container) = Container::load(&self.dir.join(wanted))
        {
            return Ok(container);
        }
        if let Some(container) = self.named(&names::Index::in_dir(&self.dir), wanted) {
            return Ok(container);
        }
        let mut all = self.list()?;
        if let Some(i) = all.iter().position(|c| c.config.name == wanted || c.config.id == wanted) {
            return Ok(all.swap_remove(i));
        }
        let mut matching: Vec<Container> =
            all.into_iter().filter(|c| !wanted.is_empty() && c.config.id.starts_with(wanted)).collect();
        match matching.len() {
            1 => Ok(matching.remove(0)),
            0 => Err(Error::NoSuchContainer(name_or_id.to_owned())),
            count => Err(Error::Ambiguous { prefix: name_or_id.to_owned(), count, what: "containers" }),
        }
    }
}

/// The images containers were made of, which image garbage collection
/// keeps. A record that cannot be read keeps nothing, with a warning.
pub fn images_in_use(root: &Path) -> Vec<Digest> {
    let Ok(containers) = Containers::open(root) else { return Vec::new() };
    containers.list().unwrap_or_default().into_iter().map(|c| c.config.spec.image_id).collect()
}

/// The volumes containers use, each with the ids of the containers that
/// use it (whatever their state, as Docker counts them).
pub fn volume_users(root: &Path) -> Result<BTreeMap<String, Vec<String>>> {
    let volumes = Volumes::open(root)?;
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for container in Containers::open(root)?.list()? {
        for name in container.volumes(&volumes) {
            users.entry(name).or_default().push(container.id().to_owned());
        }
    }
    Ok(users)
}

/// Removes those of `names` that are anonymous volumes no container uses.
fn remove_anonymous_volumes(root: &Path, names: Vec<String>) -> Result<()> {
    // Most containers have none: no need to read every other container.
    if names.is_empty() {
        return Ok(());
    }
    let volumes = Volumes::open(root)?;
    let _lock = volumes.lock()?;
    let users = volume_users(root)?;
    for name in names {
        if volumes.get(&name).is_ok_and(|v| v.anonymous) && !users.contains_key(&name) {
            volumes.remove(&name, &[])?;
        }
    }
    Ok(())
}

/// One container's record.
pub struct Container {
    dir: PathBuf,
    pub config: Config,
    pub state: State,
}

impl Container {
    /// Reads a record, and notices a supervisor that died: a container that
    /// says it runs while nobody holds its run lock is dead.
    fn load(dir: &Path) -> Result<Container> {
        let config: Config = read_json(&dir.join("config.json"))?;
        let state: State = read_json(&dir.join("state.json"))?;
        let mut container = Container { dir: dir.to_owned(), config, state };
        if container.state.status == Status::Running && container.runner_pid().is_none() {
            container.update(|state| {
                if state.status == Status::Running {
                    state.status = Status::Dead;
                    state.exit_code = Some(137);
                    state.finished_at = Some(Utc::now());
                    state.error = Some(format!(
                        "its supervisor (pid {}) died without recording how the guest ended: it was killed",
                        state.pid.unwrap_or(0)
                    ));
                    state.pid = None;
                }
            })?;
            // A native container's processes, cgroup and mounts outlive a
            // killed runner: dead means nothing of it runs on.
            crate::native::clean_up(&container.dir, &container.config.id);
        }
        Ok(container)
    }

    pub fn id(&self) -> &str {
        &self.config.id
    }

    pub fn short_id(&self) -> &str {
        &self.config.id[..12]
    }

    /// The log file being written; None when the container keeps no log.
    pub fn log_path(&self) -> Option<PathBuf> {
        self.log_files().ok().flatten().map(|files| files.current().to_owned())
    }

    /// Its log files; None when its log driver keeps nothing.
    fn log_files(&self) -> Result<Option<logs::LogFiles>> {
        Ok(logs::LogFiles::new(&self.dir, self.config.spec.log.retention()?))
    }

    /// `logs`: hands `each` what the log holds (its last `tail` entries when
    /// given), oldest first, and with `follow` what it gains until the
    /// container no longer runs.
    pub fn logs(
        &mut self,
        tail: Option<usize>,
        follow: bool,
        mut each: impl FnMut(&logs::Entry),
    ) -> Result<()> {
        let Some(files) = self.log_files()? else {
            return Err(Error::usage(format!(
                "configured logging driver does not support reading: container {} has the log driver \
                 none, which keeps no output; give it --log-driver local or json-file to read its logs",
                self.config.name
            )));
        };
        let mut reader = logs::Reader::from_start(Some(files)).map_err(log_error)?;
        match tail {
            None => reader.read_new(&mut each).map_err(log_error)?,
            Some(n) => {
                let mut last = std::collections::VecDeque::with_capacity(n.min(4096));
                reader
                    .read_new(|entry| {
                        if last.len() == n {
                            last.pop_front();
                        }
                        if n > 0 {
                            last.push_back(entry.clone());
                        }
                    })
                    .map_err(log_error)?;
                last.iter().for_each(&mut each);
            }
        }
        if follow {
            self.follow_log(&mut reader, each)?;
        }
        Ok(())
    }

    /// A reader of what the guest writes from now on (nothing, when the
    /// container keeps no log), for `start -a`.
    pub fn output_reader(&self) -> Result<logs::Reader> {
        logs::Reader::from_end(self.log_files()?).map_err(log_error)
    }

    /// A reader of what its log holds, then of what the guest writes: an
    /// attachment that asks for the logs too.
    pub fn log_reader(&self) -> Result<logs::Reader> {
        logs::Reader::from_start(self.log_files()?).map_err(log_error)
    }

    pub fn is_running(&self) -> bool {
        self.state.status == Status::Running
    }

    /// Changes the state under the container's lock and writes it back
    /// atomically; `self.state` is then what was written.
    pub fn update(&mut self, change: impl FnOnce(&mut State)) -> Result<()> {
        let _lock = lock_file(&self.dir.join("lock"))?;
        let path = self.dir.join("state.json");
        let mut state: State = read_json(&path)?;
        change(&mut state);
        write_json(&path, &state)?;
        self.state = state;
        Ok(())
    }

    /// Reads the state again, e.g. while waiting for it to change.
    pub fn reload(&mut self) -> Result<()> {
        *self = Container::load(&self.dir)?;
        Ok(())
    }

    /// The process that holds the run lock, if one does.
    pub fn runner_pid(&self) -> Option<u32> {
        lock_holder(&self.dir)
    }

    /// Starts the guest in a supervisor: `supervisor` is the command that
    /// runs `supervise(…, Attach::Log, …)` for this container. Returns once
    /// the guest runs; false if it already ran.
    pub fn start(&mut self, supervisor: std::process::Command) -> Result<bool> {
        // A user's start: the restart policy applies again.
        if self.state.manually_stopped {
            self.update(|state| state.manually_stopped = false)?;
        }
        self.spawn_supervisor(supervisor)
    }

    /// `start`, as a restart policy does it: a user's stop meanwhile wins.
    pub(super) fn spawn_supervisor(&mut self, mut supervisor: std::process::Command) -> Result<bool> {
        use std::process::Stdio;
        // `-i`: a stdin that `attach` feeds, which stays open between them
        // unless StdinOnce.
        let stdin = if self.config.spec.grants.stdin {
            let channel = self.dir.join(STDIN_CHANNEL);
            crate::os::stdio::open_stdin_channel(&channel, self.config.spec.stdin_once)
                .map_err(|e| fs_error(&channel, e))?
        } else {
            None
        };
        supervisor
            .stdin(stdin.map_or_else(Stdio::null, Stdio::from))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        crate::os::process::detach(&mut supervisor);
        let mut child = supervisor
            .spawn()
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot start the supervisor: {e}")))?;
        let mut answer = String::new();
        let _ = child.stdout.take().expect("piped").read_to_string(&mut answer);
        // The supervisor lives on, detached; a starter that lives on too (the
        // Engine API's service) reaps it when it ends, leaving no zombie.
        std::thread::spawn(move || child.wait());
        // A guest that could not start in a container made with `--rm` has
        // taken the container with it: its error is the answer then.
        let reloaded = self.reload();
        let answer = answer.trim_end();
        if answer == "ok" {
            // A quick guest of a `--rm` container may have ended and taken
            // the container with it already: it ran.
            return match reloaded {
                Err(Error::Gone { .. }) | Ok(()) => Ok(true),
                Err(e) => Err(e),
            };
        }
        if answer.is_empty() {
            reloaded?;
        }
        match answer.strip_prefix("error ").and_then(|rest| rest.split_once(' ')) {
            Some((_, supervisor::ALREADY_RUNNING | supervisor::STOPPED_MEANWHILE)) => Ok(false),
            Some((code, message)) => {
                Err(Error::Relayed { code: code.parse().unwrap_or(125), message: message.to_owned() })
            }
            None => Err(Error::Internal(anyhow::anyhow!(
                "the supervisor of {} ended before the guest started{}",
                self.config.name,
                self.state.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            ))),
        }
    }

    /// Where `attach` writes to the container's stdin; none when it was not
    /// made with `-i`, has ended, or runs where stdin cannot be reached. An
    /// attachment before the start (`docker run -i`) holds what it writes
    /// until the guest reads it.
    pub fn stdin(&self) -> Result<Option<std::fs::File>> {
        if !self.config.spec.grants.stdin || self.state.status == Status::Exited {
            return Ok(None);
        }
        let channel = self.dir.join(STDIN_CHANNEL);
        let opened = if self.is_running() {
            crate::os::stdio::write_to_stdin_channel(&channel)
        } else {
            crate::os::stdio::stdin_channel_before_start(&channel)
        };
        match opened {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fs_error(&channel, e)),
        }
    }

    /// Waits while it has not started yet; returns once it has, or is gone.
    pub fn wait_until_started(&mut self) {
        let watch = Watch::new(&[&self.dir]);
        while self.state.status == Status::Created && self.reload().is_ok() {
            watch.wait(FOLLOW_AT_MOST);
        }
    }

    /// Hands `each` what the log gains until the container no longer runs;
    /// then the state says how it ended.
    pub fn follow_log(
        &mut self,
        reader: &mut logs::Reader,
        mut each: impl FnMut(&logs::Entry),
    ) -> Result<()> {
        // Made before the first look: nothing that changes after it is missed.
        let watch = Watch::new(&[&self.dir]);
        loop {
            let running = self.runner_pid().is_some();
            reader.read_new(&mut each).map_err(log_error)?;
            if !running {
                return self.reload();
            }
            // Often: a client that attached waits on this to see the end.
            watch.wait(FOLLOW_AT_MOST);
        }
    }

    /// `attach`: hands `each` what the guest writes from `reader`'s place
    /// until its run ends, waiting first for a container that has not
    /// started (Docker's clients attach before they start). Ends quietly
    /// when the container is removed meanwhile.
    pub fn follow_next_run(
        &mut self,
        reader: &mut logs::Reader,
        mut each: impl FnMut(&logs::Entry),
    ) -> Result<()> {
        let started = self.state.started_at;
        let watch = Watch::new(&[&self.dir]);
        let followed = loop {
            if self.runner_pid().is_some() || self.state.started_at != started {
                break self.follow_log(reader, &mut each);
            }
            watch.wait(FOLLOW_AT_MOST);
            if let Err(e) = self.reload() {
                break Err(e);
            }
        };
        match followed {
            // Removed as it ended (`--rm`): the reader still holds its log.
            Err(Error::Gone { .. }) => reader.read_new(&mut each).map_err(log_error),
            done => done,
        }
    }

    /// Asks the guest's runner to stop or kill it. False when it does not
    /// run.
    pub fn request(&self, request: Request) -> Result<bool> {
        // A runner opens its channel just after it takes the run lock.
        let start = Instant::now();
        while self.runner_pid().is_some() {
            if control::ask(&self.dir, request).is_some() {
                return Ok(true);
            }
            if start.elapsed() > Duration::from_secs(2) {
                return Err(Error::Internal(anyhow::anyhow!(
                    "the runner of {} (pid {}) does not answer its control channel; wbox rm -f {0} ends it",
                    self.config.name,
                    self.runner_pid().unwrap_or(0)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(false)
    }

    /// Waits until no one runs the guest, at most `timeout`; then the state
    /// says how it ended. False if it still runs.
    pub fn wait_until_ended(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let start = Instant::now();
        let watch = Watch::new(&[&self.dir]);
        while self.runner_pid().is_some() {
            let left = timeout.map_or(FOLLOW_AT_MOST, |t| t.saturating_sub(start.elapsed()));
            if left.is_zero() {
                return Ok(false);
            }
            watch.wait(left.min(FOLLOW_AT_MOST));
        }
        self.reload()?;
        Ok(true)
    }

    /// `stop`: asks the guest to end, waits the grace period (the
    /// container's own unless given), and makes sure it ended. One waiting
    /// to be restarted is not restarted. False if it was not running.
    pub fn stop(&mut self, timeout: Option<u64>) -> Result<bool> {
        let grace = self.ask_to_stop(timeout)?;
        self.finish_stop(grace)?;
        Ok(grace.is_some())
    }

    /// The rest of `stop` after `ask_to_stop`: waits out the grace period
    /// it gave, if any, making sure the container ended.
    pub fn finish_stop(&mut self, grace: Option<Duration>) -> Result<()> {
        if let Some(grace) = grace {
            self.end_within(grace)?;
            self.record("stop", &[]);
        }
        Ok(())
    }

    /// `stop`'s request alone, for stopping several at once: the grace
    /// period to wait for it to end; none if it was not running.
    pub fn ask_to_stop(&mut self, timeout: Option<u64>) -> Result<Option<Duration>> {
        let grace = timeout.unwrap_or(self.config.spec.stop_timeout);
        self.mark_manually_stopped()?;
        if !self.request(Request::Stop(grace))? {
            return Ok(None);
        }
        self.record("kill", &[("signal", "15")]);
        Ok(Some(Duration::from_secs(grace)))
    }

    /// Tells its restart policy, when it has one, that a user ended it;
    /// a container without one needs no record of it.
    fn mark_manually_stopped(&mut self) -> Result<()> {
        if self.config.spec.restart.name == Restart::No {
            return Ok(());
        }
        self.update(|state| state.manually_stopped = true)
    }

    /// `kill -s SIGNAL`: the signal's effect, now (`None`: a signal that
    /// does nothing, which only checks that it runs).
    pub fn kill(&mut self, signal: Option<i32>) -> Result<()> {
        let name = self.config.name.clone();
        let not_running = || Error::usage(format!("container {name} is not running"));
        match signal {
            Some(signal) => {
                self.mark_manually_stopped()?;
                if !self.request(Request::Kill(signal))? {
                    return Err(not_running());
                }
                self.record("kill", &[("signal", &signal.to_string())]);
                self.end_within(Duration::ZERO)
            }
            None if self.runner_pid().is_none() => Err(not_running()),
            None => Ok(()),
        }
    }

    /// Waits for a requested end; a supervisor that does not answer within
    /// the time plus a margin is killed, and the container recorded as
    /// killed.
    pub fn end_within(&mut self, time: Duration) -> Result<()> {
        if self.wait_until_ended(Some(time + Duration::from_secs(2)))? {
            return Ok(());
        }
        if let Some(pid) = self.runner_pid() {
            crate::os::process::kill(pid);
        }
        self.wait_until_ended(Some(Duration::from_secs(5)))?;
        self.update(|state| {
            if state.status != Status::Exited {
                state.status = Status::Exited;
                state.exit_code = Some(137);
                state.finished_at = Some(Utc::now());
                state.error = Some("its supervisor did not answer and was killed".into());
            }
        })
    }

    /// Removes the container and everything it wrote. A running one only
    /// with `force`, which kills it first.
    pub fn remove(mut self, force: bool) -> Result<()> {
        if self.runner_pid().is_some() {
            if !force {
                return Err(Error::usage(format!(
                    "container {} is running: stop it first (wbox stop {0}), or remove it with -f",
                    self.config.name
                )));
            }
            // A runner that does not answer is killed by end_within.
            let _ = self.request(Request::Kill(crate::ids::SIGKILL));
            self.end_within(Duration::ZERO)?;
        }
        let lock = lock_file(&self.dir.join("lock"))?;
        // A native container whose supervisor was killed left its processes,
        // cgroup and mounts.
        crate::native::clean_up(&self.dir, &self.config.id);
        self.leave_networks();
        remove_files(&self.dir, Some(lock)).map_err(|e| match e {
            Error::Gone { .. } => Error::NoSuchContainer(self.config.name.clone()),
            e => e,
        })?;
        self.release_name();
        self.record("destroy", &[]);
        Ok(())
    }

    /// Frees its name in the names' index (an entry left behind names a
    /// container that is gone, which counts as free anyway).
    fn release_name(&self) {
        if let Some(containers) = self.dir.parent() {
            names::Index::in_dir(containers).release(&self.config.name, &self.config.id);
        }
    }

    /// The host's ids of the container's processes, never none: a native
    /// container's, as its cgroup lists them; a wasm container is its runner.
    pub fn processes(&self) -> Result<Vec<u32>> {
        let Some(runner) = self.runner_pid().filter(|_| self.is_running()) else {
            return Err(Error::usage(format!("Container {} is not running", self.config.id)));
        };
        if crate::native::is_native(&self.dir, &self.config.id) {
            let listed = crate::native::processes(&format!("/wbox/{}", self.config.id));
            return Ok(listed.filter(|pids| !pids.is_empty()).unwrap_or(vec![runner]));
        }
        Ok(vec![runner])
    }

    /// Holds a stopped container stopped: its run lock, for as long as the
    /// file returned lives; none if it runs (or started just now).
    pub(crate) fn hold_stopped(&self) -> Result<Option<fs::File>> {
        Ok(take_run_lock(&self.dir)?.ok())
    }

    /// Where a native container keeps its own files (`upper`) and its view
    /// of its image's (`rootfs`).
    pub(crate) fn native_dir(&self) -> PathBuf {
        self.dir.join("native")
    }

    /// What the container's own files take: a native container's writable
    /// layer (a wasm container writes only to its grants).
    pub fn writable_size(&self) -> u64 {
        crate::root::disk_usage(&self.native_dir().join("upper"))
    }

    /// The names of the volumes this container uses.
    pub fn volumes(&self, volumes: &Volumes) -> Vec<String> {
        self.config.spec.grants.dirs.iter().filter_map(|d| volumes.named_by(&d.host)).collect()
    }

    /// `rm -v`: removes the container, then the anonymous volumes it used
    /// that no other container uses.
    pub fn remove_with_volumes(self, force: bool) -> Result<()> {
        let root = self.root().to_owned();
        let used = self.volumes(&Volumes::open(&root)?);
        self.remove(force)?;
        remove_anonymous_volumes(&root, used)
    }

    /// What `--rm` removes once the guest ended: the record, and the
    /// anonymous volumes only it used, as Docker's `run --rm` does.
    fn remove_automatically(&self) -> Result<()> {
        let used = self.volumes(&Volumes::open(self.root())?);
        self.leave_networks();
        remove_files(&self.dir, None)?;
        self.release_name();
        self.record("destroy", &[]);
        remove_anonymous_volumes(self.root(), used)
    }

    /// Records an event of this container, with Docker's attributes (its
    /// image, its name and its labels) and `extra`.
    pub(crate) fn record(&self, action: &str, extra: &[(&str, &str)]) {
        let spec = &self.config.spec;
        let mut attributes = vec![("image", spec.image.as_str()), ("name", self.config.name.as_str())];
        attributes.extend(spec.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        attributes.extend_from_slice(extra);
        crate::events::record(self.root(), "container", action, &self.config.id, &attributes);
    }

    /// The wbox root: containers are `ROOT/containers/ID`.
    fn root(&self) -> &Path {
        self.dir.parent().and_then(Path::parent).expect("a container is ROOT/containers/ID")
    }

    /// `exec`: runs another process in this running container and waits
    /// for it; returns its exit code. Native containers only: a wasm
    /// container is one program.
    pub fn exec(
        &self,
        args: &[String],
        env: &[(String, String)],
        workdir: Option<&str>,
        user: Option<&str>,
        stdin: bool,
    ) -> Result<i32> {
        self.check_exec()?;
        let exec = crate::plan::Exec { args, env, workdir, user, stdin };
        crate::native::exec(&self.dir, &self.config.id, exec)
    }

    /// Whether `exec` can run a command in it: a running native container.
    pub fn check_exec(&self) -> Result<()> {
        let name = &self.config.name;
        if self.runner_pid().is_none() {
            return Err(Error::usage(format!(
                "container {name} is not running: start it first (wbox start {name})"
            )));
        }
        if !crate::native::is_native(&self.dir, &self.config.id) {
            return Err(Error::usage(format!(
                "container {name} runs a wasm program, which is one process: exec runs commands in native \
                 (Linux) containers only"
            )));
        }
        Ok(())
    }

    /// The ports it is reachable on: while it runs, those it published.
    pub fn published_ports(&self) -> &[PublishedPort] {
        if self.state.status == Status::Running { &self.state.ports } else { &[] }
    }
}

fn log_error(e: io::Error) -> Error {
    Error::Internal(anyhow::anyhow!("reading the log failed: {e}"))
}

fn fs_error(path: &Path, e: io::Error) -> Error {
    Error::Internal(anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_back() {
        for request in [Request::Stop(10), Request::Kill(9), Request::Usage] {
            assert_eq!(Request::decode(&request.encode()), Some(request));
        }
        assert_eq!(Request::decode("halt 3"), None);
    }
}
