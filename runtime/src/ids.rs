//! Leaf helpers every layer may use: new ids, and signals by name.

use std::io::Read;

use crate::{Error, Result};

/// 64 hex digits from the kernel's random source, as Docker's ids are.
pub(crate) fn new_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot read /dev/urandom: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The signal that asks a process to end: a run's stop signal unless its
/// image names another.
pub const SIGTERM: i32 = 15;

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
