//! `/containers/…`: Docker's container endpoints, each a call of the
//! runtime's containers.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};
use wbox_runtime::container::{Container, Containers, CreateOptions, GrantOptions, WaitCondition, logs};
use wbox_runtime::filters::Filters;
use wbox_runtime::image::{self, ForRun};
use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;
use wbox_runtime::volume::Volumes;
use wbox_runtime::{Error, Result};

use crate::Service;
use crate::detach::DetachKeys;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::stream;

/// The body of `POST /containers/create`: Docker's container config with
/// its `HostConfig`, the fields wbox honours.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    image: Option<String>,
    cmd: Option<Vec<String>>,
    entrypoint: Option<Value>,
    env: Option<Vec<String>>,
    working_dir: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    tty: Option<bool>,
    open_stdin: Option<bool>,
    stdin_once: Option<bool>,
    user: Option<String>,
    hostname: Option<String>,
    stop_timeout: Option<u64>,
    volumes: Option<BTreeMap<String, Value>>,
    host_config: Option<HostConfig>,
    networking_config: Option<NetworkingConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct NetworkingConfig {
    endpoints_config: Option<BTreeMap<String, Option<EndpointConfig>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct EndpointConfig {
    aliases: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct HostConfig {
    binds: Option<Vec<String>>,
    mounts: Option<Vec<Mount>>,
    port_bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    memory: Option<i64>,
    network_mode: Option<String>,
    restart_policy: Option<RestartPolicy>,
    auto_remove: Option<bool>,
    readonly_rootfs: Option<bool>,
    tmpfs: Option<BTreeMap<String, String>>,
    pids_limit: Option<i64>,
    nano_cpus: Option<i64>,
    privileged: Option<bool>,
    log_config: Option<LogConfig>,
    volumes_from: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Mount {
    #[serde(rename = "Type")]
    kind: Option<String>,
    source: Option<String>,
    target: Option<String>,
    read_only: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PortBinding {
    host_ip: Option<String>,
    host_port: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RestartPolicy {
    name: Option<String>,
    maximum_retry_count: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct LogConfig {
    #[serde(rename = "Type")]
    kind: Option<String>,
    config: Option<BTreeMap<String, String>>,
}

/// `POST /containers/create?name=&platform=`.
pub fn create(service: &Service, query: &Query, body: &[u8]) -> Result<Reply> {
    let body: CreateBody =
        serde_json::from_slice(body).map_err(|e| Error::usage(format!("invalid container config: {e}")))?;
    let reference =
        body.image.as_deref().filter(|i| !i.is_empty()).ok_or_else(|| Error::usage("config has no Image"))?;
    let reference = ImageRef::parse(reference)?;
    let args = body.cmd.clone().unwrap_or_default();
    let root = &service.root;
    let mut options = options(body, query.get("name").filter(|n| !n.is_empty()))?;
    if options.log_driver.is_none() {
        options.log_driver = Some(logs::LogConfig::engine_api_driver(root)?);
    }
    let new = options.new_container(root, args)?;
    let store = Store::open(root)?;
    // Docker's clients pull on a 404 and ask again.
    let image = match image::for_run(&store, &reference, query.get("platform").filter(|p| !p.is_empty()))? {
        ForRun::Stored(image) => *image,
        ForRun::Pull(_) => return Err(Error::NoSuchImage(reference.to_string())),
    };
    let container = Containers::open(root)?.create_of(&store, &image, &reference, new)?;
    Ok(reply::json(StatusCode::CREATED, &json!({ "Id": container.id(), "Warnings": [] })))
}

/// Docker's fields in the words of `run`'s flags, for the runtime's rules.
fn options(body: CreateBody, name: Option<&str>) -> Result<CreateOptions> {
    let host = body.host_config.unwrap_or_default();
    let mut grants = GrantOptions {
        volumes: host.binds.unwrap_or_default(),
        // KEY without a value is the client's to fill in; the service passes
        // none of its own environment.
        env: body.env.unwrap_or_default().into_iter().filter(|e| e.contains('=')).collect(),
        workdir: body.working_dir.filter(|w| !w.is_empty()),
        memory: host.memory.filter(|m| *m > 0).map(|m| m.to_string()),
        ..GrantOptions::default()
    };
    let anonymous = body.volumes.unwrap_or_default();
    let mut tmpfs: Vec<String> = host
        .tmpfs
        .unwrap_or_default()
        .into_iter()
        .map(|(path, opts)| if opts.is_empty() { path } else { format!("{path}:{opts}") })
        .collect();
    for mount in host.mounts.unwrap_or_default() {
        let target = mount.target.unwrap_or_default();
        match mount.kind.as_deref().unwrap_or("volume") {
            "tmpfs" => tmpfs.push(target),
            kind => {
                let mut spec = format!("type={kind},target={target}");
                if let Some(source) = mount.source.filter(|s| !s.is_empty()) {
                    spec.push_str(&format!(",source={source}"));
                }
                if mount.read_only == Some(true) {
                    spec.push_str(",readonly");
                }
                grants.mounts.push(spec);
            }
        }
    }
    // `-v /data`: an anonymous volume, unless a bind or mount is there (the
    // clients list every mount point in `Volumes`).
    let given: Vec<String> = grants.volumes.iter().chain(&grants.mounts).cloned().collect();
    let taken = |path: &str| given.iter().any(|spec| mount_point(spec) == path);
    grants.volumes.extend(anonymous.into_keys().filter(|path| !taken(path)));
    for (port, bindings) in host.port_bindings.unwrap_or_default() {
        for binding in bindings.unwrap_or_default() {
            let ip = binding.host_ip.unwrap_or_default();
            let host_port = binding.host_port.unwrap_or_default();
            grants.publish.push(if ip.is_empty() {
                format!("{host_port}:{port}")
            } else {
                format!("{ip}:{host_port}:{port}")
            });
        }
    }
    // The network mode, or a user-defined network, with its aliases there.
    let mut endpoints = body.networking_config.and_then(|n| n.endpoints_config).unwrap_or_default();
    let mode = host.network_mode.filter(|m| !m.is_empty() && m != "default");
    let network_aliases = match &mode {
        Some(name) => endpoints.remove(name).flatten().and_then(|e| e.aliases).unwrap_or_default(),
        None => Vec::new(),
    };
    endpoints
        .retain(|name, _| name != "default" && !wbox_runtime::network::PREDEFINED.contains(&name.as_str()));
    if let Some(other) = endpoints.keys().next() {
        return Err(Error::usage(format!(
            "the container joins one network when it is made (NetworkMode); connect it to {other} afterwards"
        )));
    }
    grants.network = mode;
    // In `--restart`'s words, which the runtime reads.
    let restart = host.restart_policy.and_then(|r| {
        let name = r.name.filter(|n| !n.is_empty())?;
        Some(match r.maximum_retry_count.filter(|&n| n > 0) {
            Some(max) => format!("{name}:{max}"),
            None => name,
        })
    });
    let log = host.log_config.unwrap_or_default();
    Ok(CreateOptions {
        name: name.map(str::to_owned),
        auto_remove: host.auto_remove.unwrap_or(false),
        stop_timeout: body.stop_timeout,
        interactive: body.open_stdin.unwrap_or(false),
        stdin_once: body.stdin_once.unwrap_or(false),
        restart,
        tty: body.tty.unwrap_or(false),
        entrypoint: match body.entrypoint {
            None | Some(Value::Null) => None,
            Some(Value::String(program)) => image::Image::entrypoint_flag(Some(&program)),
            Some(list) => Some(
                serde_json::from_value(list).map_err(|e| Error::usage(format!("invalid Entrypoint: {e}")))?,
            ),
        },
        volumes_from: host.volumes_from.unwrap_or_default(),
        labels: body.labels.unwrap_or_default(),
        hostname: body.hostname.filter(|h| !h.is_empty()),
        user: body.user.filter(|u| !u.is_empty()),
        read_only: host.readonly_rootfs.unwrap_or(false),
        tmpfs,
        pids_limit: host.pids_limit.filter(|n| *n > 0),
        cpus: host.nano_cpus.filter(|n| *n > 0).map(|n| n as f64 / 1e9),
        log_driver: log.kind.filter(|k| !k.is_empty()),
        log_opts: log.config.unwrap_or_default().into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
        privileged: host.privileged.unwrap_or(false),
        network_aliases,
        grants,
    })
}

/// Where a `-v` or `--mount` spec puts its source in the guest.
fn mount_point(spec: &str) -> &str {
    if spec.starts_with("type=") {
        let target = spec
            .split(',')
            .find_map(|p| p.strip_prefix("target=").or_else(|| p.strip_prefix("destination=")));
        return target.unwrap_or_default();
    }
    let mut parts = spec.split(':');
    let first = parts.next().unwrap_or_default();
    parts.next().unwrap_or(first)
}

/// `GET /containers/json?all=&limit=&filters=`: Docker's container summaries.
pub fn list(service: &Service, query: &Query) -> Result<Reply> {
    let filters = Filters::parse(&query.filters()?, wbox_runtime::container::FILTERS)?;
    let store = Store::open(&service.root)?;
    let limit: Option<i64> = query.number("limit")?;
    let mut shown = Containers::open(&service.root)?.matching(
        &store,
        &filters,
        query.flag("all") || limit.is_some_and(|l| l > 0),
    )?;
    if let Some(limit) = limit.filter(|l| *l > 0) {
        shown.truncate(limit as usize);
    }
    let volumes = Volumes::open(&service.root)?;
    Ok(reply::ok(&shown.iter().map(|c| summary(c, &volumes)).collect::<Vec<_>>()))
}

pub(crate) fn summary(c: &Container, volumes: &Volumes) -> Value {
    let spec = &c.config.spec;
    let networks = c.network_settings();
    let ports: Vec<Value> = c
        .published_ports()
        .iter()
        .map(|p| {
            json!({
                "IP": p.host_ip.map_or("0.0.0.0".to_owned(), |ip| ip.to_string()),
                "PrivatePort": p.container_port, "PublicPort": p.host_port, "Type": p.protocol(),
            })
        })
        .collect();
    let mounts: Vec<Value> = spec
        .grants
        .dirs
        .iter()
        .map(|d| {
            let name = volumes.named_by(&d.host);
            json!({
                "Type": if name.is_some() { "volume" } else { "bind" }, "Name": name.unwrap_or_default(),
                "Source": d.host, "Destination": d.guest, "RW": !d.read_only,
            })
        })
        .collect();
    json!({
        "Id": c.id(),
        "Names": [format!("/{}", c.config.name)],
        "Image": spec.image,
        "ImageID": spec.image_id.to_string(),
        "Command": spec.command(),
        "Created": c.config.created.timestamp(),
        "Ports": ports,
        "Labels": spec.labels,
        "State": c.state.status.as_str(),
        "Status": c.state.status_text(),
        "HostConfig": { "NetworkMode": networks.keys().next().map_or("default", String::as_str) },
        "NetworkSettings": { "Networks": networks },
        "Mounts": mounts,
    })
}

pub fn inspect(service: &Service, id: &str) -> Result<Reply> {
    Ok(reply::ok(&Containers::open(&service.root)?.lookup(id)?.inspect()))
}

/// `POST /containers/{id}/start`: 204, or 304 when it already runs.
pub fn start(service: &Service, id: &str) -> Result<Reply> {
    let mut container = Containers::open(&service.root)?.lookup(id)?;
    let started = container.start((service.supervisor)(container.id()))?;
    Ok(reply::empty(if started { StatusCode::NO_CONTENT } else { StatusCode::NOT_MODIFIED }))
}

/// `POST /containers/{id}/stop?t=`: 204, or 304 when it does not run.
pub fn stop(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let mut container = Containers::open(&service.root)?.lookup(id)?;
    if container.stop(query.number("t")?)? {
        Ok(reply::empty(StatusCode::NO_CONTENT))
    } else {
        Ok(reply::empty(StatusCode::NOT_MODIFIED))
    }
}

/// `POST /containers/{id}/restart?t=`.
pub fn restart(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let mut container = Containers::open(&service.root)?.lookup(id)?;
    container.stop(query.number("t")?)?;
    container.start((service.supervisor)(container.id()))?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/kill?signal=`: 409 when it does not run.
pub fn kill(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let mut container = Containers::open(&service.root)?.lookup(id)?;
    let signal = wbox_runtime::container::parse_signal(
        query.get("signal").filter(|s| !s.is_empty()).unwrap_or("KILL"),
    )?;
    if container.runner_pid().is_none() {
        return Ok(reply::error(
            StatusCode::CONFLICT,
            format!("Container {} is not running", container.id()),
        ));
    }
    container.kill(signal)?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `DELETE /containers/{id}?force=&v=`.
pub fn remove(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let container = Containers::open(&service.root)?.lookup(id)?;
    if container.runner_pid().is_some() && !query.flag("force") {
        return Ok(reply::error(
            StatusCode::CONFLICT,
            format!(
                "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                container.id()
            ),
        ));
    }
    if query.flag("v") {
        container.remove_with_volumes(true)?
    } else {
        container.remove(true)?
    }
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/wait?condition=`: the headers at once, as Docker
/// sends them (its clients start the container only then), and the exit
/// code when the condition is met.
pub fn wait(service: Arc<Service>, id: &str, query: &Query) -> Result<Reply> {
    let condition = WaitCondition::parse(query.get("condition").unwrap_or_default())?;
    let containers = Containers::open(&service.root)?;
    let id = containers.lookup(id)?.id().to_owned();
    let (sender, body) = stream::channel();
    tokio::task::spawn_blocking(move || {
        let answer = match containers.wait_for(&id, condition) {
            Ok(code) => json!({ "StatusCode": code }),
            Err(e) => json!({ "StatusCode": -1, "Error": { "Message": e.to_string() } }),
        };
        sender.send_json(&answer);
    });
    let mut reply = http::Response::new(body);
    reply.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(reply)
}

/// `GET /containers/{id}/logs?stdout=&stderr=&follow=&timestamps=&tail=&since=&until=`.
pub fn logs(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let mut container = Containers::open(&service.root)?.lookup(id)?;
    let (stdout, stderr) = (query.flag("stdout"), query.flag("stderr"));
    if !stdout && !stderr {
        return Err(Error::usage("Bad parameters: you must choose at least one stream"));
    }
    let tail = match query.get("tail").unwrap_or("all") {
        "all" | "" => None,
        n => Some(n.parse::<i64>().map_err(|_| Error::usage(format!("invalid tail {n}")))?.max(0) as usize),
    };
    let now = chrono::Utc::now();
    let time = |key| match query.get(key).filter(|t| !t.is_empty() && *t != "0") {
        Some(t) => wbox_runtime::units::parse_time(t, now).map(Some),
        None => Ok(None),
    };
    let (since, until) = (time("since")?, time("until")?);
    let (follow, timestamps) = (query.flag("follow"), query.flag("timestamps"));
    let tty = container.config.spec.grants.tty == Some(true);
    let (sender, body) = stream::channel();
    tokio::task::spawn_blocking(move || {
        let wanted = |entry: &logs::Entry| {
            (if entry.stream == "stderr" { stderr } else { stdout })
                && since.is_none_or(|since| entry.time >= since)
                && until.is_none_or(|until| entry.time < until)
        };
        let _ = container.logs(tail, follow, |entry| {
            if wanted(entry) {
                sender.send(stream::output(entry, tty, timestamps));
            }
        });
    });
    let mut reply = http::Response::new(body);
    reply.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(stream::output_type(tty)));
    Ok(reply)
}

/// `POST /containers/{id}/attach?stream=&stdout=&stderr=`: the output of the
/// container's run, on the connection taken over (Docker's "hijack"), or in
/// the body for a client that does not ask to upgrade.
pub fn attach(service: &Service, id: &str, query: &Query, request: http::Request<Incoming>) -> Result<Reply> {
    let mut container = Containers::open(&service.root)?.lookup(id)?;
    let (stdout, stderr) = (query.flag("stdout"), query.flag("stderr"));
    let tty = container.config.spec.grants.tty == Some(true);
    // `logs`: what it wrote before comes first; without `stream`, only that.
    let (logs_first, streamed) = (query.flag("logs"), query.flag("stream"));
    let mut reader = if logs_first { container.log_reader()? } else { container.output_reader()? };
    let (sender, body) = stream::channel();
    tokio::task::spawn_blocking(move || {
        let mut each = |entry: &logs::Entry| {
            if if entry.stream == "stderr" { stderr } else { stdout } {
                sender.send(stream::output(entry, tty, false));
            }
        };
        let _ = reader.read_new(&mut each);
        if streamed {
            let _ = container.follow_next_run(&mut reader, each);
        }
    });
    let content_type = HeaderValue::from_static(stream::output_type(tty));
    if !request.headers().contains_key(header::UPGRADE) {
        let mut reply = http::Response::new(body);
        reply.headers_mut().insert(header::CONTENT_TYPE, content_type);
        return Ok(reply);
    }
    // Opened now, before a start that may follow: what the client types
    // first waits for the guest.
    let input = if query.flag("stdin") { container_stdin(service, id)? } else { None };
    let detach_keys = DetachKeys::parse(query.get("detachKeys"))?;
    tokio::spawn(async move {
        match hyper::upgrade::on(request).await {
            Ok(upgraded) => {
                let (from_client, to_client) = tokio::io::split(hyper_util::rt::TokioIo::new(upgraded));
                let detached = std::sync::Arc::new(tokio::sync::Notify::new());
                if let Some(input) = input {
                    tokio::spawn(copy_in(from_client, input, detach_keys, detached.clone()));
                }
                // docker-py reads the 101 through a buffered reader, then
                // reads the socket itself: output sent with the headers (the
                // logs asked for, there at once) would be lost in that buffer.
                if logs_first {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                copy_out(body, to_client, &detached).await
            }
            Err(e) => tracing::debug!("an attach was not upgraded: {e}"),
        }
    });
    let mut reply = reply::empty(StatusCode::SWITCHING_PROTOCOLS);
    let headers = reply.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    Ok(reply)
}

fn container_stdin(service: &Service, id: &str) -> Result<Option<(Container, std::fs::File)>> {
    let container = Containers::open(&service.root)?.lookup(id)?;
    Ok(container.stdin()?.map(|stdin| (container, stdin)))
}

/// Feeds what the client sends to the container's stdin until the client
/// closes its side or types the detach keys (then `detached` is told);
/// then lets go of it (for a StdinOnce container, its end), once the guest
/// has started: a channel that no one holds open loses what was written to
/// it.
async fn copy_in(
    mut from_client: impl tokio::io::AsyncRead + Unpin,
    (mut container, stdin): (Container, std::fs::File),
    mut detach_keys: DetachKeys,
    detached: std::sync::Arc<tokio::sync::Notify>,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    if let Ok(clone) = stdin.try_clone() {
        let mut writer = tokio::fs::File::from_std(clone);
        let mut buffer = vec![0; 16 * 1024];
        let mut passed = Vec::new();
        while let Ok(n @ 1..) = from_client.read(&mut buffer).await {
            passed.clear();
            let detaching = detach_keys.feed(&buffer[..n], &mut passed);
            if writer.write_all(&passed).await.is_err() {
                break;
            }
            if detaching {
                detached.notify_one();
                break;
            }
        }
        let _ = writer.flush().await;
    }
    let _ = tokio::task::spawn_blocking(move || {
        container.wait_until_started();
        drop(stdin);
    })
    .await;
}

/// Writes a streamed body onto a taken-over connection until it ends or
/// the client detaches, then closes it.
async fn copy_out(
    body: reply::Body,
    mut io: impl tokio::io::AsyncWrite + Unpin,
    detached: &tokio::sync::Notify,
) {
    use http_body_util::BodyExt as _;
    use tokio::io::AsyncWriteExt as _;
    let mut body = body;
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            () = detached.notified() => break,
        };
        let Some(Ok(frame)) = frame else { break };
        let Ok(data) = frame.into_data() else { continue };
        let data: Bytes = data;
        if io.write_all(&data).await.is_err() {
            return;
        }
    }
    let _ = io.shutdown().await;
}

/// `POST /containers/{id}/rename?name=`.
pub fn rename(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let name = query.get("name").filter(|n| !n.is_empty()).ok_or_else(|| Error::usage("name is required"))?;
    Containers::open(&service.root)?.rename(id, name.trim_start_matches('/'))?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/prune?filters=`: the stopped containers.
pub fn prune(service: &Service, query: &Query) -> Result<Reply> {
    let filters = Filters::parse(&query.filters()?, wbox_runtime::container::PRUNE_FILTERS)?;
    let removed = Containers::open(&service.root)?.prune(&filters)?;
    // A container's own files are its record and log: nothing Docker counts.
    Ok(reply::ok(&json!({ "ContainersDeleted": removed, "SpaceReclaimed": 0 })))
}
