//! `/networks/…`: Docker's network endpoints.

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use wbox_runtime::container::Containers;
use wbox_runtime::filters::Filters;
use wbox_runtime::network::{self, Networks};
use wbox_runtime::{Error, Result};

use crate::Service;
use crate::query::Query;
use crate::reply::{self, Reply};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: Option<String>,
    driver: Option<String>,
    internal: Option<bool>,
    labels: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectBody {
    container: Option<String>,
    endpoint_config: Option<Endpoint>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Endpoint {
    aliases: Option<Vec<String>>,
}

/// `GET /networks?filters=`.
pub fn list(service: &Service, query: &Query) -> Result<Reply> {
    let filters = Filters::parse(&query.filters()?, network::FILTERS)?;
    Ok(reply::ok(&Containers::open(&service.root)?.list_networks(&filters)?))
}

/// `GET /networks/{id}`.
pub fn inspect(service: &Service, name: &str) -> Result<Reply> {
    Ok(reply::ok(&Containers::open(&service.root)?.inspect_network(name)?))
}

/// `POST /networks/create`: 201 and its id; 409 when the name is taken.
pub fn create(service: &Service, body: &[u8]) -> Result<Reply> {
    let body: CreateBody =
        serde_json::from_slice(body).map_err(|e| Error::usage(format!("invalid network config: {e}")))?;
    let name = body.name.filter(|n| !n.is_empty()).ok_or_else(|| Error::usage("the network needs a Name"))?;
    network::check_driver(body.driver.as_deref().unwrap_or_default())?;
    let made = Networks::open(&service.root)?.create(
        &name,
        body.labels.unwrap_or_default(),
        body.internal.unwrap_or(false),
    )?;
    Ok(reply::json(StatusCode::CREATED, &json!({ "Id": made.id, "Warning": "" })))
}

/// `DELETE /networks/{id}`: 403 while containers are on it, as Docker.
pub fn remove(service: &Service, name: &str) -> Result<Reply> {
    Networks::open(&service.root)?.remove(name)?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /networks/{id}/connect`.
pub fn connect(service: &Service, name: &str, body: &[u8]) -> Result<Reply> {
    let body: ConnectBody =
        serde_json::from_slice(body).map_err(|e| Error::usage(format!("invalid connect config: {e}")))?;
    let container = body.container.ok_or_else(|| Error::usage("give the Container to connect"))?;
    let aliases = body.endpoint_config.and_then(|e| e.aliases).unwrap_or_default();
    Containers::open(&service.root)?.connect(name, &container, &aliases)?;
    Ok(reply::empty(StatusCode::OK))
}

/// `POST /networks/{id}/disconnect`.
pub fn disconnect(service: &Service, name: &str, body: &[u8]) -> Result<Reply> {
    let body: ConnectBody =
        serde_json::from_slice(body).map_err(|e| Error::usage(format!("invalid disconnect config: {e}")))?;
    let container = body.container.ok_or_else(|| Error::usage("give the Container to disconnect"))?;
    Containers::open(&service.root)?.disconnect(name, &container)?;
    Ok(reply::empty(StatusCode::OK))
}

/// `POST /networks/prune?filters=`.
pub fn prune(service: &Service, query: &Query) -> Result<Reply> {
    let filters = Filters::parse(&query.filters()?, network::PRUNE_FILTERS)?;
    let removed = Networks::open(&service.root)?.prune(&filters)?;
    Ok(reply::ok(&json!({ "NetworksDeleted": removed })))
}
