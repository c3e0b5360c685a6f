//! The shim process itself: starting it (one per pod), cleaning up after
//! one that died, and serving until containerd shuts it down.

use std::path::Path;
use std::sync::Arc;

use containerd_shim::synchronous::publisher::RemotePublisher;
use containerd_shim::{Config, DeleteResponse, Error, ExitSignal, Flags, StartOpts};

use crate::tasks::{self, Tasks};

pub const RUNTIME: &str = "io.containerd.wbox.v1";

/// The annotation the CRI plugin gives every container of a pod: their
/// pod's id. Containers with the same one share a shim process.
const SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";

pub struct Service {
    id: String,
    namespace: String,
    /// containerd's gRPC socket.
    address: String,
    exit: Arc<ExitSignal>,
}

impl containerd_shim::Shim for Service {
    type T = Tasks;

    fn new(_runtime_id: &str, args: &Flags, _config: &mut Config) -> Self {
        Service {
            id: args.id.clone(),
            namespace: args.namespace.clone(),
            address: args.address.clone(),
            exit: Arc::new(ExitSignal::default()),
        }
    }

    /// Runs in the container's bundle directory: spawns the shim process
    /// that serves the pod (or finds it running) and gives its address.
    fn start_shim(&mut self, opts: StartOpts) -> Result<String, Error> {
        let grouping = sandbox_id(Path::new("config.json")).unwrap_or_else(|| opts.id.clone());
        let (_pid, address) = containerd_shim::spawn(opts, &grouping, Vec::new())?;
        containerd_shim::synchronous::util::write_address(&address)?;
        Ok(address)
    }

    /// Cleans up after a shim process that is gone (containerd runs this in
    /// the bundle directory): what its container left, killed and removed.
    fn delete_shim(&mut self) -> Result<DeleteResponse, Error> {
        let bundle = std::env::current_dir().map_err(|e| Error::Other(e.to_string()))?;
        wbox_runtime::bundle::clean_up(&self.id, &bundle);
        tasks::unmount_rootfs(&bundle);
        Ok(DeleteResponse {
            exit_status: 128 + libc::SIGKILL as u32,
            exited_at: Some(tasks::timestamp(std::time::SystemTime::now())).into(),
            ..Default::default()
        })
    }

    fn wait(&mut self) {
        self.exit.wait();
    }

    fn create_task_service(&self, publisher: RemotePublisher) -> Tasks {
        Tasks::new(publisher, &self.namespace, &self.address, Arc::clone(&self.exit))
    }
}

/// The pod a container belongs to, from its bundle's spec.
fn sandbox_id(config: &Path) -> Option<String> {
    let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(config).ok()?).ok()?;
    spec.get("annotations")?.get(SANDBOX_ID)?.as_str().filter(|id| !id.is_empty()).map(str::to_owned)
}
