//! `wbox cp`: files between a container and the host.

use std::io::Read;
use std::path::Path;

use clap::Args;
use wbox_runtime::Error;
use wbox_runtime::container::Containers;
use wbox_runtime::filesystem::copy::Archive;
use wbox_runtime::store::Store;

/// Copy files/folders between a container and the local filesystem
#[derive(Args)]
#[command(
    override_usage = "wbox cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       \
                      wbox cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    after_help = "Use '-' as the source to read a tar archive from stdin and extract it to a directory \
                  destination in a container.\nUse '-' as the destination to stream a tar archive of a \
                  container source to stdout.\n\n\
                  A container may be running or stopped. A wasm container's image files are read-only: \
                  a copy into it goes to one of its volumes or bind mounts.\n\n\
                  Examples:\n  wbox cp ./config.json web:/etc/app/\n  wbox cp web:/var/log/app.log .\n  \
                  wbox cp web:/data/. ./backup\n  tar -c notes | wbox cp - web:/data"
)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information; a copy into a container keeps them either way, as
    /// dockerd run as root does)
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    #[arg(value_name = "SRC")]
    pub source: String,
    #[arg(value_name = "DEST")]
    pub destination: String,
}

pub fn cp(root: &Path, args: CpArgs) -> crate::Result<i32> {
    let store = || Store::open(root);
    let containers = Containers::open(root)?;
    match (in_container(&args.source), in_container(&args.destination)) {
        (Some(_), Some(_)) => Err(Error::usage("copying between containers is not supported")),
        (None, None) => Err(Error::usage("must specify at least one container source")),
        (Some((name, path)), None) => {
            let container = containers.lookup(name)?;
            let archive = Archive::of_container(&store()?, &container, path, args.follow_link)?;
            if args.destination == "-" {
                super::archive::write_output(None, &archive.tar)?;
                return Ok(0);
            }
            archive.to_host(Path::new(&args.destination))?;
            Ok(0)
        }
        (None, Some((name, path))) => {
            let container = containers.lookup(name)?;
            let archive = if args.source == "-" {
                let mut tar = Vec::new();
                std::io::stdin()
                    .lock()
                    .read_to_end(&mut tar)
                    .map_err(|e| Error::usage(format!("cannot read the tar on stdin: {e}")))?;
                Archive::of_tar(tar)
            } else {
                Archive::of_host(Path::new(&args.source), args.follow_link)?
            };
            archive.to_container(&store()?, &container, path)?;
            Ok(0)
        }
    }
}

/// `CONTAINER:PATH` split, as Docker's client splits it: a path that is
/// absolute, or starts with `.`, is the host's whatever colons it holds.
fn in_container(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with(['/', '.']) || Path::new(arg).is_absolute() {
        return None;
    }
    arg.split_once(':')
}
