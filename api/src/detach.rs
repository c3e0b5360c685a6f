//! Docker's detach keys: a sequence a client types on an attachment's stdin
//! (`ctrl-p,ctrl-q` unless the client names others) that ends the
//! attachment and leaves the container running. The bytes of the sequence
//! do not reach the container; bytes that only began it do, once it is
//! clear they are not it.

use wbox_runtime::{Error, Result};

/// Docker's default: ctrl-p, ctrl-q.
const DEFAULT: [u8; 2] = [0x10, 0x11];

pub struct DetachKeys {
    keys: Vec<u8>,
    /// How many of `keys` the input has ended with so far.
    matched: usize,
}

impl DetachKeys {
    /// `detachKeys` as Docker takes it: comma-separated keys, each a
    /// character or `ctrl-X`; none gives the default.
    pub fn parse(text: Option<&str>) -> Result<DetachKeys> {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return Ok(DetachKeys { keys: DEFAULT.to_vec(), matched: 0 });
        };
        let invalid = || Error::usage(format!("Invalid detach keys ({text}) provided"));
        let keys = text
            .split(',')
            .map(|key| match key.strip_prefix("ctrl-") {
                Some(name) => match name.as_bytes() {
                    [c @ b'a'..=b'z'] => Ok(c - b'a' + 1),
                    [b'@'] => Ok(0),
                    [c @ (b'[' | b'\\' | b']' | b'^' | b'_')] => Ok(c - b'@'),
                    _ => Err(invalid()),
                },
                None if key.len() == 1 => Ok(key.as_bytes()[0]),
                None => Err(invalid()),
            })
            .collect::<Result<Vec<u8>>>()?;
        Ok(DetachKeys { keys, matched: 0 })
    }

    /// Passes `input` on into `out`, holding back what may begin the
    /// sequence; true once the whole sequence came (what followed it is
    /// dropped, as the attachment ends).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        for &byte in input {
            if byte != self.keys[self.matched] {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if byte != self.keys[0] {
                    out.push(byte);
                    continue;
                }
            }
            self.matched += 1;
            if self.matched == self.keys.len() {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(keys: Option<&str>, chunks: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut detach = DetachKeys::parse(keys).unwrap();
        let mut out = Vec::new();
        for chunk in chunks {
            if detach.feed(chunk, &mut out) {
                return (out, true);
            }
        }
        (out, false)
    }

    #[test]
    fn the_default_sequence_ends_the_attachment_even_across_reads() {
        assert_eq!(fed(None, &[b"ls\n\x10", b"\x11more"]), (b"ls\n".to_vec(), true));
        assert_eq!(fed(None, &[b"a\x10b\x10\x10\x11"]), (b"a\x10b\x10".to_vec(), true));
        assert_eq!(fed(None, &[b"plain \x11 text"]), (b"plain \x11 text".to_vec(), false));
    }

    #[test]
    fn keys_parse_as_dockers() {
        assert_eq!(fed(Some("ctrl-a,x"), &[b"\x01y\x01x"]), (b"\x01y".to_vec(), true));
        assert_eq!(fed(Some("ctrl-["), &[b"ab\x1b"]), (b"ab".to_vec(), true));
        assert!(DetachKeys::parse(Some("ctrl-1")).is_err());
        assert!(DetachKeys::parse(Some("ab")).is_err());
    }
}
