//! `wbox volume`: create, list, inspect and remove volumes.

use std::path::Path;

use clap::Subcommand;
use wbox_runtime::container;
use wbox_runtime::filters::{self, Filters};
use wbox_runtime::volume::{Volume, Volumes};

use crate::output;

/// Manage volumes
#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Make a volume (a random name if none is given); prints its name
    #[command(
        after_help = "Examples:\n  wbox volume create data\n  wbox volume create --label tier=db pgdata"
    )]
    Create {
        /// Set a label, KEY=VALUE or KEY (repeatable)
        #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Only `local`, the one driver wbox has
        #[arg(short, long, default_value = "local")]
        driver: String,
        name: Option<String>,
    },
    /// Show volumes' details as JSON
    #[command(
        after_help = "Examples:\n  wbox volume inspect data\n  wbox volume inspect -f '{{.Mountpoint}}' data"
    )]
    Inspect {
        /// Print each volume with a Go template
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true, value_name = "VOLUME")]
        names: Vec<String>,
    },
    /// List volumes
    #[command(name = "ls", visible_alias = "list")]
    #[command(after_help = "Filters: dangling=true|false, name=, label=KEY[=VALUE], driver=\n\n\
        Examples:\n  wbox volume ls\n  wbox volume ls -q -f dangling=true\n  \
        wbox volume ls --format '{{.Name}} {{.Mountpoint}}'")]
    Ls {
        /// Only volumes the filter matches (KEY=VALUE; repeat it)
        #[arg(short, long = "filter", value_name = "FILTER", value_parser = filters::check_shape)]
        filters: Vec<String>,
        /// Print with a Go template, `json`, or `table` (the default) or `table TEMPLATE`
        #[arg(long)]
        format: Option<String>,
        /// Only show volume names
        #[arg(short, long)]
        quiet: bool,
    },
    /// Remove the volumes no container uses: anonymous ones, or with -a all
    #[command(after_help = "Examples:\n  wbox volume prune -f\n  wbox volume prune -a -f --filter label=tmp")]
    Prune {
        /// Remove named volumes too, not only anonymous ones
        #[arg(short, long)]
        all: bool,
        /// Only volumes the filter matches: label=KEY[=VALUE], label!=KEY[=VALUE]
        #[arg(long = "filter", value_name = "FILTER", value_parser = filters::check_shape)]
        filters: Vec<String>,
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
    /// Remove volumes; one a container uses stays until that container is removed
    #[command(name = "rm", visible_alias = "remove")]
    #[command(
        after_help = "Examples:\n  wbox volume rm data\n  wbox volume rm $(wbox volume ls -q -f dangling=true)"
    )]
    Rm {
        /// Say nothing of volumes that do not exist
        #[arg(short, long)]
        force: bool,
        #[arg(required = true, value_name = "VOLUME")]
        names: Vec<String>,
    },
}

pub fn run(root: &Path, command: VolumeCommand) -> crate::Result<i32> {
    let volumes = Volumes::open(root)?;
    match command {
        VolumeCommand::Create { labels, driver, name } => {
            wbox_runtime::volume::check_driver(&driver)?;
            println!("{}", volumes.create(name.as_deref(), crate::flags::labels(&labels), false)?.name);
            Ok(0)
        }
        VolumeCommand::Inspect { format, names } => {
            output::print_inspected(&names, format.as_deref(), |name| Ok(volumes.get(name)?.inspect()))
        }
        VolumeCommand::Ls { filters, format, quiet } => {
            let filters = Filters::parse(&filters, container::VOLUME_LIST_FILTERS)?;
            let shown = container::list_volumes(root, &filters)?;
            if quiet {
                for volume in &shown {
                    println!("{}", volume.name);
                }
                return Ok(0);
            }
            let rows: Vec<serde_json::Value> = shown.iter().map(row).collect();
            let headers = serde_json::json!({
                "Availability": "AVAILABILITY", "Driver": "DRIVER", "Group": "GROUP", "Labels": "LABELS",
                "Links": "LINKS", "Mountpoint": "MOUNTPOINT", "Name": "VOLUME NAME", "Scope": "SCOPE",
                "Size": "SIZE", "Status": "STATUS",
            });
            output::print_rows(format.as_deref(), "table {{.Driver}}\t{{.Name}}", &headers, &rows)?;
            Ok(0)
        }
        VolumeCommand::Prune { all, filters, force } => {
            let filters = Filters::parse(&filters, container::VOLUME_PRUNE_FILTERS)?;
            let warning = if all {
                "WARNING! This will remove all local volumes not used by at least one container."
            } else {
                "WARNING! This will remove anonymous local volumes not used by at least one container."
            };
            if !output::confirm_prune(force, warning)? {
                return Ok(0);
            }
            let (removed, freed) = container::prune_volumes(root, all, &filters)?;
            if !removed.is_empty() {
                println!("Deleted Volumes:\n{}\n", removed.join("\n"));
            }
            println!("Total reclaimed space: {}", output::human_size(freed));
            Ok(0)
        }
        VolumeCommand::Rm { force, names } => {
            let mut code = 0;
            for name in &names {
                // Docker names a missing volume as removed when forced.
                if force && volumes.get(name).is_err() {
                    println!("{name}");
                    continue;
                }
                match container::remove_volume(root, name) {
                    Ok(_) => println!("{name}"),
                    Err(e) => {
                        eprintln!("wbox: {e}");
                        code = 1;
                    }
                }
            }
            Ok(code)
        }
    }
}

/// `volume inspect`'s object, as Docker's.
/// One line of `volume ls`, with the fields Docker's templates know.
fn row(volume: &Volume) -> serde_json::Value {
    let labels: Vec<String> = volume.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    serde_json::json!({
        "Availability": "N/A",
        "Driver": "local",
        "Group": "N/A",
        "Labels": labels.join(","),
        "Links": "N/A",
        "Mountpoint": volume.mountpoint,
        "Name": volume.name,
        "Scope": "local",
        "Size": "N/A",
        "Status": "N/A",
    })
}
