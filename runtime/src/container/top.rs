//! `top`: a running container's processes as the host's `ps` shows them, as
//! Docker's daemon runs it: `ps` with the user's options, keeping the lines
//! of the container's processes.

use crate::{Error, Result};

use super::Container;

/// What `top` found: `ps`'s column titles, and a row per process.
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

impl Container {
    /// `ps OPTIONS` (by default `-ef`) of the container's processes.
    pub fn top(&self, ps_options: &[String]) -> Result<Top> {
        let pids = self.processes()?;
        let default = ["-ef".to_owned()];
        let options = if ps_options.is_empty() { &default[..] } else { ps_options };
        let ran = std::process::Command::new("ps")
            .args(options)
            .output()
            .map_err(|e| Error::usage(format!("top runs the host's ps, which cannot run here: {e}")))?;
        if !ran.status.success() {
            return Err(Error::usage(format!(
                "ps {}: {}",
                options.join(" "),
                String::from_utf8_lossy(&ran.stderr).trim()
            )));
        }
        let text = String::from_utf8_lossy(&ran.stdout);
        let mut lines = text.lines();
        let titles: Vec<String> =
            lines.next().unwrap_or_default().split_whitespace().map(str::to_owned).collect();
        let Some(pid_column) = titles.iter().position(|h| h == "PID") else {
            return Err(Error::usage(format!("ps {} shows no PID column; add pid to -o", options.join(" "))));
        };
        let processes = lines
            .map(|line| command_fields(line, titles.len()))
            .filter(|fields| {
                let pid = fields.get(pid_column).and_then(|p| p.parse::<u32>().ok());
                pid.is_some_and(|pid| pids.contains(&pid))
            })
            .collect();
        Ok(Top { titles, processes })
    }
}

/// A `ps` line cut into `columns` fields, the last one (the command, with
/// its spaces) the rest of the line.
fn command_fields(line: &str, columns: usize) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = line.trim_start();
    while fields.len() + 1 < columns {
        let Some(end) = rest.find(char::is_whitespace) else { break };
        fields.push(rest[..end].to_owned());
        rest = rest[end..].trim_start();
    }
    fields.push(rest.to_owned());
    fields
}
