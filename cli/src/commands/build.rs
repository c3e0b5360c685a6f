//! `wbox build`: a Dockerfile into an image in the store.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use wbox_runtime::Error;
use wbox_runtime::build::{self, BuildOptions};
use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;
use wbox_runtime::wasm::{Network, parse_env};

use crate::progress::BuildSteps;

/// Build an image from a Dockerfile
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox build -t localhost:5000/hello:1.0 examples/hello\n  \
    wbox build -f other/Dockerfile --build-arg VERSION=2 --target app -t app .\n  \
    wbox build --output-format artifact -t localhost:5000/hello:art -f examples/hello/Dockerfile examples/out")]
pub struct BuildArgs {
    /// Name the image: [REGISTRY/]NAME[:TAG]
    #[arg(short, long, value_name = "NAME")]
    pub tag: String,
    /// The Dockerfile (default: CONTEXT/Dockerfile)
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Set a build argument (repeatable)
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Build only up to this stage
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// Print only the image's digest
    #[arg(short, long)]
    pub quiet: bool,
    /// auto: a live display on a terminal, plain lines otherwise; plain; tty
    #[arg(long, value_name = "TYPE", default_value = "auto", value_parser = ["auto", "plain", "tty"])]
    pub progress: String,
    /// Build every step again instead of reusing cached layers
    #[arg(long)]
    pub no_cache: bool,
    /// image: a Docker+Wasm image; artifact: a wasm OCI artifact of the final stage's program alone
    #[arg(long, value_name = "FORMAT", default_value = "image", value_parser = ["image", "artifact"])]
    pub output_format: String,
    /// The network RUN steps may reach: none (the default for wasm stages) or host (the default for native stages)
    #[arg(long, value_name = "none|host")]
    pub network: Option<String>,
    /// The image's platform: wasi/wasm when the final stage is scratch or a wasm image
    /// (the default), the base image's (e.g. linux/amd64) when it is native
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// The build context: the directory COPY reads from
    pub context: PathBuf,
}

pub fn build(root: &Path, args: BuildArgs) -> crate::Result<i32> {
    let mut build_args = Vec::new();
    for spec in &args.build_args {
        build_args.extend(parse_env(spec)?);
    }
    let options = BuildOptions {
        context: args.context,
        dockerfile: args.file,
        tag: ImageRef::parse(&args.tag)?,
        build_args,
        target: args.target,
        no_cache: args.no_cache,
        artifact: args.output_format == "artifact",
        network: args.network.as_deref().map(|n| Network::from_flags(Some(n), &[])).transpose()?,
        platform: args.platform,
    };
    let quiet = args.quiet;
    let terminal = std::io::stdout().is_terminal();
    if args.progress == "tty" && !terminal {
        return Err(Error::usage("--progress tty needs a terminal on stdout; use --progress plain"));
    }
    let mut live = (!quiet && terminal && args.progress != "plain").then(BuildSteps::on_stdout);
    let cache = super::run::compile_cache(root);
    let built = build::build(root, &Store::open(root)?, &cache, &options, &mut |step| match &mut live {
        Some(live) => live.say(step),
        None if !quiet => println!("{step}"),
        None => {}
    });
    if let Some(live) = live {
        live.finish();
    }
    let digest = built?;
    if quiet {
        println!("{digest}");
    } else {
        println!("Successfully built {digest}\nSuccessfully tagged {}", options.tag.familiar());
    }
    Ok(0)
}
