//! What an OCI runtime spec says that both executors ask.

use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// Whether the spec makes a network namespace of its own (none to join):
/// no network for a wasm guest, loopback only for a native container.
pub(crate) fn has_own_network(spec: &Spec) -> bool {
    spec.linux().as_ref().and_then(|l| l.namespaces().as_ref()).is_some_and(|namespaces| {
        namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none())
    })
}
