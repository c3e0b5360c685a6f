//! `wbox system`: wbox's own state.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use clap::Subcommand;
use wbox_runtime::wasm::CompileCache;

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Remove what wbox can rebuild: today, the compile cache
    #[command(after_help = "Examples:\n  wbox system prune -f")]
    Prune {
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

pub fn run(root: &Path, command: SystemCommand) -> crate::Result<i32> {
    match command {
        SystemCommand::Prune { force } => {
            if !force && !confirm("WARNING! This will remove all compiled code in the compile cache.")? {
                eprintln!("Nothing removed.");
                return Ok(1);
            }
            let freed = CompileCache::clear(root)?;
            println!("Total reclaimed space: {}", human_size(freed));
            Ok(0)
        }
    }
}

fn confirm(warning: &str) -> crate::Result<bool> {
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

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes}B") } else { format!("{value:.3}{}", UNITS[unit]) }
}
