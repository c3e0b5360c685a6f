//! Image commands: images, tag, rmi, inspect, history and `image prune`.

use std::path::Path;

use clap::Args;

use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;
use wbox_runtime::{container, image};

use crate::output;

/// List the images in the store
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox images\n  wbox images -q\n  wbox images --format json")]
pub struct ImagesArgs {
    /// Only show image ids
    #[arg(short, long)]
    pub quiet: bool,

    /// Output format: table, or json (one object a line, as Docker prints)
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

pub fn images(root: &Path, args: ImagesArgs) -> crate::Result<i32> {
    let store = Store::open(root)?;
    let mut rows = Vec::new();
    for tagged in image::list(&store)?.into_iter().rev() {
        let reference = tagged.reference.as_ref();
        let created = tagged.image.created();
        rows.push(Row {
            repository: reference.map_or_else(|| "<none>".to_owned(), |r| r.familiar_repository()),
            tag: reference.and_then(|r| r.tag()).unwrap_or("<none>").to_owned(),
            id: tagged.image.id().short().to_owned(),
            digest: tagged.image.manifest_digest.to_string(),
            created_at: created.map(|c| c.to_rfc3339()).unwrap_or_default(),
            created_since: created.map(output::since).unwrap_or_else(|| "N/A".into()),
            size: output::human_size(tagged.image.size()),
        });
    }
    if args.quiet {
        for row in &rows {
            println!("{}", row.id);
        }
    } else if args.format == "json" {
        for row in &rows {
            println!(
                "{}",
                serde_json::json!({
                    "Repository": row.repository, "Tag": row.tag, "ID": row.id, "Digest": row.digest,
                    "CreatedAt": row.created_at, "CreatedSince": row.created_since, "Size": row.size,
                })
            );
        }
    } else {
        let widths = [
            rows.iter().map(|r| r.repository.len()).max().unwrap_or(0).max(10),
            rows.iter().map(|r| r.tag.len()).max().unwrap_or(0).max(3),
            12,
            rows.iter().map(|r| r.created_since.len()).max().unwrap_or(0).max(7),
        ];
        let line = |cells: [&str; 5]| {
            println!(
                "{:w0$}   {:w1$}   {:w2$}   {:w3$}   {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )
        };
        line(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]);
        for row in &rows {
            line([&row.repository, &row.tag, &row.id, &row.created_since, &row.size]);
        }
    }
    Ok(0)
}

struct Row {
    repository: String,
    tag: String,
    id: String,
    digest: String,
    created_at: String,
    created_since: String,
    size: String,
}

/// Give an image another name
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox tag localhost:5000/hello:1.0 localhost:5000/hello:latest")]
pub struct TagArgs {
    /// The image: a name in the store, or an image id
    pub source: String,
    /// The new name: [REGISTRY/]NAME[:TAG]
    pub target: String,
}

pub fn tag(root: &Path, args: TagArgs) -> crate::Result<i32> {
    let store = Store::open(root)?;
    let target = ImageRef::parse(&args.target)?;
    let (found, _) = image::lookup(&store, &args.source)?;
    let descriptor = store.resolve_digest(&found.manifest_digest)?;
    store.tag(&target, &descriptor)?;
    Ok(0)
}

/// Remove images: their names, then what no name uses any more
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox rmi localhost:5000/hello:1.0\n  wbox rmi 3c70709e9bfe")]
pub struct RmiArgs {
    /// Remove every name of an image given by id
    #[arg(short, long)]
    pub force: bool,

    /// Images, by name or id
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub fn rmi(root: &Path, args: RmiArgs) -> crate::Result<i32> {
    let store = Store::open(root)?;
    let mut failed = false;
    for name in &args.images {
        match image::remove(&store, name, args.force, &container::images_in_use(root)) {
            Ok(removed) => {
                for tag in &removed.untagged {
                    println!("Untagged: {}", tag.familiar());
                }
                if removed.deleted {
                    println!("Deleted: {}", removed.id);
                }
            }
            Err(e) => {
                eprintln!("wbox: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

#[derive(clap::Subcommand)]
pub enum ImageCommand {
    /// Remove what no image uses; with -a, every image
    #[command(after_help = "Examples:\n  wbox image prune -f\n  wbox image prune -a -f")]
    Prune {
        /// Remove all images, not only unused blobs
        #[arg(short, long)]
        all: bool,
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

pub fn image_command(root: &Path, command: ImageCommand) -> crate::Result<i32> {
    match command {
        ImageCommand::Prune { all, force } => {
            let warning = if all {
                "WARNING! This will remove all images."
            } else {
                "WARNING! This will remove all blobs and unpacked layers no image uses."
            };
            if !force && !output::confirm(warning)? {
                eprintln!("Nothing removed.");
                return Ok(1);
            }
            let store = Store::open(root)?;
            if all {
                for name in store.untag_all()? {
                    println!("Untagged: {name}");
                }
            }
            let freed = store.collect_garbage(&container::images_in_use(root))?;
            println!("Total reclaimed space: {}", output::human_size(freed));
            Ok(0)
        }
    }
}

/// Show a container's or an image's details as JSON, as `docker inspect` does
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox inspect localhost:5000/hello:1.0")]
pub struct InspectArgs {
    /// Images, by name or id
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub fn inspect(root: &Path, args: InspectArgs) -> crate::Result<i32> {
    let store = Store::open(root)?;
    let mut shown = Vec::new();
    let mut failed = false;
    for name in &args.images {
        if let Some(container) = super::container::inspect(root, name)? {
            shown.push(container);
            continue;
        }
        match image::lookup(&store, name) {
            Ok((found, tags)) => shown.push(found.inspect(&tags)),
            Err(e) => {
                eprintln!("wbox: {e}");
                failed = true;
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&shown).expect("JSON"));
    Ok(if failed { 1 } else { 0 })
}

/// Show how an image was made
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox history localhost:5000/hello:1.0")]
pub struct HistoryArgs {
    /// Do not cut long CREATED BY lines
    #[arg(long)]
    pub no_trunc: bool,
    /// The image, by name or id
    pub image: String,
}

pub fn history(root: &Path, args: HistoryArgs) -> crate::Result<i32> {
    let store = Store::open(root)?;
    let (found, _) = image::lookup(&store, &args.image)?;
    println!("{:<14}{:<24}{:<48}{:<10}COMMENT", "IMAGE", "CREATED", "CREATED BY", "SIZE");
    for step in found.history() {
        let created = step.created.map_or_else(|| "N/A".into(), output::since);
        let mut by = step.created_by;
        if !args.no_trunc && by.chars().count() > 45 {
            by = by.chars().take(44).collect::<String>() + "…";
        }
        let id = step.id.map_or_else(|| "<missing>".to_owned(), |id| id.short().to_owned());
        println!("{id:<14}{created:<24}{by:<48}{:<10}{}", output::human_size(step.size), step.comment);
    }
    Ok(0)
}
