//! Image commands: `pull` and `images`.

use std::path::Path;

use clap::Args;
use wbox_runtime::image;
use wbox_runtime::reference::ImageRef;
use wbox_runtime::registry::{self, PullOptions};
use wbox_runtime::store::Store;

use crate::progress::PullProgress;

/// Where a pull may go: flags shared by `pull` and `run`.
#[derive(Args, Clone, Default)]
pub struct PullFlags {
    /// Platform to pick from a multi-platform image, e.g. wasi/wasm or linux/amd64
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,

    /// Reach this registry over plain HTTP (loopback registries always are) (repeatable)
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

impl PullFlags {
    pub fn options(&self) -> PullOptions {
        PullOptions { platform: self.platform.clone(), insecure_registries: self.insecure_registries.clone() }
    }
}

/// Download an image from a registry
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox pull localhost:5000/hello:1.0\n  \
    wbox pull --platform wasi/wasm registry.example/app@sha256:…")]
pub struct PullArgs {
    #[command(flatten)]
    pub flags: PullFlags,

    /// The image: [REGISTRY/]NAME[:TAG][@DIGEST]
    pub image: String,
}

pub fn pull(root: &Path, args: PullArgs) -> crate::Result<i32> {
    let reference = ImageRef::parse(&args.image)?;
    let store = Store::open(root)?;
    let progress = PullProgress::new(false);
    let image = registry::pull_blocking(root, &store, &reference, &args.flags.options(), &progress)?;
    progress.finish(&reference, &image.manifest_digest);
    println!("{reference}");
    Ok(0)
}

/// The image to run, from the store or else pulled first, as `docker run` does.
pub fn pull_if_missing(
    root: &Path,
    store: &Store,
    reference: &ImageRef,
    flags: &PullFlags,
) -> crate::Result<image::Image> {
    if let Some(found) = image::find(store, reference)? {
        return Ok(found);
    }
    eprintln!("Unable to find image '{reference}' locally");
    let progress = PullProgress::new(true);
    let image = registry::pull_blocking(root, store, reference, &flags.options(), &progress)?;
    progress.finish(reference, &image.manifest_digest);
    Ok(image)
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
        let reference = &tagged.reference;
        let created = tagged
            .image
            .config
            .created
            .as_deref()
            .and_then(|c| c.parse::<chrono::DateTime<chrono::Utc>>().ok());
        rows.push(Row {
            repository: reference.familiar_repository(),
            tag: reference.tag().unwrap_or("<none>").to_owned(),
            id: tagged.image.id().short().to_owned(),
            digest: tagged.image.manifest_digest.to_string(),
            created_at: created.map(|c| c.to_rfc3339()).unwrap_or_default(),
            created_since: created.map(since).unwrap_or_else(|| "N/A".into()),
            size: human_size(tagged.image.size()),
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

/// "3 minutes ago", as Docker says it.
fn since(when: chrono::DateTime<chrono::Utc>) -> String {
    let seconds = (chrono::Utc::now() - when).num_seconds().max(0);
    let (n, unit) = match seconds {
        0..60 => return "Less than a minute ago".into(),
        60..3600 => (seconds / 60, "minute"),
        3600..86400 => (seconds / 3600, "hour"),
        86400..1209600 => (seconds / 86400, "day"),
        1209600..5184000 => (seconds / 604800, "week"),
        5184000..63072000 => (seconds / 2592000, "month"),
        _ => (seconds / 31536000, "year"),
    };
    if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") }
}

/// Sizes in SI units, as Docker prints them: 7.8MB.
fn human_size(bytes: u64) -> String {
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
