//! The credentials a client sends for a registry: the `X-Registry-Auth`
//! header of a pull or push, base64url-encoded JSON, as Docker's clients
//! make it.

use base64::Engine as _;
use http::HeaderMap;
use serde::Deserialize;
use wbox_runtime::{Error, Result};

#[derive(Deserialize, Default)]
pub struct AuthConfig {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub serveraddress: String,
}

/// The user and password in the header; none when it is absent or empty
/// (then the root's own logins serve).
pub fn from_headers(headers: &HeaderMap) -> Result<Option<(String, String)>> {
    let Some(value) = headers.get("X-Registry-Auth").and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let bad = |why: String| Error::usage(format!("invalid X-Registry-Auth header: {why}"));
    let trimmed = value.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .map_err(|e| bad(e.to_string()))?;
    let config: AuthConfig = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    Ok((!config.username.is_empty()).then_some((config.username, config.password)))
}
