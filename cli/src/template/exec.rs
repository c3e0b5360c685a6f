//! The evaluator: walks a template's tree over the data as Go's exec.go
//! does, with Go's builtin functions and docker/cli's.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Number, Value};

use super::parse::{Arg, Cmd, Node, Pipe};
use super::print::{fmt_v, fmt_val, go_type, json, sorted, sprint, sprintf};
use super::{Template, Val, line_col};

/// What a template is rendered for.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Mode {
    /// `render`: any value, as `docker inspect` prints it.
    Value,
    /// `render_row`: a row of a listing, whose own `json` escapes HTML.
    Row,
    /// `render_header`: a table's header row, where some functions are stand-ins.
    Header,
}

/// Executes `template` with `data` as `.` and `$`: what it wrote, also when
/// it then failed, and whether it failed.
pub(super) fn run(template: &Template, data: &Value, mode: Mode) -> (String, Result<(), String>) {
    // Go executing with nil data has no value at all for `.` and `$`.
    let root = Some(data.clone()).filter(|v| !v.is_null());
    let vars = vec![("$".to_string(), root.clone())];
    let mut exec = Exec { template, data, mode, out: String::new(), vars };
    let result = exec.walk(&template.nodes, &root).map(|_| ());
    (exec.out, result)
}

enum Flow {
    Next,
    Break,
    Continue,
}

struct Exec<'t> {
    template: &'t Template,
    /// What the template runs on: in a row, `json` of it escapes HTML.
    data: &'t Value,
    mode: Mode,
    out: String,
    vars: Vec<(String, Val)>,
}

