//! Image commands: images, tag, rmi, inspect, history and `wbox image`.

use std::path::Path;

use clap::Args;

use wbox_runtime::filters::{self, Filters};
use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;
use wbox_runtime::{container, image};

use crate::output;
use crate::template::Template;

/// List the images in the store
#[derive(Args)]
#[command(override_usage = "wbox images [OPTIONS] [REPOSITORY[:TAG]]")]
#[command(
    after_help = "Filters: dangling=true|false, reference=PATTERN, label=KEY[=VALUE], before=IMAGE, since=IMAGE\n\n\
    Examples:\n  wbox images\n  wbox images -q -f dangling=true\n  wbox images -f 'reference=localhost:5000/*'\n  \
    wbox images --format '{{.Repository}}:{{.Tag}} {{.Size}}'\n  wbox images --format json"
)]
pub struct ImagesArgs {
    /// Show all images (wbox keeps no intermediate images, so: the same)
    #[arg(short, long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Only images the filter matches (KEY=VALUE; repeat it)
    #[arg(short, long = "filter", value_name = "FILTER", value_parser = filters::check_shape)]
    pub filters: Vec<String>,
    /// Print with a Go template, `json`, or `table` (the default) or `table TEMPLATE`
    #[arg(long)]
    pub format: Option<String>,
    /// Show whole image ids
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Only images of this repository, as a reference filter
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub repository: Option<String>,
}

