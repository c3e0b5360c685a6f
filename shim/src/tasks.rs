//! The shim v2 task API: containerd's requests turned into calls on
//! `wbox_runtime::bundle`, and the task events containerd listens for.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use containerd_shim::api::{self, Status};
use containerd_shim::protos::events::task::{TaskCreate, TaskDelete, TaskExit, TaskStart};
use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::protos::protobuf::{MessageDyn, MessageField};
use containerd_shim::protos::topics;
use containerd_shim::protos::ttrpc::{self, Code};
use containerd_shim::synchronous::publisher::RemotePublisher;
use containerd_shim::{Context, ExitSignal, TtrpcContext, TtrpcResult, warn};
use wbox_runtime::bundle::{self, Io};
use wbox_runtime::plan::{Exit, ExitCell, Task};
use wbox_runtime::task;
use wbox_runtime::wasm::CompileCache;

use crate::image::ContainerImage;

/// The tasks this shim process serves (one, or a pod's).
pub struct Tasks {
    containers: Mutex<HashMap<String, Served>>,
    events: Arc<Events>,
    /// wbox's root, whose compile cache the shim shares.
    root: PathBuf,
    /// containerd's gRPC socket.
    containerd: String,
    exit: Arc<ExitSignal>,
}

/// A container this shim serves: its bundle, stdio and task.
struct Served {
    bundle: PathBuf,
    io: [String; 3],
    terminal: bool,
    /// Whether this shim mounted the root filesystem (and so unmounts it).
    mounted: bool,
    task: Arc<dyn Task>,
    phase: Phase,
    /// How the task ended, once it has. containerd may wait for it before
    /// it asks for the start.
    ended: Arc<ExitCell>,
}

/// Where a task is in its life, as containerd's task API has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Created,
    /// Started; it runs until its exit is recorded.
    Started,
    /// Ended before it was started: killed, or it could not start.
    Discarded,
}

impl Phase {
    /// The one way to start: from created.
    fn start(&mut self, id: &str) -> TtrpcResult<()> {
        match self {
            Phase::Created => {
                *self = Phase::Started;
                Ok(())
            }
            Phase::Started | Phase::Discarded => {
                Err(error(Code::FAILED_PRECONDITION, format!("task {id} was started already")))
            }
        }
    }

    /// A created task may be discarded; one that started runs to its end.
    fn discard(&mut self) -> bool {
        let created = *self == Phase::Created;
        if created {
            *self = Phase::Discarded;
        }
        created
    }
}

/// Publishes task events to containerd, which relays them to its clients
/// (kubelet learns of exits this way).
struct Events {
    publisher: RemotePublisher,
    namespace: String,
}

impl Events {
    fn publish(&self, topic: &str, event: Box<dyn MessageDyn>) {
        if let Err(e) = self.publisher.publish(Context::default(), topic, &self.namespace, event) {
            warn!("cannot publish {topic}: {e}");
        }
    }
}

impl Tasks {
    pub fn new(
        publisher: RemotePublisher,
        namespace: &str,
        containerd: &str,
        exit: Arc<ExitSignal>,
    ) -> Tasks {
        let root = wbox_runtime::root::from_env();
        Tasks {
            containers: Mutex::new(HashMap::new()),
            events: Arc::new(Events { publisher, namespace: namespace.to_owned() }),
            root,
            containerd: containerd.to_owned(),
            exit,
        }
    }

