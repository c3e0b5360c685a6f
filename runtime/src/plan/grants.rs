//! Grants: what a guest may touch. Nothing is granted unless asked for; a
//! wasm guest's grants are handed to wasmtime-wasi, which enforces them with
//! cap-std, a native container's become its mounts.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::network::{Network, PublishedPort};
use crate::volume::{self, Volumes};
use crate::{Error, Result};

/// Everything a guest is given besides its limits.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Grants {
    /// Host directories preopened at guest paths.
    pub dirs: Vec<DirGrant>,
    /// Environment variables, in order; a later key overrides an earlier one.
    pub env: Vec<(String, String)>,
    /// The guest's arguments, `argv[0]` first.
    pub args: Vec<String>,
    /// The guest's initial working directory.
    pub workdir: Option<String>,
    /// Whether the guest reads wbox's stdin (`-i`); otherwise its stdin is
    /// empty.
    #[serde(default)]
    pub stdin: bool,
    /// What the guest is told of its stdio (`-t`): a terminal or not; by
    /// default, whether wbox's own stdio are.
    #[serde(default)]
    pub tty: Option<bool>,
    /// What the guest may reach over the network.
    #[serde(default)]
    pub network: Network,
    /// Ports published on the host (`-p`).
    #[serde(default)]
    pub ports: Vec<PublishedPort>,
    /// The guest has a network namespace of its own (it is on user-defined
    /// networks): it may listen on any port there, which only the members
    /// reach, and the host through `ports`. Never part of a record.
    #[serde(skip)]
    pub own_network: bool,
    /// Files that stand in for the guest's stdio (a containerd shim's
    /// FIFOs) instead of this process's own; never part of a record.
    #[serde(skip)]
    pub stdio: Option<StdioFiles>,
}

/// A guest's stdin, stdout and stderr as open files; a missing one is empty
/// (stdin) or discarded (output).
#[derive(Debug, Clone, Default)]
pub struct StdioFiles {
    pub stdin: Option<Arc<std::fs::File>>,
    pub stdout: Option<Arc<std::fs::File>>,
    pub stderr: Option<Arc<std::fs::File>>,
}

/// A host directory granted at a guest path (`-v HOST:GUEST[:ro]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirGrant {
    pub host: PathBuf,
    pub guest: String,
    pub read_only: bool,
}

impl DirGrant {
    /// Parses Docker's `-v HOST:GUEST[:OPTIONS]`, where OPTIONS is `ro` or
    /// `rw`. A relative HOST is taken from the current directory.
    pub fn parse(spec: &str) -> Result<Self> {
        Self::parse_with(spec, None)
    }

    /// `-v` as Docker takes it: `HOST_DIR:GUEST[:OPTIONS]` grants a host
    /// directory; with `volumes`, `NAME:GUEST[:OPTIONS]` grants the named
    /// volume (made on first use) and `GUEST` alone a new anonymous one.
    pub fn parse_with(spec: &str, volumes: Option<&Volumes>) -> Result<Self> {
        let bad = |why: &str| {
            Error::usage(format!(
                "invalid volume '{spec}': {why}; use -v HOST_DIR:GUEST_DIR[:ro] (e.g. -v ./data:/data:ro) \
                 or -v VOLUME:GUEST_DIR[:ro]"
            ))
        };
        let (drive, rest) = crate::os::dirs::split_drive(spec);
        let parts: Vec<&str> = rest.split(':').collect();
        let (host, guest, options) = match parts.as_slice() {
            [guest] if volumes.is_some() && drive.is_empty() && guest.starts_with('/') => ("", *guest, ""),
            [host, guest] => (*host, *guest, ""),
            [host, guest, options] => (*host, *guest, *options),
            _ => return Err(bad("expected two or three ':'-separated parts")),
        };
        let guest = normalise_guest_path(guest).map_err(|why| bad(&why))?;
        let read_only = read_only(spec, options).map_err(|why| bad(&why))?;
        let host = &format!("{drive}{host}");
        if let Some(volumes) = volumes
            && (host.is_empty() || volume::is_name(host))
        {
            let name = (!host.is_empty()).then_some(host.as_str());
            let volume = volumes.create(name, Default::default(), name.is_none())?;
            return Ok(DirGrant { host: volume.mountpoint, guest, read_only });
        }
        if host.is_empty() {
            return Err(bad("the host directory is empty"));
        }
        if volume::is_name(host) {
            return Err(bad(&format!("'{host}' would be a volume, which only containers and runs have")));
        }
        let host = expand_home(host).map_err(|e| bad(&e))?;
        let host = std::path::absolute(host).map_err(|e| bad(&e.to_string()))?;
        let grant = DirGrant { host, guest, read_only };
        grant.check_host()?;
        Ok(grant)
    }

