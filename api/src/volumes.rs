//! `/volumes/…`: Docker's volume endpoints.

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use wbox_runtime::container;
use wbox_runtime::filters::Filters;
use wbox_runtime::volume::Volumes;
use wbox_runtime::{Error, Result};

use crate::Service;
use crate::query::Query;
use crate::reply::{self, Reply};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: Option<String>,
    driver: Option<String>,
    labels: Option<std::collections::BTreeMap<String, String>>,
}

/// `GET /volumes?filters=`.
pub fn list(service: &Service, query: &Query) -> Result<Reply> {
    let filters = Filters::parse(&query.filters()?, container::VOLUME_LIST_FILTERS)?;
    let volumes: Vec<_> =
        container::list_volumes(&service.root, &filters)?.iter().map(|v| v.inspect()).collect();
    Ok(reply::ok(&json!({ "Volumes": volumes, "Warnings": [] })))
}

/// `POST /volumes/create`: the volume, or the one of that name there is.
pub fn create(service: &Service, body: &[u8]) -> Result<Reply> {
    let body: CreateBody = if body.is_empty() {
        CreateBody::default()
    } else {
        serde_json::from_slice(body).map_err(|e| Error::usage(format!("invalid volume config: {e}")))?
    };
    wbox_runtime::volume::check_driver(body.driver.as_deref().unwrap_or_default())?;
    let volumes = Volumes::open(&service.root)?;
    let name = body.name.filter(|n| !n.is_empty());
    let volume = volumes.create(name.as_deref(), body.labels.unwrap_or_default(), false)?;
    Ok(reply::json(StatusCode::CREATED, &volume.inspect()))
}

/// `GET /volumes/{name}`.
pub fn inspect(service: &Service, name: &str) -> Result<Reply> {
    Ok(reply::ok(&Volumes::open(&service.root)?.get(name)?.inspect()))
}

/// `DELETE /volumes/{name}?force=`: 409 (a conflict) while a container uses it.
pub fn remove(service: &Service, name: &str, query: &Query) -> Result<Reply> {
    let volumes = Volumes::open(&service.root)?;
    if let Err(e) = volumes.get(name) {
        return if query.flag("force") { Ok(reply::empty(StatusCode::NO_CONTENT)) } else { Err(e) };
    }
    container::remove_volume(&service.root, name)?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /volumes/prune?filters=`: anonymous volumes no container uses
/// (every such volume with the filter `all=true`, as Docker 23+).
pub fn prune(service: &Service, query: &Query) -> Result<Reply> {
    let mut words = query.filters()?;
    let all = words.iter().any(|w| w == "all=true" || w == "all=1");
    words.retain(|w| !w.starts_with("all="));
    let filters = Filters::parse(&words, container::VOLUME_PRUNE_FILTERS)?;
    let (removed, freed) = container::prune_volumes(&service.root, all, &filters)?;
    Ok(reply::ok(&json!({ "VolumesDeleted": removed, "SpaceReclaimed": freed })))
}
