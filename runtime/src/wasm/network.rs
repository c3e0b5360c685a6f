//! The wasm side of network grants: the check wasmtime-wasi runs before a
//! guest's socket use, and the host ports a guest's published ports use.

use std::net::{SocketAddr, TcpListener};

use http_body_util::BodyExt;

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::p2::bindings::sockets::network::{Host as NetworkHost, IpSocketAddress};
use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
use wasmtime_wasi::p2::{self, TcpSocket};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsView};
use wasmtime_wasi_http::{WasiBody, WasiHttpHooks};

use crate::plan::{Network, PublishedPort};
use crate::{Error, Result};

/// The check wasmtime-wasi runs before a guest's socket use: egress to
/// granted destinations; binding a port only when it is published (or with
/// the host's network, or in a network namespace of its own: `own`), an
/// ephemeral port whenever egress is granted. A TCP bind arrives here
/// already mapped to the host port (`map_published_ports`).
pub(crate) fn check(
    network: &Network,
    ports: &[PublishedPort],
    own: bool,
    address: SocketAddr,
    usage: SocketAddrUse,
) -> bool {
    let published = |udp: bool| {
        own || matches!(network, Network::Host)
            || ports
                .iter()
                .any(|p| p.udp == udp && address.port() == if udp { p.container_port } else { p.host_port })
    };
    let allowed = match usage {
        SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend => network.reaches(address),
        SocketAddrUse::TcpBind | SocketAddrUse::TcpListen => {
            published(false) || (address.port() == 0 && network.allows_lookup())
        }
        SocketAddrUse::UdpBind => published(true) || (address.port() == 0 && network.allows_lookup()),
        SocketAddrUse::TcpAccept => true,
        SocketAddrUse::UdpReceive => network.reaches(address) || ports.iter().any(|p| p.udp),
    };
    if !allowed {
        tracing::debug!("network: denied {usage:?} {address} (not granted; see --allow-net, -p)");
    }
    allowed
}

