//! A request's query string, as Docker's API reads it.

use wbox_runtime::{Error, Result};

/// The pairs in their order: a key may come more than once (`t=a&t=b`).
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: Option<&str>) -> Query {
        Query(form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect())
    }

    /// The first value of `key`, as Go's `FormValue` reads it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// Docker's booleans: `1`, `true` or `True` (anything else but empty,
    /// `0` and `false` counts as true, as Go's `BoolValue` reads it).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false" | "no"))
    }

    pub fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => {
                v.parse().map(Some).map_err(|_| Error::usage(format!("invalid value for {key}: {v:?}")))
            }
        }
    }

    /// `filters={"key":["value",…]}` (or the old `{"key":{"value":true}}`),
    /// as the `KEY=VALUE` words the runtime's filters take.
    pub fn filters(&self) -> Result<Vec<String>> {
        let Some(text) = self.get("filters").filter(|t| !t.is_empty()) else { return Ok(Vec::new()) };
        let bad = |e: String| Error::usage(format!("invalid filter: {e}"));
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut words = Vec::new();
        for (key, values) in map {
            let values: Vec<String> = match values {
                serde_json::Value::Array(list) => {
                    list.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
                }
                serde_json::Value::Object(set) => {
                    set.into_iter().filter(|(_, on)| on.as_bool() == Some(true)).map(|(v, _)| v).collect()
                }
                other => return Err(bad(format!("{key} has {other}, not a list of values"))),
            };
            words.extend(values.into_iter().map(|v| format!("{key}={v}")));
        }
        Ok(words)
    }
}
