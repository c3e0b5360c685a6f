//! `/images/…`: Docker's image endpoints over the runtime's store and
//! registries.

use serde_json::{Value, json};
use wbox_runtime::filters::Filters;
use wbox_runtime::image;
use wbox_runtime::reference::ImageRef;
use wbox_runtime::registry::{self, PullOptions, PullProgress, Registries};
use wbox_runtime::store::{Descriptor, Digest, Store};
use wbox_runtime::{Error, Result};

use crate::Service;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::stream::{self, Sender};

/// `GET /images/json?filters=`: Docker's image summaries.
pub fn list(service: &Service, query: &Query) -> Result<Reply> {
    let store = Store::open(&service.root)?;
    let filters = Filters::parse(&query.filters()?, image::FILTERS)?;
    let summaries: Vec<Value> = image::summaries(&store, &filters)?
        .iter()
        .map(|s| summary(s, s.image.size(&store), None, None))
        .collect();
    Ok(reply::ok(&summaries))
}

/// Docker's image summary; what is shared with other images and how many
/// containers use it, where they were counted (-1 where not).
pub(crate) fn summary(
    s: &image::Summary,
    size: u64,
    shared: Option<u64>,
    containers: Option<usize>,
) -> Value {
    json!({
        "Id": s.image.id().to_string(),
        "ParentId": "",
        "RepoTags": s.tags.iter().map(ImageRef::familiar).collect::<Vec<_>>(),
        "RepoDigests": s.repo_digests,
        "Created": s.image.created().map_or(0, |t| t.timestamp()),
        "Size": size,
        "VirtualSize": size,
        "SharedSize": shared.map_or(-1, |s| s as i64),
        "Labels": s.image.config.config.labels.clone().unwrap_or_default(),
        "Containers": containers.map_or(-1, |c| c as i64),
    })
}

/// `GET /images/{name}/json`.
pub fn inspect(service: &Service, name: &str) -> Result<Reply> {
    let store = Store::open(&service.root)?;
    let (found, tags) = image::lookup(&store, name)?;
    Ok(reply::ok(&found.inspect(&store, &tags)))
}

/// `POST /images/{name}/tag?repo=&tag=`.
pub fn tag(service: &Service, name: &str, query: &Query) -> Result<Reply> {
    let repo = query.get("repo").filter(|r| !r.is_empty()).ok_or_else(|| Error::usage("repo is required"))?;
    let target = match query.get("tag").filter(|t| !t.is_empty()) {
        Some(tag) => format!("{repo}:{tag}"),
        None => repo.to_owned(),
    };
    image::tag(&Store::open(&service.root)?, name, &ImageRef::parse(&target)?)?;
    Ok(reply::empty(http::StatusCode::CREATED))
}

/// `DELETE /images/{name}?force=`: what went, as Docker lists it.
pub fn remove(service: &Service, name: &str, query: &Query) -> Result<Reply> {
    let store = Store::open(&service.root)?;
    let in_use = wbox_runtime::container::images_in_use(&service.root);
    let removed = image::remove(&store, name, query.flag("force"), &in_use)?;
    let mut answer: Vec<Value> = removed.untagged.iter().map(|name| json!({ "Untagged": name })).collect();
    if removed.deleted {
        answer.push(json!({ "Deleted": removed.id.to_string() }));
    }
    answer.extend(removed.deleted_layers.iter().map(|layer| json!({ "Deleted": layer.to_string() })));
    Ok(reply::ok(&answer))
}

/// `POST /images/create?fromImage=&tag=&platform=`: a pull, its progress
/// streamed as Docker's JSON lines; a failure is the stream's last line.
pub fn pull(service: &Service, query: &Query, credentials: Option<(String, String)>) -> Result<Reply> {
    let from = query.get("fromImage").filter(|f| !f.is_empty()).ok_or_else(|| {
        Error::usage("fromImage is required: wbox pulls from registries (import of a tar is not served yet)")
    })?;
    let name = match query.get("tag").filter(|t| !t.is_empty()) {
        Some(tag) if tag.starts_with("sha256:") => format!("{from}@{tag}"),
        Some(tag) => format!("{from}:{tag}"),
        None => from.to_owned(),
    };
    let reference = ImageRef::parse(&name)?;
    let platform = query.get("platform").filter(|p| !p.is_empty()).map(str::to_owned);
    let options = PullOptions { platform, credentials, ..PullOptions::default() };
    let root = service.root.clone();
    Ok(stream::json_progress(move |sender| {
        let store = Store::open(&root)?;
        let registries = Registries::new(&root, &store, &options)?;
        let image = registry::block_on(registries.pull(&reference, &Progress(sender.clone())))?;
        sender.send_json(&json!({ "status": format!("Digest: {}", image.manifest_digest) }));
        sender.send_json(&json!({ "status": format!("Status: Downloaded newer image for {reference}") }));
        Ok(())
    }))
}

/// A pull's progress in Docker's words, one JSON line each.
struct Progress(Sender);

fn short(digest: &Digest) -> String {
    digest.to_string().trim_start_matches("sha256:").chars().take(12).collect()
}

