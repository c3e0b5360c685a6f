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
    "admiring", "agile", "amazing", "awesome", "blissful", "bold", "brave", "bright", "calm", "careful",
    "charming", "cheerful", "clever", "cool", "curious", "daring", "dazzling", "dreamy", "eager", "elated",
    "eloquent", "epic", "fervent", "festive", "focused", "friendly", "funny", "gallant", "gentle", "gifted",
    "glad", "happy", "hopeful", "humble", "jolly", "jovial", "keen", "kind", "lucid", "merry", "modest",
    "nice", "nifty", "noble", "patient", "peaceful", "playful", "quiet", "quirky", "relaxed", "serene",
    "sharp", "sleepy", "stoic", "sweet", "tender", "trusting", "upbeat", "vibrant", "zen",
];

const NAMES: &[&str] = &[
    "agnesi", "babbage", "bardeen", "bohr", "boole", "cantor", "carson", "curie", "darwin", "dijkstra",
    "einstein", "euclid", "euler", "faraday", "fermat", "feynman", "franklin", "galileo", "gauss", "goodall",
    "hamilton", "hawking", "hertz", "hilbert", "hopper", "hypatia", "johnson", "kepler", "knuth", "lamarr",
    "lamport", "leakey", "liskov", "lovelace", "maxwell", "meitner", "mendel", "newton", "nobel", "noether",
    "pascal", "pasteur", "planck", "raman", "ritchie", "sagan", "shannon", "tesla", "thompson", "torvalds",
    "turing", "volta", "wiles", "wing", "wozniak", "wright", "yalow", "yang", "yonath", "zuse",
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

/// A name `taken` says is free: a random `adjective_name`, as Docker makes
/// them up; after a few taken ones, with a random number after it, as Docker
/// does when it retries. The number has more digits the more tries fail, so
/// that a name is found in a few tries however many containers there are.
pub fn generate(taken: impl Fn(&str) -> bool) -> String {
    let mut random = Random::seeded();
    for attempt in 0u32.. {
        let base = format!(
            "{}_{}",
            ADJECTIVES[random.below(ADJECTIVES.len() as u64) as usize],
            NAMES[random.below(NAMES.len() as u64) as usize]
        );
        let name = match attempt {
            0..4 => base,
            _ => format!("{base}{}", random.below(10u64.saturating_pow(attempt / 4))),
        };
        if !taken(&name) {
            return name;
        }
    }
    unreachable!("an unbounded search ends with a free name")
}

/// Numbers for names only: xorshift64 seeded from the system's random source
/// (the clock where there is none).
struct Random(u64);

impl Random {
    fn seeded() -> Random {
        let mut seed = [0u8; 8];
        if getrandom::fill(&mut seed).is_err() {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            seed = (now.as_nanos() as u64 ^ u64::from(std::process::id())).to_le_bytes();
        }
        Random(u64::from_le_bytes(seed) | 1)
    }

    /// A number below `n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
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
        // Beyond the pairs there are (3,600), each still found in a few
        // tries.
        for _ in 0..5000 {
            let tries = std::cell::Cell::new(0);
            let name = generate(|n| {
                tries.set(tries.get() + 1);
                taken.contains(n)
            });
            assert!(tries.get() <= 12, "{} tries for the {}th name", tries.get(), taken.len() + 1);
            assert!(taken.insert(name));
        }
    }
}
