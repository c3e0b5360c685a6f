//! Image commands: pull, push, images, tag, rmi, inspect, history, login,
//! save, load and image prune.

use std::path::Path;

use clap::Args;
use std::io::IsTerminal;

use wbox_runtime::reference::ImageRef;
use wbox_runtime::registry::{self, PullOptions};
use wbox_runtime::store::Store;
use wbox_runtime::{archive, container, image};

use crate::output;
use crate::progress::PullProgress;

/// How to reach registries: flags of every command that talks to one.
#[derive(Args, Clone, Default)]
pub struct RegistryFlags {
    /// Reach this registry over plain HTTP (loopback registries always are) (repeatable)
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

impl RegistryFlags {
    pub fn options(&self) -> PullOptions {
        PullOptions { platform: None, insecure_registries: self.insecure_registries.clone() }
    }
}

/// What to pull: flags shared by `pull` and `run`.
#[derive(Args, Clone, Default)]
pub struct PullFlags {
    /// Platform to pick from a multi-platform image, e.g. wasi/wasm or linux/amd64
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,

    #[command(flatten)]
    pub registry: RegistryFlags,
}

impl PullFlags {
    pub fn options(&self) -> PullOptions {
        PullOptions { platform: self.platform.clone(), ..self.registry.options() }
    }
}

/// Download an image from a registry
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox pull localhost:5000/hello:1.0\n  \
    wbox pull -q localhost:5000/hello:1.0\n  \
    wbox pull --platform wasi/wasm registry.example/app@sha256:…")]
pub struct PullArgs {
    #[command(flatten)]
    pub flags: PullFlags,

    /// Show no progress, only the image's name at the end
    #[arg(short, long)]
    pub quiet: bool,

    /// The image: [REGISTRY/]NAME[:TAG][@DIGEST]
    pub image: String,
}

pub fn pull(root: &Path, args: PullArgs) -> crate::Result<i32> {
    let reference = ImageRef::parse(&args.image)?;
    let store = Store::open(root)?;
    if args.quiet {
        registry::block_on(registry::pull(
            root,
            &store,
            &reference,
            &args.flags.options(),
            &registry::Silent,
        ))?;
    } else {
        pull_showing_progress(root, &store, &reference, &args.flags, false)?;
    }
    println!("{reference}");
    Ok(0)
}

/// Pulls with Docker's progress lines, on stdout or (for `run`) stderr.
fn pull_showing_progress(
    root: &Path,
    store: &Store,
    reference: &ImageRef,
    flags: &PullFlags,
    to_stderr: bool,
) -> crate::Result<image::Image> {
    let progress = PullProgress::new(to_stderr);
    let image = registry::block_on(registry::pull(root, store, reference, &flags.options(), &progress))?;
    progress.finish(reference, &image.manifest_digest);
    Ok(image)
}

/// The image to run, from the store or else pulled first, as `docker run` does.
pub fn pull_if_missing(
    root: &Path,
    store: &Store,
    reference: &ImageRef,
    flags: &PullFlags,
) -> crate::Result<image::Image> {
    if let Some(found) = image::find(store, reference)? {
        // As Docker: an image stored for another platform than the one
        // asked for is pulled again for it.
        let stored = format!("{}/{}", found.config.os, found.config.architecture);
        match &flags.platform {
            Some(wanted) if !wanted.starts_with(&stored) => {
                eprintln!("The stored '{}' is {stored}; pulling {wanted}", reference.familiar());
            }
            _ => return Ok(found),
        }
    } else if let Some(found) = image::by_id_written_as(store, reference)? {
        return Ok(found);
    } else {
        eprintln!("Unable to find image '{}' locally", reference.familiar());
    }
    pull_showing_progress(root, store, reference, flags, true)
}

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

/// Upload an image to a registry
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox tag localhost:5000/hello:1.0 localhost:5000/hello:latest\n  \
    wbox push localhost:5000/hello:latest")]
pub struct PushArgs {
    #[command(flatten)]
    pub flags: RegistryFlags,

