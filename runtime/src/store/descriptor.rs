//! The OCI documents the store keeps: digests, descriptors, manifests and
//! indexes, in the JSON shape of the image spec (Docker's schema 2 shares it).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// Media types wbox reads and writes.
pub mod media {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// The wasm OCI artifact's config (CNCF TAG-Runtime).
    pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
    /// The wasm OCI artifact's one layer: the module or component itself.
    pub const WASM_LAYER: &str = "application/wasm";
    /// The layer type of runwasi's earlier wasm images.
    pub const RUNWASI_WASM_LAYER: &str = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";
    /// wasmCloud's earlier wasm layer.
    pub const WASMCLOUD_WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";

    /// Every manifest type a registry may answer with.
    pub const MANIFESTS: [&str; 4] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];

    pub fn is_index(media_type: &str) -> bool {
        media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
    }

    pub fn is_wasm_layer(media_type: &str) -> bool {
        [WASM_LAYER, RUNWASI_WASM_LAYER, WASMCLOUD_WASM_LAYER].contains(&media_type)
    }
}

/// The largest manifest or index wbox reads (containerd's limit too).
pub const MAX_MANIFEST: u64 = 4 << 20;
/// The largest image config wbox reads into memory.
pub const MAX_CONFIG: u64 = 8 << 20;

/// A sha256 content digest, `sha256:<64 hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    pub fn parse(text: &str) -> Result<Digest> {
        let hex = text.strip_prefix("sha256:").ok_or_else(|| {
            Error::image(format!("unsupported digest '{text}': wbox handles sha256 digests only"))
        })?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(Error::image(format!("invalid digest '{text}': expected sha256: and 64 hex digits")));
        }
        Ok(Digest(text.to_owned()))
    }

    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_sha256(Sha256::digest(bytes).into())
    }

    pub fn from_sha256(hash: [u8; 32]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(hash)))
    }

    /// The 64 hex digits, as blob file names use them.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The first 12 hex digits, as Docker shows image ids.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Digest {
    type Error = Error;
    fn try_from(text: String) -> Result<Digest> {
        Digest::parse(&text)
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> String {
        digest.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a manifest or index says about another blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            platform: None,
            annotations: None,
        }
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// An image manifest: a config and layers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image index (or Docker manifest list), and the store's `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

impl Default for Index {
    fn default() -> Self {
        Index { schema_version: 2, media_type: Some(media::OCI_INDEX.to_owned()), manifests: Vec::new() }
    }
}

impl Manifest {
    /// The blobs the manifest names: its config, then its layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        std::iter::once(&self.config).chain(&self.layers)
    }

    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Error::image(format!("the image manifest is not valid: {e}")))?;
        if manifest.config.size > MAX_CONFIG {
            return Err(Error::image(format!(
                "the image config is {} bytes; wbox reads configs up to {MAX_CONFIG} bytes",
                manifest.config.size
            )));
        }
        if manifest.schema_version != 2 {
            return Err(Error::image(format!(
                "image manifest schema version {} is not supported (only 2)",
                manifest.schema_version
            )));
        }
        Ok(manifest)
    }
}

impl Index {
    pub fn parse(bytes: &[u8]) -> Result<Index> {
        serde_json::from_slice(bytes).map_err(|e| Error::image(format!("the image index is not valid: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        let digest = Digest::of(b"");
        assert_eq!(
            digest.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(digest.short(), "e3b0c44298fc");
        assert_eq!(Digest::parse(digest.as_str()).unwrap(), digest);
        for bad in
            ["", "sha256:", "sha512:00", "sha256:../../etc/passwd", &format!("sha256:{}", "A".repeat(64))]
        {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_hostile_digest_in_a_manifest_is_refused() {
        let manifest = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:../../x","size":1},"layers":[]}"#;
        assert!(Manifest::parse(manifest).is_err());
    }
}
