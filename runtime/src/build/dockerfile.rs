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
    /// The escape character (`# escape=`), a backslash unless told.
    pub escape: char,
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
    pub op: Op,
}

/// A command as written: `["prog", "arg"]` or `prog arg` for the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Exec(Vec<String>),
    Shell(String),
}

/// What an instruction does, with its arguments as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Run {
        command: Command,
        /// `--mount=…`, in the order written.
        mounts: Vec<Mount>,
        /// `--network=default|none|host`.
        network: Option<String>,
        /// A heredoc script that starts with `#!`: BuildKit runs it as a
        /// file of that name under `/dev/pipes/`, not through the shell.
        script: Option<Heredoc>,
    },
    /// `COPY`, or `ADD` (`add`), with its flags.
    Copy {
        add: bool,
        from: Option<String>,
        chown: Option<String>,
        chmod: Option<String>,
        checksum: Option<String>,
        sources: Vec<String>,
        /// Files written inline (`COPY <<EOF /dest`), each named by its
        /// delimiter.
        inline: Vec<Heredoc>,
        dest: String,
    },
    Env(Vec<(String, String)>),
    /// Names, each with its default as written.
    Arg(Vec<(String, Option<String>)>),
    Workdir(String),
    Entrypoint(Command),
    Cmd(Command),
    Label(Vec<(String, String)>),
    /// The image's author (deprecated by Docker, still honoured).
    Maintainer(String),
    Expose(Vec<String>),
    User(String),
    Volume(Vec<String>),
    Shell(Vec<String>),
    StopSignal(String),
    Healthcheck(Healthcheck),
    /// An instruction for the builds that use this image as their base.
    OnBuild(String),
}

/// `HEALTHCHECK [OPTIONS] CMD …`, or `HEALTHCHECK NONE` (`command` none).
/// Durations in nanoseconds, as the image config keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    pub command: Option<Command>,
    pub interval: Option<u64>,
    pub timeout: Option<u64>,
    pub start_period: Option<u64>,
    pub start_interval: Option<u64>,
    pub retries: Option<u64>,
}

/// A here-document (`<<EOF` … `EOF`): BuildKit's syntax for inline
/// scripts and files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, quotes removed.
    pub name: String,
    /// The lines between, each ending in a newline (leading tabs removed
    /// for `<<-`).
    pub body: String,
    /// Unquoted delimiter: `$VAR` in the body is substituted (COPY only;
    /// for RUN the shell does it).
    pub expand: bool,
}

/// `RUN --mount=type=…` (BuildKit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// A directory kept across builds, shared by every build that names
    /// the same id (the target by default).
    Cache { id: String, target: String, read_only: bool, mode: u32, uid: u32, gid: u32 },
    /// A file given with `wbox build --secret id=…`, at
    /// `/run/secrets/ID` unless told otherwise; never in a layer.
    Secret { id: String, target: String, required: bool, mode: u32, uid: u32, gid: u32 },
    /// Files of the context, or of a stage or image (`from`), read-only
    /// unless `rw` (then written to a copy, thrown away after the step).
    Bind { source: String, target: String, from: Option<String>, read_write: bool },
    /// An empty tmpfs.
    Tmpfs { target: String },
}

/// Parses a Dockerfile's text. Errors name the line.
pub fn parse(text: &str) -> Result<Dockerfile> {
    let escape = escape_directive(text)?;
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for Logical { line, keyword, rest, heredocs } in logical_lines(text, escape)? {
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
        let kind = instruction(&upper, &rest, escape, heredocs.clone()).map_err(at)?;
        let mut text = format!("{upper} {rest}");
        for heredoc in &heredocs {
            text.push_str(&format!("\n{}{}", heredoc.body, heredoc.name));
        }
        match stages.last_mut() {
            Some(stage) => stage.instructions.push(Instruction { line, text, op: kind }),
            None => match kind {
                Op::Arg(args) => global_args.extend(args),
                _ => return Err(at(format!("{upper} before the first FROM; only ARG may come before it"))),
            },
        }
    }
    if stages.is_empty() {
        return Err(Error::usage("the Dockerfile has no FROM: start it with e.g. FROM scratch"));
    }
    Ok(Dockerfile { escape, global_args, stages })
}

