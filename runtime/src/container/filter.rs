//! Which containers `ps` lists, by Docker's filters.

use crate::filters::Filters;
use crate::store::Store;
use crate::{Error, Result};

use super::{Container, Containers, Status};

/// The filters `ps` takes, as Docker's (`health`, `isolation` and
/// `is-task` for scripts written for Docker: no container has a health
/// check, an isolation other than the default, or is a swarm task).
pub const FILTERS: &[&str] = &[
    "ancestor",
    "before",
    "exited",
    "expose",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];

/// The filters `container prune` takes.
pub const PRUNE_FILTERS: &[&str] = &["label", "label!", "until"];

const STATUSES: &[&str] = &["created", "restarting", "running", "removing", "paused", "exited", "dead"];

impl Containers {
    /// `container prune`: removes every container that is not running and
    /// that `filters` (labels, `until`) let through; returns their ids.
    pub fn prune(&self, filters: &Filters) -> Result<Vec<String>> {
        let until = filters.until(chrono::Utc::now())?;
        let mut removed = Vec::new();
        for container in self.list()? {
            let config = &container.config;
            if container.is_running()
                || !filters.labels_match(&config.spec.labels)
                || !Filters::before_until(until, config.created)
            {
                continue;
            }
            let id = container.id().to_owned();
            match container.remove(false) {
                Ok(()) => removed.push(id),
                // Started meanwhile, or removed by another wbox.
                Err(e) => tracing::debug!("{id} kept: {e}"),
            }
        }
        Ok(removed)
    }

    /// The containers `ps` lists, newest first: the running ones, or all
    /// with `all` (or a `status` or `exited` filter, which name ended ones),
    /// that `filters` let through.
    pub fn matching(&self, store: &Store, filters: &Filters, all: bool) -> Result<Vec<Container>> {
        for status in filters.values("status") {
            if !STATUSES.contains(&status.as_str()) {
                return Err(Error::usage(format!("Invalid filter 'status={status}'")));
            }
        }
        let exited: Vec<i32> = filters
            .values("exited")
            .iter()
            .map(|code| code.parse().map_err(|_| Error::usage(format!("exited={code}: not an exit code"))))
            .collect::<Result<_>>()?;
        let names: Vec<regex::Regex> = filters
            .values("name")
            .iter()
            .map(|pattern| {
                regex::Regex::new(pattern).map_err(|e| Error::usage(format!("name={pattern}: {e}")))
            })
            .collect::<Result<_>>()?;
        // An image that is not there is no one's ancestor.
        let ancestors: Vec<_> = filters
            .values("ancestor")
            .iter()
            .filter_map(|name| crate::image::lookup(store, name).ok())
            .map(|(image, _)| image.manifest_digest)
            .collect();
        let every = self.list()?;
        let created_of = |values: &[String]| -> Result<Vec<_>> {
            values.iter().map(|name| Ok(self.lookup(name)?.config.created)).collect()
        };
        let (before, since) = (created_of(filters.values("before"))?, created_of(filters.values("since"))?);
        let all = all || !filters.values("status").is_empty() || !exited.is_empty();
        let volumes = crate::volume::Volumes::open(self.root())?;

        let networks = crate::network::Networks::open(self.root())?;
        let memberships = |c: &Container| networks.of_container(c.id()).unwrap_or_default();
        let mut shown: Vec<Container> = every
            .into_iter()
            .filter(|c| {
                let status = c.state.status.as_str();
                let name = &c.config.name;
                let ports = || c.config.spec.grants.ports.iter().map(|p| (p.container_port, p.udp));
                (all || c.is_running())
                    && filters.any("status", |s| s == status)
                    && (exited.is_empty()
                        || c.state.status == Status::Exited && c.state.exit_code.is_some_and(|e| exited.contains(&e)))
                    && filters.any("id", |id| c.id().starts_with(id))
                    && (names.is_empty()
                        || names.iter().any(|r| r.is_match(name) || r.is_match(&format!("/{name}"))))
                    && filters.labels_match(&c.config.spec.labels)
                    && (filters.values("ancestor").is_empty() || ancestors.contains(&c.config.spec.image_id))
                    && before.iter().all(|b| c.config.created < *b)
                    && since.iter().all(|s| c.config.created > *s)
                    && filters.any("publish", |p| ports().any(|port| port_matches(p, port)))
                    && filters.any("expose", |p| ports().any(|port| port_matches(p, port)))
                    // A volume by its name, a bind by its host path, either where it is mounted.
                    && filters.any("volume", |v| {
                        c.config.spec.grants.dirs.iter().any(|d| {
                            d.host.to_string_lossy() == v || d.guest == v || volumes.named_by(&d.host).as_deref() == Some(v)
                        })
                    })
                    // A user-defined network by its name or id.
                    && filters.any("network", |n| {
                        memberships(c).iter().any(|(network, _)| network.name == n || network.id.starts_with(n))
                    })
                    && filters.any("health", |h| h == "none")
                    && filters.any("is-task", |t| t == "false")
                    && filters.any("isolation", |i| i == "default")
            })
            .collect();
        shown.reverse();
        Ok(shown)
    }
}

/// Whether `PORT[-PORT][/PROTO]` covers a container's port.
fn port_matches(filter: &str, (port, udp): (u16, bool)) -> bool {
    let (range, protocol) = filter.split_once('/').unwrap_or((filter, "tcp"));
    let (low, high) = range.split_once('-').unwrap_or((range, range));
    let (Ok(low), Ok(high)) = (low.parse::<u16>(), high.parse::<u16>()) else { return false };
    (low..=high).contains(&port) && protocol.eq_ignore_ascii_case(if udp { "udp" } else { "tcp" })
}
