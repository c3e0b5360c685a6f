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
use crate::{Service, archive, auth, build, containers, exec, images, networks, system, usage, volumes};

/// The most a JSON request body may hold.
const MAX_BODY: usize = 4 << 20;
/// The most a build context may hold.
const MAX_CONTEXT: usize = 4 << 30;

pub async fn handle(service: Arc<Service>, mut request: Request<Incoming>) -> Result<Reply, Infallible> {
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
        (&Method::GET, ["system", "df"]) => blocking(move || system::disk_usage(&s)).await,
        (&Method::GET, ["events"]) => blocking(move || system::events(&s, &query)).await,
        (&Method::POST, ["auth"]) => match body(request, MAX_BODY).await {
            Ok(body) => blocking(move || system::auth(&s, &body)).await,
            Err(reply) => reply,
        },
        (&Method::POST, ["build"]) => match body(request, MAX_CONTEXT).await {
            Ok(context) => blocking(move || build::build(&s, &query, context.to_vec())).await,
            Err(reply) => reply,
        },

        (&Method::POST, ["containers", "prune"]) => blocking(move || containers::prune(&s, &query)).await,
        (&Method::POST, ["containers", "create"]) => match body(request, MAX_BODY).await {
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
        (&Method::POST, ["containers", id, "rename"]) => {
            with_id(id, move |id| containers::rename(&s, &id, &query)).await
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
        (&Method::GET, ["containers", id, "top"]) => with_id(id, move |id| usage::top(&s, &id, &query)).await,
        (&Method::GET, ["containers", id, "stats"]) => {
            with_id(id, move |id| usage::stats(&s, &id, &query)).await
        }
        (&Method::GET, ["containers", id, "export"]) => with_id(id, move |id| archive::export(&s, &id)).await,
        (&Method::GET, ["containers", id, "changes"]) => {
            with_id(id, move |id| archive::changes(&s, &id)).await
        }
        (&Method::HEAD, ["containers", id, "archive"]) => {
            with_id(id, move |id| archive::stat(&s, &id, &query)).await
        }
        (&Method::GET, ["containers", id, "archive"]) => {
            with_id(id, move |id| archive::get(&s, &id, &query)).await
        }
        (&Method::PUT, ["containers", id, "archive"]) => {
            let id = id.to_string();
            match body(request, MAX_CONTEXT).await {
                Ok(tar) => blocking(move || archive::put(&s, &id, &query, tar.to_vec())).await,
                Err(reply) => reply,
            }
        }
        (&Method::POST, ["containers", id, "exec"]) => {
            let id = id.to_string();
            match body(request, MAX_BODY).await {
                Ok(body) => blocking(move || exec::create(&s, &id, &body)).await,
                Err(reply) => reply,
            }
        }
        (&Method::POST, ["exec", id, "start"]) => {
            let id = id.to_string();
            let upgrade = request
                .headers()
                .contains_key(http::header::UPGRADE)
                .then(|| hyper::upgrade::on(&mut request));
            match body(request, MAX_BODY).await {
                Ok(body) => blocking(move || exec::start(s, &id, &body, upgrade)).await,
                Err(reply) => reply,
            }
        }
        (&Method::POST, ["exec", id, "resize"]) => with_id(id, move |id| exec::resize(&s, &id, &query)).await,
        // A container's terminal keeps the size it was made with.
        (&Method::POST, ["containers", _, "resize"]) => reply::empty(StatusCode::OK),
        (&Method::GET, ["exec", id, "json"]) => with_id(id, move |id| exec::inspect(&s, &id)).await,
        (&Method::DELETE, ["containers", id]) => {
            with_id(id, move |id| containers::remove(&s, &id, &query)).await
        }

        (&Method::GET, ["images", "json"]) => blocking(move || images::list(&s, &query)).await,
        (&Method::POST, ["images", "create"]) => match auth::from_headers(request.headers()) {
            Ok(credentials) => blocking(move || images::pull(&s, &query, credentials)).await,
            Err(e) => reply::from_error(e),
        },
        (&Method::POST, ["images", "prune"]) => blocking(move || images::prune(&s, &query)).await,
        (&Method::GET, ["images", "get"]) => {
            let names = query.all("names").iter().map(|n| n.to_string()).collect::<Vec<_>>();
            blocking(move || images::save(&s, &names)).await
        }
        (&Method::GET, ["images", name @ .., "get"]) if !name.is_empty() => {
            let names = vec![name.join("/")];
            blocking(move || images::save(&s, &names)).await
        }
        (&Method::POST, ["images", "load"]) => match body(request, MAX_CONTEXT).await {
            Ok(archive) => blocking(move || images::load(&s, &archive)).await,
            Err(reply) => reply,
        },
        (&Method::GET, ["images", name @ .., "history"]) if !name.is_empty() => {
            with_id(&name.join("/"), move |name| images::history(&s, &name)).await
        }
        (&Method::POST, ["images", name @ .., "push"]) if !name.is_empty() => {
            match auth::from_headers(request.headers()) {
                Ok(credentials) => {
                    with_id(&name.join("/"), move |name| images::push(&s, &name, &query, credentials)).await
                }
                Err(e) => reply::from_error(e),
            }
        }
        (&Method::GET, ["images", name @ .., "json"]) if !name.is_empty() => {
            with_id(&name.join("/"), move |name| images::inspect(&s, &name)).await
        }
        (&Method::POST, ["images", name @ .., "tag"]) if !name.is_empty() => {
            with_id(&name.join("/"), move |name| images::tag(&s, &name, &query)).await
        }
        (&Method::DELETE, ["images", name @ ..]) if !name.is_empty() => {
            with_id(&name.join("/"), move |name| images::remove(&s, &name, &query)).await
        }

        (&Method::GET, ["networks"]) => blocking(move || networks::list(&s, &query)).await,
        (&Method::POST, ["networks", "create"]) => match body(request, MAX_BODY).await {
            Ok(body) => blocking(move || networks::create(&s, &body)).await,
            Err(reply) => reply,
        },
        (&Method::POST, ["networks", "prune"]) => blocking(move || networks::prune(&s, &query)).await,
        (&Method::GET, ["networks", name]) => with_id(name, move |name| networks::inspect(&s, &name)).await,
        (&Method::DELETE, ["networks", name]) => with_id(name, move |name| networks::remove(&s, &name)).await,
        (&Method::POST, ["networks", name, verb @ ("connect" | "disconnect")]) => {
            let (name, connect) = (name.to_string(), *verb == "connect");
            match body(request, MAX_BODY).await {
                Ok(body) if connect => blocking(move || networks::connect(&s, &name, &body)).await,
                Ok(body) => blocking(move || networks::disconnect(&s, &name, &body)).await,
                Err(reply) => reply,
            }
        }

        (&Method::GET, ["volumes"]) => blocking(move || volumes::list(&s, &query)).await,
        (&Method::POST, ["volumes", "create"]) => match body(request, MAX_BODY).await {
            Ok(body) => blocking(move || volumes::create(&s, &body)).await,
            Err(reply) => reply,
        },
        (&Method::POST, ["volumes", "prune"]) => blocking(move || volumes::prune(&s, &query)).await,
        (&Method::GET, ["volumes", name]) => with_id(name, move |name| volumes::inspect(&s, &name)).await,
        (&Method::DELETE, ["volumes", name]) => {
            with_id(name, move |name| volumes::remove(&s, &name, &query)).await
        }

        (&Method::POST, ["containers", _, "pause" | "unpause"]) => reply::error(
            StatusCode::NOT_IMPLEMENTED,
            "wbox does not pause containers: a container's guest runs until it is stopped; stop and start it instead",
        ),
        // As a Docker engine that is not in a swarm answers (docker-py's
        // `leave_swarm(force=True)` takes this as done).
        (_, ["swarm", ..]) => {
            reply::error(StatusCode::SERVICE_UNAVAILABLE, "This node is not part of a swarm")
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

/// A request's whole body, at most `limit` bytes.
async fn body(request: Request<Incoming>, limit: usize) -> Result<bytes::Bytes, Reply> {
    let limited = http_body_util::Limited::new(request.into_body(), limit);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => Err(reply::error(StatusCode::BAD_REQUEST, format!("cannot read the request body: {e}"))),
    }
}
