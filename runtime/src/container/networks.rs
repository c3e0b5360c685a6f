//! Containers on user-defined networks: joining at create, `network
//! connect` and `disconnect`, leaving when removed, and the `/etc/hosts` of
//! native members kept naming every member.

use crate::filters::Filters;
use crate::network::{self, Network, Networks};
use crate::plan::{Destination, Network as PlanNetwork, PublishedPort, RunPlan, Workload};
use crate::{Error, Result};

use super::{Container, Containers};

impl Containers {
    /// Puts a new container on the networks it was made for.
    pub(super) fn join_networks(
        &self,
        container: &Container,
        wanted: &[(String, Vec<String>)],
    ) -> Result<()> {
        for (name, aliases) in wanted {
            self.connect(name, container.id(), aliases)?;
        }
        Ok(())
    }

    /// `network connect`: the container joins `network` with `aliases`; a
    /// running native one is wired at once, any other at its next start.
    pub fn connect(&self, network: &str, container: &str, aliases: &[String]) -> Result<()> {
        let networks = Networks::open(self.root())?;
        let network = networks.get(network)?;
        let container = self.lookup(container)?;
        let member = networks.connect(&network, container.id(), &container.config.name, aliases)?;
        if let Some(pid) = container.native_pid() {
            let wired = network::attach(&networks, &network, &member, pid as i32);
            if let Err(e) = wired {
                let _ = networks.disconnect(&network, container.id());
                return Err(e);
            }
        }
        self.refresh_hosts(&networks, &network)
    }

    /// `network disconnect`.
    pub fn disconnect(&self, network: &str, container: &str) -> Result<()> {
        let networks = Networks::open(self.root())?;
        let network = networks.get(network)?;
        let container = self.lookup(container)?;
        if !networks.disconnect(&network, container.id())? {
            return Err(Error::usage(format!(
                "container {} is not connected to network {}",
                container.config.name, network.name
            )));
        }
        network::detach_all(&networks, &network, container.id());
        self.refresh_hosts(&networks, &network)
    }

    /// Rewrites the member lines of the `/etc/hosts` of the network's
    /// members that have one: a native member's, and a wasm member's
    /// (`HOSTS`, in its directory).
    fn refresh_hosts(&self, networks: &Networks, network: &Network) -> Result<()> {
        for member in networks.members(network)? {
            let dir = self.dir.join(&member.container);
            for hosts in [dir.join("native/etc/hosts"), dir.join(HOSTS)] {
                if hosts.exists() {
                    networks.refresh_hosts(&hosts, &member.container)?;
                }
            }
        }
        Ok(())
    }
}

/// A wasm member's `/etc/hosts`, in its directory.
const HOSTS: &str = "hosts";

impl Container {
    /// Puts a wasm guest on the networks its container is on, when it is on
    /// any: the supervisor's thread moves into namespaces of its own (see
    /// `native::enter_networks`), where the guest's published ports are its
    /// container ports, an HTTP service also answers on the ports its image
    /// `exposed` (for the members only), and the networks' subnets are
    /// added to what it may reach. Held until the guest ends.
    pub(super) fn wasm_on_networks(
        &self,
        plan: &mut RunPlan,
        exposed: &[u16],
    ) -> Result<Option<crate::native::GuestNetwork>> {
        if !matches!(plan.workload, Workload::Wasm(_)) {
            return Ok(None);
        }
        let networks = Networks::open(self.root())?;
        let joined = networks.of_container(self.id())?;
        if joined.is_empty() {
            return Ok(None);
        }
        let hosts = self.dir.join(HOSTS);
        let own = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
        std::fs::write(&hosts, network::hosts_file(own, &networks.hosts_lines(self.id())?))
            .map_err(|e| Error::Internal(anyhow::anyhow!("{}: {e}", hosts.display())))?;
        let entered =
            crate::native::enter_networks(&networks, &joined, &self.dir, &hosts, &plan.grants.ports)?;
        for port in &mut plan.grants.ports {
            port.host_ip = None;
            port.host_port = port.container_port;
        }
        for &port in exposed {
            if !plan.grants.ports.iter().any(|p| !p.udp && p.container_port == port) {
                let inside =
                    PublishedPort { host_ip: None, host_port: port, container_port: port, udp: false };
                plan.grants.ports.push(inside);
            }
        }
        plan.grants.own_network = true;
        let subnets =
            joined.iter().map(|(n, _)| Destination::parse(&n.subnet_text())).collect::<Result<Vec<_>>>()?;
        plan.grants.network = match std::mem::take(&mut plan.grants.network) {
            PlanNetwork::None => PlanNetwork::Allow(subnets),
            PlanNetwork::Allow(mut allowed) => {
                allowed.extend(subnets);
                PlanNetwork::Allow(allowed)
            }
            PlanNetwork::Host => PlanNetwork::Host,
        };
        Ok(Some(entered))
    }

