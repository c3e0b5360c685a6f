//! User-defined networks, as `docker network` makes them: a name, a subnet
//! and its members, each with an address and aliases. A network's record is
//! `ROOT/networks/ID/network.json`, each member's
//! `ROOT/networks/ID/members/CONTAINER.json`, written under one lock
//! (`ROOT/networks/.lock`) so that names, subnets and addresses stay
//! unique. What carries the traffic is in `bridge`: a bridge in a network
//! namespace of the network's own, which native members are wired to.
//!
//! `bridge` (the default: each container on its own), `host` and `none` are
//! Docker's predefined networks; they have no record and no members here.

mod bridge;

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::filters::Filters;
use crate::{Error, Result};

pub use bridge::{attach, detach_all, ensure_namespace, run as run_tool};

/// Docker's predefined networks.
pub const PREDEFINED: &[&str] = &["bridge", "host", "none"];

/// The filters `network ls` takes.
pub const FILTERS: &[&str] = &["driver", "id", "label", "name", "type", "dangling"];

/// The filters `network prune` takes.
pub const PRUNE_FILTERS: &[&str] = &["label", "label!", "until"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The network's first address and prefix length: `172.18.0.0/16`.
    pub subnet: (Ipv4Addr, u8),
    /// No route out: members reach each other only (`--internal`).
    #[serde(default)]
    pub internal: bool,
}

/// A container on a network.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub container: String,
    /// The container's name when it joined (it answers to it on the network).
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub address: Ipv4Addr,
}

impl Network {
    /// The bridge's address, which members route through: the subnet's first.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.subnet.0) + 1)
    }

    pub fn subnet_text(&self) -> String {
        format!("{}/{}", self.subnet.0, self.subnet.1)
    }

    /// Docker's view of it, `network inspect`'s; `containers` are its
    /// members as Docker lists them.
    pub fn inspect(&self, members: &[Member]) -> serde_json::Value {
        let containers: serde_json::Map<String, serde_json::Value> = members
            .iter()
            .map(|m| {
                let entry = serde_json::json!({
                    "Name": m.name,
                    "EndpointID": m.container,
                    "MacAddress": m.mac_address(),
                    "IPv4Address": format!("{}/{}", m.address, self.subnet.1),
                    "IPv6Address": "",
                });
                (m.container.clone(), entry)
            })
            .collect();
        serde_json::json!({
            "Name": self.name,
            "Id": self.id,
            "Created": self.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "Scope": "local",
            "Driver": "bridge",
            "EnableIPv6": false,
            "IPAM": {
                "Driver": "default",
                "Options": {},
                "Config": [{ "Subnet": self.subnet_text(), "Gateway": self.gateway().to_string() }],
            },
            "Internal": self.internal,
            "Attachable": false,
            "Ingress": false,
            "ConfigFrom": { "Network": "" },
            "ConfigOnly": false,
            "Containers": containers,
            "Options": {},
            "Labels": self.labels,
        })
    }
}

impl Member {
    /// Docker's MAC of an address: 02:42 and the address's four bytes.
    pub fn mac_address(&self) -> String {
        let [a, b, c, d] = self.address.octets();
        format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
    }

    /// The names it answers to on the network.
    pub fn names(&self) -> Vec<&str> {
        let short = &self.container[..12.min(self.container.len())];
        std::iter::once(self.name.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .chain([short])
            .collect()
    }
}

/// The networks a container is on, with its membership of each.
pub type Memberships = Vec<(Network, Member)>;

/// All networks of one root.
pub struct Networks {
    dir: PathBuf,
}

impl Networks {
    pub fn open(root: &Path) -> Result<Networks> {
        let dir = root.join("networks");
        fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(Networks { dir })
    }

    pub(super) fn lock(&self) -> Result<fs::File> {
        let path = self.dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        file.lock().map_err(|e| io_error(&path, e))?;
        Ok(file)
    }

