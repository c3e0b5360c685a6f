//! A container's files. `/containers/{id}/archive` is what `docker cp`
//! asks: HEAD says what is at a path (the client decides from it where a
//! copy lands), GET sends the path as a tar whose entries sit under the
//! path's name, PUT unpacks a tar into a directory; the copy rules are the
//! runtime's (`filesystem::copy`). `export` and `changes` are the runtime's
//! `filesystem::{export, diff}`.

use base64::Engine as _;
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use wbox_runtime::container::Containers;
use wbox_runtime::filesystem::{
    self,
    copy::{self, Archive, PathStat},
};
use wbox_runtime::store::Store;
use wbox_runtime::{Error, Result};

use crate::Service;
use crate::query::Query;
use crate::reply::{self, Reply};

/// The header Docker puts a path's stat in, as base64 of its JSON.
const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// `HEAD /containers/{id}/archive?path=`.
pub fn stat(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let path = path(query)?;
    let container = Containers::open(&service.root)?.lookup(id)?;
    let stat = copy::stat(&Store::open(&service.root)?, &container, path)?;
    Ok(with_stat(reply::empty(StatusCode::OK), &stat))
}

/// `GET /containers/{id}/archive?path=`.
pub fn get(service: &Service, id: &str, query: &Query) -> Result<Reply> {
    let path = path(query)?;
    let container = Containers::open(&service.root)?.lookup(id)?;
    let (archive, stat) = Archive::of_container_with_stat(&Store::open(&service.root)?, &container, path)?;
    let mut reply = Reply::new(reply::full(archive.tar));
    reply.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    Ok(with_stat(reply, &stat))
}

/// `PUT /containers/{id}/archive?path=`: the tar in the body, unpacked into
/// the directory at `path` as it is.
pub fn put(service: &Service, id: &str, query: &Query, tar: Vec<u8>) -> Result<Reply> {
    let path = path(query)?;
    let container = Containers::open(&service.root)?.lookup(id)?;
    let store = Store::open(&service.root)?;
    let stat = copy::stat(&store, &container, path)?;
    if stat.mode & TYPE_MASK != DIRECTORY {
        return Err(Error::usage(format!("extraction point is not a directory: {path}")));
    }
    Archive::of_tar(tar).to_container(&store, &container, path)?;
    Ok(reply::empty(StatusCode::OK))
}

/// `GET /containers/{id}/export`.
pub fn export(service: &Service, id: &str) -> Result<Reply> {
    let container = Containers::open(&service.root)?.lookup(id)?;
    let tar = filesystem::export(&Store::open(&service.root)?, &container)?;
    let mut reply = Reply::new(reply::full(tar));
    reply.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    Ok(reply)
}

/// `GET /containers/{id}/changes`: Kind 0 changed, 1 added, 2 deleted.
pub fn changes(service: &Service, id: &str) -> Result<Reply> {
    let container = Containers::open(&service.root)?.lookup(id)?;
    let changes = filesystem::diff(&Store::open(&service.root)?, &container)?;
    let kind = |letter: char| match letter {
        'A' => 1,
        'D' => 2,
        _ => 0,
    };
    let listed: Vec<_> =
        changes.iter().map(|(letter, path)| json!({ "Path": path, "Kind": kind(*letter) })).collect();
    Ok(reply::ok(&listed))
}

fn path(query: &Query) -> Result<&str> {
    query.get("path").filter(|p| !p.is_empty()).ok_or_else(|| Error::usage("path is required"))
}

fn with_stat(mut reply: Reply, stat: &PathStat) -> Reply {
    let modified: chrono::DateTime<chrono::Utc> = stat.modified.into();
    let value = json!({
        "name": stat.name,
        "size": stat.size,
        "mode": go_file_mode(stat.mode),
        "mtime": modified.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "linkTarget": stat.link_target.as_deref().unwrap_or(""),
    });
    let encoded = base64::engine::general_purpose::STANDARD.encode(value.to_string());
    reply
        .headers_mut()
        .insert(STAT_HEADER, HeaderValue::from_str(&encoded).expect("base64 is a header value"));
    reply
}

const TYPE_MASK: u32 = 0o170000;
const DIRECTORY: u32 = 0o040000;

/// `st_mode` as Go's `os.FileMode`, which Docker's clients read: the type
/// in high bits of its own, then setuid, setgid, sticky and permissions.
fn go_file_mode(mode: u32) -> u32 {
    let kind = match mode & TYPE_MASK {
        DIRECTORY => 1 << 31,
        0o120000 => 1 << 27,
        0o010000 => 1 << 25,
        0o140000 => 1 << 24,
        0o060000 => 1 << 26,
        0o020000 => (1 << 26) | (1 << 21),
        _ => 0,
    };
    let special = [(0o4000, 1 << 23), (0o2000, 1 << 22), (0o1000, 1 << 20)]
        .iter()
        .filter(|(bit, _)| mode & bit != 0)
        .fold(0, |all, (_, go)| all | go);
    kind | special | (mode & 0o777)
}
