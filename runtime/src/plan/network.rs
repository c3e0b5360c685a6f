//! Network grants: which addresses a guest may reach (`--network`,
//! `--allow-net`) and which ports it is reached on (`-p`). Nothing by
//! default. The wasm sandbox asks `Network::reaches` before every connect
//! and send; a native container gets a network of its own or none.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What the guest may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Nothing (`--network none`, the default).
    #[default]
    None,
    /// Everything the host reaches (`--network host`).
    Host,
    /// Only these destinations (`--allow-net`).
    Allow(Vec<Destination>),
}

/// One `--allow-net` entry: a host name or an address range, and a port or
/// every port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub target: Target,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// A name, resolved when the guest starts.
    Name(String),
    /// An address range: an address and how many leading bits must match.
    Range { address: IpAddr, prefix: u8 },
}

impl Network {
    /// `--network MODE` and the `--allow-net` entries, as the command line
    /// gives them.
    pub fn from_flags(mode: Option<&str>, allow: &[String]) -> Result<Network> {
        let destinations = allow.iter().map(|a| Destination::parse(a)).collect::<Result<Vec<_>>>()?;
        match (mode, destinations.is_empty()) {
            (None | Some("none"), true) => Ok(Network::None),
            (None, false) => Ok(Network::Allow(destinations)),
            (Some("host"), true) => Ok(Network::Host),
            (Some("host" | "none"), false) => Err(Error::usage(format!(
                "--allow-net cannot be combined with --network {}: give one or the other",
                mode.unwrap_or_default()
            ))),
            (Some(other), _) => Err(Error::usage(format!(
                "unknown network '{other}': wasm guests take --network none (the default) or host, \
                 and --allow-net HOST[:PORT] for some destinations"
            ))),
        }
    }

    /// Whether the guest may look names up: with any network at all.
    pub fn allows_lookup(&self) -> bool {
        !matches!(self, Network::None)
    }

    /// The allow-list with the addresses its host names resolve to now
    /// added, so that every socket check is a comparison of addresses. A
    /// name that does not resolve is an error before the guest starts.
    pub fn resolved(&self) -> Result<Network> {
        let Network::Allow(destinations) = self else { return Ok(self.clone()) };
        let mut resolved = Vec::new();
        for destination in destinations {
            resolved.push(destination.clone());
            match &destination.target {
                Target::Range { .. } => {}
                Target::Name(name) => {
                    let addresses = (name.as_str(), destination.port.unwrap_or(0))
                        .to_socket_addrs()
                        .map_err(|e| Error::usage(format!("--allow-net {name}: cannot resolve it: {e}")))?;
                    for address in addresses {
                        let prefix = if address.is_ipv4() { 32 } else { 128 };
                        resolved.push(Destination {
                            target: Target::Range { address: address.ip(), prefix },
                            port: destination.port,
                        });
                    }
                }
            }
        }
        Ok(Network::Allow(resolved))
    }

    /// Whether the guest may reach `address`.
    pub fn reaches(&self, address: SocketAddr) -> bool {
        match self {
            Network::None => false,
            Network::Host => true,
            Network::Allow(destinations) => destinations.iter().any(|d| d.matches(address)),
        }
    }

    /// Whether the guest may reach `host:port` when it names the host (an
    /// outgoing HTTP request): by name, or at every address the name has now.
    pub async fn reaches_host(&self, host: &str, port: u16) -> bool {
        if *self == Network::None {
            return false;
        }
        if self.names(host, port) {
            return true;
        }
        match tokio::net::lookup_host((host, port)).await {
            Ok(addresses) => {
                let addresses: Vec<_> = addresses.collect();
                !addresses.is_empty() && addresses.into_iter().all(|a| self.reaches(a))
            }
            Err(_) => false,
        }
    }

    /// Whether a host name is on the allow-list by name (for outgoing HTTP,
    /// where the guest gives a name).
    pub fn names(&self, host: &str, port: u16) -> bool {
        match self {
            Network::None => false,
            Network::Host => true,
            Network::Allow(destinations) => destinations.iter().any(|d| {
                matches!(&d.target, Target::Name(name) if name.eq_ignore_ascii_case(host))
                    && d.port.is_none_or(|p| p == port)
            }),
        }
    }
}