    /// Show no progress, only the pushed digest at the end
    #[arg(short, long)]
    pub quiet: bool,

    /// The image, as tagged in the store: [REGISTRY/]NAME[:TAG]
    pub image: String,
}

pub fn push(root: &Path, args: PushArgs) -> crate::Result<i32> {
    let reference = ImageRef::parse(&args.image)?;
    let store = Store::open(root)?;
    let options = args.flags.options();
    let pushed = if args.quiet {
        registry::block_on(registry::push(root, &store, &reference, &options, &registry::Silent))?
    } else {
        registry::block_on(registry::push(root, &store, &reference, &options, &PullProgress::for_push()))?
    };
    println!("{}: digest: {} size: {}", reference.tag().unwrap_or("latest"), pushed.digest, pushed.size);
    Ok(0)
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

/// Log in to a registry; pulls and pushes then use these credentials
#[derive(Args)]
#[command(
    after_help = "Examples:\n  echo \"$PASSWORD\" | wbox login localhost:5000 -u alice --password-stdin"
)]
pub struct LoginArgs {
    #[command(flatten)]
    pub flags: RegistryFlags,
    /// User name
    #[arg(short, long)]
    pub username: String,
    /// Read the password from stdin (the only way: a password on the command line would show in `ps`)
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// The registry: HOST[:PORT]; Docker Hub when left out
    #[arg(default_value = "docker.io")]
    pub registry: String,
}

pub fn login(root: &Path, args: LoginArgs) -> crate::Result<i32> {
    let mut password = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut password)
        .map_err(|e| wbox_runtime::Error::usage(format!("cannot read the password from stdin: {e}")))?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(wbox_runtime::Error::usage(
            "no password on stdin; pipe it in, e.g. echo \"$PASSWORD\" | wbox login …",
        ));
    }
    registry::block_on(registry::login(
        root,
        &args.registry,
        &args.username,
        password,
        &args.flags.options(),
    ))?;
    println!("Login Succeeded");
    Ok(0)
}

/// Write images to a tar archive (an OCI image layout), with all their blobs
#[derive(Args)]
#[command(
    after_help = "Examples:\n  wbox save -o hello.tar localhost:5000/hello:1.0\n  wbox save localhost:5000/hello:1.0 > hello.tar"
)]
pub struct SaveArgs {
    /// Write to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Images, by name
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub fn save(root: &Path, args: SaveArgs) -> crate::Result<i32> {
    let store = Store::open(root)?;
    let mut images = Vec::new();
    for name in &args.images {
        let reference = ImageRef::parse(name)?;
        let found = image::find(&store, &reference)?
            .ok_or_else(|| wbox_runtime::Error::image(format!("no such image: {reference}")))?;
        images.push((reference, found));
    }
    match &args.output {
        Some(path) => archive::save_file(&store, &images, path)?,
        None if std::io::stdout().is_terminal() => {
            return Err(wbox_runtime::Error::usage(
                "refusing to write an archive to a terminal; use -o FILE or redirect stdout",
            ));
        }
        None => archive::save(&store, &images, std::io::BufWriter::new(std::io::stdout().lock()))?,
    }
    Ok(0)
}

/// Read images from a tar archive made by `wbox save` (or any OCI archive)
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox load -i hello.tar\n  wbox load < hello.tar")]
pub struct LoadArgs {
    /// Read from this file instead of stdin
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<std::path::PathBuf>,
}

pub fn load(root: &Path, args: LoadArgs) -> crate::Result<i32> {
    let store = Store::open(root)?;
    let loaded = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| wbox_runtime::Error::usage(format!("cannot read {}: {e}", path.display())))?;
            archive::load(&store, std::io::BufReader::new(file))?
        }
        None => archive::load(&store, std::io::stdin().lock())?,
    };
    for reference in loaded {
        println!("Loaded image: {}", reference.familiar());
    }
    Ok(0)
}
