//! Registry commands: pull, push and login.

use std::path::Path;

use clap::Args;

use wbox_runtime::image;
use wbox_runtime::reference::ImageRef;
use wbox_runtime::registry::{self, Registries};
use wbox_runtime::store::Store;

use crate::flags::{PullFlags, RegistryFlags};
use crate::progress::PullProgress;

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
        let registries = Registries::new(root, &store, &args.flags.options())?;
        registry::block_on(registries.pull(&reference, &registry::Silent))?;
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
    let registries = Registries::new(root, store, &flags.options())?;
    let image = registry::block_on(registries.pull(reference, &progress))?;
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
    match image::for_run(store, reference, flags.platform.as_deref())? {
        image::ForRun::Stored(image) => Ok(*image),
        image::ForRun::Pull(note) => {
            eprintln!("{note}");
            pull_showing_progress(root, store, reference, flags, true)
        }
    }
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
    let registries = Registries::new(root, &store, &args.flags.options())?;
    let pushed = if args.quiet {
        registry::block_on(registries.push(&reference, &registry::Silent))?
    } else {
        registry::block_on(registries.push(&reference, &PullProgress::for_push()))?
    };
    println!("{}: digest: {} size: {}", reference.tag().unwrap_or("latest"), pushed.digest, pushed.size);
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

/// Forget the credentials `login` kept for a registry (Docker Hub's if none is named)
#[derive(Args)]
#[command(after_help = "Examples:\n  wbox logout localhost:5000")]
pub struct LogoutArgs {
    /// The registry, HOST[:PORT]
    #[arg(value_name = "SERVER")]
    pub registry: Option<String>,
}

pub fn logout(root: &Path, args: LogoutArgs) -> crate::Result<i32> {
    let key = registry::logout(root, args.registry.as_deref())?;
    println!("Removing login credentials for {key}");
    Ok(0)
}