    fn check_host(&self) -> Result<()> {
        match std::fs::metadata(&self.host) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(Error::usage(format!(
                "cannot grant {}: it is not a directory; wasm guests are granted directories, so grant the directory that holds it",
                self.host.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::usage(format!(
                "cannot grant {}: no such directory; create it first",
                self.host.display()
            ))),
            Err(e) => Err(Error::usage(format!("cannot grant {}: {e}", self.host.display()))),
        }
    }
}

/// Docker's `--mount type=volume|bind,source=…,target=…[,readonly]`, as the
/// `-v` spec it means: `SOURCE:TARGET[:ro]` (no source: a new anonymous
/// volume).
pub fn mount_spec(spec: &str) -> Result<String> {
    let bad = |why: String| {
        Error::usage(format!(
            "invalid --mount '{spec}': {why}; use e.g. --mount type=volume,source=data,target=/data,readonly"
        ))
    };
    let (mut kind, mut source, mut target, mut read_only) = ("volume", "", "", false);
    for field in spec.split(',') {
        let (key, value) = field.split_once('=').map_or((field, None), |(k, v)| (k, Some(v)));
        match (key, value) {
            ("type", Some(value)) => kind = value,
            ("source" | "src", Some(value)) => source = value,
            ("destination" | "dst" | "target", Some(value)) => target = value,
            ("readonly" | "ro", None | Some("true" | "1")) => read_only = true,
            ("readonly" | "ro", Some("false" | "0")) => read_only = false,
            ("volume-nocopy" | "bind-propagation" | "consistency", _) => {}
            _ => return Err(bad(format!("unexpected key '{key}'"))),
        }
    }
    match kind {
        "volume" if source.is_empty() => {}
        "volume" => volume::check_name(source)?,
        // As Docker: a bind's source is a path, never a volume's name.
        "bind" if Path::new(source).is_absolute() => {}
        "bind" => return Err(bad("a bind mount needs an absolute source path".into())),
        other => return Err(bad(format!("type {other} is not supported (volume or bind)"))),
    }
    if target.is_empty() {
        return Err(bad("a target is required".into()));
    }
    let access = if read_only { ":ro" } else { "" };
    Ok(if source.is_empty() { format!("{target}{access}") } else { format!("{source}:{target}{access}") })
}

/// Whether `-v`'s OPTIONS (`ro`, `rw`, and Docker's others) make a grant
/// read-only.
fn read_only(spec: &str, options: &str) -> std::result::Result<bool, String> {
    let mut access = None;
    for option in options.split(',').filter(|o| !o.is_empty()) {
        let read_only = match option {
            "ro" | "readonly" => true,
            "rw" => false,
            // SELinux relabelling and volume copying mean nothing for a
            // directory granted to a wasm guest.
            "z" | "Z" | "nocopy" => {
                tracing::warn!("volume '{spec}': option '{option}' has no effect on a wasm guest; ignored");
                continue;
            }
            other => return Err(format!("unknown option '{other}' (wasm grants take ro or rw)")),
        };
        if access.is_some_and(|earlier| earlier != read_only) {
            return Err("both ro and rw were given".into());
        }
        access = Some(read_only);
    }
    Ok(access.unwrap_or(false))
}

/// `~/x` is the user's home, as the shell would have made it (Docker's CLI
/// does the same for a `~` the shell did not expand).
fn expand_home(host: &str) -> std::result::Result<PathBuf, String> {
    match host.strip_prefix('~') {
        None => Ok(host.into()),
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = std::env::var_os("HOME").ok_or("'~' is used but HOME is not set")?;
            Ok(PathBuf::from(home).join(rest.trim_start_matches('/')))
        }
        Some(_) => Err("'~user' paths are not supported; write the path out".into()),
    }
}

