//! The run plan: one resolved description of what runs, whoever asked for
//! it (`wbox run`, a detached container's supervisor, the containerd shim,
//! a build's RUN step), and the task seam both executors implement.
//!
//! `image` makes a plan from an image and the user's flags, `bundle` from an
//! OCI runtime spec; `wasm` and `native` each make a `Task` of one, and
//! `task::create` decides which.

mod exit;
mod grants;
mod limits;
mod native;
mod network;
mod program;

use std::path::PathBuf;

pub use exit::{Exit, ExitCell, Reason};
pub use grants::{DirGrant, Grants, StdioFiles, merge_env, mount_spec, parse_env, read_env_file};
pub use limits::Limits;
pub use native::{Exec, NativeOptions};
pub use network::{Destination, Network, PublishedPort, Target};
pub use program::{DEFAULT_PATH, Found, find_program};

use crate::Result;

/// What runs and with what: resolved, checked, ready to hand to an
/// executor.
pub struct RunPlan {
    /// The container's id: a native container's, its cgroup's and
    /// libcontainer's name.
    pub id: String,
    pub workload: Workload,
    /// Its arguments, environment (the image's, then the user's: a later
    /// key wins), working directory, directories, network and stdio.
    pub grants: Grants,
    pub limits: Limits,
    /// The signal that asks it to end: the image's STOPSIGNAL, else SIGTERM.
    pub stop_signal: i32,
    /// Keeps the image's files from garbage collection while it runs.
    pub hold: Option<std::fs::File>,
}

impl RunPlan {
    /// A wasm program run on its own, in no container (`wbox run FILE`, a
    /// build's RUN step).
    pub fn wasm(module: Module, grants: Grants, limits: Limits) -> RunPlan {
        RunPlan {
            id: String::new(),
            workload: Workload::Wasm(module),
            grants,
            limits,
            stop_signal: crate::ids::SIGTERM,
            hold: None,
        }
    }
}

/// What kind of program runs.
pub enum Workload {
    /// A wasm module or component, under wasmtime.
    Wasm(Module),
    /// Linux binaries, in a namespace container.
    Native(NativeRun),
}

/// A wasm program's bytes and the name errors call it by.
pub struct Module {
    pub name: String,
    pub source: ModuleSource,
}

pub enum ModuleSource {
    Bytes(Vec<u8>),
    /// A file on the host (`wbox run FILE`), read through the compile cache.
    File(PathBuf),
    /// A file opened already (an image's, opened inside its root), named
    /// as its image names it; read only if the compile cache does not know
    /// it.
    Open(std::fs::File),
    /// A wasm artifact's layer, opened in the image store: read only if the
    /// compile cache does not know it, and then checked against its sha256
    /// digest (`sha256:` and 64 hex digits).
    Blob {
        file: std::fs::File,
        digest: String,
    },
}

/// Where a native container's files come from.
pub enum NativeRun {
    /// An image's files, as `root` says; wbox writes the runtime spec.
    Image {
        /// The container's directory: its native files go in `native/`.
        dir: PathBuf,
        root: NativeRoot,
        options: NativeOptions,
        /// `-u`, else the image's USER.
        user: Option<String>,
    },
    /// An OCI bundle as its maker (containerd) prepared it, run as given.
    Bundle { dir: PathBuf },
}

/// What a native container's `/` is.
pub enum NativeRoot {
    /// These unpacked layers, under a writable layer of the container's own.
    Layered(PathBuf),
    /// These files, changed in place: a build stage's, for a RUN step.
    InPlace(PathBuf),
}

/// What a native container uses, as its cgroup (v2, or v1's controllers)
/// counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupUsage {
    pub cpu_nanos: u64,
    pub memory: u64,
    /// Its memory limit, if it has one.
    pub limit: Option<u64>,
    pub pids: u64,
}

/// What a wasm guest's live instances hold: the bytes of their linear
/// memories and tables, and how many there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuestUsage {
    pub memory: u64,
    pub instances: u64,
}

/// A run made from a plan: created, then started, then ended. `wasm` and
/// `native` each implement it; the supervisor and the shim drive either
/// alike.
pub trait Task: Send + Sync {
    /// The process that runs it: a native container's first process; for
    /// wasm, this process.
    fn pid(&self) -> u32;
    /// The ports it publishes, with the host ports chosen.
    fn published(&self) -> Vec<PublishedPort>;
    /// Lets it run.
    fn start(&self) -> Result<()>;
    /// Asks it to end by itself: a wasm service drains, a native process
    /// gets its stop signal. A wasm command cannot be asked (WASI has no
    /// signals) and runs on.
    fn ask_to_end(&self);
    /// The effect of this signal, now; 0 does nothing.
    fn signal(&self, signal: i32);
    /// Waits for it to end, once started, and removes what it ran in.
    fn wait(&self) -> Exit;
    /// Starts it and waits for it to end: a wasm guest then runs on this
    /// thread, without one of its own to start and join.
    fn run(&self) -> Result<Exit> {
        self.start()?;
        Ok(self.wait())
    }
    /// Ends a task that was never started and removes what it was made in.
    fn discard(&self);
    /// Its processes.
    fn processes(&self) -> Vec<u32>;
    /// A wasm guest runs inside this process, with no processes or cgroup
    /// of its own.
    fn is_wasm(&self) -> bool;
    /// What a wasm guest's instances hold now; none for a native task,
    /// whose cgroup says.
    fn guest_usage(&self) -> Option<GuestUsage> {
        None
    }
}
