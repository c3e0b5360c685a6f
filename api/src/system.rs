//! `/_ping`, `/version`, `/info`: how a client finds out what it talks to.

use http::{HeaderValue, StatusCode};
use wbox_runtime::Result;
use wbox_runtime::system::API_VERSION;

use crate::Service;
use crate::reply::{self, Reply};

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
