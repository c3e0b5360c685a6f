//! Credentials: `wbox login`, which checks them and keeps them in
//! `ROOT/auth.json`, and Docker's `config.json` with its credential helpers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

use super::{PullOptions, plain_http, root_cause};
use crate::reference::ImageRef;
use crate::{Error, Result};

/// How long a credential helper may take to answer.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// The key of Docker Hub's credentials in Docker's config.json.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Checks a user and password against a registry, as `docker login` does,
/// then keeps them in `ROOT/auth.json` (readable by the user only), where
/// pulls and pushes find them.
pub async fn login(
    root: &Path,
    registry: &str,
    user: &str,
    password: &str,
    options: &PullOptions,
) -> Result<()> {
    check_login(root, registry, user, password, options).await?;
    let (_, _, key) = registry_key(registry)?;
    let file = root.join("auth.json");
    let mut config: serde_json::Value = match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::usage(format!("{} is not valid JSON: {e}; remove it and log in again", file.display()))
        })?,
        Err(_) => serde_json::json!({}),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    config["auths"][key] = serde_json::json!({ "auth": encoded });
    std::fs::create_dir_all(root)
        .map_err(|e| Error::image(format!("cannot create {}: {e}", root.display())))?;
    crate::store::write_atomic(&file, serde_json::to_string_pretty(&config).expect("JSON").as_bytes())
        .map_err(|e| Error::image(format!("cannot save the credentials in {}: {e}", file.display())))
}

/// Whether the registry takes this user and password; keeps nothing.
pub async fn check_login(
    root: &Path,
    registry: &str,
    user: &str,
    password: &str,
    options: &PullOptions,
) -> Result<()> {
    let options = &options.with_config(root)?;
    let (reference, registry, _) = registry_key(registry)?;
    let scheme = if plain_http(&reference, options) { "http" } else { "https" };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Error::Internal(e.into()))?;
    let unreachable = |e: reqwest::Error| {
        Error::image(format!(
            "cannot reach registry {registry}: {}; check that it is running and the address is right",
            root_cause(&e)
        ))
    };
    let answer = http
        .get(format!("{scheme}://{registry}/v2/"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .map_err(unreachable)?;
    let accepted = match answer.status().as_u16() {
        200 => true,
        401 => match answer.headers().get("www-authenticate").and_then(|h| h.to_str().ok()) {
            // Token registries (Docker Hub, GHCR) check the password at their realm.
            Some(challenge) if challenge.starts_with("Bearer ") => {
                let params = challenge_params(&challenge["Bearer ".len()..]);
                let realm =
                    params.iter().find(|(k, _)| k == "realm").map(|(_, v)| v.clone()).unwrap_or_default();
                let mut query = vec![("account".to_owned(), user.to_owned())];
                query.extend(params.into_iter().filter(|(k, _)| k == "service"));
                let token = http
                    .get(&realm)
                    .query(&query)
                    .basic_auth(user, Some(password))
                    .send()
                    .await
                    .map_err(unreachable)?;
                token.status().is_success()
            }
            _ => false,
        },
        code => {
            return Err(Error::image(format!(
                "{registry} answered {code} to a login; is it an OCI registry?"
            )));
        }
    };
    if !accepted {
        return Err(Error::image(format!(
            "{registry} refused the login of {user}: wrong user name or password"
        )));
    }
    Ok(())
}

/// A registry as the user names it (`localhost:5000`, `https://…/v1/`):
/// a reference in it (which says how to reach it), the host to ask, and the
/// key its credentials are kept under. Docker Hub answers at
/// registry-1.docker.io, and Docker keeps its credentials under the old
/// index address: so does wbox, so that either tool finds what the other
/// saved.
fn registry_key(registry: &str) -> Result<(ImageRef, &str, &str)> {
    let registry = registry
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .trim_end_matches("/v1");
    let reference = ImageRef::parse(&format!("{registry}/login")).map_err(|_| {
        Error::usage(format!("invalid registry '{registry}': write HOST[:PORT], e.g. localhost:5000"))
    })?;
    let hub = matches!(reference.registry(), "docker.io" | "index.docker.io" | "registry-1.docker.io");
    Ok(if hub {
        (reference, "registry-1.docker.io", DOCKER_HUB_KEY)
    } else {
        (reference, registry, registry)
    })
}

/// `logout`: forgets what `login` kept for a registry (Docker Hub's when
/// none is named). Returns the key the credentials were kept under.
pub fn logout(root: &Path, registry: Option<&str>) -> Result<String> {
    let (_, _, key) = registry_key(registry.unwrap_or("docker.io"))?;
    let file = root.join("auth.json");
    let Ok(bytes) = std::fs::read(&file) else { return Ok(key.to_owned()) };
    let mut config: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::usage(format!("{} is not valid JSON: {e}; remove it to forget every login", file.display()))
    })?;
    if let Some(auths) = config.get_mut("auths").and_then(|a| a.as_object_mut())
        && auths.remove(key).is_some()
    {
        crate::store::write_atomic(&file, serde_json::to_string_pretty(&config).expect("JSON").as_bytes())
            .map_err(|e| Error::image(format!("cannot forget the credentials in {}: {e}", file.display())))?;
    }
    Ok(key.to_owned())
}

