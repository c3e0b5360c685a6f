//! How values print: Go's fmt (`%v` and `printf`) and Go's encoding/json,
//! over what Go decodes JSON into.

use serde_json::{Map, Number, Value};

use super::Val;

/// fmt's %v of what Go decodes JSON into.
pub(super) fn fmt_v(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(fmt_v).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => {
            let entries: Vec<String> = sorted(map).iter().map(|(k, v)| format!("{k}:{}", fmt_v(v))).collect();
            format!("map[{}]", entries.join(" "))
        }
    }
}

pub(super) fn fmt_val(value: &Val) -> String {
    value.as_ref().map_or_else(|| "<nil>".into(), fmt_v)
}

/// The Go type a JSON value decodes to, as Go's error messages name it.
pub(super) fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// A map's entries by key: the order fmt prints them in and `range` visits them.
pub(super) fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Integers as they are; other numbers as Go's %v of a float64.
pub(super) fn go_number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => go_float(f),
        _ => n.to_string(),
    }
}

/// The shortest digits that round-trip, as (digits with a '.' after the first, exponent).
fn shortest(f: f64) -> (String, i32) {
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("e-notation has an exponent");
    (mantissa.to_string(), exp.parse().expect("exponents are integers"))
}

/// Go's %v (%g with the shortest precision): an exponent below -4 or from 6 on
/// goes into e-notation, which Go writes with a sign and at least two digits.
fn go_float(f: f64) -> String {
    let (mantissa, exp) = shortest(f);
    if f != 0.0 && !(-4..6).contains(&exp) {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        format!("{f}")
    }
}

/// fmt.Sprint: a space between operands when neither is a string.
pub(super) fn sprint(args: &[Val]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Some(Value::String(_)));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&fmt_val(arg));
        prev_string = is_string;
    }
    out
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    fn pad(&self, s: &str) -> String {
        let fill = self.width.unwrap_or(0).saturating_sub(s.chars().count());
        match (self.minus, self.zero) {
            (true, _) => format!("{s}{}", " ".repeat(fill)),
            (false, true) => format!("{}{s}", "0".repeat(fill)),
            (false, false) => format!("{}{s}", " ".repeat(fill)),
        }
    }

    /// Pads a number: the sign goes before zero padding.
    fn pad_number(&self, s: &str) -> String {
        let (sign, digits) = match s.strip_prefix('-') {
            Some(digits) => ("-", digits),
            None if self.plus => ("+", s),
            None if self.space => (" ", s),
            None => ("", s),
        };
        match (self.zero && !self.minus, self.width) {
            (true, Some(width)) => {
                let fill = width.saturating_sub(sign.len() + digits.chars().count());
                format!("{sign}{}{digits}", "0".repeat(fill))
            }
            _ => self.pad(&format!("{sign}{digits}")),
        }
    }
}