impl Exec<'_> {
    fn error(&self, cmd: &Cmd, msg: impl fmt::Display) -> String {
        let (line, col) = line_col(&self.template.source, cmd.pos);
        format!("template: :{line}:{col}: executing \"\" at <{cmd}>: {msg}")
    }

    fn walk(&mut self, nodes: &[Node], dot: &Val) -> Result<Flow, String> {
        for node in nodes {
            let flow = match node {
                Node::Text(text) => {
                    self.out.push_str(text);
                    Flow::Next
                }
                Node::Action(pipe) => {
                    let value = self.pipe(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        match value {
                            None => self.out.push_str("<no value>"),
                            Some(v) => self.out.push_str(&fmt_v(&v)),
                        }
                    }
                    Flow::Next
                }
                Node::If { pipe, then, otherwise } => self.branch(false, pipe, then, otherwise, dot)?,
                Node::With { pipe, then, otherwise } => self.branch(true, pipe, then, otherwise, dot)?,
                Node::Range { pipe, body, otherwise } => self.range(pipe, body, otherwise, dot)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Next) {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    fn branch(
        &mut self,
        with: bool,
        pipe: &Pipe,
        then: &[Node],
        otherwise: &[Node],
        dot: &Val,
    ) -> Result<Flow, String> {
        let mark = self.vars.len();
        let value = self.pipe(pipe, dot)?;
        let flow = match (truth(&value), with) {
            (true, true) => self.walk(then, &value)?,
            (true, false) => self.walk(then, dot)?,
            (false, _) => self.walk(otherwise, dot)?,
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(&mut self, pipe: &Pipe, body: &[Node], otherwise: &[Node], dot: &Val) -> Result<Flow, String> {
        let mark = self.vars.len();
        let items: Vec<(Value, Value)> = match self.pipe(pipe, dot)? {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                items.into_iter().enumerate().map(|(i, v)| (Value::from(i), v)).collect()
            }
            // Go visits map keys in sorted order.
            Some(Value::Object(map)) => {
                sorted(&map).into_iter().map(|(k, v)| (Value::String(k.clone()), v.clone())).collect()
            }
            Some(other) => {
                let msg = format!("range can't iterate over {}", fmt_v(&other));
                return Err(self.error(&pipe.cmds[0], msg));
            }
        };
        if items.is_empty() {
            // Not inside this range: a {{break}} here belongs to an outer one.
            let flow = self.walk(otherwise, dot)?;
            self.vars.truncate(mark);
            return Ok(flow);
        }
        for (key, elem) in items {
            // One variable takes the element; two take the key or index and the element.
            match pipe.decl.as_slice() {
                [value] => self.set_var(value, Some(elem.clone())),
                [index, value] => {
                    self.set_var(index, Some(key));
                    self.set_var(value, Some(elem.clone()));
                }
                _ => {}
            }
            let inner = self.vars.len();
            let step = self.walk(body, &Some(elem))?;
            self.vars.truncate(inner);
            if matches!(step, Flow::Break) {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Next)
    }

    fn var(&self, name: &str) -> Val {
        self.vars.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.clone())
    }

    fn set_var(&mut self, name: &str, value: Val) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = value;
        }
    }

    fn pipe(&mut self, pipe: &Pipe, dot: &Val) -> Result<Val, String> {
        let mut value: Option<Val> = None;
        for cmd in &pipe.cmds {
            let result = self.command(cmd, dot, value.take())?;
            // Go digs a nil interface out of a command's result: it becomes "no value".
            value = Some(result.filter(|v| !v.is_null()));
        }
        let value = value.flatten();
        for name in &pipe.decl {
            if pipe.assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    /// Runs one command; `last` is the previous command's result in a pipeline.
    fn command(&mut self, cmd: &Cmd, dot: &Val, last: Option<Val>) -> Result<Val, String> {
        let (first, rest) = cmd.args.split_first().expect("the parser never makes an empty command");
        if let Arg::Func(name) = first
            && (name == "and" || name == "or")
        {
            return self.and_or(name, rest, last, dot, cmd);
        }
        let mut args = Vec::with_capacity(rest.len() + 1);
        for arg in rest {
            args.push(self.arg(arg, dot, cmd)?);
        }
        args.extend(last);
        match first {
            Arg::Func(name) => self.call(name, args).map_err(|msg| self.error(cmd, msg)),
            Arg::Field(names) => self.chain(dot.as_ref(), names, &args, cmd),
            Arg::Var(name, names) if !names.is_empty() => {
                self.chain(self.var(name).as_ref(), names, &args, cmd)
            }
            Arg::Sub(pipe, names) if !names.is_empty() => {
                let receiver = self.pipe(pipe, dot)?;
                self.chain(receiver.as_ref(), names, &args, cmd)
            }
            Arg::Nil => Err(self.error(cmd, "nil is not a command")),
            _ if !args.is_empty() => {
                Err(self.error(cmd, format!("can't give argument to non-function {first}")))
            }
            _ => self.arg(first, dot, cmd),
        }
    }

    /// An operand in argument position.
    fn arg(&mut self, arg: &Arg, dot: &Val, cmd: &Cmd) -> Result<Val, String> {
        Ok(match arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => Some(Value::Null),
            Arg::Bool(b) => Some(Value::Bool(*b)),
            Arg::Num(n) => Some(Value::Number(n.clone())),
            Arg::Str(s) => Some(Value::String(s.clone())),
            Arg::Func(name) if name == "and" || name == "or" => self.and_or(name, &[], None, dot, cmd)?,
            Arg::Func(name) => self.call(name, Vec::new()).map_err(|msg| self.error(cmd, msg))?,
            Arg::Field(names) => self.chain(dot.as_ref(), names, &[], cmd)?,
            Arg::Var(name, names) => self.chain(self.var(name).as_ref(), names, &[], cmd)?,
            Arg::Sub(pipe, names) => {
                let value = self.pipe(pipe, dot)?;
                self.chain(value.as_ref(), names, &[], cmd)?
            }
        })
    }

    /// Field access `.A.B` on `receiver`; `args` go to the last name, which is
    /// then a method call (only `Label` exists, as on docker/cli's list rows).
    fn chain(
        &self,
        receiver: Option<&Value>,
        names: &[String],
        args: &[Val],
        cmd: &Cmd,
    ) -> Result<Val, String> {
        let mut current = receiver;
        for (i, name) in names.iter().enumerate() {
            let map = match current {
                // Go's default for a missing key: no value, and no value has no fields either.
                None => return Ok(None),
                Some(Value::Object(map)) => map,
                Some(Value::Null) => {
                    return Err(self.error(cmd, format!("nil pointer evaluating interface {{}}.{name}")));
                }
                Some(other) => {
                    return Err(
                        self.error(cmd, format!("can't evaluate field {name} in type {}", go_type(other)))
                    );
                }
            };
            if i + 1 == names.len() && !args.is_empty() {
                // `Label` is a method of the rows that have labels
                // (containers, volumes), as docker/cli's; images have none.
                if name == "Label" && args.len() == 1 && map.contains_key("Labels") {
                    let key = want_str(&args[0]).map_err(|msg| self.error(cmd, msg))?;
                    // docker/cli heads a label's column with the key's last
                    // dotted part, `-` and `_` as spaces.
                    let text = if self.mode == Mode::Header {
                        key.rsplit('.').next().unwrap_or(key).replace(['-', '_'], " ")
                    } else {
                        label(map, key)
                    };
                    return Ok(Some(Value::String(text)));
                }
                return Err(self.error(cmd, format!("{name} is not a method but has arguments")));
            }
            current = map.get(name);
        }
        Ok(current.cloned())
    }

    /// `and` and `or` stop evaluating at the first argument that decides them,
    /// and return that argument itself.
    fn and_or(
        &mut self,
        name: &str,
        rest: &[Arg],
        last: Option<Val>,
        dot: &Val,
        cmd: &Cmd,
    ) -> Result<Val, String> {
        if rest.is_empty() && last.is_none() {
            return Err(self.error(cmd, format!("wrong number of args for {name}: want at least 1 got 0")));
        }
        let mut value = None;
        for arg in rest {
            let v = self.arg(arg, dot, cmd)?;
            if truth(&v) == (name == "or") {
                return Ok(v);
            }
            value = v;
        }
        Ok(last.unwrap_or(value))
    }

    fn call(&self, name: &str, args: Vec<Val>) -> Result<Val, String> {
        let count = |n: usize| match args.len() == n {
            true => Ok(()),
            false => Err(format!("wrong number of args for {name}: want {n} got {}", args.len())),
        };
        let at_least = |n: usize| match args.len() >= n {
            true => Ok(()),
            false => Err(format!("wrong number of args for {name}: want at least {n} got {}", args.len())),
        };
        let calling = |msg: String| format!("error calling {name}: {msg}");
        let text = |s: String| Ok(Some(Value::String(s)));
        if self.mode == Mode::Header
            && ["json", "split", "join", "title", "lower", "upper", "truncate"].contains(&name)
        {
            count(if ["json", "title", "lower", "upper"].contains(&name) { 1 } else { 2 })?;
            return text(want_str(&args[0])?.to_string());
        }
        let boolean = |b: bool| Ok(Some(Value::Bool(b)));
        match name {
            "not" => {
                count(1)?;
                boolean(!truth(&args[0]))
            }
            "len" => {
                count(1)?;
                let len = match &args[0] {
                    Some(Value::String(s)) => s.len(),
                    Some(Value::Array(a)) => a.len(),
                    Some(Value::Object(m)) => m.len(),
                    None | Some(Value::Null) => return Err(calling("len of nil pointer".into())),
                    Some(other) => return Err(calling(format!("len of type {}", go_type(other)))),
                };
                Ok(Some(Value::from(len)))
            }
            "index" => {
                at_least(1)?;
                index(&args[0], &args[1..]).map_err(calling)
            }
            "eq" => {
                at_least(2)?;
                let mut found = false;
                for other in &args[1..] {
                    found |= equal(&args[0], other).map_err(calling)?;
                }
                boolean(found)
            }
            "ne" => {
                count(2)?;
                boolean(!equal(&args[0], &args[1]).map_err(calling)?)
            }
            "lt" | "le" | "gt" | "ge" => {
                count(2)?;
                let order = compare(&args[0], &args[1]).map_err(calling)?;
                boolean(match name {
                    "lt" => order.is_lt(),
                    "le" => order.is_le(),
                    "gt" => order.is_gt(),
                    _ => order.is_ge(),
                })
            }
            "print" => text(sprint(&args)),
            "println" => text(args.iter().map(fmt_val).collect::<Vec<_>>().join(" ") + "\n"),
            "printf" => {
                at_least(1)?;
                text(sprintf(want_str(&args[0])?, &args[1..]))
            }
            "json" => {
                count(1)?;
                let value = args[0].as_ref().unwrap_or(&Value::Null);
                // The row is an object, and nothing else a template reaches
                // equals it: what lies inside it is smaller, and literals and
                // functions make no objects.
                let row_itself = self.mode == Mode::Row && value.is_object() && value == self.data;
                text(json(value, row_itself))
            }
            "split" => {
                count(2)?;
                let (s, sep) = (want_str(&args[0])?, want_str(&args[1])?);
                // strings.Split with an empty separator splits after each character.
                let parts: Vec<Value> = match sep {
                    "" => s.chars().map(|c| Value::from(c.to_string())).collect(),
                    _ => s.split(sep).map(Value::from).collect(),
                };
                Ok(Some(Value::Array(parts)))
            }
            "join" => {
                count(2)?;
                let items = match &args[0] {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|item| match item {
                            Value::String(s) => Ok(s.as_str()),
                            _ => {
                                Err("wrong type for value; expected []string; got []interface {}".to_string())
                            }
                        })
                        .collect::<Result<_, _>>()?,
                    Some(other) => {
                        return Err(format!(
                            "wrong type for value; expected []string; got {}",
                            go_type(other)
                        ));
                    }
                };
                text(items.join(want_str(&args[1])?))
            }
            "title" => {
                count(1)?;
                text(title(want_str(&args[0])?))
            }
            "lower" | "upper" => {
                count(1)?;
                // Go maps each rune on its own; a rune whose case mapping is
                // longer than one rune (like ß) stays as it is.
                let single = |mapped: Vec<char>, c: char| if mapped.len() == 1 { mapped[0] } else { c };
                let s = want_str(&args[0])?.chars();
                text(match name {
                    "lower" => s.map(|c| single(c.to_lowercase().collect(), c)).collect(),
                    _ => s.map(|c| single(c.to_uppercase().collect(), c)).collect(),
                })
            }
            "pad" => {
                count(3)?;
                let s = want_str(&args[0])?;
                let (left, right) = (want_count(&args[1])?, want_count(&args[2])?);
                match s.is_empty() {
                    true => text(String::new()),
                    false => text(format!("{}{s}{}", " ".repeat(left), " ".repeat(right))),
                }
            }
            "truncate" => {
                count(2)?;
                // docker/cli cuts bytes, not characters.
                let (s, n) = (want_str(&args[0])?, want_count(&args[1])?);
                text(String::from_utf8_lossy(&s.as_bytes()[..n.min(s.len())]).into_owned())
            }
            _ => Err(format!("function {name:?} not defined")),
        }
    }
}

/// docker/cli's `.Label "key"` on a list row. Our rows carry `Labels` either
/// as an object or as docker's `k=v,k2=v2` string.
fn label(row: &Map<String, Value>, key: &str) -> String {
    match row.get("Labels") {
        Some(Value::Object(labels)) => labels.get(key).map(fmt_v).unwrap_or_default(),
        Some(Value::String(list)) => list
            .split(',')
            .find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v.to_string()))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn want_str(value: &Val) -> Result<&str, String> {
    match value {
        Some(Value::String(s)) => Ok(s),
        None => Err("invalid value; expected string".into()),
        Some(other) => Err(format!("wrong type for value; expected string; got {}", go_type(other))),
    }
}

fn want_int(value: &Val) -> Result<i64, String> {
    let n = match value {
        Some(Value::Number(n)) => n,
        None => return Err("invalid value; expected int".into()),
        Some(other) => return Err(format!("wrong type for value; expected int; got {}", go_type(other))),
    };
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Ok(i),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(f as i64),
        _ => Err(format!("wrong type for value; expected int; got {}", go_type(&Value::Number(n.clone())))),
    }
}