    /// `network create`: a network with the next free subnet.
    pub fn create(&self, name: &str, labels: BTreeMap<String, String>, internal: bool) -> Result<Network> {
        check_name(name)?;
        let _lock = self.lock()?;
        let existing = self.list()?;
        if PREDEFINED.contains(&name) || existing.iter().any(|n| n.name == name) {
            return Err(Error::Conflict(format!("network with name {name} already exists")));
        }
        let taken: Vec<Ipv4Addr> = existing.iter().map(|n| n.subnet.0).collect();
        let subnet = subnets().find(|s| !taken.contains(&s.0)).ok_or_else(|| {
            Error::usage("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network; remove networks with `wbox network prune`")
        })?;
        let network = Network {
            id: crate::ids::new_id()?,
            name: name.to_owned(),
            created: Utc::now(),
            labels,
            subnet,
            internal,
        };
        let dir = self.dir.join(&network.id);
        fs::create_dir_all(dir.join("members")).map_err(|e| io_error(&dir, e))?;
        write_json(&dir.join("network.json"), &network)?;
        self.record(&network, "create", &[("type", "bridge")]);
        Ok(network)
    }

    /// Every user-defined network, oldest first.
    pub fn list(&self) -> Result<Vec<Network>> {
        let mut networks = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, e))?.flatten() {
            let path = entry.path().join("network.json");
            if let Ok(bytes) = fs::read(&path) {
                networks.push(
                    serde_json::from_slice::<Network>(&bytes).map_err(|e| {
                        Error::Internal(anyhow::anyhow!("{} is damaged: {e}", path.display()))
                    })?,
                );
            }
        }
        networks.sort_by_key(|n| n.created);
        Ok(networks)
    }

    /// The network of this name, id or id prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Network> {
        let networks = self.list()?;
        if let Some(network) = networks.iter().find(|n| n.name == name_or_id || n.id == name_or_id) {
            return Ok(network.clone());
        }
        let matching: Vec<&Network> = networks.iter().filter(|n| n.id.starts_with(name_or_id)).collect();
        match matching.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::NoSuchNetwork(name_or_id.to_owned())),
            many => {
                Err(Error::Ambiguous { prefix: name_or_id.to_owned(), count: many.len(), what: "networks" })
            }
        }
    }

    pub fn members(&self, network: &Network) -> Result<Vec<Member>> {
        let dir = self.dir.join(&network.id).join("members");
        let mut members = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_error(&dir, e))?.flatten() {
            if let Ok(bytes) = fs::read(entry.path()) {
                members.push(serde_json::from_slice::<Member>(&bytes).map_err(|e| {
                    Error::Internal(anyhow::anyhow!("{} is damaged: {e}", entry.path().display()))
                })?);
            }
        }
        members.sort_by_key(|m| m.address);
        Ok(members)
    }

    /// The networks `container` is on, with its membership of each.
    pub fn of_container(&self, container: &str) -> Result<Memberships> {
        let mut found = Vec::new();
        for network in self.list()? {
            let path = self.member_path(&network, container);
            if let Ok(bytes) = fs::read(&path) {
                let member = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Internal(anyhow::anyhow!("{} is damaged: {e}", path.display())))?;
                found.push((network, member));
            }
        }
        Ok(found)
    }

    /// `network connect`: `container` joins with the next free address.
    pub fn connect(
        &self,
        network: &Network,
        container: &str,
        name: &str,
        aliases: &[String],
    ) -> Result<Member> {
        let _lock = self.lock()?;
        let members = self.members(network)?;
        if members.iter().any(|m| m.container == container) {
            return Err(Error::usage(format!(
                "endpoint with name {name} already exists in network {}",
                network.name
            )));
        }
        let first = u32::from(network.gateway()) + 1;
        let last = u32::from(network.subnet.0)
            | !u32::MAX.checked_shl(32 - u32::from(network.subnet.1)).unwrap_or(0);
        let address =
            (first..last).map(Ipv4Addr::from).find(|a| members.iter().all(|m| m.address != *a)).ok_or_else(
                || Error::usage(format!("no available IPv4 addresses on network {}", network.name)),
            )?;
        let member = Member {
            container: container.to_owned(),
            name: name.to_owned(),
            aliases: aliases.to_vec(),
            address,
        };
        write_json(&self.member_path(network, container), &member)?;
        self.record(network, "connect", &[("container", container)]);
        Ok(member)
    }

    /// `network disconnect`: false when it was not a member.
    pub fn disconnect(&self, network: &Network, container: &str) -> Result<bool> {
        let _lock = self.lock()?;
        match fs::remove_file(self.member_path(network, container)) {
            Ok(()) => {
                self.record(network, "disconnect", &[("container", container)]);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&self.member_path(network, container), e)),
        }
    }

    /// `network rm`: refused while it has members.
    pub fn remove(&self, name_or_id: &str) -> Result<Network> {
        if PREDEFINED.contains(&name_or_id) {
            return Err(Error::Forbidden(format!(
                "{name_or_id} is a pre-defined network and cannot be removed"
            )));
        }
        let _lock = self.lock()?;
        let network = self.get(name_or_id)?;
        if !self.members(&network)?.is_empty() {
            return Err(Error::Forbidden(format!(
                "error while removing network: network {} id {} has active endpoints",
                network.name, network.id
            )));
        }
        let dir = self.dir.join(&network.id);
        bridge::remove(&dir);
        fs::remove_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        self.record(&network, "destroy", &[("type", "bridge")]);
        Ok(network)
    }

    /// `network prune`: removes the networks without members that the
    /// filters let through; returns their names.
    pub fn prune(&self, filters: &Filters) -> Result<Vec<String>> {
        let until = filters.until(Utc::now())?;
        let mut removed = Vec::new();
        for network in self.list()? {
            if until.is_some_and(|until| network.created >= until)
                || !filters.labels_match(&network.labels)
                || !self.members(&network)?.is_empty()
            {
                continue;
            }
            if self.remove(&network.id).is_ok() {
                removed.push(network.name);
            }
        }
        Ok(removed)
    }

    /// The `/etc/hosts` lines that name the members of every network
    /// `container` is on.
    pub fn hosts_lines(&self, container: &str) -> Result<String> {
        let mut lines = String::new();
        for (network, _) in self.of_container(container)? {
            for member in self.members(&network)? {
                lines.push_str(&format!("{}\t{}\n", member.address, member.names().join(" ")));
            }
        }
        Ok(lines)
    }

    /// Rewrites in place (a bind mount holds the file, not its name) the
    /// member lines of the `/etc/hosts` of `container` at `path`.
    pub fn refresh_hosts(&self, path: &Path, container: &str) -> Result<()> {
        let text = fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        let own = text.split_once(MEMBERS_MARK).map_or(text.as_str(), |(own, _)| own);
        fs::write(path, hosts_file(own, &self.hosts_lines(container)?)).map_err(|e| io_error(path, e))
    }

    /// Where a network's own network namespace is kept.
    pub fn netns_path(&self, network: &Network) -> PathBuf {
        self.dir.join(&network.id).join("netns")
    }

    fn member_path(&self, network: &Network, container: &str) -> PathBuf {
        self.dir.join(&network.id).join("members").join(format!("{container}.json"))
    }

    fn record(&self, network: &Network, action: &str, extra: &[(&str, &str)]) {
        let mut attributes = vec![("name", network.name.as_str())];
        attributes.extend_from_slice(extra);
        if let Some(root) = self.dir.parent() {
            crate::events::record(root, "network", action, &network.id, &attributes);
        }
    }
}

