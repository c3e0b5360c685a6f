//! Image references, normalised as Docker does: `hello` is
//! `docker.io/library/hello:latest`, `localhost:5000/app` is
//! `localhost:5000/app:latest`, and `name@sha256:…` pins a digest.

use std::fmt;

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
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (text, None),
        };
        // A tag follows the last `:` after the last `/` (a `:` before it is
        // a registry's port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        let (registry, repository) = split_registry(name);
        check_registry(&registry).map_err(&bad)?;
        check_repository(&repository).map_err(&bad)?;
        if let Some(tag) = tag {
            check_tag(tag).map_err(&bad)?;
        }
        if let Some(digest) = digest {
            check_digest(digest).map_err(&bad)?;
        }
        let inner = match (tag, digest) {
            (tag, None) => {
                oci_client::Reference::with_tag(registry, repository, tag.unwrap_or("latest").to_owned())
            }
            (None, Some(digest)) => {
                oci_client::Reference::with_digest(registry, repository, digest.to_owned())
            }
            (Some(tag), Some(digest)) => oci_client::Reference::with_tag_and_digest(
                registry,
                repository,
                tag.to_owned(),
                digest.to_owned(),
            ),
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

// Docker's reference grammar (distribution/reference), checked by hand:
// oci-client's parser compiles a large regex on first use, some 40 ms of
// every `wbox run IMAGE`.

/// Docker's rule: the first component is a registry when it has a `.` or
/// a `:`, or is `localhost`; Docker Hub's official images are `library/`.
fn split_registry(name: &str) -> (String, String) {
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest),
        _ => ("docker.io", name),
    };
    let registry = if registry == "index.docker.io" { "docker.io" } else { registry };
    let repository = if registry == "docker.io" && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository.to_owned()
    };
    (registry.to_owned(), repository)
}

fn check_registry(registry: &str) -> std::result::Result<(), String> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !registry.ends_with(']') => (host, Some(port)),
        _ => (registry, None),
    };
    let host_ok = if host.starts_with('[') {
        host.ends_with(']') && host[1..host.len() - 1].parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        host.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if host_ok && port_ok { Ok(()) } else { Err(format!("'{registry}' is not a registry host[:port]")) }
}

/// Path components of lowercase letters and digits, joined by `.`, `_`,
/// `__` or runs of `-`.
fn check_repository(repository: &str) -> std::result::Result<(), String> {
    if repository.len() > 255 {
        return Err("the name is longer than 255 characters".into());
    }
    if repository.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("the repository name must be lowercase".into());
    }
    let component_ok = |component: &str| {
        let bytes = component.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return false;
        }
        let mut i = 0;
        while i < bytes.len() {
            if alnum(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && !alnum(bytes[i]) {
                i += 1;
            }
            let separator = &component[start..i];
            if !(matches!(separator, "." | "_" | "__") || separator.chars().all(|c| c == '-')) {
                return false;
            }
        }
        true
    };
    if repository.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!("'{repository}' is not a valid repository name"))
    }
}

fn check_tag(tag: &str) -> std::result::Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = tag.len() <= 128
        && tag.chars().next().is_some_and(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if ok { Ok(()) } else { Err(format!("'{tag}' is not a valid tag")) }
}

fn check_digest(digest: &str) -> std::result::Result<(), String> {
    let ok = digest.split_once(':').is_some_and(|(algorithm, hex)| {
        !algorithm.is_empty()
            && algorithm.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
            && hex.len() >= 32
            && hex.chars().all(|c| c.is_ascii_hexdigit())
    });
    if ok { Ok(()) } else { Err(format!("'{digest}' is not a valid digest (ALGORITHM:HEX)")) }
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
        let both = ImageRef::parse(&format!("ghcr.io/o/r:v1@{digest}")).unwrap();
        assert_eq!((both.tag(), both.digest()), (Some("v1"), Some(digest.as_str())));
        for good in ["a__b/c-d.e", "a---b", "index.docker.io/x/y", "[::1]:5000/a", "my-host.lan/x"] {
            assert!(ImageRef::parse(good).is_ok(), "{good}");
        }
        assert_eq!(ImageRef::parse("index.docker.io/x/y").unwrap().to_string(), "docker.io/x/y:latest");
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
        for bad in [
            "",
            "library/UPPER",
            "a b",
            "hello@sha256:short",
            "hello:",
            "-x",
            "a//b",
            "a_-b",
            "host:port/x",
            "x:ta/g",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