/// `realm="…",service="…"` of a WWW-Authenticate challenge.
fn challenge_params(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter_map(|part| part.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

/// Credentials for a registry: wbox's own (from `wbox login`), else
/// Docker's `config.json`; anonymous when neither has any.
pub(super) fn credentials(root: &Path, registry: &str) -> Result<RegistryAuth> {
    for file in [root.join("auth.json"), docker_config()] {
        if let Some((user, password)) = basic_auth_in(&file, registry)? {
            return Ok(RegistryAuth::Basic(user, password));
        }
    }
    Ok(RegistryAuth::Anonymous)
}

fn docker_config() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".docker/config.json"),
    }
}

/// Credentials for a registry in a Docker-style config file: its credential
/// helper (`credHelpers`, else `credsStore`) if it names one, else its
/// `auths` entry.
fn basic_auth_in(file: &Path, registry: &str) -> Result<Option<(String, String)>> {
    let Ok(bytes) = std::fs::read(file) else { return Ok(None) };
    match auth_in(&bytes, registry, file)? {
        Some(Auth::Helper(helper, server)) => from_helper(&helper, &server),
        Some(Auth::Basic(user, password)) => Ok(Some((user, password))),
        None => Ok(None),
    }
}

/// Where a config file says a registry's credentials are.
#[derive(Debug)]
pub(crate) enum Auth {
    /// A credential helper's name, and the server to ask it for.
    Helper(String, String),
    Basic(String, String),
}

/// What a Docker-style config file (its bytes; `file` names it in errors)
/// says of a registry's credentials.
pub(crate) fn auth_in(bytes: &[u8], registry: &str, file: &Path) -> Result<Option<Auth>> {
    let config: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::usage(format!("{} is not valid JSON: {e}", file.display())))?;
    let keys: Vec<String> = if registry == "docker.io" {
        vec![DOCKER_HUB_KEY.into(), "docker.io".into(), "index.docker.io".into()]
    } else {
        vec![registry.to_owned(), format!("https://{registry}"), format!("http://{registry}")]
    };
    let helper =
        keys.iter().find_map(|k| config["credHelpers"][k].as_str()).or(config["credsStore"].as_str());
    if let Some(helper) = helper {
        return Ok(Some(Auth::Helper(helper.to_owned(), keys[0].clone())));
    }
    let Some(encoded) = keys.iter().find_map(|k| config["auths"][k]["auth"].as_str()) else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .and_then(|d| d.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())));
    match decoded {
        Some((user, password)) => Ok(Some(Auth::Basic(user, password))),
        None => Err(Error::usage(format!(
            "the credentials for {registry} in {} are not base64 of user:password; run `wbox login {registry}` again",
            file.display()
        ))),
    }
}

/// Asks `docker-credential-HELPER get` for a registry's credentials, by the
/// credential helper protocol: the server on stdin, JSON on stdout.
fn from_helper(helper: &str, server: &str) -> Result<Option<(String, String)>> {
    let program = format!("docker-credential-{helper}");
    let failed = |why: String| {
        Error::usage(format!("the credential helper {program} (named in Docker's config.json) {why}"))
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot be run: {e}; install it or remove it from the config")))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    std::io::Write::write_all(&mut stdin, server.as_bytes())
        .map_err(|e| failed(format!("cannot be asked: {e}")))?;
    drop(stdin);
    // A helper that waits for a desktop keyring to unlock must not hang a
    // pull forever.
    let pid = child.id();
    let (sender, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    let out = match answer.recv_timeout(HELPER_TIMEOUT) {
        Ok(out) => out.map_err(|e| failed(format!("failed: {e}")))?,
        Err(_) => {
            // The helper's pid, which its waiting thread has not reaped
            // yet: it is still our child.
            crate::os::process::kill(pid);
            return Err(failed(format!(
                "did not answer within {} s; check that it works: echo {server} | {program} get",
                HELPER_TIMEOUT.as_secs()
            )));
        }
    };
    if !out.status.success() {
        // "credentials not found" is how helpers say they have none.
        tracing::debug!(
            "{program} has no credentials for {server}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(&out.stdout)
        .map_err(|e| failed(format!("answered something that is not its JSON: {e}")))?;
    Ok(Some((answer.username, answer.secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, r#"{"auths":{"localhost:5000":{"auth":"YWxpY2U6czNjcjN0"}}}"#).unwrap();
        assert_eq!(basic_auth_in(&file, "localhost:5000").unwrap(), Some(("alice".into(), "s3cr3t".into())));
        assert_eq!(basic_auth_in(&file, "other:5000").unwrap(), None);
        std::fs::write(&file, r#"{"auths":{"localhost:5000":{"auth":"!!"}}}"#).unwrap();
        assert!(basic_auth_in(&file, "localhost:5000").is_err());

        std::fs::write(&file, r#"{"credHelpers":{"localhost:5000":"wbox-surely-missing"}}"#).unwrap();
        let err = basic_auth_in(&file, "localhost:5000").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-wbox-surely-missing") && err.contains("cannot be run"),
            "{err}"
        );
    }
}