/// One of Docker's predefined networks, as `network inspect` shows it; its
/// id is fixed, made from its name.
pub fn predefined(name: &str) -> Option<serde_json::Value> {
    let driver = match name {
        "bridge" => "bridge",
        "host" => "host",
        "none" => "null",
        _ => return None,
    };
    let id = crate::store::Digest::of(format!("wbox network {name}").as_bytes()).hex().to_owned();
    Some(serde_json::json!({
        "Name": name,
        "Id": id,
        "Created": "0001-01-01T00:00:00Z",
        "Scope": "local",
        "Driver": driver,
        "EnableIPv6": false,
        "IPAM": { "Driver": "default", "Options": null, "Config": [] },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": {},
        "Options": {},
        "Labels": {},
    }))
}

/// Whether a predefined network passes `network ls`'s filters.
pub fn predefined_matches(name: &str, filters: &Filters) -> Result<bool> {
    let Some(network) = predefined(name) else { return Ok(false) };
    let id = network["Id"].as_str().unwrap_or_default();
    Ok(filters.any("name", |n| name.contains(n))
        && filters.any("id", |i| id.starts_with(i))
        && filters.any("driver", |d| network["Driver"] == *d)
        && filters.any("type", |t| t == "builtin")
        && filters.boolean("dangling")?.is_none_or(|d| !d)
        && filters.values("label").is_empty())
}