    fn containers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Served>> {
        self.containers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn task(&self, id: &str) -> TtrpcResult<Arc<dyn Task>> {
        self.find(id, |c| match c.phase {
            Phase::Started => Ok(Arc::clone(&c.task)),
            _ => Err(error(Code::FAILED_PRECONDITION, format!("task {id} is not started"))),
        })
    }

    fn find<T>(&self, id: &str, f: impl FnOnce(&mut Served) -> TtrpcResult<T>) -> TtrpcResult<T> {
        let mut containers = self.containers();
        let container =
            containers.get_mut(id).ok_or_else(|| error(Code::NOT_FOUND, format!("no task {id}")))?;
        f(container)
    }
}

impl containerd_shim::Task for Tasks {
    fn create(
        &self,
        _ctx: &TtrpcContext,
        req: api::CreateTaskRequest,
    ) -> TtrpcResult<api::CreateTaskResponse> {
        if self.containers().contains_key(&req.id) {
            return Err(error(Code::ALREADY_EXISTS, format!("task {} exists already", req.id)));
        }
        let bundle = PathBuf::from(&req.bundle);
        let mounted = !req.rootfs.is_empty();
        for mount in &req.rootfs {
            let target = bundle.join("rootfs");
            std::fs::create_dir_all(&target).map_err(|e| error(Code::INTERNAL, e))?;
            mount_rootfs(mount, &target)
                .map_err(|e| error(Code::INTERNAL, format!("cannot mount the root filesystem: {e}")))?;
        }
        let created = open_io(&req.stdin, &req.stdout, &req.stderr).and_then(|io| {
            let mut image = ContainerImage::new(&self.containerd, &self.events.namespace, &req.id);
            let cache = CompileCache::in_root(&self.root);
            let plan = bundle::plan(&req.id, &bundle, io, &mut image);
            plan.and_then(|plan| task::create(plan, &cache)).map_err(|e| e.to_string())
        });
        let task = match created {
            Ok(created) => created,
            Err(e) => {
                bundle::clean_up(&req.id, &bundle);
                if mounted {
                    unmount_rootfs(&bundle);
                }
                return Err(error(Code::FAILED_PRECONDITION, e));
            }
        };
        let pid = task.pid();
        self.events.publish(
            topics::TASK_CREATE_EVENT_TOPIC,
            Box::new(TaskCreate {
                container_id: req.id.clone(),
                bundle: req.bundle.clone(),
                rootfs: req.rootfs.clone(),
                pid,
                ..Default::default()
            }),
        );
        let container = Served {
            bundle,
            io: [req.stdin, req.stdout, req.stderr],
            terminal: req.terminal,
            mounted,
            task,
            phase: Phase::Created,
            ended: Arc::default(),
        };
        self.containers().insert(req.id, container);
        Ok(api::CreateTaskResponse { pid, ..Default::default() })
    }

    fn start(&self, _ctx: &TtrpcContext, req: api::StartRequest) -> TtrpcResult<api::StartResponse> {
        refuse_exec(&req.exec_id)?;
        let (task, ended) = self.find(&req.id, |c| {
            c.phase.start(&req.id)?;
            Ok((Arc::clone(&c.task), Arc::clone(&c.ended)))
        })?;
        let pid = task.pid();
        if let Err(e) = task.start() {
            ended.set(Exit::failed(&e));
            return Err(error(Code::FAILED_PRECONDITION, e));
        }
        let (events, id) = (Arc::clone(&self.events), req.id.clone());
        std::thread::Builder::new()
            .name(format!("wait {id}"))
            .spawn(move || {
                ended.set(task.wait());
                let (exit, at) = ended.wait();
                events.publish(
                    topics::TASK_EXIT_EVENT_TOPIC,
                    Box::new(TaskExit {
                        container_id: id.clone(),
                        id,
                        pid,
                        exit_status: exit.code as u32,
                        exited_at: MessageField::some(timestamp(at)),
                        ..Default::default()
                    }),
                );
            })
            .map_err(|e| error(Code::INTERNAL, format!("cannot start a thread to wait: {e}")))?;
        self.events.publish(
            topics::TASK_START_EVENT_TOPIC,
            Box::new(TaskStart { container_id: req.id, pid, ..Default::default() }),
        );
        Ok(api::StartResponse { pid, ..Default::default() })
    }

    fn state(&self, _ctx: &TtrpcContext, req: api::StateRequest) -> TtrpcResult<api::StateResponse> {
        refuse_exec(&req.exec_id)?;
        self.find(&req.id, |c| {
            let exit = c.ended.get();
            let status = match c.phase {
                Phase::Created => Status::CREATED,
                Phase::Started if exit.is_none() => Status::RUNNING,
                Phase::Started | Phase::Discarded => Status::STOPPED,
            };
            let [stdin, stdout, stderr] = c.io.clone();
            Ok(api::StateResponse {
                id: req.id.clone(),
                bundle: c.bundle.to_string_lossy().into_owned(),
                pid: c.task.pid(),
                status: status.into(),
                stdin,
                stdout,
                stderr,
                terminal: c.terminal,
                exit_status: exit.as_ref().map_or(0, |(e, _)| e.code as u32),
                exited_at: exit.map(|(_, at)| timestamp(at)).into(),
                ..Default::default()
            })
        })
    }