/// Guest paths are absolute, without `.` or `..`, and written one way, so
/// that two grants of the same place are seen as the same.
fn normalise_guest_path(guest: &str) -> std::result::Result<String, String> {
    if !guest.starts_with('/') {
        return Err(format!("the guest path '{guest}' must be absolute"));
    }
    let mut normal = String::new();
    for part in Path::new(guest).components() {
        match part {
            Component::RootDir => {}
            Component::Normal(name) => {
                normal.push('/');
                normal.push_str(name.to_str().expect("guest path came from a str"));
            }
            _ => return Err(format!("the guest path '{guest}' must not contain '.' or '..'")),
        }
    }
    Ok(if normal.is_empty() { "/".into() } else { normal })
}

/// An environment given in layers (an image's, then a user's): for a key
/// given more than once, the last value, in the place the key first
/// appeared.
pub fn merge_env<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    let mut env: Vec<(&str, &str)> = Vec::new();
    for (key, value) in pairs {
        match env.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => env.push((key, value)),
        }
    }
    env
}

/// Parses `-e KEY=VALUE`, or `-e KEY` which takes KEY from wbox's own
/// environment and is skipped when unset, as Docker does.
pub fn parse_env(spec: &str) -> Result<Option<(String, String)>> {
    let (key, value) = match spec.split_once('=') {
        Some((key, value)) => (key, Some(value.to_owned())),
        None => (spec, None),
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(Error::usage(format!(
            "invalid environment variable '{spec}': use KEY=VALUE, with a KEY without spaces"
        )));
    }
    let value = match value {
        Some(value) => value,
        None => match std::env::var(key) {
            Ok(value) => value,
            Err(_) => return Ok(None),
        },
    };
    Ok(Some((key.to_owned(), value)))
}

/// Reads a Docker env file: one `KEY=VALUE` or `KEY` a line; blank lines and
/// lines starting with `#` are skipped; values are taken literally.
pub fn read_env_file(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read(path)
        .map_err(|e| Error::usage(format!("cannot read env file {}: {e}", path.display())))?;
    let text = String::from_utf8(text)
        .map_err(|_| Error::usage(format!("env file {} is not valid UTF-8", path.display())))?;
    // Editors on Windows start UTF-8 files with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut vars = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let var =
            parse_env(line).map_err(|e| Error::usage(format!("{}:{}: {e}", path.display(), number + 1)))?;
        vars.extend(var);
    }
    Ok(vars)
}

impl Grants {
    /// Grants from the command line's words, checked: `-v` specs, env files
    /// then `-e` specs (Docker's order: `-e` wins), the working directory and
    /// the guest's arguments.
    pub fn from_flags(
        store: Option<&Volumes>,
        volumes: &[String],
        env_files: &[PathBuf],
        env: &[String],
        workdir: Option<&str>,
        args: Vec<String>,
    ) -> Result<Grants> {
        let mut vars = Vec::new();
        for file in env_files {
            vars.extend(read_env_file(file)?);
        }
        for spec in env {
            vars.extend(parse_env(spec)?);
        }
        let workdir = workdir
            .map(|w| {
                normalise_guest_path(w).map_err(|why| {
                    Error::usage(format!("invalid working directory: {why}; use e.g. -w /data"))
                })
            })
            .transpose()?;
        let grants = Grants {
            dirs: volumes.iter().map(|v| DirGrant::parse_with(v, store)).collect::<Result<_>>()?,
            env: vars,
            args,
            workdir,
            stdin: true,
            ..Grants::default()
        };
        grants.check()?;
        Ok(grants)
    }