/// fmt.Sprintf for the verbs Docker formats use: %v %T %s %q %d %t %x %X %c
/// %f %e %g, flags `-+ 0`, width and precision. Others print as Go prints a verb
/// that does not fit its operand, e.g. `%!o(int=8)`.
pub(super) fn sprintf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let digits = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            let mut n = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                // Go stops at 1e6 (%!(BADWIDTH)); a width past it is one.
                n = Some((n.unwrap_or(0) * 10 + d as usize).min(1_000_000));
                chars.next();
            }
            n
        };
        spec.width = digits(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(digits(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            Some(arg) => out.push_str(&fmt_verb(&spec, verb, arg.as_ref())),
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
        next += 1;
    }
    if next < args.len() {
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| match a {
                None | Some(Value::Null) => "<nil>".to_string(),
                Some(v) => format!("{}={}", go_type(v), fmt_v(v)),
            })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn fmt_verb(spec: &Spec, verb: char, value: Option<&Value>) -> String {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return if matches!(verb, 'v' | 'T') { spec.pad("<nil>") } else { format!("%!{verb}(<nil>)") };
    };
    if verb == 'T' {
        return spec.pad(go_type(value));
    }
    let bad = || format!("%!{verb}({}={})", go_type(value), fmt_v(value));
    match value {
        // fmt applies the verb to each element of a slice or map.
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(|i| fmt_verb(spec, verb, Some(i))).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = sorted(map)
                .into_iter()
                .map(|(k, v)| {
                    let key = Value::String(k.clone());
                    format!("{}:{}", fmt_verb(spec, verb, Some(&key)), fmt_verb(spec, verb, Some(v)))
                })
                .collect();
            format!("map[{}]", parts.join(" "))
        }
        Value::Bool(b) if matches!(verb, 'v' | 't') => spec.pad(&b.to_string()),
        Value::String(s) => {
            let s: String = match spec.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            };
            match verb {
                'v' | 's' => spec.pad(&s),
                'q' => spec.pad(&go_quote(&s, '"')),
                'x' => spec.pad(&s.bytes().map(|b| format!("{b:02x}")).collect::<String>()),
                'X' => spec.pad(&s.bytes().map(|b| format!("{b:02X}")).collect::<String>()),
                _ => bad(),
            }
        }
        Value::Number(n) if !n.is_f64() => {
            let i = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)).unwrap_or_default();
            let (sign, m) = (if i < 0 { "-" } else { "" }, i.unsigned_abs());
            let rune = || u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}').to_string();
            match verb {
                'v' | 'd' => spec.pad_number(&i.to_string()),
                'x' => spec.pad_number(&format!("{sign}{m:x}")),
                'X' => spec.pad_number(&format!("{sign}{m:X}")),
                'c' => spec.pad(&rune()),
                'q' => spec.pad(&go_quote(&rune(), '\'')),
                _ => bad(),
            }
        }
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or_default();
            let precision = spec.precision.unwrap_or(6);
            match verb {
                'v' | 'g' => spec.pad_number(&go_float(f)),
                'f' => spec.pad_number(&format!("{f:.precision$}")),
                'e' => {
                    let sci = format!("{f:.precision$e}");
                    let (m, e) = sci.split_once('e').expect("e-notation has an exponent");
                    let e: i32 = e.parse().expect("exponents are integers");
                    spec.pad_number(&format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()))
                }
                _ => bad(),
            }
        }
        _ => bad(),
    }
}