/// An int argument used as a count; a negative one counts as zero.
fn want_count(value: &Val) -> Result<usize, String> {
    // A count past a million is no one's padding, and no memory's.
    want_int(value).map(|n| usize::try_from(n).unwrap_or(0).min(1_000_000))
}

/// Go's truth: false, 0, "", nil and empty collections are false.
fn truth(value: &Val) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

fn index_arg(value: &Val, len: usize) -> Result<usize, String> {
    let i = want_int(value).map_err(|_| "cannot index slice/array with non-integer".to_string())?;
    usize::try_from(i).ok().filter(|&i| i < len).ok_or_else(|| format!("index out of range: {i}"))
}

fn index(item: &Val, keys: &[Val]) -> Result<Val, String> {
    let mut current = item.clone();
    for key in keys {
        current = Some(match current {
            None | Some(Value::Null) => return Err("index of untyped nil".into()),
            Some(Value::Array(mut items)) => items.swap_remove(index_arg(key, items.len())?),
            Some(Value::String(s)) => Value::from(s.as_bytes()[index_arg(key, s.len())?]),
            // A missing key gives the map's zero value: a nil interface.
            Some(Value::Object(mut map)) => match key {
                Some(Value::String(k)) => map.remove(k).unwrap_or(Value::Null),
                Some(other) => return Err(format!("value has type {}; should be string", go_type(other))),
                None => return Err("value is invalid; should be string".into()),
            },
            Some(other) => return Err(format!("can't index item of type {}", go_type(&other))),
        });
    }
    Ok(current)
}

fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x.cmp(&y),
        (_, _, Some(x), Some(y)) => x.cmp(&y),
        _ => a.as_f64().partial_cmp(&b.as_f64()).unwrap_or(Ordering::Equal),
    }
}

/// Go's `eq`, except that any two numbers compare by value (Docker's structs
/// hold ints where JSON holds plain numbers).
fn equal(a: &Val, b: &Val) -> Result<bool, String> {
    let (a, b) = (a.as_ref().unwrap_or(&Value::Null), b.as_ref().unwrap_or(&Value::Null));
    match (a, b) {
        (Value::Array(_) | Value::Object(_), _) => {
            Err(format!("non-comparable type {}: {}", fmt_v(a), go_type(a)))
        }
        (_, Value::Array(_) | Value::Object(_)) => {
            Err(format!("non-comparable type {}: {}", fmt_v(b), go_type(b)))
        }
        (Value::Null, _) | (_, Value::Null) => Ok(a.is_null() && b.is_null()),
        (Value::Number(x), Value::Number(y)) => Ok(compare_numbers(x, y).is_eq()),
        (Value::String(x), Value::String(y)) => Ok(x == y),
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        _ => Err("incompatible types for comparison".into()),
    }
}

fn compare(a: &Val, b: &Val) -> Result<Ordering, String> {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => Ok(compare_numbers(x, y)),
        (Some(Value::String(x)), Some(Value::String(y))) => Ok(x.cmp(y)),
        (Some(Value::Number(_) | Value::String(_)), Some(Value::Number(_) | Value::String(_))) => {
            Err("incompatible types for comparison".into())
        }
        _ => Err("invalid type for comparison".into()),
    }
}

