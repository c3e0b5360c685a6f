//! `ROOT/config.json`: the settings of one wbox root, under the keys
//! Docker's `daemon.json` uses where Docker has the setting. A missing file
//! means the defaults; keys this wbox does not know are ignored, as a newer
//! wbox may have written them. Each key is a field here, read by the module
//! that owns its behaviour.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    /// Registries reached over plain HTTP (`registry`).
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    /// The most bytes one image layer may unpack to (`store`): a size as
    /// `docker run --memory` takes it (`"10g"`), or a number of bytes.
    #[serde(default, deserialize_with = "size")]
    pub max_layer_size: Option<u64>,
    /// The log driver of containers created without `--log-driver`
    /// (`container::logs`).
    #[serde(default)]
    pub log_driver: Option<String>,
    /// The log options that go with `log-driver`.
    #[serde(default)]
    pub log_opts: std::collections::BTreeMap<String, String>,
}

impl Config {
    /// The file's place under a root.
    pub fn path(root: &Path) -> PathBuf {
        root.join("config.json")
    }

    /// Reads `ROOT/config.json`; the defaults when there is none.
    pub fn load(root: &Path) -> Result<Config> {
        let file = Config::path(root);
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(Error::usage(format!("cannot read {}: {e}", file.display()))),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::usage(format!(
                "{} is not valid: {e}; it holds e.g. {{\"insecure-registries\": [\"registry.lan:5000\"], \
                 \"max-layer-size\": \"10g\", \"log-driver\": \"local\", \"log-opts\": {{\"max-size\": \"20m\"}}}}",
                file.display()
            ))
        })
    }
}

fn size<'de, D: serde::Deserializer<'de>>(input: D) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Option::<Size>::deserialize(input)? {
        None => Ok(None),
        Some(Size::Bytes(0)) => Err(serde::de::Error::custom("a size must be more than zero")),
        Some(Size::Bytes(bytes)) => Ok(Some(bytes)),
        Some(Size::Text(text)) => crate::units::parse_size(&text).map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_defaults() {
        let root = tempfile::tempdir().unwrap();
        let config = Config::load(root.path()).unwrap();
        assert!(config.insecure_registries.is_empty() && config.max_layer_size.is_none());
        let write = |text: &str| std::fs::write(Config::path(root.path()), text).unwrap();
        write(r#"{"max-layer-size": "10g", "log-driver": "json-file"}"#);
        assert_eq!(Config::load(root.path()).unwrap().max_layer_size, Some(10 << 30));
        write(r#"{"max-layer-size": 4096}"#);
        assert_eq!(Config::load(root.path()).unwrap().max_layer_size, Some(4096));
        for bad in [r#"{"max-layer-size": "lots"}"#, r#"{"max-layer-size": 0}"#, "{"] {
            write(bad);
            let err = Config::load(root.path()).unwrap_err().to_string();
            assert!(err.contains("config.json is not valid"), "{bad}: {err}");
        }
    }
}
