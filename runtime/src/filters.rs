//! Docker's listing filters (`--filter KEY=VALUE`, the Engine API's
//! `filters`): a key given twice matches either value, different keys must
//! all match; `label` is the exception, every label given must match.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// From `KEY=VALUE` arguments; `known` are the keys the listing has, and
    /// any other is refused with Docker's words.
    pub fn parse(args: &[String], known: &[&str]) -> Result<Filters> {
        let mut filters = BTreeMap::<String, Vec<String>>::new();
        for arg in args {
            let (key, value) = split(arg)?;
            let key = key.to_lowercase();
            if !known.contains(&key.as_str()) {
                return Err(Error::usage(format!("Invalid filter '{key}'")));
            }
            filters.entry(key).or_default().push(value.to_owned());
        }
        Ok(Filters(filters))
    }

    /// From `KEY=VALUE` arguments, any key taken: `events` ignores the keys
    /// it does not know, as Docker's does.
    pub fn parse_any(args: &[String]) -> Result<Filters> {
        let keys: Vec<String> =
            args.iter().filter_map(|a| a.split_once('=')).map(|(k, _)| k.to_lowercase()).collect();
        Filters::parse(args, &keys.iter().map(String::as_str).collect::<Vec<_>>())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values given for `key`, none if it was not.
    pub fn values(&self, key: &str) -> &[String] {
        self.0.get(key).map_or(&[], Vec::as_slice)
    }

    /// Whether `key` was not given, or one of its values passes `test`.
    pub fn any(&self, key: &str, mut test: impl FnMut(&str) -> bool) -> bool {
        let values = self.values(key);
        values.is_empty() || values.iter().any(|v| test(v))
    }

    /// A `true`/`false` filter such as `dangling`; another value is
    /// refused as Docker refuses it.
    pub fn boolean(&self, key: &str) -> Result<Option<bool>> {
        let mut answer = None;
        for value in self.values(key) {
            let this = match value.to_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(Error::usage(format!("Invalid filter '{key}=[{value}]'"))),
            };
            answer = Some(answer.unwrap_or(false) || this);
        }
        Ok(answer)
    }

    /// Whether every `label=KEY` or `label=KEY=VALUE` given is in `labels`,
    /// and not every `label!=…` given is (Docker's negation, of prunes).
    pub fn labels_match(&self, labels: &BTreeMap<String, String>) -> bool {
        let has = |wanted: &String| match wanted.split_once('=') {
            Some((key, value)) => labels.get(key).is_some_and(|v| v == value),
            None => labels.contains_key(wanted.as_str()),
        };
        let refused = self.values("label!");
        self.values("label").iter().all(has) && (refused.is_empty() || !refused.iter().all(has))
    }

    /// A prune's `until=TIME`: only what was created before it goes; none
    /// if not given. Docker refuses two.
    pub fn until(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        match self.values("until") {
            [] => Ok(None),
            [time] => crate::units::parse_time(time, now).map(Some),
            _ => Err(Error::usage("more than one until filter specified")),
        }
    }

    /// Whether something created at `created` is older than `until`.
    pub fn before_until(until: Option<DateTime<Utc>>, created: DateTime<Utc>) -> bool {
        until.is_none_or(|until| created < until)
    }
}

/// `KEY=VALUE`, as the command line gives a filter.
fn split(arg: &str) -> Result<(&str, &str)> {
    match arg.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.trim(), value.trim())),
        _ => Err(Error::usage(format!("bad format of filter '{arg}' (expected name=value)"))),
    }
}

/// Checks a `--filter` argument's shape, for a command line parser.
pub fn check_shape(arg: &str) -> std::result::Result<String, String> {
    split(arg).map(|_| arg.to_owned()).map_err(|_| "bad format of filter (expected name=value)".to_owned())
}

/// Go's `path.Match`, which Docker's `reference` filter uses: `*` is any
/// run of characters but `/`, `?` one such character, `[a-z]` and `[^a]`
/// classes, `\` escapes. A malformed pattern matches nothing.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (pattern, name): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    matches_from(&pattern, &name).unwrap_or(false)
}

