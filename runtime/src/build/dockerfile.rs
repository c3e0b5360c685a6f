//! Reading a Dockerfile: directives (`# syntax`, `# escape`), comments, line
//! continuations, `ARG` before the first `FROM`, stages, each instruction's
//! flags and arguments in exec (JSON) or shell form, and `$VAR` /
//! `${VAR:-default}` / `${VAR:+alt}` substitution. No maintained crate does
//! all of this (`dockerfile-parser` has no substitution and no escape
//! directive), so this is a small one.

use crate::{Error, Result};

/// A whole Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// `ARG`s before the first `FROM`: usable in `FROM` lines.
    pub global_args: Vec<(String, Option<String>)>,
    pub stages: Vec<Stage>,
}

/// `FROM image [AS name]` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub line: usize,
    /// The image, before substitution.
    pub base: String,
    pub name: Option<String>,
    pub platform: Option<String>,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Where it starts in the file, from 1.
    pub line: usize,
    /// As written, continuations joined: what the image's history shows.
    pub text: String,
    pub kind: Kind,
}

/// A command as written: `["prog", "arg"]` or `prog arg` for the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Exec(Vec<String>),
    Shell(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Run(Command),
    /// `COPY`, or `ADD` (`add`), with its flags.
    Copy {
        add: bool,
        from: Option<String>,
        chown: Option<String>,
        chmod: Option<String>,
        checksum: Option<String>,
        sources: Vec<String>,
        dest: String,
    },
    Env(Vec<(String, String)>),
    Arg(String, Option<String>),
    Workdir(String),
    Entrypoint(Command),
    Cmd(Command),
    Label(Vec<(String, String)>),
    Expose(Vec<String>),
    User(String),
    Volume(Vec<String>),
    Shell(Vec<String>),
    StopSignal(String),
    /// Recorded as written.
    Healthcheck(String),
}

/// Parses a Dockerfile's text. Errors name the line.
pub fn parse(text: &str) -> Result<Dockerfile> {
    let escape = escape_directive(text)?;
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for (line, keyword, rest) in logical_lines(text, escape)? {
        let at = |why: String| Error::usage(format!("Dockerfile line {line}: {why}"));
        let upper = keyword.to_ascii_uppercase();
        if upper == "FROM" {
            let (flags, words) = flags(&rest, &["platform"]).map_err(at)?;
            let (base, name) = match words.as_slice() {
                [base] => (base.clone(), None),
                [base, as_, name] if as_.eq_ignore_ascii_case("as") => {
                    (base.clone(), Some(name.to_ascii_lowercase()))
                }
                _ => return Err(at("FROM takes an image, optionally followed by AS name".into())),
            };
            stages.push(Stage {
                line,
                base,
                name,
                platform: flag(&flags, "platform"),
                instructions: Vec::new(),
            });
            continue;
        }
        let kind = instruction(&upper, &rest, escape).map_err(at)?;
        let text = format!("{upper} {rest}");
        match stages.last_mut() {
            Some(stage) => stage.instructions.push(Instruction { line, text, kind }),
            None => match kind {
                Kind::Arg(name, default) => global_args.push((name, default)),
                _ => return Err(at(format!("{upper} before the first FROM; only ARG may come before it"))),
            },
        }
    }
    if stages.is_empty() {
        return Err(Error::usage("the Dockerfile has no FROM: start it with e.g. FROM scratch"));
    }
    Ok(Dockerfile { global_args, stages })
}

