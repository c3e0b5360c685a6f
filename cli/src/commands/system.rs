//! `wbox system`: wbox's own state.

use std::path::Path;

use clap::Subcommand;
use wbox_runtime::build;
use wbox_runtime::store::Store;
use wbox_runtime::wasm::CompileCache;

use crate::output::{confirm, human_size};

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Remove what wbox can rebuild: the compile cache and the build cache
    #[command(after_help = "Examples:\n  wbox system prune -f")]
    Prune {
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

/// `wbox builder`
#[derive(Subcommand)]
pub enum BuilderCommand {
    /// Remove the build cache: cached steps, and layers no image uses
    #[command(after_help = "Examples:\n  wbox builder prune -f")]
    Prune {
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

pub fn builder(root: &Path, command: BuilderCommand) -> crate::Result<i32> {
    match command {
        BuilderCommand::Prune { force } => {
            if !force && !confirm("WARNING! This will remove all the build cache.")? {
                // Declined, Docker still reports what it freed: nothing.
                println!("Total reclaimed space: 0B");
                return Ok(0);
            }
            let freed = build::prune_cache(root, &Store::open(root)?)?;
            println!("Total reclaimed space: {}", human_size(freed));
            Ok(0)
        }
    }
}

pub fn run(root: &Path, command: SystemCommand) -> crate::Result<i32> {
    match command {
        SystemCommand::Prune { force } => {
            if !force
                && !confirm(
                    "WARNING! This will remove all compiled code in the compile cache and the build cache.",
                )?
            {
                return Ok(0);
            }
            let freed = CompileCache::clear(root)? + build::prune_cache(root, &Store::open(root)?)?;
            println!("Total reclaimed space: {}", human_size(freed));
            Ok(0)
        }
    }
}