fn matches_from(pattern: &[char], name: &[char]) -> Option<bool> {
    let Some((&first, rest)) = pattern.split_first() else { return Some(name.is_empty()) };
    match first {
        '*' => {
            // The star takes 0..n characters up to the next '/'.
            for taken in 0..=name.len() {
                if taken > 0 && name[taken - 1] == '/' {
                    break;
                }
                if matches_from(rest, &name[taken..])? {
                    return Some(true);
                }
            }
            Some(false)
        }
        '?' => match name.split_first() {
            Some((&c, name)) if c != '/' => matches_from(rest, name),
            _ => Some(false),
        },
        '[' => {
            let (matched, rest) = class(rest, *name.first()?)?;
            if matched { matches_from(rest, &name[1..]) } else { Some(false) }
        }
        '\\' => {
            let (&escaped, rest) = rest.split_first()?;
            if name.first() == Some(&escaped) { matches_from(rest, &name[1..]) } else { Some(false) }
        }
        c => {
            if name.first() == Some(&c) {
                matches_from(rest, &name[1..])
            } else {
                Some(false)
            }
        }
    }
}

/// A character class after its `[`: whether `c` is in it, and the pattern
/// after its `]`; None if it never closes.
fn class(pattern: &[char], c: char) -> Option<(bool, &[char])> {
    let (negated, mut rest) = match pattern.split_first() {
        Some(('^', rest)) => (true, rest),
        _ => (false, pattern),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        let (&next, after) = rest.split_first()?;
        if next == ']' && !first {
            return Some((matched != negated, after));
        }
        first = false;
        let (low, after) = escaped(next, after)?;
        let (high, after) = match after.split_first() {
            Some(('-', range)) if range.first() != Some(&']') => {
                let (&end, range) = range.split_first()?;
                escaped(end, range)?
            }
            _ => (low, after),
        };
        matched |= low <= c && c <= high;
        rest = after;
    }
}

fn escaped(c: char, rest: &[char]) -> Option<(char, &[char])> {
    if c == '\\' { rest.split_first().map(|(&c, rest)| (c, rest)) } else { Some((c, rest)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(args: &[&str]) -> Result<Filters> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Filters::parse(&args, &["dangling", "label", "label!", "reference", "until"])
    }

    #[test]
    fn same_key_ors_and_labels_all_match() {
        let f = filters(&["reference=a", "reference=b", "label=x", "label=y=1"]).unwrap();
        assert!(f.any("reference", |v| v == "b"));
        assert!(!f.any("reference", |v| v == "c"));
        assert!(f.any("dangling", |_| false), "a key not given lets everything through");
        let labels =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(f.labels_match(&labels(&[("x", ""), ("y", "1")])));
        assert!(!f.labels_match(&labels(&[("x", "")])));
        assert!(!f.labels_match(&labels(&[("x", ""), ("y", "2")])));
    }

    #[test]
    fn label_negations_and_until_are_a_prunes() {
        let labels =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        // Docker leaves out only what has every label the negations name.
        let f = filters(&["label!=keep", "label!=pin=1"]).unwrap();
        assert!(f.labels_match(&labels(&[("keep", "")])));
        assert!(!f.labels_match(&labels(&[("keep", ""), ("pin", "1")])));
        assert!(f.labels_match(&labels(&[])));
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let until = filters(&["until=1h"]).unwrap().until(now).unwrap();
        assert_eq!(until, Some(now - chrono::Duration::hours(1)));
        assert!(Filters::before_until(until, now - chrono::Duration::hours(2)));
        assert!(!Filters::before_until(until, now));
        assert!(Filters::before_until(None, now));
        let two = filters(&["until=1h", "until=2h"]).unwrap().until(now).unwrap_err();
        assert_eq!(two.to_string(), "more than one until filter specified");
    }

    #[test]
    fn docker_refuses_what_docker_refuses() {
        assert_eq!(filters(&["foo=bar"]).unwrap_err().to_string(), "Invalid filter 'foo'");
        assert!(filters(&["dangling"]).unwrap_err().to_string().contains("expected name=value"));
        let maybe = filters(&["dangling=maybe"]).unwrap().boolean("dangling").unwrap_err();
        assert_eq!(maybe.to_string(), "Invalid filter 'dangling=[maybe]'");
        assert_eq!(filters(&["dangling=true"]).unwrap().boolean("dangling").unwrap(), Some(true));
        assert_eq!(filters(&["DANGLING=false"]).unwrap().boolean("dangling").unwrap(), Some(false));
    }

    #[test]
    fn globs_as_go_path_match() {
        // Go's own path.Match table (src/path/match_test.go).
        for (pattern, name, want) in [
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "a", false),
            ("[", "a", false),
            ("[^", "a", false),
            ("*x", "xxx", true),
            // Docker's use: names with a registry and a path.
            ("*/hel*", "127.0.0.1:5000/hello:1.0", true),
            ("hello", "127.0.0.1:5000/hello", false),
        ] {
            assert_eq!(glob_match(pattern, name), want, "{pattern} {name}");
        }
    }
}
