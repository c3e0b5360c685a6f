//! `wbox build`: a Dockerfile into an image in the store.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::Args;
use wbox_runtime::Error;
use wbox_runtime::build::{self, BuildOptions};
use wbox_runtime::plan::{Network, parse_env};
use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::Store;

use crate::progress::BuildSteps;

/// Build an image from a Dockerfile
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox build -t localhost:5000/hello:1.0 examples/hello\n  \
    wbox build -f other/Dockerfile --build-arg VERSION=2 --target app -t app .\n  \
    wbox build -t app -f - . < Dockerfile\n  \
    tar -c . | wbox build -t app -\n  \
    wbox build --output-format artifact -t localhost:5000/hello:art -f examples/hello/Dockerfile examples/out")]
pub struct BuildArgs {
    /// Name the image: [REGISTRY/]NAME[:TAG] (repeatable); without it the image is known by its id
    #[arg(short, long, value_name = "NAME")]
    pub tag: Vec<String>,
    /// The Dockerfile (default: CONTEXT/Dockerfile); - reads it from stdin
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Set a build argument (repeatable)
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Build only up to this stage
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// Print only the image's id
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
    /// A secret RUN --mount=type=secret,id=ID can read, never stored in the image:
    /// id=ID,src=FILE (repeatable)
    #[arg(long, value_name = "id=ID,src=FILE")]
    pub secret: Vec<String>,
    /// Set a label on the image, KEY=VALUE (repeatable)
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// The build context: the directory COPY reads from; - reads a tar (or a Dockerfile alone) from stdin
    pub context: PathBuf,
}

pub fn build(root: &Path, args: BuildArgs) -> crate::Result<i32> {
    let mut build_args = Vec::new();
    for spec in &args.build_args {
        build_args.extend(parse_env(spec)?);
    }
    let (context, dockerfile) = build::inputs(args.context, args.file, &mut || {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
    })?;
    let options = BuildOptions {
        context,
        dockerfile,
        tags: args.tag.iter().map(|t| ImageRef::parse(t)).collect::<Result<_, _>>()?,
        build_args,
        target: args.target,
        no_cache: args.no_cache,
        artifact: args.output_format == "artifact",
        network: args.network.as_deref().map(|n| Network::from_flags(Some(n), &[])).transpose()?,
        platform: args.platform,
        secrets: args.secret.iter().map(|s| build::secret(s)).collect::<Result<_, _>>()?,
        labels: crate::flags::labels(&args.labels),
        step_output: None,
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
    let built = built?;
    if quiet {
        println!("{}", built.id);
    } else {
        println!("Successfully built {}", built.id.short());
        for tag in &options.tags {
            println!("Successfully tagged {}", tag.familiar());
        }
    }
    Ok(0)
}
