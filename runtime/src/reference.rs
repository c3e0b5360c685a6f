//! Image references, normalised as Docker does: `hello` is
//! `docker.io/library/hello:latest`, `localhost:5000/app` is
//! `localhost:5000/app:latest`, and `name@sha256:…` pins a digest.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// A normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef(oci_client::Reference);

impl ImageRef {
    pub fn parse(text: &str) -> Result<ImageRef> {
        let bad = |why: String| {
            Error::usage(format!(
                "invalid image reference '{text}': {why}; write [REGISTRY/]NAME[:TAG][@sha256:DIGEST], \
                 e.g. localhost:5000/hello:1.0"
            ))
        };
        if text.is_empty() {
            return Err(bad("it is empty".into()));
        }
        let inner = oci_client::Reference::from_str(text).map_err(|e| bad(e.to_string()))?;
        // A reference with neither tag nor digest means `latest`.
        let inner = match (inner.tag(), inner.digest()) {
            (None, None) => oci_client::Reference::with_tag(
                inner.registry().to_owned(),
                inner.repository().to_owned(),
                "latest".to_owned(),
            ),
            _ => inner,
        };
        Ok(ImageRef(inner))
    }

    pub fn registry(&self) -> &str {
        self.0.registry()
    }

    pub fn repository(&self) -> &str {
        self.0.repository()
    }

    pub fn tag(&self) -> Option<&str> {
        self.0.tag()
    }

    pub fn digest(&self) -> Option<&str> {
        self.0.digest()
    }

    /// The same image pinned to a digest (a platform's manifest in an index).
    pub fn with_digest(&self, digest: &str) -> ImageRef {
        ImageRef(oci_client::Reference::with_digest(
            self.registry().to_owned(),
            self.repository().to_owned(),
            digest.to_owned(),
        ))
    }

    /// The repository as Docker shows it: `hello` for Docker Hub's library,
    /// the registry spelled out otherwise.
    pub fn familiar_repository(&self) -> String {
        let full = format!("{}/{}", self.registry(), self.repository());
        full.strip_prefix("docker.io/library/")
            .or_else(|| full.strip_prefix("docker.io/"))
            .map_or(full.clone(), str::to_owned)
    }

    /// The whole reference as Docker shows it: `hello:latest`,
    /// `localhost:5000/app:1.0`, `alice/app@sha256:…`.
    pub fn familiar(&self) -> String {
        match (self.tag(), self.digest()) {
            (_, Some(digest)) => format!("{}@{digest}", self.familiar_repository()),
            (Some(tag), None) => format!("{}:{tag}", self.familiar_repository()),
            (None, None) => self.familiar_repository(),
        }
    }

    /// Whether the registry is this machine, which Docker reaches over plain
    /// HTTP without being told.
    pub fn is_loopback(&self) -> bool {
        let host = self.registry().rsplit_once(':').map_or(self.registry(), |(host, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) { host } else { self.registry() }
        });
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    pub(crate) fn as_oci(&self) -> &oci_client::Reference {
        &self.0
    }
}

impl fmt::Display for ImageRef {
    /// The full normalised name, e.g. `docker.io/library/hello:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.whole())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        let cases = [
            ("hello", "docker.io/library/hello:latest", "hello"),
            ("alice/app:2", "docker.io/alice/app:2", "alice/app"),
            ("localhost:5000/hello", "localhost:5000/hello:latest", "localhost:5000/hello"),
            ("127.0.0.1:5000/a/b:1.0", "127.0.0.1:5000/a/b:1.0", "127.0.0.1:5000/a/b"),
            ("ghcr.io/o/r:v1", "ghcr.io/o/r:v1", "ghcr.io/o/r"),
        ];
        for (text, whole, familiar) in cases {
            let reference = ImageRef::parse(text).unwrap();
            assert_eq!(reference.to_string(), whole, "{text}");
            assert_eq!(reference.familiar_repository(), familiar, "{text}");
            assert!(reference.familiar().starts_with(familiar), "{text}");
        }
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = ImageRef::parse(&format!("localhost:5000/hello@{digest}")).unwrap();
        assert_eq!(pinned.digest(), Some(digest.as_str()));
        assert_eq!(pinned.tag(), None);
    }

    #[test]
    fn loopback_registries() {
        for (text, loopback) in [
            ("localhost:5000/a", true),
            ("127.0.0.1:5000/a", true),
            ("registry.example:5000/a", false),
            ("hello", false),
        ] {
            assert_eq!(ImageRef::parse(text).unwrap().is_loopback(), loopback, "{text}");
        }
    }

    #[test]
    fn bad_references_are_refused() {
        for bad in ["", "library/UPPER", "a b", "hello@sha256:short", "hello:", "-x"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
