//! Serving a `wasi:http/proxy` (WASI 0.2) or `wasi:http/service` (0.3)
//! component on its published ports: every
//! request gets a fresh instance of the pre-linked component (or, with
//! `--instance-reuse`, one that answered fewer requests than allowed), with
//! the container's grants, its memory cap and its deadline. A request whose
//! guest traps or overruns gets a 500; the service and the other requests go
//! on. A stop drains: no new connections, in-flight requests finish.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::oneshot;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p3::bindings::{Service as Service3, ServicePre as ServicePre3};

use super::context::report;
use super::engine::{SERVICE_INSTANCES, start_epoch_ticker};
use super::memory::Gauge;
use super::run::{ComponentState, StopSignal, exit_of, internal, new_store};
use crate::plan::{Exit, Grants, Limits};
use crate::{Error, Result};

struct Service {
    pre: Handler,
    grants: Grants,
    limits: Limits,
    gauge: Arc<Gauge>,
    /// A permit per instance a request may use from the engine's pool (the
    /// rest is kept for idle instances): a request beyond them waits for
    /// one to end rather than fail.
    slots: Arc<tokio::sync::Semaphore>,
    /// Instances that answered fewer requests than `--instance-reuse`
    /// allows, ready for the next.
    idle: Arc<Mutex<Vec<Warm>>>,
}

/// The component, linked: a WASI 0.2 `wasi:http/proxy` or a 0.3
/// `wasi:http/service`.
#[derive(Clone)]
enum Handler {
    P2(ProxyPre<ComponentState>),
    P3(ServicePre3<ComponentState>),
}

/// An instance of the component.
enum Instance {
    P2(Proxy),
    P3(Service3),
}

/// An instance kept between requests, and how many it has answered.
struct Warm {
    store: Store<ComponentState>,
    instance: Instance,
    served: u32,
}

/// At most this many instances wait between requests (each holds its
/// memory).
const MAX_IDLE: usize = 32;

/// Serves `component` on `listeners` until `stop` fires: at once for a
/// kill, after the requests in flight for a drain.
pub(crate) async fn serve(
    name: &str,
    component: &Component,
    grants: Grants,
    limits: Limits,
    listeners: Vec<TcpListener>,
    gauge: Arc<Gauge>,
    stop: StopSignal,
) -> Result<Exit> {
    let mut linker = Linker::new(component.engine());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(internal)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(internal)?;
    let pre = if super::program::serves_wasi_http_0_3(component) {
        wasmtime_wasi::p3::add_to_linker(&mut linker).map_err(internal)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker).map_err(internal)?;
        linker.instantiate_pre(component).and_then(ServicePre3::new).map(Handler::P3)
    } else {
        linker.instantiate_pre(component).and_then(ProxyPre::new).map(Handler::P2)
    }
    .map_err(|e| Error::NotRunnable(format!("cannot start {name}: {e:#}")))?;
    if limits.timeout.is_some() {
        start_epoch_ticker();
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(SERVICE_INSTANCES as usize - MAX_IDLE));
    let idle = Arc::new(Mutex::new(Vec::new()));
    let service = Arc::new(Service { pre, grants, limits, gauge, slots, idle });
    let graceful = Arc::new(GracefulShutdown::new());
    let (drain_tx, drain_rx) = tokio::sync::watch::channel(false);
    let mut accepting = tokio::task::JoinSet::new();
    for listener in listeners {
        listener.set_nonblocking(true).map_err(|e| Error::Internal(e.into()))?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| Error::Internal(e.into()))?;
        accepting.spawn(accept(listener, service.clone(), graceful.clone(), drain_rx.clone()));
    }
    let StopSignal { stop, drain } = stop;
    let stopped = async {
        match stop.await {
            Ok(signal) => signal,
            // Nobody can stop this service any more.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::pin!(stopped);
    tokio::select! {
        signal = &mut stopped => return Ok(Exit::signaled(signal)),
        () = drain.notified() => {}
    }
    // No new connections; idle keep-alive connections close, busy ones
    // after their response.
    let _ = drain_tx.send(true);
    while accepting.join_next().await.is_some() {}
    let graceful = Arc::into_inner(graceful).expect("every acceptor has ended");
    tokio::select! {
        () = graceful.shutdown() => Ok(Exit::exited(0)),
        signal = stopped => Ok(Exit::signaled(signal)),
    }
}

async fn accept(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    graceful: Arc<GracefulShutdown>,
    mut drain: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, a connection reset before accept:
                    // the next one may work.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            // The only change is to draining.
            _ = drain.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let connection = http1::Builder::new().keep_alive(true).serve_connection(
            TokioIo::new(stream),
            service_fn(move |request| {
                let service = service.clone();
                async move { Ok::<_, std::convert::Infallible>(service.handle(request).await) }
            }),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection: {e}");
            }
        });
    }
}

