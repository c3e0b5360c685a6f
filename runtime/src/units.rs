//! Sizes and durations as Docker users write them: `64m`, `1g`, `500ms`, `1m30s`.

use std::time::Duration;

use crate::{Error, Result};

/// Parses a byte size: a number with an optional unit `b`, `k`, `m`, `g`
/// (powers of 1024, as in `docker run --memory`), optionally followed by `b`.
pub fn parse_size(text: &str) -> Result<u64> {
    let bad = || {
        Error::usage(format!(
            "invalid size '{text}': use a number with an optional unit b, k, m or g, e.g. 64m or 1g"
        ))
    };
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return Err(bad()),
    };
    let bytes = number.checked_mul(multiplier).ok_or_else(bad)?;
    if bytes == 0 {
        return Err(Error::usage(format!("invalid size '{text}': it must be more than zero")));
    }
    Ok(bytes)
}

/// Bytes in binary units, for messages about sizes wbox itself enforces
/// (disk space, layer limits): `512 B`, `10 MiB`, `1.5 GiB`.
pub fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Parses a size as Docker's `--log-opt max-size` does (go-units'
/// `FromHumanSize`): a number, perhaps with a fraction, and an optional unit
/// `k`, `m`, `g`, `t` in powers of 1000, e.g. `10m`, `1.5g`, `500kb`.
/// Decimal on purpose: a daemon.json written for Docker means the same here.
pub fn parse_decimal_size(text: &str) -> Result<u64> {
    let bad = || {
        Error::usage(format!(
            "invalid size '{text}': use a number with an optional unit k, m or g (powers of 1000), e.g. 10m"
        ))
    };
    let lower = text.trim().to_ascii_lowercase();
    let number_end = lower.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(lower.len());
    let (number, unit) = lower.split_at(number_end);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(bad());
    }
    let number: f64 = number.parse().map_err(|_| bad())?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    let unit = unit.strip_suffix('b').unwrap_or(unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let multiplier = match unit {
        "" => 1e0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        _ => return Err(bad()),
    };
    let bytes = number * multiplier;
    if bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    if bytes < 1.0 {
        return Err(Error::usage(format!("invalid size '{text}': it must be more than zero")));
    }
    Ok(bytes as u64)
}

/// Parses a duration the way Go (and so Docker) writes them: one or more
/// `<number><unit>` parts with units `ms`, `s`, `m`, `h`, e.g. `5s`, `1m30s`.
/// A bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || {
        Error::usage(format!(
            "invalid duration '{text}': use a number with a unit ms, s, m or h, e.g. 500ms, 30s or 1m30s"
        ))
    };
    let text = text.trim();
    let total = if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let seconds: f64 = text.parse().map_err(|_| bad())?;
        Duration::try_from_secs_f64(seconds).map_err(|_| bad())?
    } else {
        sum_of_parts(text).ok_or_else(bad)?
    };
    if total.is_zero() {
        return Err(Error::usage(format!("invalid duration '{text}': it must be more than zero")));
    }
    Ok(total)
}

/// A point in time as Docker's `--since` and `--until` take it: an RFC 3339
/// time (`2026-12-07T08:00:00Z`), Unix seconds (`1700000000.5`), or a
/// duration before `now` (`10m`, `1h30m`).
pub fn parse_time(text: &str, now: chrono::DateTime<chrono::Utc>) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.to_utc());
    }
    if let Ok(seconds) = text.parse::<f64>()
        && let Some(time) = chrono::DateTime::from_timestamp_micros((seconds * 1e6) as i64)
    {
        return Ok(time);
    }
    let ago = sum_of_parts(text).and_then(|d| chrono::Duration::from_std(d).ok());
    ago.and_then(|ago| now.checked_sub_signed(ago)).ok_or_else(|| {
        Error::usage(format!(
            "invalid time '{text}': give an RFC 3339 time (2026-12-07T08:00:00Z), Unix seconds, or a duration such as 10m"
        ))
    })
}

/// Adds up `<number><unit>` parts; `None` if any part is malformed.
fn sum_of_parts(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(number_end);
        let unit_end = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let value: f64 = number.parse().ok()?;
        let seconds = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => return None,
        };
        total = total.checked_add(Duration::try_from_secs_f64(seconds).ok()?)?;
        rest = tail;
    }
    Some(total)
}

/// "3 minutes ago", as Docker says it.
pub fn since(when: chrono::DateTime<chrono::Utc>) -> String {
    format!("{} ago", duration(when))
}

/// "5 seconds", "About a minute", "3 hours": how long since `since`, in
/// Docker's words ("Up 5 seconds").
pub fn duration(since: chrono::DateTime<chrono::Utc>) -> String {
    let seconds = (chrono::Utc::now() - since).num_seconds().max(0);
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    match seconds {
        0 => "Less than a second".into(),
        1..60 => plural(seconds, "second"),
        60..120 => "About a minute".into(),
        120..3600 => plural(minutes, "minute"),
        3600..7200 => "About an hour".into(),
        7200..172800 => plural(hours, "hour"),
        172800..1209600 => plural(hours / 24, "day"),
        1209600..5184000 => plural(hours / 24 / 7, "week"),
        5184000..63072000 => plural(hours / 24 / 30, "month"),
        _ => plural(hours / 24 / 365, "year"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_as_docker_takes_them() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T08:00:00Z").unwrap().to_utc();
        let at = |t: &str| parse_time(t, now).unwrap().to_rfc3339();
        assert_eq!(at("2026-12-07T07:00:00Z"), "2026-12-07T07:00:00+00:00");
        assert_eq!(at("2026-12-07T09:00:00+01:00"), "2026-12-07T08:00:00+00:00");
        assert_eq!(at("1700000000"), "2023-11-14T22:13:20+00:00");
        assert_eq!(at("10m"), "2026-12-07T07:50:00+00:00");
        assert_eq!(at("1h30m"), "2026-12-07T06:30:00+00:00");
        assert!(parse_time("yesterday", now).is_err());
        assert!(parse_time("100000000000h", now).is_err(), "before any time there is");
    }

    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(binary_size(512), "512 B");
        assert_eq!(binary_size(10 << 20), "10 MiB");
        assert_eq!(binary_size(3 << 29), "1.5 GiB");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("512kb").unwrap(), 512 << 10);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        for bad in ["", "m", "64x", "-1m", "0", "1.5g", "99999999999999999999g"] {
            assert!(parse_size(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn decimal_sizes_as_docker_log_opts() {
        assert_eq!(parse_decimal_size("10m").unwrap(), 10_000_000);
        assert_eq!(parse_decimal_size("1.5k").unwrap(), 1500);
        assert_eq!(parse_decimal_size("1g").unwrap(), 1_000_000_000);
        assert_eq!(parse_decimal_size("500KB").unwrap(), 500_000);
        assert_eq!(parse_decimal_size("2 mb").unwrap(), 2_000_000);
        assert_eq!(parse_decimal_size("100").unwrap(), 100);
        for bad in ["", "abc", "m", "-1", "0", "0k", "1.m", ".5m", "1x", "1e3", "99999999999t"] {
            assert!(parse_decimal_size(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        for bad in ["", "s", "5x", "5 s", "-1s", "1m30", "0", "0s", "1e3", "inf", "NaN", ".", "1..5s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }
}