fn instruction(keyword: &str, rest: &str, escape: char) -> std::result::Result<Kind, String> {
    let words = || split_words(rest, escape);
    Ok(match keyword {
        "RUN" => {
            let (flags, _) = flags(rest, &["network", "mount", "security"])?;
            if !flags.is_empty() {
                return Err(format!("RUN --{} is not supported", flags[0].0));
            }
            Kind::Run(command(rest)?)
        }
        "CMD" => Kind::Cmd(command(rest)?),
        "ENTRYPOINT" => Kind::Entrypoint(command(rest)?),
        "COPY" | "ADD" => {
            let add = keyword == "ADD";
            let allowed: &[&str] =
                if add { &["chown", "chmod", "checksum"] } else { &["from", "chown", "chmod"] };
            let (flags, mut paths) = flags(rest, allowed)?;
            let rest_after_flags = rest.trim_start();
            if rest_after_flags.starts_with("<<") || paths.iter().any(|p| p.starts_with("<<")) {
                return Err(
                    "heredocs (<<EOF) are not supported; put the content in a file of the context".into()
                );
            }
            if let Some(json) = json_array(strip_flags(rest))? {
                paths = json;
            }
            if paths.len() < 2 {
                return Err(format!("{keyword} needs at least one source and a destination"));
            }
            let dest = paths.pop().expect("two or more");
            Kind::Copy {
                add,
                from: flag(&flags, "from"),
                chown: flag(&flags, "chown"),
                chmod: flag(&flags, "chmod"),
                checksum: flag(&flags, "checksum"),
                sources: paths,
                dest,
            }
        }
        "ENV" => Kind::Env(pairs(rest, escape, true)?),
        "LABEL" => Kind::Label(pairs(rest, escape, false)?),
        "MAINTAINER" => Kind::Label(vec![("maintainer".into(), rest.trim().to_owned())]),
        "ARG" => match words()?.as_slice() {
            [one] => match one.split_once('=') {
                Some((name, default)) => Kind::Arg(name.to_owned(), Some(default.to_owned())),
                None => Kind::Arg(one.clone(), None),
            },
            _ => return Err("ARG takes one NAME or NAME=default".into()),
        },
        "WORKDIR" => Kind::Workdir(single(rest, "WORKDIR takes one directory")?),
        "USER" => Kind::User(single(rest, "USER takes one user[:group]")?),
        "STOPSIGNAL" => Kind::StopSignal(single(rest, "STOPSIGNAL takes one signal")?),
        "EXPOSE" => Kind::Expose(words()?),
        "VOLUME" => Kind::Volume(match json_array(rest)? {
            Some(list) => list,
            None => words()?,
        }),
        "SHELL" => match json_array(rest)? {
            Some(list) if !list.is_empty() => Kind::Shell(list),
            _ => return Err("SHELL takes a JSON array, e.g. SHELL [\"/bin/sh\", \"-c\"]".into()),
        },
        "HEALTHCHECK" => Kind::Healthcheck(rest.trim().to_owned()),
        "ONBUILD" => return Err("ONBUILD is not supported".into()),
        other => return Err(format!("unknown instruction {other}")),
    })
}

/// `["a", "b"]` is the exec form; anything else is for the shell.
fn command(rest: &str) -> std::result::Result<Command, String> {
    let rest = rest.trim();
    if rest.starts_with("<<") {
        return Err("heredocs (<<EOF) are not supported; put the script in a file of the context".into());
    }
    if rest.is_empty() {
        return Err("a command is missing".into());
    }
    Ok(match json_array(rest)? {
        Some(words) => Command::Exec(words),
        None => Command::Shell(rest.to_owned()),
    })
}

/// A JSON array of strings, if the text is one. Like Docker, text that
/// starts with `[` but is not valid JSON is the shell form.
fn json_array(text: &str) -> std::result::Result<Option<Vec<String>>, String> {
    let text = text.trim();
    if !text.starts_with('[') {
        return Ok(None);
    }
    Ok(serde_json::from_str::<Vec<String>>(text).ok())
}

fn single(rest: &str, usage: &str) -> std::result::Result<String, String> {
    let value = rest.trim();
    if value.is_empty() { Err(usage.to_owned()) } else { Ok(value.to_owned()) }
}

/// `--name=value` pairs, in the order written.
type Flags = Vec<(String, String)>;

/// Leading `--name=value` flags, checked against the allowed names, and the
/// words after them.
fn flags(rest: &str, allowed: &[&str]) -> std::result::Result<(Flags, Vec<String>), String> {
    let mut found = Vec::new();
    let mut words = rest.split_whitespace().peekable();
    while let Some(word) = words.peek() {
        let Some(flag) = word.strip_prefix("--") else { break };
        let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
        if !allowed.contains(&name) {
            return Err(format!("unknown flag --{name}"));
        }
        found.push((name.to_owned(), value.to_owned()));
        words.next();
    }
    Ok((found, words.map(str::to_owned).collect()))
}

fn strip_flags(rest: &str) -> &str {
    let mut rest = rest.trim_start();
    while rest.starts_with("--") {
        rest = rest.split_once(char::is_whitespace).map_or("", |(_, after)| after.trim_start());
    }
    rest
}

fn flag(flags: &[(String, String)], name: &str) -> Option<String> {
    flags.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

/// `KEY=VALUE …` pairs (quotes allowed), or the old `ENV KEY value with
/// spaces` form when `legacy` allows it.
fn pairs(rest: &str, escape: char, legacy: bool) -> std::result::Result<Vec<(String, String)>, String> {
    let words = split_words(rest, escape)?;
    if legacy && words.first().is_some_and(|w| !w.contains('=')) {
        let (key, value) = rest.trim().split_once(char::is_whitespace).ok_or("ENV needs a value")?;
        return Ok(vec![(key.to_owned(), value.trim().to_owned())]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("'{w}' is not KEY=VALUE")),
        })
        .collect()
}

