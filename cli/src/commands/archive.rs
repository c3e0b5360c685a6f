//! Image archives: save and load, as `docker save` and `docker load`.

use std::path::Path;

use clap::Args;
use std::io::IsTerminal;

use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;
use wbox_runtime::{archive, image};

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
            .ok_or_else(|| wbox_runtime::Error::NoSuchImage(reference.to_string()))?;
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
