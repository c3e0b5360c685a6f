//! Leaf helpers every layer may use: new ids, and signals by name.

use crate::{Error, Result};

/// 64 hex digits from the system's random source, as Docker's ids are.
pub fn new_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(anyhow::anyhow!("the system gave no random bytes: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Whether `text` is a whole id: 64 lowercase hex digits.
pub(crate) fn is_full_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The signal that asks a process to end: a run's stop signal unless its
/// image names another.
pub const SIGTERM: i32 = 15;

/// Ctrl-C's signal.
pub const SIGINT: i32 = 2;

/// The signal that ends a process at once: what `stop` sends when the
/// grace period is over.
pub const SIGKILL: i32 = 9;

/// The signal to deliver, or None for one whose default effect is nothing.
pub fn parse_signal(text: &str) -> Result<Option<i32>> {
    let upper = text.to_ascii_uppercase();
    let name = upper.trim_start_matches("SIG");
    let number = match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ABRT" => 6,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "CHLD" | "CONT" | "URG" | "WINCH" => return Ok(None),
        "STOP" | "TSTP" | "TTIN" | "TTOU" => {
            return Err(Error::usage(format!(
                "SIG{name} would pause the container; wasm containers cannot be paused"
            )));
        }
        _ => match text.parse::<i32>() {
            Ok(n @ 1..=64) => n,
            _ => {
                return Err(Error::usage(format!(
                    "invalid signal {text}: give a name (KILL, TERM) or a number"
                )));
            }
        },
    };
    Ok(Some(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_or_number() {
        for (text, number) in
            [("KILL", Some(9)), ("sigterm", Some(15)), ("SIGINT", Some(2)), ("15", Some(15)), ("WINCH", None)]
        {
            assert_eq!(parse_signal(text).unwrap(), number, "{text}");
        }
        for bad in ["STOP", "bogus", "0", "65"] {
            assert!(parse_signal(bad).is_err(), "{bad}");
        }
    }
}