/// The line after which a container's `/etc/hosts` names the members of
/// its networks.
const MEMBERS_MARK: &str = "# the members of its networks\n";

/// A container's `/etc/hosts`: its own lines, then its networks' members.
pub fn hosts_file(own: &str, members: &str) -> String {
    if members.is_empty() { own.to_owned() } else { format!("{own}{MEMBERS_MARK}{members}") }
}

/// Docker's `--driver` of a network: wbox has `bridge` only.
pub fn check_driver(driver: &str) -> Result<()> {
    if driver.is_empty() || driver == "bridge" {
        return Ok(());
    }
    Err(Error::usage(format!("network driver {driver}: wbox has only bridge")))
}

/// Whether `network` passes `network ls`'s filters, given whether it has members.
pub fn matches(network: &Network, used: bool, filters: &Filters) -> Result<bool> {
    let dangling = filters.boolean("dangling")?;
    Ok(filters.any("name", |n| network.name.contains(n))
        && filters.any("id", |i| network.id.starts_with(i))
        && filters.any("driver", |d| d == "bridge")
        && filters.any("type", |t| t == "custom")
        && dangling.is_none_or(|d| d != used)
        && filters.labels_match(&network.labels))
}

/// Docker's default address pools: 172.18.0.0/16 to 172.31.0.0/16, then
/// 192.168.0.0/20 and on in /20 steps.
fn subnets() -> impl Iterator<Item = (Ipv4Addr, u8)> {
    let wide = (18..=31).map(|b| (Ipv4Addr::new(172, b, 0, 0), 16));
    let narrow = (0..16).map(|k| (Ipv4Addr::new(192, 168, k * 16, 0), 20));
    wide.chain(narrow)
}

/// Docker's rule for network names.
fn check_name(name: &str) -> Result<()> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid network name {name:?}: use letters, digits, '_', '.' and '-', starting with a letter or digit"
        )))
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).expect("records serialise");
    crate::store::write_atomic(path, &bytes).map_err(|e| io_error(path, e))
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_and_addresses_are_unique_and_freed() {
        let root = tempfile::tempdir().unwrap();
        let networks = Networks::open(root.path()).unwrap();
        let a = networks.create("a", BTreeMap::new(), false).unwrap();
        let b = networks.create("b", BTreeMap::new(), false).unwrap();
        assert_eq!((a.subnet_text(), b.subnet_text()), ("172.18.0.0/16".into(), "172.19.0.0/16".into()));
        assert!(networks.create("a", BTreeMap::new(), false).is_err());
        assert!(networks.create("bridge", BTreeMap::new(), false).is_err());
        let first = networks.connect(&a, "c1", "one", &[]).unwrap();
        let second = networks.connect(&a, "c2", "two", &["db".into()]).unwrap();
        assert_eq!(
            (first.address, second.address),
            (Ipv4Addr::new(172, 18, 0, 2), Ipv4Addr::new(172, 18, 0, 3))
        );
        assert!(networks.remove("a").is_err(), "in use");
        assert!(networks.disconnect(&a, "c1").unwrap());
        assert_eq!(networks.connect(&a, "c3", "three", &[]).unwrap().address, first.address);
        networks.disconnect(&a, "c2").unwrap();
        networks.disconnect(&a, "c3").unwrap();
        networks.remove("a").unwrap();
        assert_eq!(networks.create("c", BTreeMap::new(), false).unwrap().subnet_text(), "172.18.0.0/16");
    }
}