fn instruction(
    keyword: &str,
    rest: &str,
    escape: char,
    heredocs: Vec<Heredoc>,
) -> std::result::Result<Op, String> {
    let words = || split_words(rest, escape);
    if !heredocs.is_empty() && !matches!(keyword, "RUN" | "COPY" | "ADD") {
        return Err(format!("{keyword} takes no heredoc; only RUN, COPY and ADD do"));
    }
    Ok(match keyword {
        "RUN" => {
            let (flags, _) = flags(rest, &["network", "mount", "security"])?;
            if let Some((_, value)) = flags.iter().find(|(name, _)| name == "security") {
                return Err(format!(
                    "RUN --security={value} is not supported: a build step gets no extra privileges"
                ));
            }
            let network = flag(&flags, "network");
            if let Some(other) = network.as_deref().filter(|n| !matches!(*n, "default" | "none" | "host")) {
                return Err(format!("RUN --network={other}: give default, none or host"));
            }
            let mounts = flags
                .iter()
                .filter(|(name, _)| name == "mount")
                .map(|(_, value)| mount(value))
                .collect::<std::result::Result<_, _>>()?;
            let line = strip_flags(rest);
            let (command, script) = match heredocs.as_slice() {
                [] => (command(line)?, None),
                // `RUN <<EOF` alone: the body is the command, or a script
                // of its own when it starts with `#!`.
                [only] if is_heredoc_marker(line.trim()) => {
                    if only.body.starts_with("#!") {
                        (Command::Exec(vec![format!("/dev/pipes/{}", only.name)]), Some(only.clone()))
                    } else {
                        (Command::Shell(only.body.clone()), None)
                    }
                }
                // Anything else goes to the shell whole, heredocs and all.
                several => {
                    let mut full = line.trim().to_owned();
                    for heredoc in several {
                        full.push_str(&format!("\n{}{}", heredoc.body, heredoc.name));
                    }
                    (Command::Shell(full), None)
                }
            };
            Op::Run { command, mounts, network, script }
        }
        "CMD" => Op::Cmd(command(rest)?),
        "ENTRYPOINT" => Op::Entrypoint(command(rest)?),
        "COPY" | "ADD" => {
            let add = keyword == "ADD";
            let allowed: &[&str] = if add {
                &["chown", "chmod", "checksum", "link"]
            } else {
                &["from", "chown", "chmod", "link"]
            };
            let (flags, mut paths) = flags(rest, allowed)?;
            if let Some(json) = json_array(strip_flags(rest))? {
                paths = json;
            }
            let mut inline = heredocs.into_iter();
            let mut files = Vec::new();
            paths.retain(|path| {
                if is_heredoc_marker(path) {
                    files.extend(inline.next());
                    false
                } else {
                    true
                }
            });
            if paths.len() + files.len() < 2 {
                return Err(format!("{keyword} needs at least one source and a destination"));
            }
            let dest = paths.pop().ok_or(format!("{keyword} needs a destination after its sources"))?;
            Op::Copy {
                add,
                from: flag(&flags, "from"),
                chown: flag(&flags, "chown"),
                chmod: flag(&flags, "chmod"),
                checksum: flag(&flags, "checksum"),
                sources: paths,
                inline: files,
                dest,
            }
        }
        "ENV" => Op::Env(pairs(rest, escape, true)?),
        "LABEL" => Op::Label(pairs(rest, escape, false)?),
        "MAINTAINER" => Op::Maintainer(rest.trim().to_owned()),
        "ARG" => {
            let args: Vec<(String, Option<String>)> = split_raw(rest, escape)?
                .into_iter()
                .map(|word| match word.split_once('=') {
                    Some((name, default)) => (name.to_owned(), Some(default.to_owned())),
                    None => (word, None),
                })
                .collect();
            if args.is_empty() || args.iter().any(|(name, _)| !is_name(name)) {
                return Err("ARG takes NAME or NAME=default, one or more".into());
            }
            Op::Arg(args)
        }
        "WORKDIR" => Op::Workdir(single(rest, "WORKDIR takes one directory")?),
        "USER" => Op::User(single(rest, "USER takes one user[:group]")?),
        "STOPSIGNAL" => Op::StopSignal(single(rest, "STOPSIGNAL takes one signal")?),
        "EXPOSE" => Op::Expose(words()?),
        "VOLUME" => Op::Volume(match json_array(rest)? {
            Some(list) => list,
            None => words()?,
        }),
        "SHELL" => match json_array(rest)? {
            Some(list) if !list.is_empty() => Op::Shell(list),
            _ => return Err("SHELL takes a JSON array, e.g. SHELL [\"/bin/sh\", \"-c\"]".into()),
        },
        "HEALTHCHECK" => Op::Healthcheck(healthcheck(rest)?),
        "ONBUILD" => {
            let trigger = rest.trim();
            let keyword = trigger.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
            if matches!(keyword.as_str(), "" | "ONBUILD" | "FROM" | "MAINTAINER") {
                return Err(format!(
                    "ONBUILD takes an instruction other than ONBUILD, FROM or MAINTAINER; got '{trigger}'"
                ));
            }
            instruction(&keyword, trigger[keyword.len()..].trim(), escape, Vec::new())?;
            Op::OnBuild(trigger.to_owned())
        }
        other => return Err(format!("unknown instruction {other}")),
    })
}

