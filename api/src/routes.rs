//! Which endpoint a request is for: `[/vX.Y]/PATH` and the method, as
//! Docker routes them.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use wbox_runtime::Result;

use crate::query::Query;
use crate::reply::{self, Reply};
use crate::{Service, containers, images, system, volumes};

/// The most a JSON request body may hold.
const MAX_BODY: usize = 4 << 20;

pub async fn handle(service: Arc<Service>, request: Request<Incoming>) -> Result<Reply, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    tracing::debug!("{method} {}", request.uri());
    let query = Query::parse(request.uri().query());
    let parts: Vec<String> = without_version(&path)
        .trim_matches('/')
        .split('/')
        .map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned())
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let s = service.clone();
    let reply = match (&method, parts.as_slice()) {
        (&Method::GET | &Method::HEAD, ["_ping"]) => system::ping(),
        (&Method::GET, ["version"]) => system::version(),
        (&Method::GET, ["info"]) => blocking(move || system::info(&s)).await,

        (&Method::POST, ["containers", "create"]) => match body(request).await {
            Ok(body) => blocking(move || containers::create(&s, &query, &body)).await,
            Err(reply) => reply,
        },
        (&Method::GET, ["containers", "json"]) => blocking(move || containers::list(&s, &query)).await,
        (&Method::GET, ["containers", id, "json"]) => {
            with_id(id, move |id| containers::inspect(&s, &id)).await
        }
        (&Method::POST, ["containers", id, "start"]) => {
            with_id(id, move |id| containers::start(&s, &id)).await
        }
        (&Method::POST, ["containers", id, "stop"]) => {
            with_id(id, move |id| containers::stop(&s, &id, &query)).await
        }
        (&Method::POST, ["containers", id, "restart"]) => {
            with_id(id, move |id| containers::restart(&s, &id, &query)).await
        }
        (&Method::POST, ["containers", id, "kill"]) => {
            with_id(id, move |id| containers::kill(&s, &id, &query)).await
        }
        (&Method::POST, ["containers", id, "wait"]) => {
            with_id(id, move |id| containers::wait(s, &id, &query)).await
        }
        (&Method::GET, ["containers", id, "logs"]) => {
            with_id(id, move |id| containers::logs(&s, &id, &query)).await
        }
        (&Method::POST, ["containers", id, "attach"]) => {
            let id = id.to_string();
            // Looked up on a blocking thread; the upgrade is taken from the request.
            match tokio::task::block_in_place(|| containers::attach(&s, &id, &query, request)) {
                Ok(reply) => reply,
                Err(e) => reply::from_error(e),
            }
        }
        (&Method::DELETE, ["containers", id]) => {
            with_id(id, move |id| containers::remove(&s, &id, &query)).await
        }

        (&Method::GET, ["images", "json"]) => blocking(move || images::list(&s, &query)).await,
        (&Method::POST, ["images", "create"]) => blocking(move || images::pull(&s, &query)).await,
        (&Method::GET, ["images", name @ .., "json"]) if !name.is_empty() => {
            with_id(&name.join("/"), move |name| images::inspect(&s, &name)).await
        }
        (&Method::POST, ["images", name @ .., "tag"]) if !name.is_empty() => {
            with_id(&name.join("/"), move |name| images::tag(&s, &name, &query)).await
        }
        (&Method::DELETE, ["images", name @ ..]) if !name.is_empty() => {
            with_id(&name.join("/"), move |name| images::remove(&s, &name, &query)).await
        }

        (&Method::GET, ["volumes"]) => blocking(move || volumes::list(&s, &query)).await,
        (&Method::POST, ["volumes", "create"]) => match body(request).await {
            Ok(body) => blocking(move || volumes::create(&s, &body)).await,
            Err(reply) => reply,
        },
        (&Method::POST, ["volumes", "prune"]) => blocking(move || volumes::prune(&s, &query)).await,
        (&Method::GET, ["volumes", name]) => with_id(name, move |name| volumes::inspect(&s, &name)).await,
        (&Method::DELETE, ["volumes", name]) => {
            with_id(name, move |name| volumes::remove(&s, &name, &query)).await
        }

        _ => reply::error(StatusCode::NOT_FOUND, "page not found"),
    };
    Ok(reply)
}

/// The path without its `/vX.Y` prefix.
fn without_version(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else { return path };
    let end = rest.find('/').unwrap_or(rest.len());
    let version = &rest[..end];
    if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        &rest[end..]
    } else {
        path
    }
}

/// Runs a runtime call, which blocks, off the server's threads.
async fn blocking(call: impl FnOnce() -> Result<Reply> + Send + 'static) -> Reply {
    match tokio::task::spawn_blocking(call).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => reply::from_error(e),
        Err(e) => {
            reply::error(StatusCode::INTERNAL_SERVER_ERROR, format!("the request's handler failed: {e}"))
        }
    }
}

async fn with_id(id: &str, call: impl FnOnce(String) -> Result<Reply> + Send + 'static) -> Reply {
    let id = id.to_owned();
    blocking(move || call(id)).await
}

/// A request's whole body, at most `MAX_BODY`.
async fn body(request: Request<Incoming>) -> Result<bytes::Bytes, Reply> {
    let limited = http_body_util::Limited::new(request.into_body(), MAX_BODY);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => Err(reply::error(StatusCode::BAD_REQUEST, format!("cannot read the request body: {e}"))),
    }
}