impl Destination {
    /// `HOST[:PORT]`, `ADDR[/PREFIX][:PORT]`, `[V6ADDR][:PORT]` or
    /// `V6ADDR/PREFIX`.
    pub fn parse(spec: &str) -> Result<Destination> {
        let bad = |why: String| {
            Error::usage(format!(
                "invalid --allow-net '{spec}': {why}; use HOST[:PORT] or ADDR/CIDR[:PORT], e.g. api.internal:443 or 10.0.0.0/8"
            ))
        };
        let (target, port) = if let Some(rest) = spec.strip_prefix('[') {
            let (address, after) = rest.split_once(']').ok_or_else(|| bad("no closing ']'".into()))?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(|| bad("expected ':' after ']'".into()))?),
            };
            (address, port)
        } else if spec.matches(':').count() > 1 {
            // A bare IPv6 address or range: its colons are not a port.
            (spec, None)
        } else {
            match spec.split_once(':') {
                Some((target, port)) => (target, Some(port)),
                None => (spec, None),
            }
        };
        let port = port
            .map(|p| p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad(format!("bad port '{p}'"))))
            .transpose()?;
        if target.is_empty() {
            return Err(bad("no host".into()));
        }
        let target = match target.split_once('/') {
            Some((address, prefix)) => {
                let address: IpAddr =
                    address.parse().map_err(|_| bad(format!("'{address}' is not an address")))?;
                let most = if address.is_ipv4() { 32 } else { 128 };
                let prefix = prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= most)
                    .ok_or_else(|| bad(format!("bad prefix length '{prefix}' (0 to {most})")))?;
                Target::Range { address, prefix }
            }
            None => match target.parse::<IpAddr>() {
                Ok(address) => Target::Range { address, prefix: if address.is_ipv4() { 32 } else { 128 } },
                Err(_) if is_host_name(target) => Target::Name(target.to_ascii_lowercase()),
                Err(_) => return Err(bad(format!("'{target}' is neither an address nor a host name"))),
            },
        };
        Ok(Destination { target, port })
    }

    fn matches(&self, address: SocketAddr) -> bool {
        let Target::Range { address: range, prefix } = self.target else { return false };
        self.port.is_none_or(|p| p == address.port()) && in_range(canonical(address.ip()), range, prefix)
    }
}

/// An IPv4 address the guest wrote as IPv4-mapped IPv6 is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_range(ip: IpAddr, range: IpAddr, prefix: u8) -> bool {
    let (ip, range, bits) = match (ip, range) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = bits - u32::from(prefix);
    shift >= 128 || (ip >> shift) == (range >> shift)
}

fn is_host_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
        })
}

/// A published port: `-p [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// The host address to listen on; every address when `None`.
    pub host_ip: Option<IpAddr>,
    /// The host port; 0 until the container starts when none was given.
    pub host_port: u16,
    pub container_port: u16,
    pub udp: bool,
}