/// strconv.Quote (or QuoteRune with `'`).
pub(super) fn go_quote(s: &str, quote: char) -> String {
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => out.push_str(&format!("\\{c}")),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Go's encoding/json, compact, with object keys in the map's order. Docker's
/// `json` function does not escape HTML (docker/cli calls
/// SetEscapeHTML(false)); `json.Marshal`, which docker/cli's list rows
/// implement `MarshalJSON` with, writes `<`, `>` and `&` as `\u003c`, `\u003e`
/// and `\u0026` (`escape_html`).
pub(super) fn json(value: &Value, escape_html: bool) -> String {
    let mut out = String::new();
    encode(value, escape_html, &mut out);
    out
}

fn encode(value: &Value, escape_html: bool, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            // Go writes floats below 1e-6 or from 1e21 on in e-notation, otherwise plainly.
            Some(f) if n.is_f64() && f != 0.0 && (f.abs() < 1e-6 || f.abs() >= 1e21) => {
                let (mantissa, exp) = shortest(f);
                out.push_str(&format!("{mantissa}e{}{}", if exp < 0 { '-' } else { '+' }, exp.abs()));
            }
            Some(f) if n.is_f64() => out.push_str(&f.to_string()),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    // U+2028 and U+2029 break JavaScript, so Go always escapes them.
                    c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                        out.push_str(&format!("\\u{:04x}", c as u32));
                    }
                    '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode(item, escape_html, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode(&Value::String(key.clone()), escape_html, out);
                out.push(':');
                encode(item, escape_html, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::template::tests::{container, render};

    #[test]
    fn json_is_go_encoding_without_html_escaping() {
        // docker/cli's TestParseJSONFunctions (GitHub #32120): no \u003e.
        assert_eq!(render("{{json .Ports}}", json!({"Ports": "0.0.0.0:2->8/udp"})), r#""0.0.0.0:2->8/udp""#);
        assert_eq!(render("{{json .Config.Env}}", container()), r#"["PATH=/usr/bin","Q=a&b<c>"]"#);
        let data = json!({"b": "<&>\t\n", "a": [1, 2.5, 1e21, 1e-7, null], "c": "\u{2028}\u{1}"});
        assert_eq!(
            render("{{json .}}", data),
            r#"{"a":[1,2.5,1e+21,1e-7,null],"b":"<&>\t\n","c":"\u2028\u0001"}"#
        );
        let mounts = json!({"Mounts": [{"Source": "/src", "Destination": "/data"}]});
        assert_eq!(render("{{json .Mounts}}", mounts), r#"[{"Destination":"/data","Source":"/src"}]"#);
        assert_eq!(render("{{json .X}}|{{json .N}}", json!({"N": null})), "null|null");
        // What json.Marshal writes for docker/cli's list rows.
        let html = json!({"<k>": ["a&b", "<none>"]});
        assert_eq!(super::json(&html, true), r#"{"\u003ck\u003e":["a\u0026b","\u003cnone\u003e"]}"#);
        assert_eq!(super::json(&html, false), r#"{"<k>":["a&b","<none>"]}"#);
    }

    #[test]
    fn values_print_like_go_fmt() {
        let data = json!({"X": [1, "a", null, {"b": 2, "a": [true]}]});
        assert_eq!(render("{{.X}}", data), "[1 a <nil> map[a:[true] b:2]]");
        let numbers =
            "{{1e6}} {{1.5}} {{1.0}} {{100000.0}} {{0.00001}} {{0.0001}} {{1e21}} {{-2}} {{0x1F}} {{'a'}}";
        assert_eq!(render(numbers, json!({})), "1e+06 1.5 1 100000 1e-05 0.0001 1e+21 -2 31 97");
        let floats = "{{1.5e300}} {{123456.7}} {{1234567.8}} {{0.000012345}}";
        assert_eq!(render(floats, json!({})), "1.5e+300 123456.7 1.2345678e+06 1.2345e-05");
        assert_eq!(render("{{.}}", json!("plain")), "plain");
        assert_eq!(render(r#"{{"a\tb\x41\u00e9\101"}} {{`raw\n`}}"#, json!({})), "a\tbAéA raw\\n");
    }

    #[test]
    fn print_println_printf() {
        assert_eq!(render(r#"{{print 1 2 "a" "b" 3 .Y}}"#, json!({"Y": 1.5})), "1 2ab3 1.5");
        assert_eq!(render(r#"{{print .S 1 .S}}|{{print 1.5 true}}"#, json!({"S": "s"})), "s1s|1.5 true");
        assert_eq!(render(r#"{{println 1 "a" 2}}"#, json!({})), "1 a 2\n");
        let t = r#"{{printf "%-10s|%5d|%v|%q|%t|%s" "ab" 42 .A "q\"x" true 3}}"#;
        assert_eq!(
            render(t, json!({"A": {"k": "v"}})),
            r#"ab        |   42|map[k:v]|"q\"x"|true|%!s(int=3)"#
        );
        assert_eq!(render(r#"{{printf "%d %s" "x"}}"#, json!({})), "%!d(string=x) %!s(MISSING)");
        assert_eq!(render(r#"{{printf "%d" 1 2}}"#, json!({})), "1%!(EXTRA int=2)");
        let t = r#"{{printf "%5.1f|%e|%x|%X|%c|%08.3f|%+d|%6v|%-6v|" 3.14159 1234.5 255 "hi" 65 3.14159 5 "ab" 1}}"#;
        assert_eq!(render(t, json!({})), "  3.1|1.234500e+03|ff|6869|A|0003.142|+5|    ab|1     |");
        let t = r#"{{printf "%s|%10.3s|%-4d|%x" "héllo" "abcdef" 7 -255}}"#;
        assert_eq!(render(t, json!({})), "héllo|       abc|7   |-ff");
        let t = r#"{{printf "%05d|%-5d|%x|% d|%6.2f|%s" -42 3 "é" 7 2.0 true}}"#;
        assert_eq!(render(t, json!({})), "-0042|3    |c3a9| 7|  2.00|%!s(bool=true)");
        assert_eq!(render(r#"{{printf "%q %v" 65 'x'}}"#, json!({})), "'A' 120");
        assert_eq!(render(r#"{{printf "%v %s" .A .A}}"#, json!({"A": ["x", "y"]})), "[x y] [x y]");
    }
}