pub fn images(root: &Path, args: ImagesArgs) -> crate::Result<i32> {
    let store = Store::open(root)?;
    let mut given = args.filters.clone();
    given.extend(args.repository.iter().map(|r| format!("reference={r}")));
    let filters = Filters::parse(&given, image::FILTERS)?;
    // Docker fills DIGEST only when it is asked for.
    let digests = args.digests || args.format.as_deref().is_some_and(|f| f.contains(".Digest"));
    let mut rows = Vec::new();
    for summary in image::summaries(&store, &filters)? {
        let size = summary.image.size(&store);
        let row = |repository: &str, tag: &str| {
            image_row(&summary.image, size, (repository, tag), args.no_trunc, digests)
        };
        for name in &summary.tags {
            rows.push(row(&name.familiar_repository(), name.tag().unwrap_or("<none>")));
        }
        // An image without a name is listed by the repositories that hold it.
        if summary.tags.is_empty() {
            let repositories = summary.repo_digests.iter().filter_map(|d| d.split_once('@')).map(|(r, _)| r);
            let repositories: Vec<&str> = repositories.collect();
            for repository in if repositories.is_empty() { vec!["<none>"] } else { repositories } {
                rows.push(row(repository, "<none>"));
            }
        }
    }
    if args.quiet {
        for row in &rows {
            println!("{}", row["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    let default = if args.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let headers = serde_json::json!({
        "Containers": "CONTAINERS", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED", "Digest": "DIGEST",
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "SharedSize": "SHARED SIZE", "Size": "SIZE", "Tag": "TAG",
        "UniqueSize": "UNIQUE SIZE", "VirtualSize": "SIZE",
    });
    output::print_rows(args.format.as_deref(), default, &headers, &rows)?;
    Ok(0)
}

/// One line of `images`, with the fields Docker's templates know.
fn image_row(
    image: &image::Image,
    size: u64,
    (repository, tag): (&str, &str),
    no_trunc: bool,
    digests: bool,
) -> serde_json::Value {
    let created = image.created();
    let id = if no_trunc { image.id().to_string() } else { image.id().short().to_owned() };
    serde_json::json!({
        "Containers": "N/A",
        "CreatedAt": output::go_time(created.unwrap_or_default()),
        "CreatedSince": output::since_or_na(created),
        "Digest": if digests { image.manifest_digest.to_string() } else { "<none>".into() },
        "ID": id,
        "Repository": repository,
        "SharedSize": "N/A",
        "Size": output::human_size(size),
        "Tag": tag,
        "UniqueSize": "N/A",
        "VirtualSize": output::human_size_with_precision(size, 4),
    })
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
    image::tag(&Store::open(root)?, &args.source, &ImageRef::parse(&args.target)?)?;
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
                for name in &removed.untagged {
                    println!("Untagged: {name}");
                }
                if removed.deleted {
                    println!("Deleted: {}", removed.id);
                }
                for layer in &removed.deleted_layers {
                    println!("Deleted: {layer}");
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

/// `wbox image VERB`: Docker's management command, with its aliases.
#[derive(clap::Subcommand)]
pub enum ImageCommand {
    Build(super::build::BuildArgs),
    History(HistoryArgs),
    Import(super::archive::ImportArgs),
    Inspect(InspectArgs),
    Load(super::archive::LoadArgs),
    #[command(name = "ls", visible_aliases = ["list", "images"])]
    Ls(ImagesArgs),
    /// Remove what no image uses; with -a, every image
    #[command(
        after_help = "Examples:\n  wbox image prune -f\n  wbox image prune -a -f --filter until=24h\n  \
        wbox image prune -f --filter label!=keep"
    )]
    Prune {
        /// Remove all images, not only unused blobs
        #[arg(short, long)]
        all: bool,
        /// Only images the filter matches: until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE]
        #[arg(long = "filter", value_name = "FILTER", value_parser = filters::check_shape)]
        filters: Vec<String>,
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
    Pull(super::registry::PullArgs),
    Push(super::registry::PushArgs),
    #[command(name = "rm", visible_aliases = ["remove", "rmi"])]
    Rm(RmiArgs),
    Save(super::archive::SaveArgs),
    Tag(TagArgs),
}

pub fn image_command(root: &Path, command: ImageCommand) -> crate::Result<i32> {
    match command {
        ImageCommand::Build(args) => super::build::build(root, args),
        ImageCommand::History(args) => history(root, args),
        ImageCommand::Import(args) => super::archive::import(root, args),
        ImageCommand::Inspect(args) => inspect(root, args, Some(Kind::Image)),
        ImageCommand::Load(args) => super::archive::load(root, args),
        ImageCommand::Ls(args) => images(root, args),
        ImageCommand::Prune { all, filters, force } => prune(root, all, &filters, force),
        ImageCommand::Pull(args) => super::registry::pull(root, args),
        ImageCommand::Push(args) => super::registry::push(root, args),
        ImageCommand::Rm(args) => rmi(root, args),
        ImageCommand::Save(args) => super::archive::save(root, args),
        ImageCommand::Tag(args) => tag(root, args),
    }
}

fn prune(root: &Path, all: bool, filters: &[String], force: bool) -> crate::Result<i32> {
    let filters = Filters::parse(filters, image::PRUNE_FILTERS)?;
    let warning = if all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !output::confirm_prune(force, warning)? {
        return Ok(0);
    }
    let pruned = image::prune(&Store::open(root)?, all, &container::images_in_use(root), &filters)?;
    if !pruned.images.is_empty() {
        println!("Deleted Images:");
        for (untagged, id) in &pruned.images {
            for name in untagged {
                println!("untagged: {name}");
            }
            println!("deleted: {id}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", output::human_size(pruned.freed));
    Ok(0)
}

/// Show a container's or an image's details as JSON, as `docker inspect` does
#[derive(Args)]
#[command(
    after_help = "Examples:\n  wbox inspect localhost:5000/hello:1.0\n  wbox inspect --type container web\n  \
    wbox inspect -f '{{.State.Running}}' web\n  wbox inspect -f '{{json .Config.Env}}' localhost:5000/hello:1.0"
)]
pub struct InspectArgs {
    /// Print each object with a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Only this kind of object: container or image
    #[arg(long = "type", value_enum)]
    pub kind: Option<Kind>,
    /// Containers or images, by name or id
    #[arg(required = true, value_name = "NAME|ID")]
    pub names: Vec<String>,
}

/// What `inspect` looks for.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Container,
    Image,
}

/// `inspect`; `only` is the kind a management command inspects
/// (`wbox container inspect`), which `--type` cannot widen.
pub fn inspect(root: &Path, args: InspectArgs, only: Option<Kind>) -> crate::Result<i32> {
    let kind = only.or(args.kind);
    let store = Store::open(root)?;
    let mut shown = Vec::new();
    let mut failed = false;
    for name in &args.names {
        if kind != Some(Kind::Image)
            && let Some(container) = super::container::inspect(root, name)?
        {
            shown.push(container);
            continue;
        }
        let found = match kind {
            Some(Kind::Container) => Err(wbox_runtime::Error::NoSuchContainer(name.clone())),
            _ => image::lookup(&store, name).map(|(found, tags)| found.inspect(&store, &tags)),
        };
        match found {
            Ok(found) => shown.push(found),
            Err(e) => {
                eprintln!("wbox: {e}");
                failed = true;
            }
        }
    }
    match &args.format {
        None => output::print_json(&shown),
        Some(format) => {
            let template = Template::parse(format)
                .map_err(|e| wbox_runtime::Error::usage(format!("template parsing error: {e}")))?;
            for object in &shown {
                println!("{}", template.render(object).map_err(wbox_runtime::Error::usage)?);
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// Show how an image was made
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox history localhost:5000/hello:1.0\n  \
    wbox history --format '{{.CreatedBy}} {{.Size}}' localhost:5000/hello:1.0")]
pub struct HistoryArgs {
    /// Print with a Go template, `json`, or `table` (the default) or `table TEMPLATE`
    #[arg(long)]
    pub format: Option<String>,
    /// Do not cut long CREATED BY lines
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image ids
    #[arg(short, long)]
    pub quiet: bool,
    /// The image, by name or id
    pub image: String,
}

pub fn history(root: &Path, args: HistoryArgs) -> crate::Result<i32> {
    let store = Store::open(root)?;
    let (found, _) = image::lookup(&store, &args.image)?;
    let rows: Vec<serde_json::Value> = found
        .history(&store)
        .into_iter()
        .map(|step| {
            let id = step.id.map_or_else(
                || "<missing>".to_owned(),
                |id| if args.no_trunc { id.to_string() } else { id.short().to_owned() },
            );
            let by = step.created_by.replace('\t', " ");
            serde_json::json!({
                "ID": id,
                "CreatedSince": output::since_or_na(step.created),
                "CreatedAt": step.created.map_or_else(|| "N/A".to_owned(), |c| c.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                "CreatedBy": if args.no_trunc { by } else { super::container::truncate(&by, 45) },
                "Size": output::human_size(step.size),
                "Comment": step.comment,
            })
        })
        .collect();
    if args.quiet {
        for row in &rows {
            println!("{}", row["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    let headers = serde_json::json!({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
        "Size": "SIZE", "Comment": "COMMENT",
    });
    let default = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
    output::print_rows(args.format.as_deref(), default, &headers, &rows)?;
    Ok(0)
}
