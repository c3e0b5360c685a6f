//! `.dockerignore`: which files of the context a build may not see. Docker's
//! rules: one pattern a line, `#` comments, paths relative to the context
//! (a leading `/` or `./` changes nothing), `*` and `?` within a path
//! component, `**` across any number of them, `!` makes an exception, and
//! the last pattern that matches a path decides. A pattern that matches a
//! directory matches everything in it.

use std::path::{Component, Path};

#[derive(Debug, Default)]
pub struct Ignore {
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    exception: bool,
    parts: Vec<String>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| {
                let (exception, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let parts: Vec<String> = Path::new(pattern)
                    .components()
                    .filter_map(|c| match c {
                        Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                        Component::ParentDir => Some("..".into()),
                        _ => None,
                    })
                    .fold(Vec::new(), |mut parts, part| {
                        // Cleaned as Go's filepath.Clean: `a/../b` is `b`.
                        if part == ".." {
                            parts.pop();
                        } else {
                            parts.push(part);
                        }
                        parts
                    });
                (!parts.is_empty()).then_some(Rule { exception, parts })
            })
            .collect();
        Ignore { rules }
    }

    /// Whether `path` (relative to the context) is left out of the build.
    pub fn excludes(&self, path: &Path) -> bool {
        let parts: Vec<String> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        if parts.is_empty() {
            return false;
        }
        let mut excluded = false;
        for rule in &self.rules {
            // The path itself or a directory it lies in.
            if (1..=parts.len()).any(|n| matches(&rule.parts, &parts[..n])) {
                excluded = !rule.exception;
            }
        }
        // An excluded directory an exception reopens (`dir` then
        // `!dir/file`) is walked; each path in it is judged on its own.
        let reopened = || self.rules.iter().any(|rule| rule.exception && matches_below(&rule.parts, &parts));
        excluded && !reopened()
    }
}

/// Whether `pattern` can match a path strictly inside the directory `path`.
fn matches_below(pattern: &[String], path: &[String]) -> bool {
    match (pattern.first(), path.first()) {
        (Some(p), _) if p == "**" => true,
        (Some(_), None) => true,
        (Some(p), Some(name)) => super::glob::matches(p, name) && matches_below(&pattern[1..], &path[1..]),
        (None, _) => false,
    }
}

/// Whether `pattern` matches the whole of `path`, component by component,
/// `**` standing for any number of them. Worked out for every pair of
/// positions once (not by trying each way a `**` could stretch, which a
/// pattern of many `**` would make exponential).
fn matches(pattern: &[String], path: &[String]) -> bool {
    let (p, n) = (pattern.len(), path.len());
    // rest[i][j]: pattern[i..] matches path[j..].
    let mut rest = vec![vec![false; n + 1]; p + 1];
    rest[p][n] = true;
    for i in (0..p).rev() {
        for j in (0..=n).rev() {
            rest[i][j] = if pattern[i] == "**" && i > 0 && i == p - 1 {
                // A trailing `/**` is `/.*` to Docker: what is in the
                // directory, not the directory itself.
                j < n
            } else if pattern[i] == "**" {
                rest[i + 1][j] || (j < n && rest[i][j + 1])
            } else {
                j < n && super::glob::matches(&pattern[i], &path[j]) && rest[i + 1][j + 1]
            };
        }
    }
    rest[0][0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excludes(rules: &str, path: &str) -> bool {
        Ignore::parse(rules).excludes(Path::new(path))
    }

    #[test]
    fn dockers_rules() {
        let rules = "# build output\n/target\n*.log\n**/secret*\n!keep.log\ndocs/*.md\n!docs/README.md\n";
        assert!(excludes(rules, "target"));
        assert!(excludes(rules, "target/debug/x"), "everything in an excluded directory");
        assert!(excludes(rules, "build.log"));
        assert!(!excludes(rules, "logs/build.log"), "* stays within one component");
        assert!(!excludes(rules, "keep.log"), "an exception after the rule wins");
        assert!(excludes(rules, "a/b/secret.txt"));
        assert!(excludes(rules, "secret.key"));
        assert!(excludes(rules, "docs/guide.md"));
        assert!(!excludes(rules, "docs/README.md"));
        assert!(!excludes(rules, "src/main.rs"));
        assert!(!excludes("", "anything"));
        assert!(excludes("./dist/\n", "dist/app.wasm"));
        // An exception inside an excluded directory brings its file back.
        let reopened = "assets\n!assets/logo.svg\n";
        assert!(!excludes(reopened, "assets/logo.svg"));
        assert!(!excludes(reopened, "assets"), "walked, to reach the exception");
        assert!(excludes(reopened, "assets/big.bin"));
        assert!(excludes(reopened, "assets/sub/logo.svg"));
        assert!(excludes("**/**/x\n", "x") && excludes("a/**/b/**\n", "a/b/c/b/d"));
        assert!(!excludes("a/**/b\n", "a/c"));
    }

    #[test]
    fn hostile_patterns_take_no_time() {
        let start = std::time::Instant::now();
        let stars = format!("{}x\n{}\n", "*".repeat(200), "**/a/".repeat(40));
        // Forty `a` components asked for, thirty given: no match, found fast.
        assert!(!excludes(&stars, &format!("{}{}", "a/".repeat(30), "b".repeat(300))));
        // Exponential matching would take years; this is milliseconds.
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{:?}", start.elapsed());
    }
}
