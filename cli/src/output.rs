//! How the commands print: sizes and ages as Docker writes them, and the
//! confirmation before destructive work.

use std::io::{BufRead, Write};

use crate::template::{Format, Template, tabwrite};

/// Asks before something destructive, as Docker does: the warning and the
/// question on stdout, the answer a line of stdin; anything but yes, or no
/// answer at all (stdin empty or closed), is no, and the command does
/// nothing and succeeds.
pub fn confirm(warning: &str) -> crate::Result<bool> {
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    // A stdin that cannot be read answers nothing.
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// `confirm` for a prune: `force` skips the question; declined, it says
/// what Docker says then, that nothing was reclaimed.
pub fn confirm_prune(force: bool, warning: &str) -> crate::Result<bool> {
    if force || confirm(warning)? {
        return Ok(true);
    }
    println!("Total reclaimed space: 0B");
    Ok(false)
}

/// Prints a listing's rows as `--format` asks: Docker's `table` (the
/// `default` template, or `table TEMPLATE`) with a header row made by
/// rendering the template over `headers`, `json` (an object a line), or a
/// Go template a row.
pub fn print_rows(
    format: Option<&str>,
    default: &str,
    headers: &serde_json::Value,
    rows: &[serde_json::Value],
) -> crate::Result<()> {
    let text = match format {
        None | Some("table") => default,
        Some(other) => other,
    };
    let bad = |e: String| wbox_runtime::Error::usage(format!("template parsing error: {e}"));
    // A row's own JSON is Docker's marshalling of it, HTML escaped.
    let render = |template: &Template, row: &serde_json::Value| {
        template.render_row(row).map_err(|e| wbox_runtime::Error::usage(format!("template: {e}")))
    };
    let mut out = String::new();
    match Format::parse(text).map_err(bad)? {
        Format::Table(template) => {
            let mut lines = vec![template.render_header(headers)];
            for row in rows {
                lines.push(render(&template, row)?);
            }
            out = tabwrite(&lines);
        }
        Format::Raw(template) => {
            for row in rows {
                out.push_str(&render(&template, row)?);
                out.push('\n');
            }
        }
    }
    print!("{out}");
    Ok(())
}

/// Objects as `docker inspect` prints them: a JSON array, indented four
/// spaces as Go's encoder indents it.
pub fn print_json(objects: &[serde_json::Value]) {
    // serde_json indents by two; a JSON string holds no raw newline, so
    // each line's indent can be doubled.
    let pretty = serde_json::to_string_pretty(objects).expect("JSON values serialise");
    for line in pretty.lines() {
        let text = line.trim_start_matches(' ');
        println!("{}{text}", " ".repeat(2 * (line.len() - text.len())));
    }
}

/// A time as Go prints it and Docker's `CreatedAt` shows it:
/// `2026-12-07 07:37:37 +0000 UTC`.
pub fn go_time(when: chrono::DateTime<chrono::Utc>) -> String {
    when.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()
}

/// `since`, or `N/A` for an image with no time or the epoch's (what
/// reproducible builds write), which is no age.
pub fn since_or_na(when: Option<chrono::DateTime<chrono::Utc>>) -> String {
    match when {
        Some(when) if when.timestamp() != 0 => since(when),
        _ => "N/A".into(),
    }
}

pub use wbox_runtime::units::since;

/// Sizes in SI units to three significant digits, as Docker prints them:
/// 7.8MB.
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes, 3)
}

/// Go's `units.HumanSizeWithPrecision`: `%.{digits}g` of the size in the
/// largest SI unit under it.
pub fn human_size_with_precision(bytes: u64, digits: usize) -> String {
    size_in_units(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB"], digits)
}

/// Go's `units.BytesSize`, as `stats` shows memory: binary units, to four
/// digits (1.5MiB).
pub fn binary_size(bytes: u64) -> String {
    size_in_units(bytes, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB"], 4)
}

fn size_in_units(bytes: u64, base: f64, units: &[&str], digits: usize) -> String {
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= base && unit < units.len() - 1 {
        value /= base;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes}B");
    }
    // %g: `digits` significant digits, trailing zeros dropped.
    let whole_digits = if value < 10.0 {
        1
    } else if value < 100.0 {
        2
    } else {
        3
    };
    let decimals = digits.saturating_sub(whole_digits);
    let number = format!("{value:.decimals$}");
    let number =
        if number.contains('.') { number.trim_end_matches('0').trim_end_matches('.') } else { &number };
    format!("{number}{}", units[unit])
}

/// `inspect` of several objects: each that `get` finds, as a JSON array or
/// through the template `format`; each it cannot find is said on stderr,
/// and makes the exit code 1, as Docker's.
pub fn print_inspected(
    names: &[String],
    format: Option<&str>,
    mut get: impl FnMut(&str) -> wbox_runtime::Result<serde_json::Value>,
) -> crate::Result<i32> {
    let mut shown = Vec::new();
    let mut code = 0;
    for name in names {
        match get(name) {
            Ok(object) => shown.push(object),
            Err(e) => {
                eprintln!("wbox: {e}");
                code = 1;
            }
        }
    }
    let Some(format) = format else {
        print_json(&shown);
        return Ok(code);
    };
    let template = crate::template::Template::parse(format)
        .map_err(|e| wbox_runtime::Error::usage(format!("template parsing error: {e}")))?;
    for mut object in shown {
        // A template sees Docker's Go struct, whose maps are empty, never null.
        for key in ["Labels", "Options"] {
            if object[key].is_null() {
                object[key] = serde_json::json!({});
            }
        }
        println!("{}", template.render(&object).map_err(wbox_runtime::Error::usage)?);
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_docker_prints_them() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(7_800_000), "7.8MB");
        assert_eq!(human_size(1_000), "1kB");
        assert_eq!(human_size(123_456_789), "123MB");
        assert_eq!(human_size(13_300), "13.3kB");
        // Docker's VirtualSize, to four digits.
        assert_eq!(human_size_with_precision(30_325, 4), "30.32kB");
        assert_eq!(human_size(30_325), "30.3kB");
        // Docker's memory figures.
        assert_eq!(binary_size(1_572_864), "1.5MiB");
        assert_eq!(binary_size(2_204_106), "2.102MiB");
        assert_eq!(binary_size(512), "512B");
    }
}