/// HEALTHCHECK's options, then `NONE` or `CMD` and a command.
fn healthcheck(rest: &str) -> std::result::Result<Healthcheck, String> {
    let (flags, _) = flags(rest, &["interval", "timeout", "start-period", "start-interval", "retries"])?;
    let duration = |name: &str| flag(&flags, name).map(|v| go_duration(&v)).transpose();
    let retries = flag(&flags, "retries")
        .map(|v| v.parse::<u64>().map_err(|_| format!("HEALTHCHECK --retries={v}: give a number")))
        .transpose()?;
    let line = strip_flags(rest).trim();
    let (keyword, command_text) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let command = match keyword.to_ascii_uppercase().as_str() {
        "NONE" if command_text.trim().is_empty() && flags.is_empty() => None,
        "NONE" => return Err("HEALTHCHECK NONE takes no options and no command".into()),
        "CMD" => Some(command(command_text)?),
        _ => return Err("HEALTHCHECK takes [OPTIONS] CMD command, or NONE".into()),
    };
    Ok(Healthcheck {
        command,
        interval: duration("interval")?,
        timeout: duration("timeout")?,
        start_period: duration("start-period")?,
        start_interval: duration("start-interval")?,
        retries,
    })
}

/// A Go duration (`30s`, `1m30s`, `1.5h`, `500ms`), in nanoseconds.
fn go_duration(text: &str) -> std::result::Result<u64, String> {
    let bad = || format!("'{text}' is not a duration; write e.g. 30s, 1m30s or 500ms");
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| bad())?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    Ok(total.round() as u64)
}

