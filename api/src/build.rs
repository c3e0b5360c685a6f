//! `POST /build`: a Dockerfile build of the tar context in the body, its
//! steps streamed as Docker's classic builder streams them.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::Arc;

use serde_json::json;
use wbox_runtime::build::{self, BuildOptions, Context, DockerfileAt};
use wbox_runtime::plan::Network;
use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;
use wbox_runtime::wasm::CompileCache;
use wbox_runtime::{Error, Result};

use crate::Service;
use crate::query::Query;
use crate::reply::Reply;
use crate::stream;

/// `POST /build?t=&dockerfile=&buildargs=&target=&nocache=&labels=&platform=&networkmode=`.
pub fn build(service: &Service, query: &Query, context: Vec<u8>) -> Result<Reply> {
    let json_map = |key: &str| -> Result<BTreeMap<String, Option<String>>> {
        match query.get(key).filter(|v| !v.is_empty()) {
            None => Ok(BTreeMap::new()),
            Some(text) => serde_json::from_str(text).map_err(|e| Error::usage(format!("invalid {key}: {e}"))),
        }
    };
    // A build argument without a value is the client's to fill in.
    let build_args = json_map("buildargs")?.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
    let labels = json_map("labels")?.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect();
    let network = match query.get("networkmode").filter(|n| !n.is_empty() && *n != "default") {
        Some(mode) => Some(Network::from_flags(Some(mode), &[])?),
        None => None,
    };
    let options = BuildOptions {
        context: Context::Archive(context),
        dockerfile: match query.get("dockerfile").filter(|d| !d.is_empty()) {
            Some(path) => DockerfileAt::Path(path.into()),
            None => DockerfileAt::Default,
        },
        tags: query.all("t").iter().map(|t| ImageRef::parse(t)).collect::<Result<_>>()?,
        build_args,
        labels,
        target: query.get("target").filter(|t| !t.is_empty()).map(str::to_owned),
        no_cache: query.flag("nocache"),
        artifact: false,
        network,
        platform: query.get("platform").filter(|p| !p.is_empty()).map(str::to_owned),
        secrets: Vec::new(),
        step_output: None,
    };
    let root = service.root.clone();
    Ok(stream::json_progress(move |sender| {
        let cache = CompileCache::in_root(&root);
        let store = Store::open(&root)?;
        let (output, relay) = step_output(sender.clone())?;
        let mut options = BuildOptions { step_output: Some(output), ..options };
        let built = build::build(&root, &store, &cache, &options, &mut |step| {
            sender.send_json(&json!({ "stream": format!("{step}\n") }));
        });
        // Every step's output sent before what follows.
        options.step_output = None;
        let _ = relay.join();
        let built = built?;
        sender.send_json(&json!({ "aux": { "ID": built.id.to_string() } }));
        sender.send_json(&json!({ "stream": format!("Successfully built {}\n", built.id.short()) }));
        for tag in &options.tags {
            sender.send_json(&json!({ "stream": format!("Successfully tagged {}\n", tag.familiar()) }));
        }
        Ok(())
    }))
}

/// Where the steps write, and the thread that streams what they write to
/// the client until the last writer is gone.
fn step_output(sender: stream::Sender) -> Result<(Arc<std::fs::File>, std::thread::JoinHandle<()>)> {
    let (mut reader, writer) = std::io::pipe().map_err(|e| Error::Internal(e.into()))?;
    let relay = std::thread::spawn(move || {
        let mut buffer = vec![0; 16 * 1024];
        while let Ok(n @ 1..) = reader.read(&mut buffer) {
            let text = String::from_utf8_lossy(&buffer[..n]);
            sender.send_json(&json!({ "stream": text }));
        }
    });
    Ok((Arc::new(std::fs::File::from(std::os::fd::OwnedFd::from(writer))), relay))
}