impl PullProgress for Progress {
    fn resolved(&self, reference: &ImageRef, _: &Digest, blobs: &[Descriptor]) {
        let tag = reference.tag().unwrap_or("latest");
        self.0.send_json(
            &json!({ "status": format!("Pulling from {}", reference.familiar_repository()), "id": tag }),
        );
        for blob in blobs {
            self.0.send_json(
                &json!({ "status": "Pulling fs layer", "progressDetail": {}, "id": short(&blob.digest) }),
            );
        }
    }

    fn advanced(&self, blob: &Digest, bytes: u64) {
        self.0.send_json(
            &json!({ "status": "Downloading", "progressDetail": { "current": bytes }, "id": short(blob) }),
        );
    }

    fn stored(&self, blob: &Digest, had: bool) {
        let status = if had { "Already exists" } else { "Pull complete" };
        self.0.send_json(&json!({ "status": status, "progressDetail": {}, "id": short(blob) }));
    }
}

/// `POST /images/{name}/push?tag=`: a push, its progress streamed as
/// Docker's JSON lines.
pub fn push(
    service: &Service,
    name: &str,
    query: &Query,
    credentials: Option<(String, String)>,
) -> Result<Reply> {
    let name = match query.get("tag").filter(|t| !t.is_empty()) {
        Some(tag) => format!("{name}:{tag}"),
        None => name.to_owned(),
    };
    let reference = ImageRef::parse(&name)?;
    let options = PullOptions { credentials, ..PullOptions::default() };
    let root = service.root.clone();
    Ok(stream::json_progress(move |sender| {
        let repository = reference.familiar_repository();
        sender.send_json(&json!({ "status": format!("The push refers to repository [{repository}]") }));
        let store = Store::open(&root)?;
        let registries = Registries::new(&root, &store, &options)?;
        let pushed = registry::block_on(registries.push(&reference, &Progress(sender.clone())))?;
        let tag = reference.tag().unwrap_or("latest");
        sender.send_json(
            &json!({ "status": format!("{tag}: digest: {} size: {}", pushed.digest, pushed.size) }),
        );
        let aux = json!({ "Tag": tag, "Digest": pushed.digest.to_string(), "Size": pushed.size });
        sender.send_json(&json!({ "progressDetail": {}, "aux": aux }));
        Ok(())
    }))
}

/// `GET /images/{name}/history`: its steps, newest first.
/// `GET /images/get?names=…` and `GET /images/{name}/get`: the images as
/// an OCI archive.
pub fn save(service: &Service, names: &[String]) -> Result<Reply> {
    let store = Store::open(&service.root)?;
    let images = wbox_runtime::archive::find(&store, names)?;
    let mut tar = Vec::new();
    wbox_runtime::archive::save(&store, &images, &mut tar)?;
    let mut reply = Reply::new(reply::full(tar));
    reply
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-tar"));
    Ok(reply)
}

/// `POST /images/load`: the archive in the body; what it tagged, as
/// Docker's progress stream says it.
pub fn load(service: &Service, archive: &[u8]) -> Result<Reply> {
    // An archive that cannot be loaded is told in the stream, as dockerd
    // tells it, after a 200.
    let messages = match wbox_runtime::archive::load(&Store::open(&service.root)?, archive) {
        Ok(loaded) => loaded.iter().map(|image| json!({ "stream": format!("{image}\n") })).collect(),
        Err(e) => vec![json!({ "errorDetail": { "message": e.to_string() }, "error": e.to_string() })],
    };
    let lines: String = messages.iter().map(|message| message.to_string() + "\n").collect();
    let mut reply = Reply::new(reply::full(lines));
    reply
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Ok(reply)
}

pub fn history(service: &Service, name: &str) -> Result<Reply> {
    let store = Store::open(&service.root)?;
    let (found, tags) = image::lookup(&store, name)?;
    let mut steps: Vec<Value> = found
        .history(&store)
        .into_iter()
        .map(|step| {
            json!({
                "Id": step.id.map_or_else(|| "<missing>".to_owned(), |id| id.to_string()),
                "Created": step.created.map_or(0, |t| t.timestamp()),
                "CreatedBy": step.created_by,
                "Tags": null,
                "Size": step.size,
                "Comment": step.comment,
            })
        })
        .collect();
    if let Some(newest) = steps.first_mut() {
        newest["Tags"] = json!(tags.iter().map(ImageRef::familiar).collect::<Vec<_>>());
    }
    Ok(reply::ok(&steps))
}

/// `POST /images/prune?filters=`: dangling images (every unused one with
/// `dangling=false`).
pub fn prune(service: &Service, query: &Query) -> Result<Reply> {
    let filters = Filters::parse(&query.filters()?, image::PRUNE_FILTERS)?;
    let in_use = wbox_runtime::container::images_in_use(&service.root);
    let pruned = image::prune(&Store::open(&service.root)?, false, &in_use, &filters)?;
    let mut deleted = Vec::new();
    for (untagged, id) in &pruned.images {
        deleted.extend(untagged.iter().map(|name| json!({ "Untagged": name })));
        deleted.push(json!({ "Deleted": id.to_string() }));
    }
    Ok(reply::ok(&json!({ "ImagesDeleted": deleted, "SpaceReclaimed": pruned.freed })))
}
