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
        .into_iter()
        .map(|s| {
            let size = s.image.size(&store);
            json!({
                "Id": s.image.id().to_string(),
                "ParentId": "",
                "RepoTags": s.tags.iter().map(ImageRef::familiar).collect::<Vec<_>>(),
                "RepoDigests": s.repo_digests,
                "Created": s.image.created().map_or(0, |t| t.timestamp()),
                "Size": size,
                "VirtualSize": size,
                "SharedSize": -1,
                "Labels": s.image.config.config.labels.clone().unwrap_or_default(),
                "Containers": -1,
            })
        })
        .collect();
    Ok(reply::ok(&summaries))
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
    let mut answer: Vec<Value> =
        removed.untagged.iter().map(|t| json!({ "Untagged": t.familiar() })).collect();
    if removed.deleted {
        answer.push(json!({ "Deleted": removed.id.to_string() }));
    }
    Ok(reply::ok(&answer))
}

/// `POST /images/create?fromImage=&tag=&platform=`: a pull, its progress
/// streamed as Docker's JSON lines; a failure is the stream's last line.
pub fn pull(service: &Service, query: &Query) -> Result<Reply> {
    let from = query.get("fromImage").filter(|f| !f.is_empty()).ok_or_else(|| {
        Error::usage("fromImage is required: wbox pulls from registries (import of a tar is not served yet)")
    })?;
    let name = match query.get("tag").filter(|t| !t.is_empty()) {
        Some(tag) if tag.starts_with("sha256:") => format!("{from}@{tag}"),
        Some(tag) => format!("{from}:{tag}"),
        None => from.to_owned(),
    };
    let reference = ImageRef::parse(&name)?;
    let options = PullOptions {
        platform: query.get("platform").filter(|p| !p.is_empty()).map(str::to_owned),
        ..PullOptions::default()
    };
    let root = service.root.clone();
    let (sender, body) = stream::progress_channel();
    tokio::task::spawn_blocking(move || {
        let progress = Progress(sender.clone());
        let pulled = Store::open(&root).and_then(|store| {
            let registries = Registries::new(&root, &store, &options)?;
            registry::block_on(registries.pull(&reference, &progress))
        });
        match pulled {
            Ok(image) => {
                sender.send_json(&json!({ "status": format!("Digest: {}", image.manifest_digest) }));
                sender.send_json(
                    &json!({ "status": format!("Status: Downloaded newer image for {reference}") }),
                );
            }
            Err(e) => {
                sender.send_json(
                    &json!({ "errorDetail": { "message": e.to_string() }, "error": e.to_string() }),
                );
            }
        }
    });
    let mut reply = http::Response::new(body);
    reply
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Ok(reply)
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