impl Service {
    async fn handle(&self, request: hyper::Request<Incoming>) -> hyper::Response<HyperOutgoingBody> {
        let what = format!("{} {}", request.method(), request.uri());
        match self.call_guest(request).await {
            Ok(response) => response,
            Err(why) => {
                report(self.grants.stdio.as_ref(), &format!("{what}: {why}"));
                failure(why)
            }
        }
    }

    /// The guest's response, or why there is none.
    async fn call_guest(
        &self,
        request: hyper::Request<Incoming>,
    ) -> std::result::Result<hyper::Response<HyperOutgoingBody>, String> {
        let slot = self.slots.clone().acquire_owned().await.map_err(|e| e.to_string())?;
        let reuse = self.limits.instance_reuse.unwrap_or(1);
        let warm = if reuse > 1 { self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() } else { None };
        let (mut store, instance, served) = match warm {
            Some(warm) => (warm.store, Some(warm.instance), warm.served),
            None => (self.new_store()?, None, 0),
        };
        let (sender, receiver) = oneshot::channel();
        let (pre, idle) = (self.pre.clone(), self.idle.clone());
        let deadline = self.limits.timeout;
        // The guest runs on as a task of its own: it may stream the body
        // after it has given the response. The deadline bounds all of it.
        let guest = tokio::spawn(async move {
            let _slot = slot;
            let run = async {
                let instance = match instance {
                    Some(instance) => instance,
                    None => match &pre {
                        Handler::P2(pre) => Instance::P2(pre.instantiate_async(&mut store).await?),
                        Handler::P3(pre) => Instance::P3(pre.instantiate_async(&mut store).await?),
                    },
                };
                match &instance {
                    Instance::P2(proxy) => handle_0_2(&mut store, proxy, request, sender).await?,
                    Instance::P3(service) => handle_0_3(&mut store, service, request, sender).await?,
                }
                Ok(instance)
            };
            let result = match deadline {
                Some(after) => tokio::time::timeout(after, run)
                    .await
                    .unwrap_or_else(|_| Err(wasmtime::format_err!("timed out after {after:?} (--timeout)"))),
                None => run.await,
            };
            // An instance that trapped or overran is dropped, never reused.
            result.map(|instance| {
                let mut idle = idle.lock().unwrap_or_else(|e| e.into_inner());
                if served + 1 < reuse && idle.len() < MAX_IDLE {
                    idle.push(Warm { store, instance, served: served + 1 });
                }
            })
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(why)) => Err(why),
            Err(_) => Err(match guest.await {
                Ok(Ok(())) => "the guest returned without a response".to_string(),
                Ok(Err(e)) => {
                    let exit = exit_of(Err(e));
                    let why = exit.describe("the guest");
                    why.unwrap_or_else(|| format!("the guest ended with exit code {}", exit.code))
                }
                Err(e) => format!("the guest's task failed: {e}"),
            }),
        }
    }
}

/// What the guest answers, or why it gave no answer.
type Answer = oneshot::Sender<std::result::Result<hyper::Response<HyperOutgoingBody>, String>>;