    fn wait(&self, _ctx: &TtrpcContext, req: api::WaitRequest) -> TtrpcResult<api::WaitResponse> {
        refuse_exec(&req.exec_id)?;
        let (exit, at) = self.find(&req.id, |c| Ok(Arc::clone(&c.ended)))?.wait();
        Ok(api::WaitResponse {
            exit_status: exit.code as u32,
            exited_at: MessageField::some(timestamp(at)),
            ..Default::default()
        })
    }

    fn kill(&self, _ctx: &TtrpcContext, req: api::KillRequest) -> TtrpcResult<api::Empty> {
        refuse_exec(&req.exec_id)?;
        let signal = req.signal as i32;
        let discarded = self.find(&req.id, |c| {
            if c.phase.discard() {
                c.task.discard();
                c.ended.set(Exit::signaled(signal));
                return Ok(c.ended.get());
            }
            if c.phase == Phase::Started {
                c.task.signal(signal);
            }
            Ok(None)
        })?;
        if let Some((exit, at)) = discarded {
            self.events.publish(
                topics::TASK_EXIT_EVENT_TOPIC,
                Box::new(TaskExit {
                    container_id: req.id.clone(),
                    id: req.id,
                    exit_status: exit.code as u32,
                    exited_at: MessageField::some(timestamp(at)),
                    ..Default::default()
                }),
            );
        }
        Ok(api::Empty::new())
    }

    fn delete(&self, _ctx: &TtrpcContext, req: api::DeleteRequest) -> TtrpcResult<api::DeleteResponse> {
        refuse_exec(&req.exec_id)?;
        let mut container = {
            let mut containers = self.containers();
            let container = containers
                .get(&req.id)
                .ok_or_else(|| error(Code::NOT_FOUND, format!("no task {}", req.id)))?;
            if container.phase == Phase::Started && container.ended.get().is_none() {
                return Err(error(
                    Code::FAILED_PRECONDITION,
                    format!("task {} is running; kill it first", req.id),
                ));
            }
            containers.remove(&req.id).expect("found above")
        };
        if container.phase.discard() {
            container.task.discard();
            container.ended.set(Exit::signaled(libc::SIGKILL));
        }
        let pid = container.task.pid();
        let (exit, at) = container.ended.wait();
        bundle::clean_up(&req.id, &container.bundle);
        if container.mounted {
            unmount_rootfs(&container.bundle);
        }
        self.events.publish(
            topics::TASK_DELETE_EVENT_TOPIC,
            Box::new(TaskDelete {
                container_id: req.id.clone(),
                id: req.id,
                pid,
                exit_status: exit.code as u32,
                exited_at: MessageField::some(timestamp(at)),
                ..Default::default()
            }),
        );
        Ok(api::DeleteResponse {
            pid,
            exit_status: exit.code as u32,
            exited_at: MessageField::some(timestamp(at)),
            ..Default::default()
        })
    }

    fn pids(&self, _ctx: &TtrpcContext, req: api::PidsRequest) -> TtrpcResult<api::PidsResponse> {
        let task = self.task(&req.id)?;
        let processes = task
            .processes()
            .into_iter()
            .map(|pid| containerd_shim::protos::types::task::ProcessInfo { pid, ..Default::default() })
            .collect();
        Ok(api::PidsResponse { processes, ..Default::default() })
    }

    /// A native container's cgroup figures (memory, CPU, processes), as
    /// runc's shim gives them. A wasm guest runs inside this process, which
    /// has no cgroup of its own to measure it by.
    fn stats(&self, _ctx: &TtrpcContext, req: api::StatsRequest) -> TtrpcResult<api::StatsResponse> {
        let task = self.task(&req.id)?;
        if task.is_wasm() {
            return Err(error(
                Code::UNIMPLEMENTED,
                format!(
                    "no stats for {}: a wasm guest runs inside the shim, with no cgroup of its own",
                    req.id
                ),
            ));
        }
        let metrics = containerd_shim::cgroup::get_cgroup(task.pid())
            .and_then(|cgroup| containerd_shim::cgroup::collect_metrics(&cgroup))
            .and_then(|metrics| containerd_shim::util::convert_to_any(Box::new(metrics)))
            .map_err(|e| error(Code::INTERNAL, format!("cannot read the stats of {}: {e}", req.id)))?;
        Ok(api::StatsResponse { stats: MessageField::some(metrics), ..Default::default() })
    }

