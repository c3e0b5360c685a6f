//! How the commands print: sizes and ages as Docker writes them, and the
//! confirmation before destructive work.

use std::io::{BufRead, IsTerminal, Write};

/// Asks on the terminal before something destructive; without a terminal,
/// refuses and says to pass -f, as a script must decide up front.
pub fn confirm(warning: &str) -> crate::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!("{warning}\nRefusing without a terminal to confirm on; pass -f to remove without asking.");
        return Ok(false);
    }
    eprint!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|e| wbox_runtime::Error::Internal(e.into()))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// "3 minutes ago", as Docker says it.
pub fn since(when: chrono::DateTime<chrono::Utc>) -> String {
    format!("{} ago", duration(when))
}

/// "5 seconds", "About a minute", "3 hours": how long since `since`, in
/// Docker's words ("Up 5 seconds").
pub fn duration(since: chrono::DateTime<chrono::Utc>) -> String {
    let seconds = (chrono::Utc::now() - since).num_seconds().max(0);
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    match seconds {
        0 => "Less than a second".into(),
        1..60 => plural(seconds, "second"),
        60..120 => "About a minute".into(),
        120..3600 => plural(minutes, "minute"),
        3600..7200 => "About an hour".into(),
        7200..172800 => plural(hours, "hour"),
        172800..1209600 => plural(hours / 24, "day"),
        1209600..5184000 => plural(hours / 24 / 7, "week"),
        5184000..63072000 => plural(hours / 24 / 30, "month"),
        _ => plural(hours / 24 / 365, "year"),
    }
}

/// Prints a table as Docker does: columns padded to their widest cell, three
/// spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([headers[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 < cells.len() {
                text.push_str(&format!("{cell:w$}   ", w = widths[i]));
            } else {
                text.push_str(cell);
            }
        }
        println!("{}", text.trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Sizes in SI units, as Docker prints them: 7.8MB.
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes}B");
    }
    // Three significant digits.
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    let number = format!("{value:.decimals$}");
    let number =
        if number.contains('.') { number.trim_end_matches('0').trim_end_matches('.') } else { &number };
    format!("{number}{}", units[unit])
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
    }
}
