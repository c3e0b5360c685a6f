//! The parser: the tree of a template, built from the lexer's tokens. It
//! rejects at parse time what Go rejects then: unknown functions, undefined
//! variables, unbalanced blocks, `{{break}}` outside `{{range}}`.

use std::fmt;

use serde_json::Number;

use super::Located;
use super::lex::{Tok, lex};
use super::print::{go_number, go_quote};

/// Lexes and parses `src` into the nodes of a template.
pub(super) fn tree(src: &str) -> Result<Vec<Node>, Located> {
    let tokens = lex(src)?;
    Parser { tokens, next: 0, vars: vec!["$".to_string()], ranges: 0 }.template()
}

pub(super) enum Node {
    Text(String),
    Action(Pipe),
    If { pipe: Pipe, then: Vec<Node>, otherwise: Vec<Node> },
    With { pipe: Pipe, then: Vec<Node>, otherwise: Vec<Node> },
    Range { pipe: Pipe, body: Vec<Node>, otherwise: Vec<Node> },
    Break,
    Continue,
}

/// `$x := cmd | cmd`: each command's result is the last argument of the next.
pub(super) struct Pipe {
    pub(super) decl: Vec<String>,
    pub(super) assign: bool,
    pub(super) cmds: Vec<Cmd>,
}

pub(super) struct Cmd {
    pub(super) pos: usize,
    pub(super) args: Vec<Arg>,
}