/// `--mount=type=cache,target=/root/.cache,…`: comma-separated
/// `key=value` options, as BuildKit reads them.
fn mount(spec: &str) -> std::result::Result<Mount, String> {
    let mut options: Vec<(&str, &str)> = Vec::new();
    for option in spec.split(',').filter(|o| !o.is_empty()) {
        let (key, value) = option.split_once('=').unwrap_or((option, "true"));
        options.push((key, value));
    }
    let get = |key: &str| options.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned());
    let target = get("target").or_else(|| get("dst")).or_else(|| get("destination"));
    let yes = |key: &str| get(key).is_some_and(|v| v != "false");
    let number = |key: &str, radix: u32, default: u32| match get(key) {
        None => Ok(default),
        Some(v) => u32::from_str_radix(&v, radix).map_err(|_| format!("--mount {key}={v} is not a number")),
    };
    let needs_target = || target.clone().ok_or(format!("--mount={spec} needs target=PATH"));
    Ok(match get("type").as_deref().unwrap_or("bind") {
        "cache" => Mount::Cache {
            id: get("id").unwrap_or(needs_target()?),
            target: needs_target()?,
            read_only: yes("ro") || yes("readonly"),
            mode: number("mode", 8, 0o755)?,
            uid: number("uid", 10, 0)?,
            gid: number("gid", 10, 0)?,
        },
        "secret" => {
            let id =
                get("id").or_else(|| target.as_ref().and_then(|t| t.rsplit('/').next().map(str::to_owned)));
            let id = id.ok_or(format!("--mount={spec} needs id=NAME"))?;
            Mount::Secret {
                target: target.unwrap_or(format!("/run/secrets/{id}")),
                id,
                required: yes("required"),
                mode: number("mode", 8, 0o400)?,
                uid: number("uid", 10, 0)?,
                gid: number("gid", 10, 0)?,
            }
        }
        "bind" => Mount::Bind {
            source: get("source").or_else(|| get("src")).unwrap_or_else(|| "/".into()),
            target: needs_target()?,
            from: get("from"),
            read_write: yes("rw") || yes("readwrite"),
        },
        "tmpfs" => Mount::Tmpfs { target: needs_target()? },
        "ssh" => return Err("RUN --mount=type=ssh is not supported; use a secret mount".into()),
        other => return Err(format!("--mount type={other}: give cache, secret, bind or tmpfs")),
    })
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`: a word that starts a heredoc.
fn heredoc_marker(word: &str) -> Option<(String, bool, bool)> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit()).strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    for quote in ['"', '\''] {
        if let Some(name) = rest.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)) {
            return (!name.is_empty()).then(|| (name.to_owned(), chomp, false));
        }
    }
    Some((rest.to_owned(), chomp, true))
}

fn is_heredoc_marker(word: &str) -> bool {
    heredoc_marker(word).is_some()
}

/// `["a", "b"]` is the exec form; anything else is for the shell.
fn command(rest: &str) -> std::result::Result<Command, String> {
    let rest = rest.trim();
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
    let words = split_raw(rest, escape)?;
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

/// Splits on whitespace outside quotes, keeping the words as written
/// (quotes and escapes in them), for [`process_word`].
fn split_raw(text: &str, escape: char) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            (c, q) if c == escape && q != Some('\'') => {
                word.push(c);
                word.extend(chars.next());
            }
            ('"' | '\'', None) => {
                quote = Some(c);
                word.push(c);
            }
            (c, Some(q)) if c == q => {
                quote = None;
                word.push(c);
            }
            (c, None) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (c, _) => word.push(c),
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".into());
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
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

/// One instruction as written: continuation lines joined.
struct Logical {
    /// Its first line, from 1.
    line: usize,
    keyword: String,
    rest: String,
    /// The heredocs it opens, read from the lines after it.
    heredocs: Vec<Heredoc>,
}

/// The instructions: continuation lines joined, comments and blank lines
/// dropped, each with its first line, keyword, the rest, and for RUN, COPY
/// and ADD the bodies of the heredocs it opens.
fn logical_lines(text: &str, escape: char) -> Result<Vec<Logical>> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
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
        let mut heredocs = Vec::new();
        if ["RUN", "COPY", "ADD"].contains(&keyword.to_ascii_uppercase().as_str()) {
            for (name, chomp, expand) in rest.split_whitespace().filter_map(heredoc_marker) {
                let mut body = String::new();
                let mut closed = false;
                for (_, raw) in lines.by_ref() {
                    let line = if chomp { raw.trim_start_matches('\t') } else { raw };
                    if line == name {
                        closed = true;
                        break;
                    }
                    body.push_str(line);
                    body.push('\n');
                }
                if !closed {
                    return Err(Error::usage(format!(
                        "Dockerfile line {start}: the heredoc <<{name} is never closed: end it with a line \
                         holding only {name}"
                    )));
                }
                heredocs.push(Heredoc { name, body, expand });
            }
        }
        out.push(Logical {
            line: start,
            keyword: keyword.to_owned(),
            rest: rest.trim().to_owned(),
            heredocs,
        });
    }
    if let Some((start, _)) = current {
        return Err(Error::usage(format!("Dockerfile line {start}: the file ends inside a continued line")));
    }
    Ok(out)
}

/// Substitutes `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`,
/// `${VAR-default}` and `${VAR+alt}` from `lookup`, as Docker does in FROM,
/// COPY, WORKDIR and the other instructions that are not commands. An
/// escaped `$` stays.
pub fn expand(word: &str, escape: char, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    substitute(word, escape, false, lookup)
}

/// A word of ENV, LABEL or ARG as Docker's shell-like lexer reads it:
/// substitution as in [`expand`], and also quotes removed (nothing is
/// substituted inside single quotes) and escapes taken away.
pub fn process_word(word: &str, escape: char, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    substitute(word, escape, true, lookup)
}

fn substitute(
    word: &str,
    escape: char,
    quotes: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String> {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    let mut double = false;
    while let Some(c) = chars.next() {
        if quotes && c == '\'' && !double {
            // Single quotes: everything up to the next one, as written.
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(c) => out.push(c),
                    None => return Err(Error::usage(format!("'{word}': a quote is not closed"))),
                }
            }
            continue;
        }
        if quotes && c == '"' {
            double = !double;
            continue;
        }
        if c == escape {
            match chars.peek().copied() {
                Some('$') => {
                    out.push('$');
                    chars.next();
                }
                Some(next) if quotes && (!double || next == '"' || next == escape) => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push(c),
            }
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
            let name_end =
                inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len());
            let (name, modifier) = inner.split_at(name_end);
            let (operator, operand) = match modifier {
                "" => ("", ""),
                m if m.starts_with(":-") || m.starts_with(":+") => m.split_at(2),
                m if m.starts_with('-') || m.starts_with('+') => m.split_at(1),
                _ => return Err(Error::usage(format!("'{word}': bad substitution ${{{inner}}}"))),
            };
            if !is_name(name) {
                return Err(Error::usage(format!("'{word}': bad substitution ${{{inner}}}")));
            }
            let value = lookup(name);
            let set_and_not_empty = value.as_deref().is_some_and(|v| !v.is_empty());
            let nested = || substitute(operand, escape, quotes, lookup);
            out.push_str(&match operator {
                ":-" if !set_and_not_empty => nested()?,
                "-" if value.is_none() => nested()?,
                ":+" if set_and_not_empty => nested()?,
                "+" if value.is_some() => nested()?,
                ":+" | "+" => String::new(),
                _ => value.unwrap_or_default(),
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
    if double {
        return Err(Error::usage(format!("'{word}': a quote is not closed")));
    }
    Ok(out)
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(command: Command) -> Op {
        Op::Run { command, mounts: vec![], network: None, script: None }
    }

    #[test]
    fn heredocs_as_buildkit_reads_them() {
        let doc =
            |name: &str, body: &str, expand: bool| Heredoc { name: name.into(), body: body.into(), expand };
        let file = "FROM scratch\n\
                    RUN <<EOF\necho one\necho two\nEOF\n\
                    RUN <<-'X'\n\t#!/bin/sh\n\techo $A\n\tX\n\
                    RUN python3 <<EOF > /out\nprint(1)\nEOF\n\
                    COPY --chmod=755 <<a.sh <<\"b\" /dest/\n$A\na.sh\n$B\nb\n\
                    ENV Z=1\n";
        let parsed = parse(file).unwrap();
        let stage = &parsed.stages[0].instructions;
        assert_eq!(stage[0].op, run(Command::Shell("echo one\necho two\n".into())));
        assert_eq!(
            stage[1].op,
            Op::Run {
                command: Command::Exec(vec!["/dev/pipes/X".into()]),
                mounts: vec![],
                network: None,
                script: Some(doc("X", "#!/bin/sh\necho $A\n", false)),
            }
        );
        assert_eq!(stage[2].op, run(Command::Shell("python3 <<EOF > /out\nprint(1)\nEOF".into())));
        assert!(matches!(&stage[3].op, Op::Copy { sources, inline, dest, .. }
            if sources.is_empty() && dest == "/dest/"
                && inline == &[doc("a.sh", "$A\n", true), doc("b", "$B\n", false)]));
        assert_eq!((stage[4].line, &stage[4].op), (18, &Op::Env(vec![("Z".into(), "1".into())])));
    }

    #[test]
    fn healthchecks_and_onbuild() {
        let kinds = kinds(
            "FROM scratch\nHEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD curl -f http://x/\n\
             HEALTHCHECK CMD [\"/bin/check\", \"now\"]\nHEALTHCHECK NONE\nONBUILD COPY . /app\n",
        );
        assert_eq!(
            kinds[0],
            Op::Healthcheck(Healthcheck {
                command: Some(Command::Shell("curl -f http://x/".into())),
                interval: Some(90_000_000_000),
                timeout: Some(500_000_000),
                start_period: None,
                start_interval: None,
                retries: Some(3),
            })
        );
        assert!(
            matches!(&kinds[1], Op::Healthcheck(Healthcheck { command: Some(Command::Exec(w)), .. }) if w.len() == 2)
        );
        assert!(matches!(&kinds[2], Op::Healthcheck(Healthcheck { command: None, .. })));
        assert_eq!(kinds[3], Op::OnBuild("COPY . /app".into()));
        for (text, what) in [
            ("FROM scratch\nHEALTHCHECK --interval=soon CMD x\n", "not a duration"),
            ("FROM scratch\nHEALTHCHECK x\n", "CMD command, or NONE"),
            ("FROM scratch\nONBUILD ONBUILD RUN x\n", "other than ONBUILD"),
            ("FROM scratch\nONBUILD FETCH x\n", "unknown instruction FETCH"),
        ] {
            assert!(parse(text).unwrap_err().to_string().contains(what), "{text}");
        }
    }

    #[test]
    fn run_mounts() {
        let kind = &parse(
            "FROM scratch\nRUN --mount=type=cache,target=/root/.cache,uid=10 \
             --mount=type=secret,id=tok --mount=type=bind,source=src,target=/s,rw --network=none make\n",
        )
        .unwrap()
        .stages[0]
            .instructions[0]
            .op;
        let Op::Run { mounts, network, command, .. } = kind else { panic!("{kind:?}") };
        assert_eq!(
            mounts,
            &[
                Mount::Cache {
                    id: "/root/.cache".into(),
                    target: "/root/.cache".into(),
                    read_only: false,
                    mode: 0o755,
                    uid: 10,
                    gid: 0
                },
                Mount::Secret {
                    id: "tok".into(),
                    target: "/run/secrets/tok".into(),
                    required: false,
                    mode: 0o400,
                    uid: 0,
                    gid: 0
                },
                Mount::Bind { source: "src".into(), target: "/s".into(), from: None, read_write: true },
            ]
        );
        assert_eq!((network.as_deref(), command), (Some("none"), &Command::Shell("make".into())));
    }

    fn kinds(text: &str) -> Vec<Op> {
        parse(text).unwrap().stages.remove(0).instructions.into_iter().map(|i| i.op).collect()
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
            build.instructions[2].op,
            run(Command::Shell(
                "pip install componentize-py &&     componentize-py -w wasi:http/proxy componentize app -o app.wasm"
                    .into()
            ))
        );
        let last = &file.stages[1].instructions;
        assert_eq!(
            last[0].op,
            Op::Label(vec![("org.opencontainers.image.title".into(), "\"hello\"".into())])
        );
        assert!(matches!(&last[1].op, Op::Copy { from: Some(f), sources, dest, .. }
            if f == "build" && sources == &["/src/app.wasm"] && dest == "/app/app.wasm"));
        assert_eq!(last[4].op, Op::Entrypoint(Command::Exec(vec!["/app/app.wasm".into()])));
        assert_eq!(last[4].line, 15);
    }

    #[test]
    fn forms_and_pairs() {
        assert_eq!(
            kinds(
                "FROM scratch\nCMD echo hi\nCMD [\"a\", \"b c\"]\nCMD [not json\nENV A=1 B=\"two words\" C=x\\ y\nENV OLD some value\n"
            ),
            vec![
                Op::Cmd(Command::Shell("echo hi".into())),
                Op::Cmd(Command::Exec(vec!["a".into(), "b c".into()])),
                Op::Cmd(Command::Shell("[not json".into())),
                Op::Env(vec![
                    ("A".into(), "1".into()),
                    ("B".into(), "\"two words\"".into()),
                    ("C".into(), "x\\ y".into())
                ]),
                Op::Env(vec![("OLD".into(), "some value".into())]),
            ]
        );
        assert_eq!(kinds("FROM scratch\nMAINTAINER Ada\n"), vec![Op::Maintainer("Ada".into())]);
        assert_eq!(
            kinds("# escape=`\nFROM scratch\nRUN a `\n  b\nCOPY [\"x y\", \"/d/\"]\n"),
            vec![
                run(Command::Shell("a   b".into())),
                Op::Copy {
                    add: false,
                    from: None,
                    chown: None,
                    chmod: None,
                    checksum: None,
                    sources: vec!["x y".into()],
                    inline: vec![],
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
            ("FROM scratch\n\nRUN <<EOF\necho\nEOT\n", 3, "<<EOF is never closed"),
            ("FROM scratch\nRUN --mount=type=ssh x\n", 2, "type=ssh is not supported"),
            ("FROM scratch\nRUN --mount=type=cache x\n", 2, "needs target="),
            ("FROM scratch\nRUN --network=bridge x\n", 2, "give default, none or host"),
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
        for (word, want) in [
            ("'single $A'", "single $A"),
            ("\"double $A\"", "double one"),
            ("\\$A", "$A"),
            ("\\${A}", "${A}"),
            ("x\\ y", "x y"),
            ("\"a \\\"q\\\" b\"", "a \"q\" b"),
            ("${B-unset}", "unset"),
            ("${EMPTY-unset}", ""),
            ("${EMPTY+set}", "set"),
            ("${B+set}", ""),
        ] {
            assert_eq!(process_word(word, '\\', &vars).unwrap(), want, "{word}");
        }
        assert!(process_word("'open", '\\', &vars).is_err());
        assert!(expand("${A", '\\', &vars).is_err());
        assert!(expand("${A B}", '\\', &vars).is_err());
    }
}