/// strings.Title: upper-case each letter that follows a separator.
fn title(s: &str) -> String {
    let separator = |c: char| match c {
        '0'..='9' | 'a'..='z' | 'A'..='Z' | '_' => false,
        c if c.is_ascii() => true,
        c => c.is_whitespace(),
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let upper: Vec<char> = c.to_uppercase().collect();
            let out = if separator(prev) && upper.len() == 1 { upper[0] } else { c };
            prev = c;
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::template::Template;
    use crate::template::tests::{container, exec_error, render};

    #[test]
    fn docker_functions_from_the_formatting_docs() {
        let c = container();
        assert_eq!(render(r#"{{join .Names " , "}}"#, c.clone()), "web , frontend");
        assert_eq!(render(r#"{{join .Args " , "}}"#, c.clone()), "-c , echo hi");
        assert_eq!(
            render("{{lower .Name}}|{{upper .Name}}|{{title .Name}}", c.clone()),
            "/web_app|/WEB_APP|/Web_App"
        );
        assert_eq!(render(r#"{{split .Image ":"}}"#, c.clone()), "[alpine latest]");
        assert_eq!(render("{{range .Mounts}}{{.Source}}{{end}}", c.clone()), "/src/logs");
        assert_eq!(render("{{range .Mounts}}{{println .Source}}{{end}}", c.clone()), "/src\n/logs\n");
        assert_eq!(render("{{.State.Running}}", c.clone()), "true");
        assert_eq!(render(r#"{{index .Config.Labels "k"}}"#, c.clone()), "v");
        assert_eq!(render("{{if .State.Running}}up{{else}}down{{end}}", c.clone()), "up");
        assert_eq!(render("{{.Config.Env}}", c.clone()), "[PATH=/usr/bin Q=a&b<c>]");
        assert_eq!(render("{{len .Mounts}}", c), "2");
        assert_eq!(
            render(r#"{{title "ünïcode wörds, and-dashes"}}"#, json!({})),
            "Ünïcode Wörds, And-Dashes"
        );
        assert_eq!(
            render("{{title .}}", json!("hello wOrld-foo_bar élan 3d")),
            "Hello WOrld-Foo_bar Élan 3d"
        );
    }

    #[test]
    fn docker_cli_template_tests() {
        assert_eq!(render(r#"{{join (split . ":") "/"}}"#, json!("text:with:colon")), "text/with/colon");
        assert_eq!(render("this is a {{ . }}", json!("string")), "this is a string");
        let source = json!("tupx5xzf6hvsrhnruz5cr8gwp");
        assert_eq!(render("{{truncate . 5}}", source.clone()), "tupx5");
        assert_eq!(render("{{truncate . 25}}", source.clone()), "tupx5xzf6hvsrhnruz5cr8gwp");
        assert_eq!(render("{{truncate . 30}}", source.clone()), "tupx5xzf6hvsrhnruz5cr8gwp");
        assert_eq!(render("{{pad . 3 3}}", source), "   tupx5xzf6hvsrhnruz5cr8gwp   ");
        for template in ["{{truncate . 5}}", "{{pad . 3 3}}"] {
            assert_eq!(render(template, json!("")), "");
        }
    }

    #[test]
    fn inspect_reference_examples() {
        let data = json!({"NetworkSettings": {
            "Ports": {"8787/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}], "80/tcp": null},
            "Networks": {"bridge": {"IPAddress": "172.17.0.2", "MacAddress": "02:42:ac:11:00:02"}},
        }});
        let port = r#"{{(index (index .NetworkSettings.Ports "8787/tcp") 0).HostPort}}"#;
        assert_eq!(render(port, data.clone()), "49153");
        let all = "{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{with $conf}}{{(index . 0).HostPort}}{{else}}none{{end}} {{end}}";
        assert_eq!(render(all, data.clone()), " 80/tcp -> none  8787/tcp -> 49153 ");
        assert_eq!(render("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", data), "172.17.0.2");
    }

    #[test]
    fn missing_and_nil_values() {
        assert_eq!(render("{{.Nope}}", container()), "<no value>");
        assert_eq!(render("{{.A.B}}", json!({})), "<no value>");
        assert_eq!(render("{{.A}}", json!({"A": null})), "<no value>");
        assert_eq!(render(r#"{{index .M "nope"}}|{{index .M "a"}}"#, json!({"M": {"a": 1}})), "<no value>|1");
        assert_eq!(
            render("{{print .X}} {{print nil}} {{printf \"%v|%d\" .M .M}}", json!({})),
            "<nil> <nil> <nil>|%!d(<nil>)"
        );
        // A field of a JSON null is Go's nil interface, not a missing key.
        let err = exec_error("{{.A.B}}", json!({"A": null}));
        assert!(err.contains("nil pointer evaluating interface {}.B"), "{err}");
        let err = exec_error("{{.X.Y.Z}}", json!({"X": {"Y": null}}));
        assert!(err.contains("nil pointer evaluating interface {}.Z"), "{err}");
    }

    #[test]
    fn logic_and_comparison() {
        let t = "{{if and .A .B}}y{{else}}n{{end}} {{and .A .B}} {{or .A .B}} {{or .C .A}} {{not .A}}";
        assert_eq!(render(t, json!({"A": 1, "B": "", "C": 0})), "n  1 1 false");
        assert_eq!(render(r#"{{and 1 0 2}} {{or 0 ""}}"#, json!({})), "0 ");
        assert_eq!(
            render(r#"{{le "a" "b"}} {{gt 2 1}} {{ge 2 2}} {{lt "b" "a"}}"#, json!({})),
            "true true true false"
        );
        assert_eq!(render(r#"{{eq "a" "a"}} {{eq 1 2}} {{eq nil nil}}"#, json!({})), "true false true");
        assert_eq!(render(r#"{{eq .S "x" "y"}} {{ne .S "y"}}"#, json!({"S": "y"})), "true false");
        let t = "{{if .E}}t{{else}}f{{end}}{{if .F}}t{{else}}f{{end}}{{if .G}}t{{else}}f{{end}}";
        assert_eq!(render(t, json!({"E": [], "F": {}, "G": [0]})), "fft");
        assert_eq!(render("{{if .A}}a{{else if .B}}b{{else}}c{{end}}", json!({"B": 1})), "b");
        assert!(exec_error(r#"{{lt 1 "a"}}"#, json!({})).contains("incompatible types for comparison"));
    }

    #[test]
    fn len_and_index() {
        assert_eq!(
            render("{{len .X}} {{len .Y}} {{len .Z}}", json!({"X": "héllo", "Y": [1, 2], "Z": {"a": 1}})),
            "6 2 1"
        );
        assert_eq!(render("{{index .A 1 0}}", json!({"A": [[1], [2, 3]]})), "2");
        assert_eq!(render("{{len .S}} {{index .S 1}}", json!({"S": "héllo"})), "6 195");
        assert_eq!(render("{{.X | len}}", json!({"X": "abc"})), "3");
        let err = exec_error("{{index .X 5}}", json!({"X": [1, 2]}));
        assert_eq!(
            err,
            r#"template: :1:2: executing "" at <index .X 5>: error calling index: index out of range: 5"#
        );
        assert!(exec_error("{{index .L -1}}", json!({"L": [1]})).contains("index out of range: -1"));
    }

    #[test]
    fn range_with_and_variables() {
        let labels = json!({"Labels": {"b": "2", "a": "1"}});
        assert_eq!(render("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", labels.clone()), "a=1;b=2;");
        assert_eq!(
            render("{{range $v := .Labels}}{{$v}}{{end}}|{{range .Labels}}{{.}}{{end}}", labels),
            "12|12"
        );
        assert_eq!(
            render("{{range $i, $e := .X}}{{$i}}:{{$e}} {{end}}", json!({"X": ["a", "b"]})),
            "0:a 1:b "
        );
        assert_eq!(render("{{range .X}}{{.}}{{else}}empty{{end}}", json!({"X": null})), "empty");
        assert_eq!(render("{{range $i, $e := .L}}{{$i}}{{$e}}{{else}}none{{end}}", json!({"L": []})), "none");
        let t =
            r#"{{range .X}}{{if eq . "b"}}{{continue}}{{end}}{{if eq . "d"}}{{break}}{{end}}{{.}}{{end}}"#;
        assert_eq!(render(t, json!({"X": ["a", "b", "c", "d", "e"]})), "ac");
        assert_eq!(
            render("{{with .X}}{{.}}{{else}}none{{end}}|{{with .Y}}{{.}}{{end}}", json!({"X": "", "Y": "y"})),
            "none|y"
        );
        assert_eq!(render("{{with $x := .A}}{{$x}}{{else}}no{{end}}", json!({"A": "a"})), "a");
        assert_eq!(
            render("{{$.A}} {{range .L}}{{$.A}}{{.}}{{end}}", json!({"A": "r", "L": ["x", "y"]})),
            "r rxry"
        );
        assert_eq!(render("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", json!({})), "2");
        assert_eq!(render("{{range .L}}{{$y := .}}{{$y}}{{end}}", json!({"L": [1, 2]})), "12");
        assert_eq!(render("{{$x := .A}}{{$x.B}} {{$.A.B}}", json!({"A": {"B": "c"}})), "c c");
        assert!(exec_error("{{range 3}}{{.}}{{end}}", json!({})).contains("range can't iterate over 3"));
    }

    #[test]
    fn pipelines_and_parentheses() {
        assert_eq!(render(r#"{{.A | printf "%s|%s" "x" | printf "[%s]"}}"#, json!({"A": "a"})), "[x|a]");
        assert_eq!(render(r#"{{"x" | printf "%s-%s" "y"}}"#, json!({})), "y-x");
        assert_eq!(render(r#"{{(1)}} {{(.A).B}} {{("x")}}"#, json!({"A": {"B": 2}})), "1 2 x");
        assert_eq!(render(r#"{{printf "%s" (print 1 2)}}"#, json!({})), "1 2");
    }

    #[test]
    fn label_method_of_list_rows() {
        let row = json!({"Labels": {"com.example.vendor": "ACME", "b": "2"}});
        assert_eq!(render(r#"{{.Label "com.example.vendor"}}"#, row.clone()), "ACME");
        assert_eq!(render(r#"{{.Label "absent"}}|{{"b" | .Label}}"#, row), "|2");
        let row = json!({"Labels": "com.docker.swarm.node=ubuntu,com.docker.swarm.storage=ssd"});
        assert_eq!(render(r#"{{(.Label "com.docker.swarm.storage")}}"#, row), "ssd");
        assert_eq!(render(r#"{{.Label "x"}}"#, json!({"Labels": ""})), "");
        // A row without labels (an image's) has no such method.
        let err = exec_error(r#"{{.Label "x"}}"#, json!({"ID": "1"}));
        assert!(err.contains("Label is not a method but has arguments"), "{err}");
        // As dockerd's CLI heads such a column (seen with `volume ls` and `ps`).
        let header = Template::parse(r#"{{.Names}}|{{.Label "com.example.my-x_y"}}"#).unwrap();
        assert_eq!(header.render_header(&json!({"Names": "NAMES", "Labels": "LABELS"})), "NAMES|my x y");
        let err = exec_error("{{.A | .B}}", json!({"A": 1, "B": {"C": 1}}));
        assert!(err.contains("B is not a method but has arguments"), "{err}");
    }

    #[test]
    fn execution_errors_say_where() {
        // docker/cli's container and image formatter tests.
        assert_eq!(
            exec_error("{{nil}}", json!({})),
            r#"template: :1:2: executing "" at <nil>: nil is not a command"#
        );
        let err = exec_error("{{not 0 1}}", json!({}));
        assert!(
            err.starts_with("template: :1:2: executing")
                && err.contains("wrong number of args for not: want 1 got 2")
        );
        let err = exec_error("{{lower .X}}", json!({"X": 1}));
        assert!(err.contains("wrong type for value; expected string; got int"), "{err}");
        let err = exec_error("{{.Name.First}}", json!({"Name": "x"}));
        assert!(err.contains("can't evaluate field First in type string"), "{err}");
    }

    /// docker/cli's TestContainerContextWrite, "raw" format without the time line.
    #[test]
    fn docker_raw_format_pads_only_non_empty_values() {
        let t = "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\nstate: {{- pad .State 1 0}}\n\
                 status: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n";
        let row = json!({"ID": "containerID1", "Image": "ubuntu", "Command": "\"\"", "State": "running",
            "Status": "", "Names": "foobar_baz", "Labels": "", "Ports": ""});
        assert_eq!(
            render(t, row),
            "container_id: containerID1\nimage: ubuntu\ncommand: \"\"\nstate: running\nstatus:\nnames: foobar_baz\nlabels:\nports:\n"
        );
    }

    /// docker/cli's TestHeaderFunctions: header stand-ins return the title as it is.
    #[test]
    fn header_functions_keep_titles() {
        for t in [
            "{{ json .}}",
            r#"{{ split . ","}}"#,
            r#"{{ join . ","}}"#,
            "{{ title .}}",
            "{{ lower .}}",
            "{{ upper .}}",
            "{{ truncate . 2}}",
        ] {
            assert_eq!(
                Template::parse(t).unwrap().render_header(&json!("hello world")),
                "hello world",
                "{t}"
            );
        }
        let t = Template::parse(r#"{{.ID}}\t{{lower .Names}}"#.replace("\\t", "\t").as_str()).unwrap();
        assert_eq!(t.render_header(&json!({"ID": "CONTAINER ID", "Names": "NAMES"})), "CONTAINER ID\tNAMES");
    }
}