pub(super) enum Arg {
    Dot,
    Nil,
    Bool(bool),
    Num(Number),
    Str(String),
    Func(String),
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B`
    Var(String, Vec<String>),
    /// `(pipeline).A.B`
    Sub(Box<Pipe>, Vec<String>),
}

const FUNCTIONS: [&str; 22] = [
    "and", "or", "not", "len", "index", "eq", "ne", "lt", "le", "gt", "ge", "print", "printf", "println",
    "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
];

const KEYWORDS: [&str; 10] =
    ["if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"];

/// How a list of nodes ended, and where.
enum Stop {
    Eof(usize),
    End(usize),
    Else(usize),
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    next: usize,
    /// Variables in scope: Go rejects an undefined one at parse time.
    vars: Vec<String>,
    /// Enclosing `{{range}}`s, which `{{break}}` and `{{continue}}` need.
    ranges: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.next].0
    }

    fn bump(&mut self) -> (Tok, usize) {
        let token = self.tokens[self.next].clone();
        if token.0 != Tok::Eof {
            self.next += 1;
        }
        token
    }

    fn skip_space(&mut self) {
        while *self.peek() == Tok::Space {
            self.next += 1;
        }
    }

    fn fail<T>(&self, msg: impl Into<String>) -> Result<T, Located> {
        Err((self.tokens[self.next].1, msg.into()))
    }

    fn unexpected<T>(&self, context: &str) -> Result<T, Located> {
        self.fail(format!("unexpected {} in {context}", describe(self.peek())))
    }

    fn template(&mut self) -> Result<Vec<Node>, Located> {
        match self.list()? {
            (nodes, Stop::Eof(_)) => Ok(nodes),
            (_, Stop::End(pos)) => Err((pos, "unexpected {{end}}".into())),
            (_, Stop::Else(pos)) => Err((pos, "unexpected {{else}}".into())),
        }
    }

    fn list(&mut self) -> Result<(Vec<Node>, Stop), Located> {
        let mut nodes = Vec::new();
        loop {
            let (tok, pos) = self.bump();
            match tok {
                Tok::Text(text) => nodes.push(Node::Text(text)),
                Tok::Eof => return Ok((nodes, Stop::Eof(pos))),
                Tok::Open => {
                    self.skip_space();
                    let keyword = match self.peek() {
                        Tok::Ident(word) => word.clone(),
                        _ => String::new(),
                    };
                    match keyword.as_str() {
                        "end" => {
                            self.bump();
                            self.close("end")?;
                            return Ok((nodes, Stop::End(pos)));
                        }
                        "else" => {
                            self.bump();
                            return Ok((nodes, Stop::Else(pos)));
                        }
                        "if" | "with" | "range" => {
                            self.bump();
                            nodes.push(self.control(&keyword)?);
                        }
                        "break" | "continue" => {
                            if self.ranges == 0 {
                                return self.fail(format!("{{{{{keyword}}}}} outside {{{{range}}}}"));
                            }
                            self.bump();
                            self.close(&keyword)?;
                            nodes.push(if keyword == "break" { Node::Break } else { Node::Continue });
                        }
                        "define" | "template" | "block" => {
                            return self.fail(format!("{{{{{keyword}}}}} is not supported"));
                        }
                        _ => nodes.push(Node::Action(self.pipeline("command", &Tok::Close)?)),
                    }
                }
                _ => return Err((pos, format!("unexpected {}", describe(&tok)))),
            }
        }
    }

    fn close(&mut self, context: &str) -> Result<(), Located> {
        self.skip_space();
        if *self.peek() != Tok::Close {
            return self.unexpected(context);
        }
        self.bump();
        Ok(())
    }

    /// `if`, `with` or `range`, its keyword already read. Variables it
    /// declares go out of scope at its `{{end}}`.
    fn control(&mut self, keyword: &str) -> Result<Node, Located> {
        let mark = self.vars.len();
        let pipe = self.pipeline(keyword, &Tok::Close)?;
        let in_range = usize::from(keyword == "range");
        self.ranges += in_range;
        let (then, stop) = self.list()?;
        self.ranges -= in_range;
        let otherwise = match stop {
            Stop::Eof(pos) => return Err((pos, "unexpected EOF".into())),
            Stop::End(_) => Vec::new(),
            Stop::Else(_) => {
                self.skip_space();
                if keyword != "range" && *self.peek() == Tok::Ident(keyword.to_string()) {
                    // `{{else if ...}}` opens a nested block that shares our {{end}}.
                    self.bump();
                    vec![self.control(keyword)?]
                } else {
                    self.close("else")?;
                    match self.list()? {
                        (nodes, Stop::End(_)) => nodes,
                        (_, Stop::Else(pos)) => return Err((pos, "expected end; found {{else}}".into())),
                        (_, Stop::Eof(pos)) => return Err((pos, "unexpected EOF".into())),
                    }
                }
            }
        };
        self.vars.truncate(mark);
        Ok(match keyword {
            "if" => Node::If { pipe, then, otherwise },
            "with" => Node::With { pipe, then, otherwise },
            _ => Node::Range { pipe, body: then, otherwise },
        })
    }

    fn pipeline(&mut self, context: &str, end: &Tok) -> Result<Pipe, Located> {
        self.skip_space();
        let (mut decl, mut assign) = (Vec::new(), false);
        if let Tok::Var(first) = self.peek().clone() {
            let save = self.next;
            self.bump();
            self.skip_space();
            match self.peek() {
                Tok::Declare | Tok::Assign => decl.push(first),
                Tok::Comma if context == "range" => {
                    self.bump();
                    self.skip_space();
                    let Tok::Var(second) = self.peek().clone() else {
                        return self.fail("range can only initialize variables");
                    };
                    self.bump();
                    self.skip_space();
                    match self.peek() {
                        Tok::Declare | Tok::Assign => {}
                        Tok::Comma => return self.fail("too many declarations in range"),
                        _ => return self.unexpected("range"),
                    }
                    decl = vec![first, second];
                }
                Tok::Comma => return self.fail(format!("too many declarations in {context}")),
                _ => self.next = save,
            }
            if !decl.is_empty() {
                assign = *self.peek() == Tok::Assign;
                self.bump();
                self.skip_space();
            }
        }
        if assign && let Some(name) = decl.iter().find(|name| !self.vars.contains(name)) {
            return self.fail(format!("undefined variable {name:?}"));
        }
        if self.peek() == end {
            return self.fail(format!("missing value for {context}"));
        }
        let mut cmds = Vec::new();
        loop {
            cmds.push(self.command()?);
            match self.peek() {
                Tok::Pipe => {
                    self.bump();
                }
                tok if tok == end => break,
                _ => return self.unexpected(context),
            }
        }
        self.bump();
        // A literal cannot take the previous command's result as its argument.
        for (stage, cmd) in cmds.iter().enumerate().skip(1) {
            if matches!(cmd.args[0], Arg::Dot | Arg::Nil | Arg::Bool(_) | Arg::Num(_) | Arg::Str(_)) {
                return Err((cmd.pos, format!("non executable command in pipeline stage {}", stage + 1)));
            }
        }
        if !assign {
            self.vars.extend(decl.iter().cloned());
        }
        Ok(Pipe { decl, assign, cmds })
    }

    /// Operands separated by spaces, up to `|`, `)` or `}}`.
    fn command(&mut self) -> Result<Cmd, Located> {
        self.skip_space();
        match self.peek() {
            Tok::Close | Tok::RParen => return self.fail("missing command"),
            Tok::Pipe => return self.unexpected("command"),
            _ => {}
        }
        let pos = self.tokens[self.next].1;
        let mut args = Vec::new();
        loop {
            args.push(self.operand()?);
            let spaced = *self.peek() == Tok::Space;
            self.skip_space();
            match self.peek() {
                Tok::Pipe | Tok::Close | Tok::RParen => return Ok(Cmd { pos, args }),
                _ if spaced => {}
                _ => return self.unexpected("operand"),
            }
        }
    }

    fn operand(&mut self) -> Result<Arg, Located> {
        let (tok, pos) = self.bump();
        let mut arg = match tok {
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Bool(b) => Arg::Bool(b),
            Tok::Num(n) => Arg::Num(n),
            Tok::Str(s) => Arg::Str(s),
            Tok::Field(name) => Arg::Field(vec![name]),
            Tok::Var(name) if self.vars.contains(&name) => Arg::Var(name, Vec::new()),
            Tok::Var(name) => return Err((pos, format!("undefined variable {name:?}"))),
            Tok::Ident(name) if KEYWORDS.contains(&name.as_str()) => {
                return Err((pos, format!("unexpected <{name}> in command")));
            }
            Tok::Ident(name) if FUNCTIONS.contains(&name.as_str()) => Arg::Func(name),
            Tok::Ident(name) => return Err((pos, format!("function {name:?} not defined"))),
            Tok::LParen => {
                Arg::Sub(Box::new(self.pipeline("parenthesized pipeline", &Tok::RParen)?), Vec::new())
            }
            tok => return Err((pos, format!("unexpected {} in command", describe(&tok)))),
        };
        // Fields written right after a term chain onto it: `.A.B`, `$x.A`, `(pipeline).A`.
        while let Tok::Field(name) = self.peek().clone() {
            match &mut arg {
                Arg::Field(names) | Arg::Var(_, names) | Arg::Sub(_, names) => names.push(name),
                other => return self.fail(format!("unexpected . after term {:?}", other.to_string())),
            }
            self.bump();
        }
        Ok(arg)
    }
}

/// A token as Go's parse errors quote it.
fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Text(text) => format!("{text:?}"),
        Tok::Open => "\"{{\"".into(),
        Tok::Close => "\"}}\"".into(),
        Tok::Space => "space".into(),
        Tok::Dot => "\".\"".into(),
        Tok::Field(name) => format!("\".{name}\""),
        Tok::Var(name) | Tok::Ident(name) => format!("<{name}>"),
        Tok::Str(s) => go_quote(s, '"'),
        Tok::Num(n) => format!("{:?}", go_number(n)),
        Tok::Bool(b) => format!("<{b}>"),
        Tok::Nil => "<nil>".into(),
        Tok::Char(c) => format!("{:?}", c.to_string()),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Eof => "EOF".into(),
    }
}

// Displaying nodes gives the `at <...>` context of execution errors.
impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let chain =
            |f: &mut fmt::Formatter, names: &[String]| names.iter().try_for_each(|n| write!(f, ".{n}"));
        match self {
            Arg::Dot => f.write_str("."),
            Arg::Nil => f.write_str("nil"),
            Arg::Bool(b) => write!(f, "{b}"),
            Arg::Num(n) => f.write_str(&go_number(n)),
            Arg::Str(s) => f.write_str(&go_quote(s, '"')),
            Arg::Func(name) => f.write_str(name),
            Arg::Field(names) => chain(f, names),
            Arg::Var(name, names) => {
                f.write_str(name)?;
                chain(f, names)
            }
            Arg::Sub(pipe, names) => {
                write!(f, "({pipe})")?;
                chain(f, names)
            }
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let args: Vec<String> = self.args.iter().map(Arg::to_string).collect();
        f.write_str(&args.join(" "))
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if !self.decl.is_empty() {
            write!(f, "{} {} ", self.decl.join(", "), if self.assign { "=" } else { ":=" })?;
        }
        let cmds: Vec<String> = self.cmds.iter().map(Cmd::to_string).collect();
        f.write_str(&cmds.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use crate::template::tests::parse_error;

    #[test]
    fn errors_read_like_go() {
        assert_eq!(parse_error("{{ } }}"), r#"template: :1: unexpected "}" in command"#);
        assert_eq!(parse_error("{{if .X}}"), "template: :1: unexpected EOF");
        assert_eq!(parse_error("{{end}}"), "template: :1: unexpected {{end}}");
        assert_eq!(parse_error("a\n{{end}}"), "template: :2: unexpected {{end}}");
        assert_eq!(parse_error("{{.A}}{{else}}"), "template: :1: unexpected {{else}}");
        assert_eq!(
            parse_error("{{InvalidFunction}}"),
            r#"template: :1: function "InvalidFunction" not defined"#
        );
        assert_eq!(parse_error("{{$x}}"), r#"template: :1: undefined variable "$x""#);
        assert_eq!(
            parse_error("{{with $x := .A}}{{$x}}{{end}}{{$x}}"),
            r#"template: :1: undefined variable "$x""#
        );
        assert_eq!(parse_error("{{1 | 2}}"), "template: :1: non executable command in pipeline stage 2");
        assert_eq!(parse_error("{{if}}{{end}}"), "template: :1: missing value for if");
        assert_eq!(parse_error("{{$x, $y := .A}}"), "template: :1: too many declarations in command");
        assert_eq!(parse_error("{{true.X}}"), r#"template: :1: unexpected . after term "true""#);
        assert_eq!(parse_error("{{ | .A }}"), r#"template: :1: unexpected "|" in command"#);
    }
}
