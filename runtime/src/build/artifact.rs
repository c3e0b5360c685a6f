//! `--output-format artifact`: the final stage's program as a wasm OCI
//! artifact (CNCF TAG-Runtime's format, what `wkg oci push` makes): one
//! `application/wasm` layer, the module itself, and a
//! `application/vnd.wasm.config.v0+json` config. Only the program travels:
//! an artifact has no files, environment or arguments besides it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use wasmparser::{Parser, Payload};

use crate::store::{Descriptor, Store, media};
use crate::wasm::ProgramKind;
use crate::{Error, Result};

/// Writes the artifact of `program` (the entrypoint's bytes, named `title`)
/// and returns its manifest's descriptor.
pub fn write(
    store: &Store,
    title: &str,
    program: &[u8],
    labels: BTreeMap<String, String>,
    created: &str,
) -> Result<Descriptor> {
    let kind = ProgramKind::detect(title, program)
        .map_err(|e| Error::usage(format!("--output-format artifact: {e}")))?;
    let layer = Descriptor {
        annotations: Some(BTreeMap::from([("org.opencontainers.image.title".to_owned(), title.to_owned())])),
        ..Descriptor::of(media::WASM_LAYER, program)
    };
    store.put_blob(&layer, program)?;
    let mut config = json!({
        "created": created,
        "architecture": "wasm",
        "os": if kind == ProgramKind::Component { "wasip2" } else { "wasip1" },
        "layerDigests": [layer.digest],
    });
    if kind == ProgramKind::Component {
        let (imports, exports) = interfaces(program);
        config["component"] = json!({ "imports": imports, "exports": exports });
    }
    let config_bytes = serde_json::to_vec(&config).expect("JSON");
    let config_descriptor = Descriptor::of(media::WASM_CONFIG, &config_bytes);
    store.put_blob(&config_descriptor, &config_bytes)?;
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": config_descriptor,
        "layers": [layer],
    });
    if !labels.is_empty() {
        manifest["annotations"] = json!(labels);
    }
    let manifest_bytes = serde_json::to_vec(&manifest).expect("JSON");
    let descriptor = Descriptor::of(media::OCI_MANIFEST, &manifest_bytes);
    store.put_blob(&descriptor, &manifest_bytes)?;
    Ok(descriptor)
}

/// The interfaces a component imports and exports (its outer ones).
fn interfaces(component: &[u8]) -> (Vec<String>, Vec<String>) {
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload {
            Ok(Payload::ModuleSection { .. } | Payload::ComponentSection { .. }) => depth += 1,
            Ok(Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(Payload::ComponentImportSection(section)) if depth == 0 => {
                imports.extend(section.into_iter().flatten().map(|i| i.name.name.to_owned()));
            }
            Ok(Payload::ComponentExportSection(section)) if depth == 0 => {
                exports.extend(section.into_iter().flatten().map(|e| e.name.name.to_owned()));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    (imports, exports)
}

/// The program an artifact holds: the entrypoint (else CMD) of the final
/// stage, a file of its own.
pub fn entry(config: &serde_json::Map<String, Value>) -> Result<String> {
    let first =
        |key: &str| config.get(key).and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_str);
    first("Entrypoint").or_else(|| first("Cmd")).map(str::to_owned).ok_or_else(|| {
        Error::usage(
            "--output-format artifact: the final stage has no ENTRYPOINT or CMD naming its wasm program",
        )
    })
}
