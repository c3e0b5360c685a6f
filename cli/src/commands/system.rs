//! `wbox system`: wbox's own state.

use std::path::Path;

use clap::Subcommand;
use wbox_runtime::wasm::CompileCache;

use crate::output::{confirm, human_size};

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