    /// Refuses grants that contradict each other before anything runs.
    pub fn check(&self) -> Result<()> {
        for (i, grant) in self.dirs.iter().enumerate() {
            if self.dirs[..i].iter().any(|g| g.guest == grant.guest) {
                return Err(Error::usage(format!(
                    "duplicate mount point {}: give each guest path once",
                    grant.guest
                )));
            }
        }
        if let Some(workdir) = &self.workdir
            && normalise_guest_path(workdir).as_deref() != Ok(workdir.as_str())
        {
            return Err(Error::usage(format!(
                "invalid working directory '{workdir}': use an absolute guest path without '.' or '..'"
            )));
        }
        Ok(())
    }

    /// The environment the guest sees: for a key given more than once, the
    /// last value, in the place the key first appeared.
    pub fn effective_env(&self) -> Vec<(&str, &str)> {
        merge_env(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The grant whose guest path holds `guest_path`, and the rest of the
    /// path below that grant.
    pub(crate) fn grant_holding<'a>(&'a self, guest_path: &'a str) -> Option<(&'a DirGrant, &'a Path)> {
        self.dirs
            .iter()
            .filter_map(|grant| Some((grant, Path::new(guest_path).strip_prefix(&grant.guest).ok()?)))
            .max_by_key(|(grant, _)| grant.guest.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_specs() {
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().to_str().unwrap();
        let grant = DirGrant::parse(&format!("{host}:/data/./x/:ro")).unwrap();
        assert_eq!(grant, DirGrant { host: dir.path().into(), guest: "/data/x".into(), read_only: true });
        assert!(!DirGrant::parse(&format!("{host}:/data")).unwrap().read_only);
        assert!(
            DirGrant::parse(&format!("{host}:/data:z,ro")).unwrap().read_only,
            "SELinux labels are ignored"
        );
        for bad in [
            host.to_string(),
            format!("{host}:data"),
            format!("{host}:/data/../etc"),
            format!("{host}:/data:rx"),
            format!("{host}/missing:/data"),
            format!("{host}:/data:ro,rw"),
            "data:/data".to_string(),
            "~someone/data:/data".to_string(),
            ":/data".to_string(),
        ] {
            assert!(DirGrant::parse(&bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn env_specs() {
        assert_eq!(parse_env("A=b=c").unwrap(), Some(("A".into(), "b=c".into())));
        assert_eq!(parse_env("A=").unwrap(), Some(("A".into(), "".into())));
        assert_eq!(parse_env("WBOX_SURELY_UNSET_VAR").unwrap(), None);
        assert!(parse_env("=x").is_err());
        assert!(parse_env("A B=x").is_err());
    }

    #[test]
    fn env_file_with_a_byte_order_mark() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        std::fs::write(&file, "\u{feff}A=1\r\nB=2\n").unwrap();
        assert_eq!(read_env_file(&file).unwrap(), vec![("A".into(), "1".into()), ("B".into(), "2".into())]);
    }

    #[test]
    fn last_env_value_wins() {
        let grants = Grants {
            env: vec![("A".into(), "1".into()), ("B".into(), "2".into()), ("A".into(), "3".into())],
            ..Default::default()
        };
        assert_eq!(grants.effective_env(), vec![("A", "3"), ("B", "2")]);
    }

    #[test]
    fn duplicate_guest_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let grant = DirGrant { host: dir.path().into(), guest: "/data".into(), read_only: false };
        let grants = Grants { dirs: vec![grant.clone(), grant], ..Default::default() };
        assert!(grants.check().is_err());
    }
}
