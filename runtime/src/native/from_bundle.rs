//! A native container of an OCI bundle someone else prepared (a containerd
//! shim's): its runtime spec and root filesystem as given.

use std::fs;
use std::path::Path;

use super::cgroup::remove_state;
use super::network;
use super::process::{Stdio, builder};
use super::run::Running;
use crate::plan::StdioFiles;
use crate::{Error, Result};

/// Where libcontainer keeps the state of a bundle's container.
const BUNDLE_STATE: &str = "wbox-state";

/// Makes the container a bundle describes (the first half of
/// `create`/`start`, as the OCI runtime verbs split it).
pub(super) fn from_bundle(id: &str, bundle: &Path, stdio: Option<&StdioFiles>) -> Result<Running> {
    let spec = oci_spec::runtime::Spec::load(bundle.join("config.json"))
        .map_err(|e| Error::usage(format!("the bundle's config.json cannot be read: {e}")))?;
    if spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false) {
        return Err(Error::usage(
            "a terminal for a native container is not supported by the wbox shim yet; run without -t",
        ));
    }
    let cgroup = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone()).unwrap_or_default();
    let stdio = match stdio {
        Some(files) => super::process::owned(files)?,
        None => [None, None, None],
    };
    let runtime = builder(id, &bundle.join(BUNDLE_STATE), Stdio::Files(stdio))?
        .as_init(bundle)
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(|e| Error::NotRunnable(format!("cannot create the container: {e}")))?;
    let running = Running::new(runtime, cgroup.to_string_lossy().into_owned())?;
    // A container made with its own network namespace has only a loopback
    // device, down; the spec's maker (containerd) adds any other.
    if crate::oci::has_own_network(&spec)
        && let Err(e) = network::loopback_up(running.pid, false)
    {
        running.discard();
        return Err(e);
    }
    Ok(running)
}

/// Removes what a bundle's container left (its processes, cgroup and
/// state), after a shim that was killed or a create that failed.
pub fn clean_up_bundle(id: &str, bundle: &Path) {
    remove_state(&bundle.join(BUNDLE_STATE), id);
    let _ = fs::remove_dir_all(bundle.join(BUNDLE_STATE));
}