/// Splits on unquoted whitespace, removing quotes and escapes.
fn split_words(text: &str, escape: char) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            (c, None) if c == escape => {
                word.extend(chars.next());
                in_word = true;
            }
            ('"' | '\'', None) => {
                quote = Some(c);
                in_word = true;
            }
            (c, Some(q)) if c == q => quote = None,
            (c, Some('"')) if c == escape => word.extend(chars.next()),
            (c, None) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (c, _) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".into());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The `# escape=` directive (`\` by default); directives are only at the top.
fn escape_directive(text: &str) -> Result<char> {
    for line in text.lines() {
        let Some(comment) = line.trim().strip_prefix('#') else { break };
        let Some((key, value)) = comment.split_once('=') else { break };
        match key.trim().to_ascii_lowercase().as_str() {
            "escape" => match value.trim() {
                "\\" => return Ok('\\'),
                "`" => return Ok('`'),
                other => return Err(Error::usage(format!("# escape={other}: the escape is \\ or `"))),
            },
            // `# syntax=` names a BuildKit frontend; wbox is its own.
            "syntax" | "check" => continue,
            _ => break,
        }
    }
    Ok('\\')
}

/// The instructions: continuation lines joined, comments and blank lines
/// dropped, each with its first line, keyword and the rest.
fn logical_lines(text: &str, escape: char) -> Result<Vec<(usize, String, String)>> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let trimmed = raw.trim_start();
        // Comments and empty lines vanish, even inside a continuation.
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_some()) {
            continue;
        }
        let (content, continues) = match raw.trim_end().strip_suffix(escape) {
            Some(head) => (head, true),
            None => (raw, false),
        };
        let (start, mut joined) = current.take().unwrap_or((number, String::new()));
        joined.push_str(content);
        if continues {
            current = Some((start, joined));
            continue;
        }
        let joined = joined.trim();
        if joined.is_empty() {
            continue;
        }
        let (keyword, rest) = joined.split_once(char::is_whitespace).unwrap_or((joined, ""));
        out.push((start, keyword.to_owned(), rest.trim().to_owned()));
    }
    if let Some((start, _)) = current {
        return Err(Error::usage(format!("Dockerfile line {start}: the file ends inside a continued line")));
    }
    Ok(out)
}

