//! Docker's `--format` templates.
//!
//! `docker ps --format '{{.Names}}'` and its relatives take Go's text/template
//! language plus the functions of docker/cli's `templates` package, and `table`
//! formats go through Go's text/tabwriter. Scripts depend on the exact output,
//! so this module reproduces those semantics over `serde_json::Value` data: a
//! lexer cuts the text into tokens (`lex`), a parser builds a small tree and
//! rejects what Go rejects at parse time (unknown functions, undefined
//! variables, unbalanced blocks: `parse`), and an evaluator walks the tree the
//! way Go's exec.go does (`exec`), printing values as Go's fmt and
//! encoding/json print them (`print`). `tabwriter` lays out the tables.
//!
//! Not supported: `define`, `template` and `block` (Docker never defines
//! templates), Go's `slice`, `html`, `js`, `urlquery` and `call` functions,
//! complex numbers, and argument indexes or `%g` precision in `printf`.

mod exec;
mod lex;
mod parse;
mod print;
mod tabwriter;
#[cfg(test)]
mod tests;

use serde_json::Value;

use exec::Mode;
use parse::Node;
use tabwriter::TabWriter;

/// A parsed `--format` value.
pub enum Format {
    /// `table TEMPLATE`: the header row and the rows go through [`tabwrite`].
    Table(Template),
    /// Anything else: each row is the template's output as it is.
    Raw(Template),
}

impl Format {
    /// Reads a `--format` value as docker/cli's formatter does: `json` means
    /// `{{json .}}`, a `table` prefix is cut off, surrounding spaces go, and
    /// the two-character sequences `\t` and `\n` become a tab and a newline so
    /// that `--format 'table {{.ID}}\t{{.Names}}'` works from any shell. A bare
    /// `table` yields an empty template: the caller substitutes its default.
    pub fn parse(text: &str) -> Result<Format, String> {
        if text == "json" {
            return Ok(Format::Raw(Template::parse("{{json .}}")?));
        }
        let (table, body) = match text.strip_prefix("table") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let body = body.trim_matches(' ').replace("\\t", "\t").replace("\\n", "\n");
        let template = Template::parse(&body)?;
        Ok(if table { Format::Table(template) } else { Format::Raw(template) })
    }
}

/// A parsed Go template.
pub struct Template {
    source: String,
    nodes: Vec<Node>,
}

impl Template {
    /// Parses `text`; errors read like Go's, e.g. `template: :1: unexpected EOF`.
    pub fn parse(text: &str) -> Result<Template, String> {
        let nodes =
            parse::tree(text).map_err(|(pos, msg)| format!("template: :{}: {msg}", line_col(text, pos).0))?;
        Ok(Template { source: text.to_string(), nodes })
    }

    /// Executes the template with `data` as both `.` and `$`.
    pub fn render(&self, data: &Value) -> Result<String, String> {
        let (out, result) = exec::run(self, data, Mode::Value);
        result.map(|()| out)
    }

    /// Renders one row of a listing (`docker images`, `ps`, `volume ls`,
    /// `network ls`). docker/cli's rows implement `MarshalJSON` with
    /// `json.Marshal`, so `json` of the row itself escapes `<`, `>` and `&`
    /// as `\u003c`, `\u003e` and `\u0026`, while `json` of anything else goes
    /// through docker/cli's encoder, which does not. Otherwise as [`render`].
    ///
    /// [`render`]: Template::render
    pub fn render_row(&self, row: &Value) -> Result<String, String> {
        let (out, result) = exec::run(self, row, Mode::Row);
        result.map(|()| out)
    }

    /// Renders a table's header row from `headers`, an object of field name →
    /// column title. Like docker/cli, it swaps `json`, `split`, `join`, `title`,
    /// `lower`, `upper` and `truncate` for stand-ins that return the title
    /// untouched, and keeps whatever was written before an error.
    pub fn render_header(&self, headers: &Value) -> String {
        exec::run(self, headers, Mode::Header).0
    }
}

/// Docker's table writer: Go's text/tabwriter with minwidth 10, tabwidth 1,
/// padding 3, padchar ' ' and no flags, each line ended by a newline.
pub fn tabwrite(lines: &[String]) -> String {
    tabwrite_min(lines, 10)
}

/// `tabwrite` with another minimum column width (`top` uses 20).
pub fn tabwrite_min(lines: &[String], minwidth: usize) -> String {
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    TabWriter { minwidth, padding: 3, padchar: ' ' }.write(&text)
}

/// A message and the byte offset in the template it is about.
type Located = (usize, String);

/// A value during evaluation. `None` is Go's invalid reflect.Value — what a
/// missing map key gives — and prints as `<no value>`; `Some(Value::Null)` is
/// a nil interface, which prints as `<nil>` inside other values and cannot
/// have fields.
type Val = Option<Value>;

/// Go's template positions: 1-based line, byte offset within the line.
fn line_col(source: &str, pos: usize) -> (usize, usize) {
    let before = &source[..pos.min(source.len())];
    let col = before.rfind('\n').map_or(pos, |nl| pos - nl - 1);
    (1 + before.matches('\n').count(), col)
}
