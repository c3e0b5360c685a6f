//! The lexer: template text and the tokens inside `{{ }}` actions, with Go's
//! trim markers, comments, quoting and number syntax.

use serde_json::Number;

use super::Located;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Text(String),
    Open,
    Close,
    Space,
    Dot,
    Field(String),
    Var(String),
    Ident(String),
    Str(String),
    Num(Number),
    Bool(bool),
    Nil,
    /// Any other printable character: the parser reports it as unexpected.
    Char(char),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
    Eof,
}

const SPACE: [char; 4] = [' ', '\t', '\r', '\n'];

fn is_space(c: char) -> bool {
    SPACE.contains(&c)
}

fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `{{- ` trims the text before the action; the space is what tells it from `{{-3}}`.
fn left_trim_marker(s: &str) -> bool {
    s.starts_with('-') && s[1..].starts_with(is_space)
}

fn right_trim_marker(s: &str) -> bool {
    s.starts_with(is_space) && s[1..].starts_with("-}}")
}

pub(super) fn lex(src: &str) -> Result<Vec<(Tok, usize)>, Located> {
    let mut tokens = Vec::new();
    let (mut pos, mut trim_start) = (0, false);
    loop {
        let open = src[pos..].find("{{").map(|i| pos + i);
        let mut text = &src[pos..open.unwrap_or(src.len())];
        if trim_start {
            text = text.trim_start_matches(SPACE);
        }
        let Some(open) = open else {
            if !text.is_empty() {
                tokens.push((Tok::Text(text.to_string()), pos));
            }
            tokens.push((Tok::Eof, src.len()));
            return Ok(tokens);
        };
        let mut inside = open + 2;
        if left_trim_marker(&src[inside..]) {
            text = text.trim_end_matches(SPACE);
            inside += 2;
        }
        if !text.is_empty() {
            tokens.push((Tok::Text(text.to_string()), pos));
        }
        (pos, trim_start) = if src[inside..].starts_with("/*") {
            comment(src, inside)?
        } else {
            tokens.push((Tok::Open, open));
            action(src, inside, &mut tokens)?
        };
    }
}

/// Skips `/* ... */`, which must be all the action holds; returns where the
/// text after it starts and whether that text is trimmed.
fn comment(src: &str, start: usize) -> Result<(usize, bool), Located> {
    let Some(len) = src[start + 2..].find("*/") else {
        return Err((start, "unclosed comment".into()));
    };
    let end = start + 2 + len + 2;
    if src[end..].starts_with("}}") {
        Ok((end + 2, false))
    } else if right_trim_marker(&src[end..]) {
        Ok((end + 4, true))
    } else {
        Err((start, "comment ends before closing delimiter".into()))
    }
}

