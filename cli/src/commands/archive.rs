//! Image archives: save and load, as `docker save` and `docker load`.

use std::path::Path;

use clap::Args;
use std::io::IsTerminal;

use wbox_runtime::archive;
use wbox_runtime::filesystem::Import;
use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;

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
    let images = archive::find(&store, &args.images)?;
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
    for image in loaded {
        println!("{image}");
    }
    Ok(0)
}

/// Writes an archive to `path`, or to stdout unless it is a terminal.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> crate::Result<()> {
    use std::io::Write;
    let written = match path {
        Some(path) => std::fs::write(path, bytes).map_err(|e| (path.display().to_string(), e)),
        None if std::io::stdout().is_terminal() => {
            return Err(wbox_runtime::Error::usage(
                "refusing to write an archive to a terminal; use -o FILE or redirect stdout",
            ));
        }
        None => std::io::stdout().lock().write_all(bytes).map_err(|e| ("stdout".to_owned(), e)),
    };
    written.map_err(|(to, e)| wbox_runtime::Error::usage(format!("cannot write the archive to {to}: {e}")))
}

/// Make an image of the files of a tar archive (one `wbox export` wrote, or any)
#[derive(Args)]
#[command(override_usage = "wbox import [OPTIONS] FILE|URL|- [REPOSITORY[:TAG]]")]
#[command(after_help = "The image is for wasi/wasm unless --platform says otherwise.\n\n\
    Examples:\n  wbox export web | wbox import - web:snapshot\n  \
    wbox import -c 'ENTRYPOINT [\"/app.wasm\"]' -m 'first cut' rootfs.tar tool:1.0\n  \
    wbox import https://example.com/rootfs.tar.gz tool:2.0\n  \
    wbox import --platform linux/amd64 -c 'CMD [\"sh\"]' debian-rootfs.tar mydebian")]
pub struct ImportArgs {
    /// A Dockerfile instruction for the image's config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
    /// STOPSIGNAL, USER, VOLUME or WORKDIR (repeatable)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// Set the comment of the image's one step
    #[arg(short, long)]
    pub message: Option<String>,
    /// The platform the image is for, OS/ARCH (default wasi/wasm)
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// The archive: a file, an http(s) URL, or - for stdin
    #[arg(value_name = "FILE|URL|-")]
    pub file: String,
    /// The name to give the image
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub name: Option<String>,
}

pub fn import(root: &Path, args: ImportArgs) -> crate::Result<i32> {
    use std::io::Read;
    let tag = args.name.as_deref().map(ImageRef::parse).transpose()?;
    let from_url = wbox_runtime::build::is_url(&args.file);
    let tar = if from_url {
        wbox_runtime::build::fetch(&args.file, "import")?
    } else {
        let mut tar = Vec::new();
        let read = if args.file == "-" {
            std::io::stdin().lock().read_to_end(&mut tar).map(|_| ())
        } else {
            std::fs::File::open(&args.file).and_then(|mut f| f.read_to_end(&mut tar)).map(|_| ())
        };
        read.map_err(|e| wbox_runtime::Error::usage(format!("cannot read {}: {e}", args.file)))?;
        tar
    };
    let store = Store::open(root)?;
    // As Docker's client, which sends a file as it sends stdin.
    let source = if from_url { args.file.as_str() } else { "-" };
    let import = Import {
        changes: &args.changes,
        message: args.message.as_deref(),
        source,
        platform: args.platform.as_deref(),
        tag,
    };
    let built = wbox_runtime::filesystem::import(root, &store, tar, import)?;
    println!("{}", built.id);
    Ok(0)
}
