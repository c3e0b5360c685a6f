//! Answers in Docker's shapes: JSON bodies, and errors as
//! `{"message": "…"}` with the status Docker gives that kind of error.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Empty, Full};
use wbox_runtime::Error;

pub type Body = BoxBody<Bytes, std::io::Error>;
pub type Reply = Response<Body>;

pub fn json(status: StatusCode, value: &impl serde::Serialize) -> Reply {
    let mut bytes = serde_json::to_vec(value).expect("API objects serialise");
    bytes.push(b'\n');
    let mut reply = Response::new(full(bytes));
    *reply.status_mut() = status;
    reply.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
}

pub fn ok(value: &impl serde::Serialize) -> Reply {
    json(StatusCode::OK, value)
}

pub fn text(status: StatusCode, text: &'static str) -> Reply {
    let mut reply = Response::new(full(text));
    *reply.status_mut() = status;
    reply.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    reply
}

pub fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(Empty::new().map_err(|never| match never {}).boxed());
    *reply.status_mut() = status;
    reply
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// Docker's error body, `{"message": …}`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    json(status, &serde_json::json!({ "message": message.into() }))
}

/// The status Docker answers for this kind of error: 404 for what does not
/// exist, 400 for a request it refuses, 409 for a clash with what is there,
/// 500 for a failure of its own.
pub fn from_error(e: Error) -> Reply {
    let status = match &e {
        Error::NoSuchImage(_)
        | Error::NoSuchContainer(_)
        | Error::NoSuchVolume(_)
        | Error::NoSuchNetwork(_)
        | Error::NoSuchPath(_)
        | Error::Gone { .. } => StatusCode::NOT_FOUND,
        Error::Usage(_) | Error::Ambiguous { .. } | Error::NotFound { .. } => StatusCode::BAD_REQUEST,
        Error::CommandNotFound(_) | Error::NotRunnable(_) | Error::Relayed { .. } => StatusCode::BAD_REQUEST,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Image(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, docker_message(&e))
}

/// The message, in the words Docker's clients look for where they act on
/// them: `docker run` exits 127 for a command that is "not found", 126 for
/// one that "cannot be invoked", and pulls on "No such image".
fn docker_message(e: &Error) -> String {
    match e {
        Error::NoSuchImage(name) => format!("No such image: {name}"),
        Error::CommandNotFound(m) => format!("{m}: executable file not found in $PATH"),
        Error::NotRunnable(m) => format!("{m}: permission denied"),
        Error::Relayed { code: 127, message } => format!("{message}: executable file not found in $PATH"),
        Error::Relayed { code: 126, message } => format!("{message}: permission denied"),
        e => e.to_string(),
    }
}