fn action(src: &str, start: usize, tokens: &mut Vec<(Tok, usize)>) -> Result<(usize, bool), Located> {
    let mut i = start;
    let mut parens = 0;
    loop {
        let rest = &src[i..];
        let closes = rest.starts_with("}}") || right_trim_marker(rest);
        if closes && parens > 0 {
            return Err((i, "unclosed left paren".into()));
        }
        if rest.starts_with("}}") {
            tokens.push((Tok::Close, i));
            return Ok((i + 2, false));
        }
        if closes {
            tokens.push((Tok::Close, i + 1));
            return Ok((i + 4, true));
        }
        let Some(c) = rest.chars().next() else {
            return Err((i, "unclosed action".into()));
        };
        let next = rest[c.len_utf8()..].chars().next().unwrap_or(' ');
        let (tok, len) = match c {
            c if is_space(c) => {
                let mut len = rest.find(|c| !is_space(c)).unwrap_or(rest.len());
                // Leave the last space to a ` -}}` trim marker.
                if rest[len..].starts_with("-}}") {
                    len -= 1;
                }
                (Tok::Space, len)
            }
            '|' => (Tok::Pipe, 1),
            ',' => (Tok::Comma, 1),
            '=' => (Tok::Assign, 1),
            ':' if next == '=' => (Tok::Declare, 2),
            ':' => return Err((i, "expected :=".into())),
            '(' => {
                parens += 1;
                (Tok::LParen, 1)
            }
            ')' if parens == 0 => return Err((i, "unexpected right paren".into())),
            ')' => {
                parens -= 1;
                (Tok::RParen, 1)
            }
            '"' | '`' | '\'' => quoted(rest, c).map_err(|msg| (i, msg))?,
            '.' if next.is_ascii_digit() => number(rest).map_err(|msg| (i, msg))?,
            '+' | '-' | '0'..='9' => number(rest).map_err(|msg| (i, msg))?,
            '.' | '$' => {
                let len = 1 + rest[1..].find(|c| !is_word(c)).unwrap_or(rest.len() - 1);
                let tok = match (c, len) {
                    ('.', 1) => Tok::Dot,
                    ('.', _) => Tok::Field(rest[1..len].to_string()),
                    _ => Tok::Var(rest[..len].to_string()),
                };
                (tok, len)
            }
            c if is_word(c) => {
                let len = rest.find(|c| !is_word(c)).unwrap_or(rest.len());
                let tok = match &rest[..len] {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    word => Tok::Ident(word.to_string()),
                };
                (tok, len)
            }
            c => (Tok::Char(c), c.len_utf8()),
        };
        // A name must end where another token can begin, as in Go's lexer.
        if matches!(tok, Tok::Field(_) | Tok::Var(_) | Tok::Ident(_) | Tok::Bool(_) | Tok::Nil) {
            let after = &rest[len..];
            let ends = after.is_empty()
                || after.starts_with("}}")
                || after.starts_with(|c: char| is_space(c) || ".,|:()".contains(c));
            if !ends {
                let c = after.chars().next().unwrap_or(' ');
                return Err((i + len, format!("bad character U+{:04X} '{c}'", c as u32)));
            }
        }
        tokens.push((tok, i));
        i += len;
    }
}

/// Lexes a "string", a `raw string` or a 'c'haracter constant at the start of `rest`.
fn quoted(rest: &str, quote: char) -> Result<(Tok, usize), String> {
    let mut escaped = false;
    for (i, c) in rest.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote != '`' => escaped = true,
            '\n' if quote != '`' => break,
            c if c == quote => {
                let body = &rest[1..i];
                let tok = match quote {
                    '`' => Tok::Str(body.replace('\r', "")),
                    '"' => Tok::Str(unquote(body, quote)?),
                    _ => {
                        let s = unquote(body, quote)?;
                        let mut chars = s.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) => Tok::Num(Number::from(c as u32)),
                            _ => return Err("malformed character constant".into()),
                        }
                    }
                };
                return Ok((tok, i + 1));
            }
            _ => {}
        }
    }
    Err(match quote {
        '"' => "unterminated quoted string",
        '`' => "unterminated raw quoted string",
        _ => "unterminated character constant",
    }
    .into())
}