/// A WASI 0.2 guest's `incoming-handler.handle`: it sets the response
/// through its out-parameter, then may go on writing the body.
async fn handle_0_2(
    store: &mut Store<ComponentState>,
    proxy: &Proxy,
    request: hyper::Request<Incoming>,
    answer: Answer,
) -> wasmtime::Result<()> {
    let (sender, receiver) = oneshot::channel();
    let mut http = store.data_mut().http();
    let request = http.new_incoming_request(Scheme::Http, request)?;
    let out = http.new_response_outparam(sender)?;
    tokio::spawn(async move {
        if let Ok(response) = receiver.await {
            let _ =
                answer.send(response.map_err(|code| format!("the guest answered with an error: {code:?}")));
        }
    });
    proxy.wasi_http_incoming_handler().call_handle(&mut *store, request, out).await
}

/// A WASI 0.3 guest's `handler.handle`: it returns the response, whose body
/// the guest may still be writing, through the store's event loop, which
/// runs on until the client has the whole body or has gone away.
async fn handle_0_3(
    store: &mut Store<ComponentState>,
    service: &Service3,
    request: hyper::Request<Incoming>,
    answer: Answer,
) -> wasmtime::Result<()> {
    let request = with_authority(request);
    let http = store.data_mut().http();
    let (request, request_io) = wasmtime_wasi_http::p3::Request::from_http(http.hooks, request);
    let request = http.table.push(request)?;
    store
        .run_concurrent(async move |accessor| {
            let response = match service.wasi_http_handler().call_handle(accessor, request).await? {
                Ok(response) => response,
                Err(code) => {
                    let _ = answer.send(Err(format!("the guest answered with an error: {code:?}")));
                    return Ok(());
                }
            };
            let response = accessor.with(|mut store| {
                let response = store.get().http().table.delete(response)?;
                response.into_http(&mut store, request_io)
            })?;
            let (sent, body_done) = oneshot::channel();
            let response = response.map(|body| UntilEnd { body, sent: Some(sent) }.boxed_unsync());
            if answer.send(Ok(response)).is_ok() {
                let _ = body_done.await;
            }
            Ok(())
        })
        .await?
}

/// The request as WASI 0.3 sees it: with the scheme and authority (from
/// `Host`) that a server's request line leaves out, as 0.2's
/// `incoming-request` has them.
fn with_authority(request: hyper::Request<Incoming>) -> hyper::Request<Incoming> {
    let (mut parts, body) = request.into_parts();
    let host = parts.headers.get(hyper::header::HOST).and_then(|h| h.to_str().ok());
    if let Some(authority) = host.and_then(|h| h.parse::<hyper::http::uri::Authority>().ok()) {
        let mut uri = parts.uri.clone().into_parts();
        uri.scheme = Some(hyper::http::uri::Scheme::HTTP);
        uri.authority = Some(authority);
        if let Ok(uri) = hyper::Uri::from_parts(uri) {
            parts.uri = uri;
        }
    }
    hyper::Request::from_parts(parts, body)
}

/// A response body that says when it has ended or been dropped (the client
/// went away).
struct UntilEnd<B> {
    body: B,
    sent: Option<oneshot::Sender<()>>,
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for UntilEnd<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<hyper::body::Frame<B::Data>, B::Error>>> {
        let polled = std::pin::Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None)) {
            self.sent.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

impl Service {
    fn new_store(&self) -> std::result::Result<Store<ComponentState>, String> {
        let mut builder = self.grants.wasi_builder().map_err(|e| e.to_string())?;
        let state = ComponentState::new(&mut builder, &self.grants, &self.limits, &self.gauge);
        let engine = match &self.pre {
            Handler::P2(pre) => pre.engine(),
            Handler::P3(pre) => pre.engine(),
        };
        Ok(new_store(engine, state, |s| &mut s.cap))
    }
}

/// The 500 a client gets when the guest gives no response.
fn failure(why: String) -> hyper::Response<HyperOutgoingBody> {
    let first_line = why.lines().next().unwrap_or_default().to_owned();
    let body = Full::new(Bytes::from(format!("500 Internal Server Error: {first_line}\n")))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, "text/plain".parse().expect("a valid header"));
    response
}