/// Binds every published port of an HTTP service, which wbox serves; a
/// port given as 0 gets the one the system chose.
pub(crate) fn listen_for_service(name: &str, ports: &mut [PublishedPort]) -> Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    for port in ports {
        if port.udp {
            return Err(Error::usage(format!(
                "{name} is an HTTP service, which answers on TCP only: publish a TCP port, e.g. -p 8080:80"
            )));
        }
        let listener = TcpListener::bind(port.host_address()).map_err(|e| port_error(port, e))?;
        port.host_port = listener.local_addr().map_err(|e| Error::Internal(e.into()))?.port();
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Checks that the ports a guest that listens itself will bind are free
/// now: a TCP bind of the container port is mapped to the host port (a free
/// one when none was given, see `map_published_ports`), a UDP bind is not
/// (the same number on both sides).
pub(crate) fn reserve_for_guest(ports: &mut [PublishedPort]) -> Result<()> {
    for port in ports {
        if port.host_port == 0 {
            port.host_port = if port.udp { port.container_port } else { free_tcp_port(port)? };
        }
        if port.udp && port.host_port != port.container_port {
            return Err(Error::usage(format!(
                "-p {}:{}/udp: a guest's UDP port is reachable on its own number only (mapping it to \
                 another host port is not built yet); publish it as -p {}:{}/udp",
                port.host_port, port.container_port, port.container_port, port.container_port
            )));
        }
        let free = if port.udp {
            std::net::UdpSocket::bind(port.host_address()).map(drop)
        } else {
            TcpListener::bind(port.host_address()).map(drop)
        };
        free.map_err(|e| port_error(port, e))?;
    }
    Ok(())
}

/// A host port the system has free now, for `-p CONTAINER_PORT`.
fn free_tcp_port(port: &PublishedPort) -> Result<u16> {
    let listener = TcpListener::bind(port.host_address()).map_err(|e| port_error(port, e))?;
    Ok(listener.local_addr().map_err(|e| Error::Internal(e.into()))?.port())
}

fn port_error(port: &PublishedPort, e: std::io::Error) -> Error {
    let address = port.host_address();
    match e.kind() {
        std::io::ErrorKind::AddrInUse => Error::usage(format!(
            "host port {address} is already in use: stop what holds it, or publish another, e.g. -p {}:{}",
            port.host_port.wrapping_add(1).max(1024),
            port.container_port
        )),
        _ => Error::usage(format!("cannot listen on {address} for -p: {e}")),
    }
}

/// Makes a component's TCP bind of a published container port bind the host
/// port instead (and the host address, when `-p` names one), so that two
/// guests listening on the same container port are reached on their own host
/// ports. wasmtime-wasi's own `start-bind` does the rest, its address check
/// included.
pub(crate) fn map_published_ports<T: WasiView + 'static>(
    linker: &mut Linker<T>,
    ports: &[PublishedPort],
) -> wasmtime::Result<()> {
    let ports: Vec<PublishedPort> = ports.iter().filter(|p| !p.udp).cloned().collect();
    if ports.is_empty() {
        return Ok(());
    }
    linker.allow_shadowing(true);
    // The version wasmtime-wasi links; a guest's 0.2.x import resolves to it.
    let mut tcp = linker.instance("wasi:sockets/tcp@0.2.12")?;
    tcp.func_wrap_async(
        "[method]tcp-socket.start-bind",
        move |mut store, (socket, network, address): (Resource<TcpSocket>, Resource<p2::Network>, IpSocketAddress)| {
            let mut address = SocketAddr::from(address);
            if let Some(port) = ports.iter().find(|p| p.container_port == address.port()) {
                address = SocketAddr::new(port.host_ip.unwrap_or(address.ip()), port.host_port);
            }
            Box::new(async move {
                let mut view = store.data_mut().sockets();
                Ok((match HostTcpSocket::start_bind(&mut view, socket, network, address.into()).await {
                    Ok(()) => Ok(()),
                    Err(e) => Err(NetworkHost::convert_error_code(&mut view, e)?),
                },))
            })
        },
    )
}

/// Outgoing HTTP requests go only where the network grant reaches.
pub(crate) struct OutboundHttp {
    pub(crate) network: Network,
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _response_done: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
                )>,
            > + Send,
    > {
        let network = self.network.clone();
        Box::new(async move {
            let uri = request.uri();
            let host =
                uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
            let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
            if !network.reaches_host(&host, port).await {
                tracing::debug!(
                    "network: denied an HTTP request to {host}:{port} (not granted; see --allow-net)"
                );
                return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_needs_a_published_port() {
        let ports =
            [PublishedPort::parse("8080:80").unwrap(), PublishedPort::parse("5353:5353/udp").unwrap()];
        let at = |port: u16| SocketAddr::from(([0, 0, 0, 0], port));
        // A TCP bind of port 80 arrives mapped to 8080.
        assert!(check(&Network::None, &ports, false, at(8080), SocketAddrUse::TcpBind));
        assert!(!check(&Network::None, &ports, false, at(81), SocketAddrUse::TcpBind));
        assert!(!check(&Network::None, &ports, false, at(0), SocketAddrUse::TcpBind));
        assert!(!check(&Network::None, &ports, false, at(8080), SocketAddrUse::UdpBind));
        assert!(check(&Network::None, &ports, false, at(5353), SocketAddrUse::UdpBind));
        let allowed = Network::from_flags(None, &["1.2.3.4".to_owned()]).unwrap();
        assert!(check(&allowed, &[], false, at(0), SocketAddrUse::TcpBind));
        assert!(check(&Network::Host, &[], false, at(81), SocketAddrUse::TcpBind));
        // In a network namespace of its own, any port.
        assert!(check(&Network::None, &[], true, at(81), SocketAddrUse::TcpBind));
    }
}
