//! Which log driver a container has and with which options, as Docker's
//! `--log-driver` and `--log-opt` give them, over the defaults of the root's
//! `config.json` (dockerd's `log-driver` and `log-opts`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::units::parse_decimal_size;
use crate::{Error, Result};

/// The driver of a root whose config.json names none: Docker's `local`,
/// whose defaults rotate, rather than Docker's own default `json-file`,
/// which keeps everything a guest ever writes.
pub const DEFAULT_DRIVER: &str = "local";

/// What `local` keeps unless told otherwise, as in Docker: five files of
/// 20 MiB at most.
const LOCAL_MAX_SIZE: u64 = 20 << 20;
const LOCAL_MAX_FILES: u32 = 5;

/// A container's log driver and options as recorded with it; `inspect`
/// shows it as Docker's `HostConfig.LogConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    #[serde(rename = "Type")]
    pub driver: String,
    #[serde(rename = "Config", default)]
    pub options: BTreeMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { driver: DEFAULT_DRIVER.to_owned(), options: BTreeMap::new() }
    }
}

/// How much of a container's output is kept, once its config is understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Nothing (`none`).
    Nothing,
    /// The log file, rotated once it reaches `max_size` bytes (never when
    /// None), with `max_files` files in all; the oldest is dropped.
    Files { max_size: Option<u64>, max_files: u32 },
}

impl LogConfig {
    /// The driver of a container made through the Engine API whose client
    /// names none: the root's, else dockerd's own default, `json-file`
    /// (docker-py reads a container's output only from such a log).
    pub fn engine_api_driver(root: &Path) -> Result<String> {
        Ok(Config::load(root)?.log_driver.unwrap_or_else(|| "json-file".to_owned()))
    }

    /// The config of a new container: `--log-driver` and the `--log-opt`
    /// KEY=VALUE pairs, over the root's defaults as dockerd merges them: the
    /// root's `log-opts` fill in options only for a container that has the
    /// root's driver. Refused unless every option is understood.
    pub fn for_new_container(root: &Path, given_driver: Option<&str>, opts: &[String]) -> Result<LogConfig> {
        let defaults = Config::load(root)?;
        let default_driver = defaults.log_driver.unwrap_or_else(|| DEFAULT_DRIVER.to_owned());
        let driver = given_driver.map_or(default_driver.clone(), str::to_owned);
        let mut options = BTreeMap::new();
        for opt in opts {
            let (key, value) = opt.split_once('=').ok_or_else(|| {
                Error::usage(format!("invalid --log-opt {opt}: give KEY=VALUE, e.g. max-size=10m"))
            })?;
            options.insert(key.to_owned(), value.to_owned());
        }
        if driver == default_driver {
            for (key, value) in defaults.log_opts {
                options.entry(key).or_insert(value);
            }
        }
        let config = LogConfig { driver, options };
        config.retention().map_err(|e| {
            // Nothing on the command line: the fault is in the root's file.
            if opts.is_empty() && given_driver.is_none() {
                Error::usage(format!(
                    "{e} (the log-driver and log-opts of {})",
                    root.join("config.json").display()
                ))
            } else {
                e
            }
        })?;
        Ok(config)
    }

    /// What this config keeps, or why it cannot be followed.
    pub fn retention(&self) -> Result<Retention> {
        let driver = self.driver.as_str();
        let (mut max_size, mut max_files) = match driver {
            "json-file" => (None, 1),
            "local" => (Some(LOCAL_MAX_SIZE), LOCAL_MAX_FILES),
            "none" => {
                if let Some(key) = self.options.keys().next() {
                    return Err(Error::usage(format!(
                        "invalid logging opts for driver none: it keeps nothing, so it takes no --log-opt \
                         (got {key})"
                    )));
                }
                return Ok(Retention::Nothing);
            }
            _ => {
                return Err(Error::usage(format!(
                    "log driver '{driver}' is not one wbox has: use json-file, local (the default) or none"
                )));
            }
        };
        for (key, value) in &self.options {
            let bad = |why: String| Error::usage(format!("invalid log opt {key}={value}: {why}"));
            match key.as_str() {
                "max-size" => max_size = Some(parse_decimal_size(value).map_err(|e| bad(e.to_string()))?),
                "max-file" => {
                    max_files = value
                        .parse()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| bad("give a whole number of files, 1 or more".into()))?
                }
                "compress" => match value.as_str() {
                    "false" | "0" | "f" | "F" | "FALSE" | "False" => {}
                    "true" | "1" | "t" | "T" | "TRUE" | "True" => {
                        return Err(bad("wbox does not compress rotated logs; leave compress out".into()));
                    }
                    _ => return Err(bad("give true or false".into())),
                },
                _ => {
                    return Err(Error::usage(format!(
                        "unknown log opt '{key}' for {driver} log driver: it takes max-size, max-file and \
                         compress"
                    )));
                }
            }
        }
        Ok(Retention::Files { max_size, max_files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(driver: &str, options: &[(&str, &str)]) -> LogConfig {
        let options = options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        LogConfig { driver: driver.to_owned(), options }
    }

    #[test]
    fn drivers_keep_what_docker_keeps() {
        let local = Retention::Files { max_size: Some(20 << 20), max_files: 5 };
        assert_eq!(LogConfig::default().retention().unwrap(), local);
        assert_eq!(
            config("json-file", &[]).retention().unwrap(),
            Retention::Files { max_size: None, max_files: 1 }
        );
        assert_eq!(
            config("json-file", &[("max-size", "1m"), ("max-file", "3")]).retention().unwrap(),
            Retention::Files { max_size: Some(1_000_000), max_files: 3 }
        );
        assert_eq!(config("none", &[]).retention().unwrap(), Retention::Nothing);
    }

    #[test]
    fn what_is_not_understood_is_named() {
        for (config, named) in [
            (config("syslog", &[]), "'syslog'"),
            (config("local", &[("bogus", "1")]), "'bogus'"),
            (config("json-file", &[("max-size", "abc")]), "max-size=abc"),
            (config("json-file", &[("max-file", "0")]), "max-file=0"),
            (config("local", &[("compress", "true")]), "compress=true"),
            (config("none", &[("max-size", "1m")]), "max-size"),
        ] {
            let e = config.retention().unwrap_err();
            assert!(e.to_string().contains(named), "{e}");
            assert_eq!(e.exit_code(), 125);
        }
    }

    #[test]
    fn the_roots_options_go_with_the_roots_driver_only() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join("config.json"),
            r#"{"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "2"}}"#,
        )
        .unwrap();
        let given = LogConfig::for_new_container(root.path(), None, &["max-file=7".into()]).unwrap();
        assert_eq!(given, config("json-file", &[("max-size", "10m"), ("max-file", "7")]));
        let other = LogConfig::for_new_container(root.path(), Some("local"), &[]).unwrap();
        assert_eq!(other, config("local", &[]));
    }
}