/// Go's escapes: \a \b \f \n \r \t \v \\ \" \' \xHH \ooo \uXXXX \UXXXXXXXX.
/// \x and octal escapes are bytes, so the result is assembled as bytes.
fn unquote(body: &str, quote: char) -> Result<String, String> {
    let invalid = || "invalid syntax".to_string();
    let mut out = Vec::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            continue;
        }
        let e = chars.next().ok_or_else(invalid)?;
        let mut take = |n: usize, radix: u32| -> Result<u32, String> {
            let digits: String = chars.by_ref().take(n).collect();
            if digits.len() != n {
                return Err(invalid());
            }
            u32::from_str_radix(&digits, radix).map_err(|_| invalid())
        };
        let simple = match e {
            'a' => Some(7),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            c if c == quote => Some(c as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
        } else if e == 'x' {
            out.push(take(2, 16)? as u8);
        } else if ('0'..='7').contains(&e) {
            let rest = take(2, 8)?;
            let value = (e as u32 - '0' as u32) * 64 + rest;
            out.push(u8::try_from(value).map_err(|_| invalid())?);
        } else {
            let n = match e {
                'u' => 4,
                'U' => 8,
                _ => return Err(invalid()),
            };
            let c = char::from_u32(take(n, 16)?).ok_or_else(invalid)?;
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Lexes a Go number literal: sign, 0x/0o/0b or legacy-octal integers,
/// decimals with exponents, `_` separators.
fn number(rest: &str) -> Result<(Tok, usize), String> {
    let b = rest.as_bytes();
    let mut i = usize::from(b[0] == b'+' || b[0] == b'-');
    let digits_start = i;
    let radix = match (b.get(i), b.get(i + 1).map(|c| c.to_ascii_lowercase())) {
        (Some(b'0'), Some(b'x')) => 16,
        (Some(b'0'), Some(b'o')) => 8,
        (Some(b'0'), Some(b'b')) => 2,
        _ => 10,
    };
    if radix != 10 {
        i += 2;
    }
    let run = |i: &mut usize, ok: &dyn Fn(u8) -> bool| {
        while *i < b.len() && (ok(b[*i]) || b[*i] == b'_') {
            *i += 1;
        }
    };
    run(&mut i, &|c| if radix == 16 { c.is_ascii_hexdigit() } else { c.is_ascii_digit() });
    let mut float = false;
    if radix == 10 {
        if b.get(i) == Some(&b'.') {
            float = true;
            i += 1;
            run(&mut i, &|c| c.is_ascii_digit());
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            float = true;
            i += 1 + usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
            run(&mut i, &|c| c.is_ascii_digit());
        }
    }
    let text = &rest[..i];
    if b.get(i).is_some_and(|&c| c.is_ascii_alphanumeric()) {
        return Err(format!("bad number syntax: {:?}", &rest[..=i]));
    }
    let bad = || format!("illegal number syntax: {text:?}");
    let clean = text.replace('_', "");
    let negative = clean.starts_with('-');
    let unsigned = clean[digits_start..].to_string();
    let number = if float {
        clean.parse::<f64>().ok().and_then(Number::from_f64).ok_or_else(bad)?
    } else {
        let (radix, digits) = match (radix, unsigned.len() > 1 && unsigned.starts_with('0')) {
            (10, true) => (8, &unsigned[1..]),
            (10, false) => (10, &unsigned[..]),
            (r, _) => (r, &unsigned[2..]),
        };
        let magnitude = u64::from_str_radix(digits, radix).map_err(|_| bad())?;
        match (negative, i64::try_from(magnitude)) {
            (false, _) => Number::from(magnitude),
            (true, Ok(m)) => Number::from(-m),
            (true, Err(_)) => return Err(bad()),
        }
    };
    Ok((Tok::Num(number), i))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::template::tests::{parse_error, render};

    #[test]
    fn trim_markers_and_comments() {
        assert_eq!(render("{{ .A -}}  x  {{- .B }}", json!({"A": "a", "B": "b"})), "axb");
        assert_eq!(render("a {{/* comment */}} b {{- /* c2 */ -}} c", json!({})), "a  bc");
        assert_eq!(render("x  {{- /* c */}}  y {{/* c */ -}}   z", json!({})), "x  y z");
        assert_eq!(render("a\n  {{- .A }}\nb", json!({"A": 1})), "a1\nb");
        assert_eq!(render("{{-3}} {{- 3}}", json!({})), "-33");
        assert_eq!(render(r#"{{ .A }} {{.A}} {{.A | len}}{{ "}}" }}"#, json!({"A": "x"})), "x x 1}}");
    }

    #[test]
    fn errors_read_like_go() {
        assert_eq!(parse_error("{{.X}"), "template: :1: bad character U+007D '}'");
        assert_eq!(parse_error(r#"{{.X"a"}}"#), "template: :1: bad character U+0022 '\"'");
        assert_eq!(parse_error(r#"{{"unterminated}}"#), "template: :1: unterminated quoted string");
        assert_eq!(parse_error("{{/*c*/ }}"), "template: :1: comment ends before closing delimiter");
        assert!(parse_error("{{.A").contains("unclosed action"));
    }
}
