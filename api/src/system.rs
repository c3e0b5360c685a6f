//! `/_ping`, `/version`, `/info`: how a client finds out what it talks to.

use http::{HeaderValue, StatusCode};
use serde_json::json;
use wbox_runtime::filters::Filters;
use wbox_runtime::registry::{self, PullOptions};
use wbox_runtime::system::API_VERSION;
use wbox_runtime::{Error, Result};

use crate::Service;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::stream;

/// `GET|HEAD /_ping`: "OK", and in the headers the API version the client
/// negotiates down to.
pub fn ping() -> Reply {
    let mut reply = reply::text(StatusCode::OK, "OK");
    let headers = reply.headers_mut();
    headers.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    headers.insert("Docker-Experimental", HeaderValue::from_static("false"));
    headers.insert("Ostype", HeaderValue::from_static(wbox_runtime::system::go_os()));
    // The classic builder's protocol: no BuildKit session.
    headers.insert("Builder-Version", HeaderValue::from_static("1"));
    headers.insert("Cache-Control", HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    reply
}

pub fn version() -> Reply {
    reply::ok(&wbox_runtime::system::version())
}

pub fn info(service: &Service) -> Result<Reply> {
    Ok(reply::ok(&wbox_runtime::system::info(&service.root)?))
}

/// `POST /auth`: whether the registry takes the user and password; nothing
/// is kept (the client keeps them, and sends them with each pull or push).
pub fn auth(service: &Service, body: &[u8]) -> Result<Reply> {
    let config: crate::auth::AuthConfig =
        serde_json::from_slice(body).map_err(|e| Error::usage(format!("invalid auth config: {e}")))?;
    let registry = if config.serveraddress.is_empty() { "docker.io" } else { &config.serveraddress };
    let options = PullOptions::default();
    registry::block_on(registry::check_login(
        &service.root,
        registry,
        &config.username,
        &config.password,
        &options,
    ))
    .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(reply::ok(&json!({ "Status": "Login Succeeded", "IdentityToken": "" })))
}

/// `GET /events?since=&until=&filters=`: the events, one JSON object each,
/// until `until` or until the client goes.
pub fn events(service: &Service, query: &Query) -> Result<Reply> {
    let filters = Filters::parse_any(&query.filters()?)?;
    let now = chrono::Utc::now();
    let nanos = |t: chrono::DateTime<chrono::Utc>| t.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let time = |key| match query.get(key).filter(|t| !t.is_empty()) {
        Some(t) => wbox_runtime::units::parse_time(t, now).map(|t| Some(nanos(t))),
        None => Ok(None),
    };
    let (since, until) = (time("since")?, time("until")?);
    let root = service.root.clone();
    let (sender, body) = stream::channel();
    tokio::task::spawn_blocking(move || {
        wbox_runtime::events::watch(&root, since, until, |event| {
            !event.matches(&filters) || sender.send_json(&event.docker_message())
        });
    });
    let mut reply = http::Response::new(body);
    reply.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(reply)
}

/// `GET /system/df`: what images, containers, volumes and the build cache
/// take on disk, in the shapes `docker system df` reads.
pub fn disk_usage(service: &Service) -> Result<Reply> {
    let usage = wbox_runtime::disk::DiskUsage::of(&service.root)?;
    let volumes = wbox_runtime::volume::Volumes::open(&service.root)?;
    let images: Vec<_> = usage
        .images
        .iter()
        .map(|i| crate::images::summary(&i.summary, i.size, Some(i.shared), Some(i.containers)))
        .collect();
    let containers: Vec<_> = usage
        .containers
        .iter()
        .map(|(container, size)| {
            let mut summary = crate::containers::summary(container, &volumes);
            summary["SizeRw"] = json!(size);
            summary
        })
        .collect();
    let volumes: Vec<_> = usage
        .volumes
        .iter()
        .map(|(volume, size, users)| {
            let mut inspected = volume.inspect();
            inspected["UsageData"] = json!({ "Size": size, "RefCount": users });
            inspected
        })
        .collect();
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let cache: Vec<_> = usage
        .build_cache
        .iter()
        .map(|(step, size, shared)| {
            json!({
                "ID": step.id, "Parents": null, "Type": "regular", "Description": "",
                "InUse": false, "Shared": shared, "Size": size,
                "CreatedAt": time(step.created), "LastUsedAt": time(step.last_used), "UsageCount": step.usage,
            })
        })
        .collect();
    Ok(reply::ok(&json!({
        "LayersSize": usage.layers_size,
        "Images": images,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": cache,
    })))
}