    fn exec(&self, _ctx: &TtrpcContext, req: api::ExecProcessRequest) -> TtrpcResult<api::Empty> {
        let wasm = self.find(&req.id, |c| Ok(c.task.is_wasm()))?;
        Err(error(
            Code::UNIMPLEMENTED,
            if wasm {
                format!(
                    "cannot exec in {}: it is a wasm guest, a single program with no other processes to start",
                    req.id
                )
            } else {
                format!(
                    "cannot exec in {}: the wbox shim does not run extra processes in a container yet",
                    req.id
                )
            },
        ))
    }

    fn connect(&self, _ctx: &TtrpcContext, req: api::ConnectRequest) -> TtrpcResult<api::ConnectResponse> {
        let task_pid = self.find(&req.id, |c| Ok(c.task.pid()))?;
        Ok(api::ConnectResponse {
            shim_pid: std::process::id(),
            task_pid,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ..Default::default()
        })
    }

    /// containerd asks after each container is deleted; the process ends
    /// when it serves no container any more (the last of its pod).
    fn shutdown(&self, _ctx: &TtrpcContext, _req: api::ShutdownRequest) -> TtrpcResult<api::Empty> {
        if self.containers().is_empty() {
            self.exit.signal();
        }
        Ok(api::Empty::new())
    }
}

/// The only process of a task is its first: there are no exec processes.
fn refuse_exec(exec_id: &str) -> TtrpcResult<()> {
    if exec_id.is_empty() {
        Ok(())
    } else {
        Err(error(Code::NOT_FOUND, format!("no process {exec_id}: the wbox shim runs no exec processes")))
    }
}

/// Opens the FIFOs containerd made for the task's stdio ("" for none).
fn open_io(stdin: &str, stdout: &str, stderr: &str) -> Result<Io, String> {
    let open = |path: &str, write: bool| -> Result<Option<File>, String> {
        if path.is_empty() {
            return Ok(None);
        }
        let path = path.strip_prefix("file://").unwrap_or(path);
        let opened = if write {
            // Blocks until the reader is there: containerd's client opens
            // its ends before it asks for the task.
            OpenOptions::new().write(true).open(path)
        } else {
            // A client with nothing to send never opens its end, so stdin
            // is opened without waiting (a read then ends at once, as for
            // an empty stdin), then made blocking for the guest.
            OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).and_then(|file| {
                // SAFETY: F_SETFL on a descriptor we own.
                match unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, 0) } {
                    0 => Ok(file),
                    _ => Err(std::io::Error::last_os_error()),
                }
            })
        };
        opened.map(Some).map_err(|e| format!("cannot open the task's stdio {path}: {e}"))
    };
    Ok(Io { stdin: open(stdin, false)?, stdout: open(stdout, true)?, stderr: open(stderr, true)? })
}

/// Mounts a snapshot containerd prepared (an overlay, or a bind mount of
/// a directory). Not the shim crate's `mount_rootfs`: that waits for its
/// helper through the reaper this shim turns off.
fn mount_rootfs(mount: &containerd_shim::protos::types::mount::Mount, target: &Path) -> std::io::Result<()> {
    wbox_runtime::native::mount_described(&mount.source, &mount.type_, &mount.options, target)
}

pub fn unmount_rootfs(bundle: &Path) {
    wbox_runtime::native::unmount(&bundle.join("rootfs"));
}

pub fn timestamp(at: SystemTime) -> Timestamp {
    let since = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    Timestamp { seconds: since.as_secs() as i64, nanos: since.subsec_nanos() as i32, ..Default::default() }
}

fn error(code: Code, message: impl std::fmt::Display) -> ttrpc::Error {
    ttrpc::Error::RpcStatus(ttrpc::get_status(code, message.to_string()))
}
