//! The parsers of untrusted input, one call each, for the fuzz targets in
//! `fuzz/` (cargo fuzz). Not an API: each only runs the parser on the
//! bytes and checks what must hold whatever they are.

use std::path::Path;

/// A Dockerfile, and the words of its instructions expanded.
pub fn dockerfile(text: &str) {
    if let Ok(file) = crate::build::dockerfile::parse(text) {
        for stage in &file.stages {
            let _ = crate::build::dockerfile::expand(&stage.base, '\\', &|_| Some("x".into()));
        }
    }
}

/// An image reference; one that parses prints as one that parses the same.
pub fn reference(text: &str) {
    if let Ok(reference) = crate::reference::ImageRef::parse(text) {
        let again = crate::reference::ImageRef::parse(&reference.to_string())
            .unwrap_or_else(|e| panic!("{reference} does not parse again: {e}"));
        assert_eq!(again.to_string(), reference.to_string());
    }
}

/// A manifest, an index and an image config.
pub fn manifest(bytes: &[u8]) {
    let _ = crate::store::Manifest::parse(bytes);
    let _ = crate::store::Index::parse(bytes);
    let _ = crate::image::parse_config(bytes);
}

/// A layer unpacked into `base/root`: nothing may land in `base` beside it.
pub fn layer(bytes: &[u8], base: &Path) {
    let root = base.join("root");
    std::fs::create_dir_all(&root).expect("a root to unpack into");
    let _ = crate::store::unpack::unpack_bytes(bytes, &root);
    let beside: Vec<_> =
        std::fs::read_dir(base).expect("the base").flatten().map(|e| e.file_name()).collect();
    assert_eq!(beside, [std::ffi::OsString::from("root")], "a layer wrote beside its root");
}

/// `.dockerignore` patterns against a path.
pub fn dockerignore(patterns: &str, path: &str) {
    let _ = crate::build::ignore::Ignore::parse(patterns).excludes(Path::new(path));
}

/// Docker's `config.json` / wbox's `auth.json`, for a registry.
pub fn auth(bytes: &[u8], registry: &str) {
    let _ = crate::registry::credentials::auth_in(bytes, registry, Path::new("auth.json"));
}

#[cfg(test)]
mod tests {
    /// The checked-in corpus, crashes found by fuzzing among it, replayed on
    /// every test run (the fuzzing itself is scripts/fuzz.sh).
    #[test]
    fn the_fuzz_corpus_replays() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let inputs = |target: &str| {
            let dir = corpus.join(target);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| std::fs::read(e.unwrap().path()).unwrap())
                .collect();
            assert!(!files.is_empty(), "{} is empty", dir.display());
            files.sort();
            files
        };
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let first_line = |bytes: &[u8]| {
            let text = text(bytes);
            let (head, rest) = text.split_once('\n').unwrap_or((&text, ""));
            (head.to_owned(), rest.to_owned())
        };
        for input in inputs("dockerfile") {
            super::dockerfile(&text(&input));
        }
        for input in inputs("reference") {
            super::reference(&text(&input));
        }
        for input in inputs("manifest") {
            super::manifest(&input);
        }
        for input in inputs("layer") {
            super::layer(&input, tempfile::tempdir().unwrap().path());
        }
        for input in inputs("dockerignore") {
            let (path, patterns) = first_line(&input);
            super::dockerignore(&patterns, &path);
        }
        for input in inputs("auth") {
            let (registry, config) = first_line(&input);
            super::auth(config.as_bytes(), &registry);
        }
    }
}