impl PublishedPort {
    pub fn parse(spec: &str) -> Result<PublishedPort> {
        let bad = |why: String| {
            Error::usage(format!(
                "invalid -p '{spec}': {why}; use [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp], e.g. -p 8080:80"
            ))
        };
        let (ports, protocol) = spec.split_once('/').unwrap_or((spec, "tcp"));
        let udp = match protocol {
            "tcp" => false,
            "udp" => true,
            other => return Err(bad(format!("unknown protocol '{other}'"))),
        };
        let port = |p: &str, what: &str| {
            p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad(format!("bad {what} port '{p}'")))
        };
        let (ip, rest) = match ports.strip_prefix('[') {
            Some(v6) => {
                let (ip, rest) =
                    v6.split_once("]:").ok_or_else(|| bad("no ']:' after an IPv6 address".into()))?;
                (Some(ip), rest)
            }
            None => match ports.matches(':').count() {
                2 => ports.split_once(':').map(|(ip, rest)| (Some(ip), rest)).unwrap_or((None, ports)),
                _ => (None, ports),
            },
        };
        let host_ip = ip
            .filter(|ip| !ip.is_empty())
            .map(|ip| ip.parse::<IpAddr>().map_err(|_| bad(format!("'{ip}' is not an address"))))
            .transpose()?;
        let (host_port, container_port) = match rest.split_once(':') {
            Some(("", container)) => (0, port(container, "container")?),
            Some((host, container)) => (port(host, "host")?, port(container, "container")?),
            None => (0, port(rest, "container")?),
        };
        Ok(PublishedPort { host_ip, host_port, container_port, udp })
    }

    pub fn protocol(&self) -> &'static str {
        if self.udp { "udp" } else { "tcp" }
    }

    /// Docker's way of showing it: `0.0.0.0:8080->80/tcp`.
    pub fn display(&self) -> String {
        let ip = self.host_ip.map_or("0.0.0.0".to_string(), |ip| ip.to_string());
        format!("{ip}:{}->{}/{}", self.host_port, self.container_port, self.protocol())
    }

    pub fn host_address(&self) -> SocketAddr {
        SocketAddr::new(self.host_ip.unwrap_or(IpAddr::from([0, 0, 0, 0])), self.host_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(specs: &[&str]) -> Network {
        Network::from_flags(None, &specs.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn allow_list_matches_address_range_and_port() {
        let network = allow(&["10.0.0.0/8", "127.0.0.1:8080", "[::1]:9000"]);
        assert!(network.reaches("10.1.2.3:443".parse().unwrap()));
        assert!(!network.reaches("11.0.0.1:443".parse().unwrap()));
        assert!(network.reaches("127.0.0.1:8080".parse().unwrap()));
        assert!(!network.reaches("127.0.0.1:8081".parse().unwrap()));
        assert!(network.reaches("[::1]:9000".parse().unwrap()));
        assert!(!network.reaches("[::1]:9001".parse().unwrap()));
        // The same IPv4 address written as IPv4-mapped IPv6.
        assert!(network.reaches("[::ffff:10.9.9.9]:1".parse().unwrap()));
        assert!(allow(&["0.0.0.0/0"]).reaches("1.2.3.4:5".parse().unwrap()));
    }

    #[test]
    fn names_resolve_to_addresses() {
        let network = allow(&["localhost:7000"]);
        assert!(network.names("LOCALHOST", 7000));
        assert!(!network.names("localhost", 7001));
        let resolved = network.resolved().unwrap();
        assert!(resolved.reaches("127.0.0.1:7000".parse().unwrap()));
        assert!(!resolved.reaches("127.0.0.1:7001".parse().unwrap()));
    }

    #[test]
    fn bad_destinations_and_modes_are_refused() {
        for bad in ["", ":80", "host:0", "host:http", "10.0.0.0/33", "a_b.example", "[::1"] {
            assert!(Destination::parse(bad).is_err(), "{bad}");
        }
        assert!(Network::from_flags(Some("bridge"), &[]).is_err());
        assert!(Network::from_flags(Some("host"), &["1.2.3.4".into()]).is_err());
        assert_eq!(Network::from_flags(Some("host"), &[]).unwrap(), Network::Host);
        assert_eq!(Network::from_flags(None, &[]).unwrap(), Network::None);
    }

    #[test]
    fn published_ports_parse_as_docker_writes_them() {
        let p = PublishedPort::parse("8080:80").unwrap();
        assert_eq!((p.host_ip, p.host_port, p.container_port, p.udp), (None, 8080, 80, false));
        let p = PublishedPort::parse("127.0.0.1:5353:53/udp").unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.container_port, p.udp),
            (Some([127, 0, 0, 1].into()), 5353, 53, true)
        );
        assert_eq!(PublishedPort::parse("80").unwrap().host_port, 0);
        assert_eq!(PublishedPort::parse("[::1]:8080:80").unwrap().host_ip, Some("::1".parse().unwrap()));
        assert_eq!(PublishedPort::parse("8080:80").unwrap().display(), "0.0.0.0:8080->80/tcp");
        for bad in ["", "0:80", "8080:", "x:80", "8080:80/sctp", "1.2.3:8080:80"] {
            assert!(PublishedPort::parse(bad).is_err(), "{bad}");
        }
    }
}