/// Substitutes `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` from
/// `lookup`, as Docker does in FROM, COPY, ENV, LABEL, WORKDIR and the
/// other instructions that are not commands. An escaped `$` stays.
pub fn expand(word: &str, escape: char, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c == escape && chars.peek() == Some(&'$') {
            out.push('$');
            chars.next();
            continue;
        }
        if c != '$' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            let mut inner = String::new();
            loop {
                match chars.next() {
                    Some('}') => break,
                    Some(c) => inner.push(c),
                    None => return Err(Error::usage(format!("'{word}': ${{ without a closing }}"))),
                }
            }
            let (name, modifier) = match inner.find(":-").or_else(|| inner.find(":+")) {
                Some(at) => (&inner[..at], Some((&inner[at..at + 2], &inner[at + 2..]))),
                None => (inner.as_str(), None),
            };
            if !is_name(name) {
                return Err(Error::usage(format!("'{word}': bad substitution ${{{inner}}}")));
            }
            let value = lookup(name).filter(|v| !v.is_empty());
            out.push_str(&match (modifier, value) {
                (None, value) => value.unwrap_or_default(),
                (Some((":-", default)), None) => expand(default, escape, lookup)?,
                (Some((":-", _)), Some(value)) => value,
                (Some((_, alternative)), Some(_)) => expand(alternative, escape, lookup)?,
                (Some(_), None) => String::new(),
            });
        } else {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    name.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(&lookup(&name).unwrap_or_default());
            }
        }
    }
    Ok(out)
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        parse(text).unwrap().stages.remove(0).instructions.into_iter().map(|i| i.kind).collect()
    }

    #[test]
    fn the_python_example_parses() {
        let file = parse(
            "# syntax=docker/dockerfile:1\n\
             ARG PY=3.11\n\
             FROM python:${PY}-slim AS build\n\
             WORKDIR /src\n\
             COPY requirements.txt app.py ./\n\
             RUN pip install componentize-py && \\\n    # a comment inside\n    componentize-py -w wasi:http/proxy componentize app -o app.wasm\n\
             \n\
             FROM scratch\n\
             LABEL org.opencontainers.image.title=\"hello\"\n\
             COPY --from=build /src/app.wasm /app/app.wasm\n\
             ENV GREETING=hello\n\
             EXPOSE 8080\n\
             ENTRYPOINT [\"/app/app.wasm\"]\n",
        )
        .unwrap();
        assert_eq!(file.global_args, vec![("PY".to_owned(), Some("3.11".to_owned()))]);
        assert_eq!(file.stages.len(), 2);
        let build = &file.stages[0];
        assert_eq!(
            (build.base.as_str(), build.name.as_deref(), build.line),
            ("python:${PY}-slim", Some("build"), 3)
        );
        assert_eq!(build.instructions[2].line, 6);
        assert_eq!(
            build.instructions[2].kind,
            Kind::Run(Command::Shell(
                "pip install componentize-py &&     componentize-py -w wasi:http/proxy componentize app -o app.wasm"
                    .into()
            ))
        );
        let last = &file.stages[1].instructions;
        assert_eq!(
            last[0].kind,
            Kind::Label(vec![("org.opencontainers.image.title".into(), "hello".into())])
        );
        assert!(matches!(&last[1].kind, Kind::Copy { from: Some(f), sources, dest, .. }
            if f == "build" && sources == &["/src/app.wasm"] && dest == "/app/app.wasm"));
        assert_eq!(last[4].kind, Kind::Entrypoint(Command::Exec(vec!["/app/app.wasm".into()])));
        assert_eq!(last[4].line, 15);
    }

    #[test]
    fn forms_and_pairs() {
        assert_eq!(
            kinds(
                "FROM scratch\nCMD echo hi\nCMD [\"a\", \"b c\"]\nCMD [not json\nENV A=1 B=\"two words\" C=x\\ y\nENV OLD some value\n"
            ),
            vec![
                Kind::Cmd(Command::Shell("echo hi".into())),
                Kind::Cmd(Command::Exec(vec!["a".into(), "b c".into()])),
                Kind::Cmd(Command::Shell("[not json".into())),
                Kind::Env(vec![
                    ("A".into(), "1".into()),
                    ("B".into(), "two words".into()),
                    ("C".into(), "x y".into())
                ]),
                Kind::Env(vec![("OLD".into(), "some value".into())]),
            ]
        );
        assert_eq!(
            kinds("FROM scratch\nMAINTAINER Ada\n"),
            vec![Kind::Label(vec![("maintainer".into(), "Ada".into())])]
        );
        assert_eq!(
            kinds("# escape=`\nFROM scratch\nRUN a `\n  b\nCOPY [\"x y\", \"/d/\"]\n"),
            vec![
                Kind::Run(Command::Shell("a   b".into())),
                Kind::Copy {
                    add: false,
                    from: None,
                    chown: None,
                    chmod: None,
                    checksum: None,
                    sources: vec!["x y".into()],
                    dest: "/d/".into()
                },
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line, what) in [
            ("FROM scratch\nFETCH x\n", 2, "unknown instruction FETCH"),
            ("ENV A=1\nFROM scratch\n", 1, "before the first FROM"),
            ("FROM scratch\n\nRUN <<EOF\necho\nEOF\n", 3, "heredocs"),
            ("FROM scratch\nCOPY --frm=x a b\n", 2, "unknown flag --frm"),
            ("FROM scratch\nCOPY onlyone\n", 2, "a destination"),
            ("FROM scratch\nENV A=\"open\n", 2, "not closed"),
            ("FROM scratch\nRUN a \\\n", 2, "ends inside"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(&format!("line {line}")) && err.contains(what), "{text:?}: {err}");
        }
        assert!(parse("# just a comment\n").unwrap_err().to_string().contains("no FROM"));
    }

    #[test]
    fn substitution() {
        let vars = |name: &str| match name {
            "A" => Some("one".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        for (word, want) in [
            ("$A", "one"),
            ("${A}-x", "one-x"),
            ("${B:-dflt}", "dflt"),
            ("${EMPTY:-dflt}", "dflt"),
            ("${A:-dflt}", "one"),
            ("${A:+alt}", "alt"),
            ("${B:+alt}", ""),
            ("\\$A", "$A"),
            ("cost: $", "cost: $"),
            ("$B/x", "/x"),
            ("${B:-$A}", "one"),
        ] {
            assert_eq!(expand(word, '\\', &vars).unwrap(), want, "{word}");
        }
        assert!(expand("${A", '\\', &vars).is_err());
        assert!(expand("${A B}", '\\', &vars).is_err());
    }
}