    /// Leaves every network it is on, as it is removed.
    pub(super) fn leave_networks(&self) {
        let Ok(networks) = Networks::open(self.root()) else { return };
        let containers = Containers { dir: self.dir.parent().map(ToOwned::to_owned).unwrap_or_default() };
        for (network, _) in networks.of_container(self.id()).unwrap_or_default() {
            let _ = networks.disconnect(&network, self.id());
            network::detach_all(&networks, &network, self.id());
            let _ = containers.refresh_hosts(&networks, &network);
        }
    }

    /// The names of the user-defined networks it is on.
    pub fn network_names(&self) -> Vec<String> {
        self.network_settings().keys().cloned().collect()
    }

    /// A process of a running native container, in its network namespace.
    fn native_pid(&self) -> Option<u32> {
        let running = self.runner_pid().is_some() && crate::native::is_native(&self.dir, &self.config.id);
        running.then(|| self.processes().ok()).flatten().and_then(|pids| pids.into_iter().min())
    }

    /// Docker's `NetworkSettings.Networks`: each network it is on, with its
    /// address there.
    pub fn network_settings(&self) -> serde_json::Map<String, serde_json::Value> {
        let Ok(networks) = Networks::open(self.root()) else { return Default::default() };
        networks
            .of_container(self.id())
            .unwrap_or_default()
            .into_iter()
            .map(|(network, member)| {
                let entry = serde_json::json!({
                    "Aliases": member.aliases,
                    "NetworkID": network.id,
                    "EndpointID": member.container,
                    "Gateway": network.gateway().to_string(),
                    "IPAddress": member.address.to_string(),
                    "IPPrefixLen": network.subnet.1,
                    "MacAddress": member.mac_address(),
                });
                (network.name, entry)
            })
            .collect()
    }
}

impl Containers {
    /// `network ls`: the predefined networks and the user-defined ones the
    /// filters let through, as Docker's API lists them (no members).
    pub fn list_networks(&self, filters: &Filters) -> Result<Vec<serde_json::Value>> {
        let mut listed = Vec::new();
        for name in network::PREDEFINED {
            if network::predefined_matches(name, filters)? {
                listed.extend(network::predefined(name));
            }
        }
        let networks = Networks::open(self.root())?;
        for network in networks.list()? {
            let used = !networks.members(&network)?.is_empty();
            if network::matches(&network, used, filters)? {
                listed.push(network.inspect(&[]));
            }
        }
        Ok(listed)
    }

    /// `network inspect`: with its members.
    pub fn inspect_network(&self, name_or_id: &str) -> Result<serde_json::Value> {
        if let Some(predefined) = network::predefined(name_or_id) {
            return Ok(predefined);
        }
        let networks = Networks::open(self.root())?;
        let network = networks.get(name_or_id)?;
        Ok(network.inspect(&networks.members(&network)?))
    }
}
