//! What a container runs and uses: `/containers/{id}/top` and
//! `/containers/{id}/stats`, in Docker's shapes, from the runtime's `top`
//! and `usage`.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use http::{HeaderValue, header};
use serde_json::{Value, json};
use wbox_runtime::container::{Container, Containers, Usage};
use wbox_runtime::{Error, Result};

use crate::Service;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::stream;

/// `GET /containers/{id}/top?ps_args=`.
pub fn top(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let container = Containers::open(&service.root)?.lookup(id)?;
    let options: Vec<String> =
        query.get("ps_args").unwrap_or_default().split_whitespace().map(str::to_owned).collect();
    let top = container.top(&options)?;
    Ok(reply::ok(&json!({ "Titles": top.titles, "Processes": top.processes })))
}

/// How often a stream of stats has a new reading, as Docker's.
const INTERVAL: Duration = Duration::from_secs(1);

/// `GET /containers/{id}/stats?stream=&one-shot=`: a reading a second, or
/// one (with the reading a second before it, for the CPU share, unless
/// `one-shot`).
pub fn stats(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let mut container = Containers::open(&service.root)?.lookup(id)?;
    let streamed = !matches!(query.get("stream"), Some("0" | "false" | "False"));
    let one_shot = query.flag("one-shot");
    if one_shot && streamed {
        return Err(Error::usage("cannot have stream=true and one-shot=true"));
    }
    let (sender, body) = stream::channel();
    tokio::task::spawn_blocking(move || {
        let mut before: Option<Reading> = None;
        if !streamed && !one_shot {
            before = Reading::of(&container);
            std::thread::sleep(INTERVAL);
        }
        loop {
            let now = Reading::of(&container);
            if !sender.send_json(&document(&container, now.as_ref(), before.as_ref())) || !streamed {
                return;
            }
            before = now;
            std::thread::sleep(INTERVAL);
            if container.reload().is_err() {
                return;
            }
        }
    });
    let mut reply = http::Response::new(body);
    reply.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(reply)
}

/// A container's use at a moment; none while it does not run.
struct Reading {
    usage: Usage,
    at: SystemTime,
}

impl Reading {
    fn of(container: &Container) -> Option<Reading> {
        let usage = container.usage().ok()?;
        Some(Reading { usage, at: SystemTime::now() })
    }
}

/// Docker's stats object. The host's CPU time (`system_cpu_usage`) is the
/// wall clock times the CPUs: the client's share, the container's CPU time
/// over it times the CPUs, is then its CPU time over the time passed, as
/// `wbox stats` shows it.
fn document(container: &Container, now: Option<&Reading>, before: Option<&Reading>) -> Value {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let cpu = |reading: Option<&Reading>| match reading {
        Some(r) => json!({
            "cpu_usage": { "total_usage": r.usage.cpu_nanos, "usage_in_kernelmode": 0, "usage_in_usermode": 0 },
            "system_cpu_usage": nanos_since_epoch(r.at) * cpus,
            "online_cpus": cpus,
            "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": 0 },
        }),
        None => json!({ "cpu_usage": { "total_usage": 0 }, "throttling_data": {} }),
    };
    let time = |reading: Option<&Reading>| match reading {
        Some(r) => DateTime::<Utc>::from(r.at).to_rfc3339_opts(SecondsFormat::Nanos, true),
        None => "0001-01-01T00:00:00Z".to_owned(),
    };
    let mut document = json!({
        "name": format!("/{}", container.config.name),
        "id": container.config.id,
        "read": time(now),
        "preread": time(before),
        "pids_stats": {},
        "blkio_stats": { "io_service_bytes_recursive": null },
        "num_procs": 0,
        "cpu_stats": cpu(now),
        "precpu_stats": cpu(before),
        "memory_stats": {},
    });
    if let Some(now) = now {
        let usage = &now.usage;
        document["pids_stats"] = json!({ "current": usage.pids });
        document["memory_stats"] = json!({ "usage": usage.memory, "limit": usage.memory_limit, "stats": {} });
        let (received, sent) = usage.network;
        document["networks"] = json!({ "eth0": {
            "rx_bytes": received, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
            "tx_bytes": sent, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0,
        }});
    }
    document
}

fn nanos_since_epoch(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
