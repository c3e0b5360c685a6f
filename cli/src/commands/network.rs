//! `wbox network`: user-defined networks, on which containers reach each
//! other by name.

use std::path::Path;

use clap::Subcommand;
use wbox_runtime::container::Containers;
use wbox_runtime::filters::{self, Filters};
use wbox_runtime::network::{self, Networks};

use crate::output;

/// Manage networks
#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Make a network; prints its id
    #[command(
        after_help = "Examples:\n  wbox network create appnet\n  wbox network create --label tier=back --internal backnet"
    )]
    Create {
        /// Only `bridge`, the one driver wbox has
        #[arg(short, long, default_value = "bridge")]
        driver: String,
        /// Set a label, KEY=VALUE or KEY (repeatable)
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Members reach each other only, nothing outside
        #[arg(long)]
        internal: bool,
        name: String,
    },
    /// List networks
    #[command(name = "ls", visible_alias = "list")]
    #[command(
        after_help = "Filters: driver=, id=, label=KEY[=VALUE], name=, type=custom|builtin, dangling=true|false\n\n\
        Examples:\n  wbox network ls\n  wbox network ls -q -f type=custom\n  wbox network ls --format '{{.Name}} {{.Driver}}'"
    )]
    Ls {
        #[arg(short, long = "filter", value_name = "FILTER", value_parser = filters::check_shape)]
        filters: Vec<String>,
        /// Print with a Go template, `json`, or `table` (the default) or `table TEMPLATE`
        #[arg(long)]
        format: Option<String>,
        /// Only the ids
        #[arg(short, long)]
        quiet: bool,
        /// Full ids
        #[arg(long)]
        no_trunc: bool,
    },
    /// Show networks' details as JSON
    #[command(
        after_help = "Examples:\n  wbox network inspect appnet\n  wbox network inspect -f '{{range .Containers}}{{.Name}} {{end}}' appnet"
    )]
    Inspect {
        /// Print with a Go template instead of JSON
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true, value_name = "NETWORK")]
        names: Vec<String>,
    },
    /// Remove networks no container is on
    #[command(name = "rm", visible_alias = "remove")]
    #[command(after_help = "Examples:\n  wbox network rm appnet")]
    Rm {
        #[arg(required = true, value_name = "NETWORK")]
        names: Vec<String>,
    },
    /// Put a container on a network
    #[command(
        after_help = "Examples:\n  wbox network connect appnet web\n  wbox network connect --alias db appnet postgres"
    )]
    Connect {
        /// Another name the container answers to on the network (repeatable)
        #[arg(long = "alias", value_name = "NAME")]
        aliases: Vec<String>,
        network: String,
        container: String,
    },
    /// Take a container off a network
    #[command(after_help = "Examples:\n  wbox network disconnect appnet web")]
    Disconnect {
        /// Accepted for Docker's sake
        #[arg(short, long)]
        force: bool,
        network: String,
        container: String,
    },
    /// Remove every user-defined network no container is on
    #[command(after_help = "Examples:\n  wbox network prune -f\n  wbox network prune -f --filter until=24h")]
    Prune {
        #[arg(long = "filter", value_name = "FILTER", value_parser = filters::check_shape)]
        filters: Vec<String>,
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

pub fn run(root: &Path, command: NetworkCommand) -> crate::Result<i32> {
    let containers = Containers::open(root)?;
    match command {
        NetworkCommand::Create { driver, labels, internal, name } => {
            network::check_driver(&driver)?;
            let made = Networks::open(root)?.create(&name, crate::flags::labels(&labels), internal)?;
            println!("{}", made.id);
            Ok(0)
        }
        NetworkCommand::Ls { filters, format, quiet, no_trunc } => {
            let filters = Filters::parse(&filters, network::FILTERS)?;
            let mut listed = containers.list_networks(&filters)?;
            // Docker's CLI lists them by name.
            listed.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
            let rows: Vec<serde_json::Value> = listed.iter().map(|n| row(n, no_trunc)).collect();
            if quiet {
                for row in &rows {
                    println!("{}", row["ID"].as_str().unwrap_or_default());
                }
                return Ok(0);
            }
            let headers = serde_json::json!({
                "CreatedAt": "CREATED AT", "Driver": "DRIVER", "ID": "NETWORK ID", "IPv6": "IPV6",
                "Internal": "INTERNAL", "Labels": "LABELS", "Name": "NAME", "Scope": "SCOPE",
            });
            output::print_rows(
                format.as_deref(),
                "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                &headers,
                &rows,
            )?;
            Ok(0)
        }
        NetworkCommand::Inspect { format, names } => {
            output::print_inspected(&names, format.as_deref(), |name| containers.inspect_network(name))
        }
        NetworkCommand::Rm { names } => {
            let networks = Networks::open(root)?;
            let mut code = 0;
            for name in &names {
                match networks.remove(name) {
                    Ok(_) => println!("{name}"),
                    Err(e) => {
                        eprintln!("wbox: {e}");
                        code = 1;
                    }
                }
            }
            Ok(code)
        }
        NetworkCommand::Connect { aliases, network, container } => {
            containers.connect(&network, &container, &aliases)?;
            Ok(0)
        }
        NetworkCommand::Disconnect { force: _, network, container } => {
            containers.disconnect(&network, &container)?;
            Ok(0)
        }
        NetworkCommand::Prune { filters, force } => {
            let filters = Filters::parse(&filters, network::PRUNE_FILTERS)?;
            let warning = "WARNING! This will remove all custom networks not used by at least one container.";
            if !output::confirm_prune(force, warning)? {
                return Ok(0);
            }
            let removed = Networks::open(root)?.prune(&filters)?;
            let mut said = String::new();
            if !removed.is_empty() {
                said = format!("Deleted Networks:\n{}\n", removed.join("\n"));
            }
            println!("{said}");
            Ok(0)
        }
    }
}

/// One line of `network ls`, with the fields Docker's templates know.
fn row(network: &serde_json::Value, no_trunc: bool) -> serde_json::Value {
    let id = network["Id"].as_str().unwrap_or_default();
    let labels = network["Labels"].as_object().map_or_else(String::new, |labels| {
        labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(",")
    });
    serde_json::json!({
        "CreatedAt": network["Created"],
        "Driver": network["Driver"],
        "ID": if no_trunc { id } else { &id[..12.min(id.len())] },
        "IPv6": network["EnableIPv6"].to_string(),
        "Internal": network["Internal"].to_string(),
        "Labels": labels,
        "Name": network["Name"],
        "Scope": network["Scope"],
    })
}
