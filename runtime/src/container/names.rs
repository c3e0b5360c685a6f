//! Container names: checked as Docker checks them, or made up as Docker makes
//! them up (`adjective_name`).

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Which container has which name: `ROOT/containers/.names/NAME` holds its
/// id, so that a name is checked or found without reading every record.
/// Changed under the names' lock; an entry whose container is gone, or was
/// renamed, names nobody.
pub struct Index {
    dir: PathBuf,
}

impl Index {
    pub fn in_dir(containers: &Path) -> Index {
        Index { dir: containers.join(".names") }
    }

    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    /// Makes the index of `named` (name, id) containers, aside and then
    /// renamed into place, so that a half-made index is never used.
    pub fn build<'a>(&self, named: impl Iterator<Item = (&'a str, &'a str)>) -> Result<()> {
        let parent = self.dir.parent().expect("the index is in the containers' directory");
        let staging = parent.join(format!(".names-{}", crate::ids::new_id()?));
        let failed = |e: std::io::Error| Error::Internal(anyhow::anyhow!("{}: {e}", staging.display()));
        std::fs::create_dir(&staging).map_err(failed)?;
        for (name, id) in named {
            std::fs::write(staging.join(name), id).map_err(failed)?;
        }
        std::fs::rename(&staging, &self.dir).map_err(failed)
    }

    /// The id the index gives `name`, if any.
    pub fn id_of(&self, name: &str) -> Option<String> {
        check(name).ok()?;
        std::fs::read_to_string(self.dir.join(name)).ok()
    }

    /// Gives `name` to container `id`.
    pub fn claim(&self, name: &str, id: &str) -> Result<()> {
        let path = self.dir.join(name);
        crate::store::write_atomic(&path, id.as_bytes())
            .map_err(|e| Error::Internal(anyhow::anyhow!("{}: {e}", path.display())))
    }

    /// Frees `name`, if container `id` still has it.
    pub fn release(&self, name: &str, id: &str) {
        if self.id_of(name).as_deref() == Some(id) {
            let _ = std::fs::remove_file(self.dir.join(name));
        }
    }
}

const ADJECTIVES: &[&str] = &[
    "admiring", "bold", "brave", "clever", "eager", "focused", "gentle", "happy", "jolly", "keen", "lucid",
    "modest", "nifty", "quirky", "serene", "sharp", "stoic", "tender", "vibrant", "zen",
];

const NAMES: &[&str] = &[
    "babbage", "curie", "darwin", "euler", "fermat", "gauss", "hopper", "hypatia", "kepler", "lamport",
    "lovelace", "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wing", "wozniak", "yonath",
];

/// Docker's rule: a letter or digit, then letters, digits, `_`, `.` or `-`.
pub fn check(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && name.len() > 1;
    if valid {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid container name \"{name}\": use letters, digits, '_', '.' and '-', starting with a letter or \
             digit, at least two characters"
        )))
    }
}

/// A name `taken` says is free: `adjective_name`, then with a number after
/// once the pairs run out.
pub fn generate(taken: impl Fn(&str) -> bool) -> String {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as usize ^ std::process::id() as usize)
        .unwrap_or(0);
    let pairs = ADJECTIVES.len() * NAMES.len();
    for attempt in 0.. {
        let pick = (seed + attempt * 7919) % pairs;
        let base = format!("{}_{}", ADJECTIVES[pick / NAMES.len()], NAMES[pick % NAMES.len()]);
        let name = if attempt < pairs { base } else { format!("{base}{}", attempt / pairs) };
        if !taken(&name) {
            return name;
        }
    }
    unreachable!("an unbounded search ends with a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_docker_allows_them() {
        for good in ["web", "a1", "my_app.v2-x"] {
            assert!(check(good).is_ok(), "{good}");
        }
        for bad in ["", "x", "-web", "we b", "we/b", "ünï"] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_names_are_free() {
        let first = generate(|_| false);
        assert!(check(&first).is_ok() && first.contains('_'));
        let mut taken = std::collections::HashSet::new();
        for _ in 0..500 {
            let name = generate(|n| taken.contains(n));
            assert!(taken.insert(name));
        }
    }
}
