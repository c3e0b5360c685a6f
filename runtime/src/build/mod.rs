//! `wbox build`: a Dockerfile into an image in the store, as Docker's
//! BuildKit builds it (`tests/dockerfiles/` holds the cases that prove it).
//!
//! Each stage keeps its files while the build runs (`files`: what RUN
//! changes, `COPY --from` reads, a later stage starts from); each COPY/ADD
//! (`copy`) and RUN (`run_step`, with its `mounts`) becomes one reproducible
//! layer (`layer`), cached by its inputs (`cache`); the other instructions
//! change the image's config. A stage on scratch or a wasm image makes a
//! wasm image and runs wasm programs; one on a native image runs its steps
//! in Linux containers.

use std::path::{Path, PathBuf};

use cap_std::fs::Dir;
use serde_json::{Map, Value, json};

use crate::image::{self, Image};
use crate::plan::Network;
use crate::reference::ImageRef;
use crate::registry;
use crate::rootdir::RootDir;
use crate::scratch::{self, Scratch};
use crate::store::{Descriptor, Digest, Store, media};
use crate::wasm::CompileCache;
use crate::{Error, Result};

mod add;
mod artifact;
mod cache;
mod copy;
pub mod dockerfile;
mod files;
mod glob;
pub(crate) mod ignore;
mod image_config;
pub(crate) mod layer;
mod mounts;
mod run_step;

pub use add::{fetch, is_url};
use cache::LayerCache;
pub use cache::{CachedStep, entries as cache_entries, prune as prune_cache};
use dockerfile::{Command, Op};
use ignore::Ignore;
use layer::{Content, Entry, Layer};
pub(crate) use run_step::changes;

/// What to build, as the command line says it.
pub struct BuildOptions {
    pub context: Context,
    pub dockerfile: DockerfileAt,
    /// The names to give the image (`-t`, repeatable); none leaves it
    /// untagged, listed as `<none>` and known by its id, as Docker does.
    pub tags: Vec<ImageRef>,
    pub build_args: Vec<(String, String)>,
    /// The stage to build; the last by default.
    pub target: Option<String>,
    /// Build every step again, ignoring the layer cache.
    pub no_cache: bool,
    /// Write a wasm OCI artifact of the final stage's program instead of an
    /// image (`--output-format artifact`).
    pub artifact: bool,
    /// What RUN steps may reach (`--network`); by default nothing in a
    /// wasm stage, the host's network in a native one (as Docker's build).
    pub network: Option<Network>,
    /// The platform the image must be (`--platform`): what the final stage
    /// makes by default.
    pub platform: Option<String>,
    /// `--secret id=ID,src=FILE`: what `RUN --mount=type=secret,id=ID` reads.
    pub secrets: Vec<(String, PathBuf)>,
    /// `--label KEY=VALUE`: labels of the image, over its LABELs.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Where RUN steps write their output, instead of this process's stdout
    /// and stderr: the Engine API streams it to its client.
    pub step_output: Option<std::sync::Arc<std::fs::File>>,
}

/// The files COPY and ADD read.
#[derive(Debug)]
pub enum Context {
    /// A directory (`wbox build DIR`).
    Dir(PathBuf),
    /// A tar, gzipped or not, as `tar -c . | wbox build -` sends it.
    Archive(Vec<u8>),
    /// No files at all: the Dockerfile came as the context (`wbox build - < Dockerfile`).
    Empty,
}

impl Context {
    /// What `-` as the context reads from stdin: a tar (gzipped too) is
    /// the context; anything else is the Dockerfile itself, with no context,
    /// as `docker build - < Dockerfile` takes it.
    pub fn from_stdin(bytes: Vec<u8>) -> (Context, Option<String>) {
        let gzip = bytes.starts_with(&[0x1f, 0x8b]);
        let tar = bytes.get(257..262) == Some(b"ustar");
        if gzip || tar {
            return (Context::Archive(bytes), None);
        }
        (Context::Empty, Some(String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// The context and the Dockerfile as the command line names them, `-`
/// for stdin (read by `read_stdin`), with Docker's rules: stdin can be one
/// of the two, and `-f FILE` with a context from stdin names a file in it.
pub fn inputs(
    context: PathBuf,
    file: Option<PathBuf>,
    read_stdin: &mut dyn FnMut() -> std::io::Result<Vec<u8>>,
) -> Result<(Context, DockerfileAt)> {
    let is_stdin = |path: &Path| path.as_os_str() == "-";
    let mut stdin = || read_stdin().map_err(|e| Error::usage(format!("cannot read stdin: {e}")));
    if is_stdin(&context) && file.as_deref().is_some_and(is_stdin) {
        return Err(Error::usage("the context and the Dockerfile cannot both come from stdin"));
    }
    let (context, from_stdin) =
        if is_stdin(&context) { Context::from_stdin(stdin()?) } else { (Context::Dir(context), None) };
    let dockerfile = match (file, from_stdin) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                "-f names a file of the context, and stdin held a Dockerfile, not a context",
            ));
        }
        (Some(file), None) if is_stdin(&file) => {
            DockerfileAt::Text(String::from_utf8_lossy(&stdin()?).into_owned())
        }
        (Some(file), None) => DockerfileAt::Path(file),
        (None, Some(text)) => DockerfileAt::Text(text),
        (None, None) => DockerfileAt::Default,
    };
    Ok((context, dockerfile))
}

/// Where the Dockerfile is.
#[derive(Debug)]
pub enum DockerfileAt {
    /// `Dockerfile` at the top of the context.
    Default,
    /// `-f FILE`: a path as given for a context directory, a path inside
    /// the archive for a context from stdin.
    Path(PathBuf),
    /// Its text, read from stdin (`-f -`).
    Text(String),
}

/// What a build made.
pub struct Built {
    /// The image id: its config's digest, as `images` and `inspect` show it.
    pub id: Digest,
    pub manifest: Digest,
}

/// A stage being built.
struct Stage {
    /// Its place in the Dockerfile, from 0 (`--from=0`).
    index: usize,
    name: Option<String>,
    files: files::StageFiles,
    layers: Vec<Descriptor>,
    diff_ids: Vec<Value>,
    history: Vec<Value>,
    config: Map<String, Value>,
    /// ARG values then ENV, for substitution.
    vars: Vec<(String, String)>,
    /// The layer cache's key of the last step.
    chain: String,
    /// A native stage's platform (`linux/amd64`), from its base image;
    /// none for a wasm stage.
    platform: Option<(String, String)>,
    /// Whether it starts from an image (whose ONBUILD triggers run), not
    /// from scratch or an earlier stage.
    from_image: bool,
    /// Whether this stage has a CMD of its own, which ENTRYPOINT keeps.
    cmd_set: bool,
    /// MAINTAINER: the image's `author`.
    author: Option<String>,
}

impl Stage {
    fn add_layer(&mut self, descriptor: Descriptor, diff_id: Digest) {
        self.layers.push(descriptor);
        self.diff_ids.push(json!(diff_id));
    }
}

/// Builds the image and tags it; `say` is told each step.
pub fn build(
    root: &Path,
    store: &Store,
    cache: &CompileCache,
    options: &BuildOptions,
    say: &mut dyn FnMut(&str),
) -> Result<Built> {
    // A context from stdin is unpacked as a layer is: nothing in it can
    // write outside the directory it is unpacked into.
    let unpacked = match &options.context {
        Context::Dir(_) => None,
        Context::Archive(bytes) => {
            let dir = Scratch::new(root, "context-")?;
            crate::store::unpack::unpack_bytes(bytes, dir.path())
                .map_err(|e| Error::usage(format!("the build context on stdin: {e}")))?;
            Some(dir)
        }
        Context::Empty => Some(Scratch::new(root, "context-")?),
    };
    let context_path = match (&options.context, &unpacked) {
        (Context::Dir(dir), _) => dir.clone(),
        (_, Some(dir)) => dir.path().to_owned(),
        (_, None) => unreachable!("a context not from a directory is unpacked"),
    };
    let context = Dir::open_ambient_dir(&context_path, cap_std::ambient_authority()).map_err(|e| {
        Error::usage(format!("cannot open the build context {}: {e}", context_path.display()))
    })?;
    let read_in_context = |path: &Path| {
        context
            .read_to_string(path)
            .map_err(|e| Error::usage(format!("cannot read {} in the build context: {e}", path.display())))
    };
    let (text, ignore_beside) = match &options.dockerfile {
        DockerfileAt::Text(text) => (text.clone(), None),
        DockerfileAt::Default => (read_in_context(Path::new("Dockerfile"))?, None),
        DockerfileAt::Path(path) if unpacked.is_some() => (read_in_context(path)?, None),
        DockerfileAt::Path(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?,
            Some(format!("{}.dockerignore", path.display())),
        ),
    };
    let file = dockerfile::parse(&text)?;
    let last = match &options.target {
        None => file.stages.len() - 1,
        Some(target) => file
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(target.to_ascii_lowercase().as_str()))
            .ok_or_else(|| Error::usage(format!("--target {target}: no stage is named so")))?,
    };
    // Docker reads DOCKERFILE.dockerignore beside the Dockerfile first.
    let ignore_text = ignore_beside
        .and_then(|path| std::fs::read_to_string(path).ok())
        .or_else(|| context.read_to_string(".dockerignore").ok())
        .unwrap_or_default();
    let builder = Builder {
        escape: file.escape,
        globals: global_args(&file, options)?,
        root,
        store,
        compile_cache: cache,
        layers: LayerCache::new(root, !options.no_cache),
        context,
        context_path: context_path.clone(),
        ignore: Ignore::parse(&ignore_text),
        options,
        mtime: source_date_epoch(),
    };
    let _adding = store.adding()?;
    let mut built: Vec<Stage> = Vec::new();
    // As BuildKit: only the stages the target needs are built.
    let needed = needed_stages(&file, last, &builder.globals);
    let stages = || file.stages[..=last].iter().enumerate().filter(|(i, _)| needed[*i]);
    let steps: usize = stages().map(|(_, s)| s.instructions.len() + 1).sum();
    let mut step = 0;
    for (index, stage) in stages() {
        step += 1;
        let global = |name: &str| lookup(&builder.globals, name);
        let base = dockerfile::expand(&stage.base, file.escape, &global)?;
        say(&format!(
            "Step {step}/{steps} : FROM {base}{}",
            stage.name.as_ref().map(|n| format!(" AS {n}")).unwrap_or_default()
        ));
        let at = |line: usize| move |e: Error| Error::usage(format!("Dockerfile line {line}: {e}"));
        let mut current =
            start_stage(root, store, &base, (index, stage.name.clone()), &built).map_err(at(stage.line))?;
        // The base image's ONBUILD triggers run first, as if written after
        // FROM, and are not passed on.
        let triggers = match current.config.remove("OnBuild") {
            Some(Value::Array(triggers)) if current.from_image => triggers,
            Some(kept) => {
                current.config.insert("OnBuild".into(), kept);
                Vec::new()
            }
            None => Vec::new(),
        };
        for trigger in triggers.iter().filter_map(Value::as_str) {
            say(&format!(" ---> Running ONBUILD trigger: {trigger}"));
            let from_base = |why: String| {
                Error::usage(format!(
                    "Dockerfile line {}: the base image's ONBUILD {trigger}: {why}",
                    stage.line
                ))
            };
            let parsed = dockerfile::parse(&format!("FROM scratch\n{trigger}\n"))
                .map_err(|e| from_base(e.to_string()))?;
            let instruction = parsed.stages.into_iter().flat_map(|s| s.instructions).next();
            let instruction = instruction.ok_or_else(|| from_base("it is empty".into()))?;
            let instruction = dockerfile::Instruction { line: stage.line, ..instruction };
            apply(&builder, &mut current, &built, &instruction).map_err(at(stage.line))?;
        }
        for instruction in &stage.instructions {
            step += 1;
            say(&format!("Step {step}/{steps} : {}", instruction.text));
            if apply(&builder, &mut current, &built, instruction).map_err(at(instruction.line))? {
                say(" ---> CACHED");
            }
        }
        built.push(current);
    }
    let stage = built.pop().expect("at least one stage");
    let (os, architecture) = stage.platform.clone().unwrap_or(("wasi".into(), "wasm".into()));
    let made = format!("{os}/{architecture}");
    if let Some(wanted) = options.platform.as_deref().filter(|w| *w != made) {
        return Err(Error::usage(format!(
            "--platform {wanted}: the final stage makes a {made} image (its base decides: scratch or a wasm \
             image makes wasi/wasm, a native image its own platform)"
        )));
    }
    if options.artifact && stage.platform.is_some() {
        return Err(Error::usage(format!(
            "--output-format artifact needs a wasm final stage; this one is {made}"
        )));
    }
    let mut stage = stage;
    // `--label`, over the Dockerfile's LABELs, as Docker's build sets them.
    if !options.labels.is_empty() {
        let labels = stage.config.entry("Labels").or_insert_with(|| json!({}));
        for (key, value) in &options.labels {
            labels[key] = json!(value);
        }
    }
    let manifest = if options.artifact {
        write_artifact(store, stage, builder.mtime)?
    } else {
        write_image(store, stage, builder.mtime)?
    };
    // A check that it reads as wbox's own images do.
    let image = Image::load(store, &manifest.digest)?;
    if options.tags.is_empty() {
        store.keep_untagged(&manifest)?;
    }
    for tag in &options.tags {
        store.tag(tag, &manifest)?;
        crate::image::record(store, "tag", image.id(), &tag.familiar());
    }
    Ok(Built { id: image.id().clone(), manifest: manifest.digest })
}

/// `--secret id=ID,src=FILE` (`source=` too, and `type=file`), as Docker
/// takes it.
pub fn secret(spec: &str) -> Result<(String, PathBuf)> {
    let (mut id, mut source) = (None, None);
    for option in spec.split(',') {
        match option.split_once('=') {
            Some(("id", value)) => id = Some(value.to_owned()),
            Some(("src" | "source", value)) => source = Some(PathBuf::from(value)),
            Some(("type", "file")) => {}
            _ => {
                return Err(Error::usage(format!(
                    "--secret {spec}: '{option}' is not understood; give id=ID,src=FILE"
                )));
            }
        }
    }
    match (id, source) {
        (Some(id), Some(source)) if !id.is_empty() => Ok((id, source)),
        _ => Err(Error::usage(format!("--secret {spec}: give id=ID,src=FILE"))),
    }
}

/// Cleans up after builds whose process was killed: their RUN steps'
/// containers (processes, cgroups, runtime state) and their scratch
/// directories. Every wbox command does this first, so a killed build leaves
/// nothing once wbox is used again.
pub fn reap_abandoned(root: &Path) {
    for (dir, _held) in scratch::abandoned(root) {
        let work = scratch::work_in(&dir);
        let state = work.join(crate::native::STATE_DIR);
        for container in std::fs::read_dir(&state).into_iter().flatten().flatten() {
            crate::native::remove_state(&state, &container.file_name().to_string_lossy());
        }
        files::unmount_left_in(&work);
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!("cannot remove {}, left by a killed build: {e}", dir.display());
        }
    }
}

/// An ENV, LABEL or ARG word, quotes and all, with `vars` substituted.
fn process(word: &str, vars: &[(String, String)], escape: char) -> Result<String> {
    dockerfile::process_word(word, escape, &|name| lookup(vars, name))
}

/// Which stages up to `last` the build needs: `last`, and the earlier
/// stages a needed one starts from (by name) or copies or mounts files
/// from (by name or index).
fn needed_stages(file: &dockerfile::Dockerfile, last: usize, globals: &[(String, String)]) -> Vec<bool> {
    let expand = |name: &str| {
        dockerfile::expand(name, file.escape, &|n| lookup(globals, n))
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let by_name = |name: &str, before: usize| {
        file.stages[..before].iter().position(|s| s.name.as_deref() == Some(name))
    };
    let mut needed = vec![false; last + 1];
    needed[last] = true;
    for i in (0..=last).rev() {
        if !needed[i] {
            continue;
        }
        let stage = &file.stages[i];
        let mut depends = vec![by_name(&expand(&stage.base), i)];
        for instruction in &stage.instructions {
            let from = match &instruction.op {
                Op::Copy { from: Some(from), .. } => vec![from.clone()],
                Op::Run { mounts, .. } => mounts
                    .iter()
                    .filter_map(|m| match m {
                        dockerfile::Mount::Bind { from, .. } => from.clone(),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for name in from.iter().map(|f| expand(f)) {
                depends.push(by_name(&name, i).or_else(|| name.parse().ok().filter(|j| *j < i)));
            }
        }
        for j in depends.into_iter().flatten() {
            needed[j] = true;
        }
    }
    needed
}

/// The last value of a variable.
fn lookup(vars: &[(String, String)], name: &str) -> Option<String> {
    vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// BuildKit's platform ARGs (`TARGETPLATFORM`, `BUILDOS`, …), then the
/// Dockerfile's ARGs before the first FROM, each the build argument's value
/// or else its default, in which the ARGs above it are substituted.
fn global_args(file: &dockerfile::Dockerfile, options: &BuildOptions) -> Result<Vec<(String, String)>> {
    let build = format!("{}/{}", std::env::consts::OS, crate::os::platform::arch());
    let target = options.platform.clone().unwrap_or_else(|| build.clone());
    let mut vars = Vec::new();
    for (prefix, platform) in [("BUILD", &build), ("TARGET", &target)] {
        let mut parts = platform.splitn(3, '/');
        vars.push((format!("{prefix}PLATFORM"), platform.clone()));
        vars.push((format!("{prefix}OS"), parts.next().unwrap_or_default().to_owned()));
        vars.push((format!("{prefix}ARCH"), parts.next().unwrap_or_default().to_owned()));
        vars.push((format!("{prefix}VARIANT"), parts.next().unwrap_or_default().to_owned()));
    }
    for (name, default) in &file.global_args {
        let given = lookup(&options.build_args, name);
        let value = match (given, default) {
            (Some(value), _) => Some(value),
            (None, Some(default)) => {
                Some(dockerfile::process_word(default, file.escape, &|n| lookup(&vars, n))?)
            }
            (None, None) => None,
        };
        vars.extend(value.map(|v| (name.clone(), v)));
    }
    Ok(vars)
}

/// Docker's predefined proxy ARGs: RUN sees them when `--build-arg` gives
/// them, without an ARG line, and they stay out of the image.
const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A stage's starting point: nothing, or a wasm image's layers, config and files.
fn start_stage(
    root: &Path,
    store: &Store,
    base: &str,
    index_and_name: (usize, Option<String>),
    built: &[Stage],
) -> Result<Stage> {
    let files = files::StageFiles::empty(root)?;
    let (index, name) = index_and_name;
    let mut stage = Stage {
        index,
        name,
        files,
        layers: Vec::new(),
        diff_ids: Vec::new(),
        history: Vec::new(),
        config: Map::new(),
        vars: Vec::new(),
        chain: LayerCache::key(&[base]),
        platform: None,
        from_image: false,
        cmd_set: false,
        author: None,
    };
    if base == "scratch" {
        set_default_path(&mut stage);
        return Ok(stage);
    }
    if let Some(earlier) =
        built.iter().find(|s| s.name.as_deref() == Some(base.to_ascii_lowercase().as_str()))
    {
        stage.files = files::StageFiles::copy_of(root, earlier.files.path())?;
        stage.layers = earlier.layers.clone();
        stage.diff_ids = earlier.diff_ids.clone();
        stage.history = earlier.history.clone();
        stage.config = earlier.config.clone();
        // Its ARGs too: "inherited by other stages based on that stage".
        stage.vars = earlier.vars.clone();
        stage.chain = earlier.chain.clone();
        stage.platform = earlier.platform.clone();
        return Ok(stage);
    }
    let image = image_or_pull(root, store, base)?;
    match image.kind()? {
        image::Kind::WasmRootfs => {}
        image::Kind::Native { .. } if crate::os::platform::RUNS_NATIVE => {
            stage.platform = Some((image.config.os.clone(), image.config.architecture.clone()));
        }
        image::Kind::Native { platform } => {
            return Err(Error::usage(format!(
                "FROM {base}: a native {platform} stage runs its RUN steps in Linux containers, which this \
                 host cannot run; build on Linux, or build this stage's output elsewhere and COPY it in"
            )));
        }
        image::Kind::WasmArtifact { .. } => {
            return Err(Error::usage(format!(
                "FROM {base}: a wasm artifact has no filesystem to build on; COPY its module instead"
            )));
        }
    }
    stage.chain = LayerCache::key(&[image.manifest_digest.as_str()]);
    let (rootfs, hold) = store.use_rootfs(&image.manifest_digest, &image.manifest.layers)?;
    stage.files = match stage.platform {
        // A native base's files are large: seen through an overlay.
        Some(_) => files::StageFiles::over(root, &rootfs, hold)?,
        None => files::StageFiles::copy_of(root, &rootfs)?,
    };
    stage.layers = image.manifest.layers.clone();
    stage.diff_ids =
        image.raw_config.pointer("/rootfs/diff_ids").and_then(Value::as_array).cloned().unwrap_or_default();
    stage.history = image.raw_config.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
    stage.config = image.raw_config.get("config").and_then(Value::as_object).cloned().unwrap_or_default();
    stage.from_image = true;
    set_default_path(&mut stage);
    Ok(stage)
}

/// An image a build names (`FROM`, `COPY --from`): from the store, else
/// pulled, as Docker does.
fn image_or_pull(root: &Path, store: &Store, name: &str) -> Result<Image> {
    let reference = ImageRef::parse(name)?;
    match image::find(store, &reference)? {
        Some(image) => Ok(image),
        None => {
            let registries = registry::Registries::new(root, store, &registry::PullOptions::default())?;
            registry::block_on(registries.pull(&reference, &registry::Silent))
        }
    }
}

/// BuildKit's rule: a stage whose base sets no PATH gets Docker's default
/// one in its ENV, so that RUN and the image's containers find programs.
fn set_default_path(stage: &mut Stage) {
    if !env_vars(&stage.config).iter().any(|(k, _)| k == "PATH") {
        set_env(&mut stage.config, "PATH", crate::plan::DEFAULT_PATH);
    }
    stage.vars = env_vars(&stage.config);
}

/// A config's `Env`, as the variables a stage starts with.
fn env_vars(config: &Map<String, Value>) -> Vec<(String, String)> {
    let env = config.get("Env").and_then(Value::as_array).into_iter().flatten();
    env.filter_map(Value::as_str)
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// What every step of one build shares.
struct Builder<'a> {
    /// The Dockerfile's escape character.
    escape: char,
    /// The ARGs before the first FROM, BuildKit's platform ARGs, and the
    /// values `--build-arg` gives them.
    globals: Vec<(String, String)>,
    root: &'a Path,
    store: &'a Store,
    compile_cache: &'a CompileCache,
    layers: LayerCache,
    context: Dir,
    context_path: PathBuf,
    /// The context's `.dockerignore`.
    ignore: Ignore,
    options: &'a BuildOptions,
    mtime: u64,
}

/// Applies one instruction to a stage. True when its layer came from the
/// cache.
fn apply(
    b: &Builder,
    stage: &mut Stage,
    built: &[Stage],
    instruction: &dockerfile::Instruction,
) -> Result<bool> {
    let kind = &instruction.op;
    let vars = stage.vars.clone();
    let escape = b.escape;
    let expand = |word: &str| dockerfile::expand(word, escape, &|name| lookup(&vars, name));
    let workdir = stage.config.get("WorkingDir").and_then(Value::as_str).unwrap_or("/").to_owned();
    // The step's key: the steps before it, itself, and the variables it sees.
    let vars_text = serde_json::to_string(&stage.vars).expect("JSON");
    let key = LayerCache::key(&[&stage.chain, &instruction.text, &vars_text]);
    stage.chain = key.clone();
    let layers_before = stage.layers.len();
    let step = Step { b, built, key: &key, workdir: &workdir };
    let cached = match kind {
        Op::Run { .. } => run_step::apply(step, stage, kind)?,
        Op::Copy { .. } => copy::apply(step, stage, &expand, kind)?,
        Op::Workdir(dir) => {
            set_workdir(b, stage, &guest_join(&workdir, &expand(dir)?))?;
            false
        }
        Op::Env(pairs) => {
            set_env_pairs(stage, pairs, escape)?;
            false
        }
        Op::Arg(args) => {
            declare_args(b, stage, args, escape)?;
            false
        }
        _ => {
            image_config::apply(stage, kind, &expand, escape)?;
            false
        }
    };
    stage.history.push(json!({
        "created": epoch_text(b.mtime),
        "created_by": instruction.text,
        "empty_layer": stage.layers.len() == layers_before,
    }));
    Ok(cached)
}

/// What a step that makes a layer works with, besides its stage.
#[derive(Clone, Copy)]
struct Step<'s> {
    b: &'s Builder<'s>,
    /// The stages built before this one, for `--from`.
    built: &'s [Stage],
    /// The layer cache's key of the step.
    key: &'s str,
    workdir: &'s str,
}

/// ENV: every pair sees the variables as they were before the line.
fn set_env_pairs(stage: &mut Stage, pairs: &[(String, String)], escape: char) -> Result<()> {
    let before = stage.vars.clone();
    for (k, v) in pairs {
        let (k, v) = (process(k, &before, escape)?, process(v, &before, escape)?);
        set_env(&mut stage.config, &k, &v);
        stage.vars.push((k, v));
    }
    Ok(())
}

/// ARG: the build argument, else the default; an ARG without one takes the
/// value of the ARG of that name before the first FROM.
fn declare_args(
    b: &Builder,
    stage: &mut Stage,
    args: &[(String, Option<String>)],
    escape: char,
) -> Result<()> {
    for (name, default) in args {
        let value = match (lookup(&b.options.build_args, name), default) {
            (Some(value), _) => Some(value),
            (None, Some(default)) => Some(process(default, &stage.vars, escape)?),
            (None, None) => lookup(&b.globals, name),
        };
        if let Some(value) = value {
            stage.vars.push((name.clone(), value));
        }
    }
    Ok(())
}

/// WORKDIR: as BuildKit, the directory is made now, owned by USER, in a
/// layer of its own.
fn set_workdir(b: &Builder, stage: &mut Stage, path: &str) -> Result<()> {
    stage.config.insert("WorkingDir".into(), json!(path));
    let user = stage.config.get("User").and_then(Value::as_str).filter(|u| !u.is_empty());
    let layer = make_workdir(stage.files.path(), path, user)?;
    if !layer.is_empty() {
        let (descriptor, diff_id) = store_layer(b.store, &layer, b.mtime)?;
        stage.add_layer(descriptor, diff_id);
    }
    Ok(())
}

/// The files of an earlier stage (by name or index) or of an image, as
/// `--from=` names them, with what holds an image's files while they are
/// read.
fn files_of(b: &Builder, built: &[Stage], name: &str) -> Result<mounts::Files> {
    let lower = name.to_ascii_lowercase();
    let earlier =
        built.iter().find(|s| s.name.as_deref() == Some(lower.as_str()) || name == s.index.to_string());
    if let Some(stage) = earlier {
        return Ok((stage.files.path().to_owned(), None));
    }
    let image = image_or_pull(b.root, b.store, name).map_err(|e| {
        Error::usage(format!("--from={name}: no earlier stage is named so, and as an image: {e}"))
    })?;
    let (rootfs, hold) = b.store.use_rootfs(&image.manifest_digest, &image.manifest.layers)?;
    Ok((rootfs, Some(hold)))
}

/// Makes a WORKDIR's missing directories (mode 755, owned by `user`),
/// resolved inside the stage; returns the layer of those it made.
fn make_workdir(files: &Path, path: &str, user: Option<&str>) -> Result<Layer> {
    let root = RootDir::open(files).map_err(|e| Error::Internal(e.into()))?;
    let failed = |e: std::io::Error| Error::usage(format!("cannot make the working directory {path}: {e}"));
    let resolved = root.resolve(path).map_err(failed)?;
    let mut layer = Layer::default();
    if root.dir().symlink_metadata(&resolved).is_ok() || resolved.as_os_str().is_empty() {
        return Ok(layer);
    }
    let (uid, gid) = match user {
        None => (0, 0),
        Some(user) => {
            let found = crate::users::user(root.dir(), Some(user))?;
            (found.uid, found.gid)
        }
    };
    let mut made = PathBuf::new();
    for part in resolved.components() {
        made.push(part);
        if root.dir().symlink_metadata(&made).is_ok() {
            continue;
        }
        root.dir().create_dir(&made).map_err(failed)?;
        let entry = Entry { content: Content::Dir, mode: 0o755, uid: uid.into(), gid: gid.into() };
        layer.add(crate::rootdir::guest_path(&made), entry);
    }
    layer.write_into(root.dir()).map_err(failed)?;
    Ok(layer)
}

/// EXPOSE's forms: `80`, `80/tcp`, `53/udp`, and ranges (`8000-8002/tcp`),
/// each port of a range on its own, as Docker records them.
fn exposed_ports(spec: &str) -> Result<Vec<String>> {
    let (ports, protocol) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let protocol = protocol.to_ascii_lowercase();
    let bad = || Error::usage(format!("EXPOSE {spec}: give PORT[/tcp|udp|sctp] or a range, e.g. 8000-8002"));
    if !["tcp", "udp", "sctp"].contains(&protocol.as_str()) {
        return Err(bad());
    }
    let (first, last) = ports.split_once('-').unwrap_or((ports, ports));
    let (first, last): (u16, u16) = (first.parse().map_err(|_| bad())?, last.parse().map_err(|_| bad())?);
    if first > last {
        return Err(bad());
    }
    Ok((first..=last).map(|port| format!("{port}/{protocol}")).collect())
}

/// Writes a layer's blob into the store.
fn store_layer(store: &Store, layer: &Layer, mtime: u64) -> Result<(Descriptor, Digest)> {
    let tar = layer.tar(mtime).map_err(|e| Error::Internal(e.into()))?;
    let (bytes, descriptor) = layer::compress(&tar).map_err(|e| Error::Internal(e.into()))?;
    store.put_blob(&descriptor, &bytes)?;
    Ok((descriptor, Digest::of(&tar)))
}

/// Exec form as it is; shell form through the stage's SHELL (`/bin/sh -c`).
fn argv(command: &Command, config: &Map<String, Value>) -> Vec<String> {
    match command {
        Command::Exec(words) => words.clone(),
        Command::Shell(line) => {
            let mut shell: Vec<String> = config
                .get("Shell")
                .and_then(|s| serde_json::from_value(s.clone()).ok())
                .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
            shell.push(line.clone());
            shell
        }
    }
}

fn set_env(config: &mut Map<String, Value>, key: &str, value: &str) {
    let env = config.entry("Env").or_insert_with(|| json!([]));
    let list = env.as_array_mut().expect("Env is a list");
    let entry = json!(format!("{key}={value}"));
    match list.iter().position(|e| e.as_str().is_some_and(|e| e.split_once('=').map(|(k, _)| k) == Some(key)))
    {
        Some(i) => list[i] = entry,
        None => list.push(entry),
    }
}

/// A guest path from a working directory and a path that may be relative.
fn guest_join(workdir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{}/{path}", workdir.trim_end_matches('/'))
    };
    let keep_slash = joined.ends_with('/') && joined != "/";
    let normal = format!("/{}", crate::rootdir::clamp(&joined).display());
    if keep_slash { format!("{normal}/") } else { normal }
}

/// `SOURCE_DATE_EPOCH` if set, else 0: the one timestamp of a build, so that
/// it gives the same digest every time.
fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn epoch_text(seconds: u64) -> String {
    chrono::DateTime::from_timestamp(seconds as i64, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn write_artifact(store: &Store, stage: Stage, mtime: u64) -> Result<Descriptor> {
    let entry = artifact::entry(&stage.config)?;
    let files = Dir::open_ambient_dir(stage.files.path(), cap_std::ambient_authority())
        .map_err(|e| Error::Internal(e.into()))?;
    let program = files.read(entry.trim_start_matches('/')).map_err(|e| {
        Error::usage(format!(
            "--output-format artifact: the entrypoint {entry} is not a file of the final stage: {e}"
        ))
    })?;
    let title =
        Path::new(&entry).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(entry.clone());
    let labels = stage
        .config
        .get("Labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect()
        })
        .unwrap_or_default();
    artifact::write(store, &title, &program, labels, &epoch_text(mtime))
}

fn write_image(store: &Store, stage: Stage, mtime: u64) -> Result<Descriptor> {
    let (os, architecture) = stage.platform.clone().unwrap_or(("wasi".into(), "wasm".into()));
    let mut config = json!({
        "created": epoch_text(mtime),
        "architecture": architecture,
        "os": os,
        "config": stage.config,
        "rootfs": { "type": "layers", "diff_ids": stage.diff_ids },
        "history": stage.history,
    });
    if let Some(author) = &stage.author {
        config["author"] = json!(author);
    }
    let config_bytes = serde_json::to_vec(&config).expect("JSON");
    let config_descriptor = Descriptor::of("application/vnd.oci.image.config.v1+json", &config_bytes);
    store.put_blob(&config_descriptor, &config_bytes)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": config_descriptor,
        "layers": stage.layers,
    });
    let manifest_bytes = serde_json::to_vec(&manifest).expect("JSON");
    let descriptor = Descriptor::of(media::OCI_MANIFEST, &manifest_bytes);
    store.put_blob(&descriptor, &manifest_bytes)?;
    Ok(descriptor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_is_the_context_or_the_dockerfile_never_both() {
        let dash = || PathBuf::from("-");
        let text = |t: &'static str| move || Ok(t.as_bytes().to_vec());
        let mut tar = tar::Builder::new(Vec::new());
        tar.append_data(&mut tar::Header::new_ustar(), "Dockerfile", &b""[..]).unwrap();
        let tar = tar.into_inner().unwrap();
        let mut read = text("FROM scratch\n");
        assert!(inputs(dash(), Some(dash()), &mut read).unwrap_err().to_string().contains("both"));
        let mut read = text("FROM scratch\n");
        let err = inputs(dash(), Some("Other".into()), &mut read).unwrap_err().to_string();
        assert!(err.contains("held a Dockerfile"), "{err}");
        let mut read = text("FROM scratch\n");
        assert!(matches!(
            inputs(dash(), None, &mut read).unwrap(),
            (Context::Empty, DockerfileAt::Text(t)) if t == "FROM scratch\n"
        ));
        let mut read = move || Ok(tar.clone());
        assert!(matches!(
            inputs(dash(), None, &mut read).unwrap(),
            (Context::Archive(_), DockerfileAt::Default)
        ));
        let mut read = text("FROM scratch\n");
        assert!(matches!(
            inputs(".".into(), Some(dash()), &mut read).unwrap(),
            (Context::Dir(_), DockerfileAt::Text(_))
        ));
    }

    #[test]
    fn secrets_as_docker_takes_them() {
        assert_eq!(secret("id=tok,src=/run/t").unwrap(), ("tok".to_owned(), PathBuf::from("/run/t")));
        assert_eq!(secret("type=file,id=a,source=f").unwrap(), ("a".to_owned(), PathBuf::from("f")));
        for bad in ["id=tok", "src=f", "id=,src=f", "id=t,env=HOME", "tok"] {
            assert!(secret(bad).unwrap_err().to_string().contains("id=ID,src=FILE"), "{bad}");
        }
    }

    #[test]
    fn exposed_ports_as_docker_records_them() {
        assert_eq!(exposed_ports("80").unwrap(), ["80/tcp"]);
        assert_eq!(exposed_ports("53/UDP").unwrap(), ["53/udp"]);
        assert_eq!(exposed_ports("8000-8002/tcp").unwrap(), ["8000/tcp", "8001/tcp", "8002/tcp"]);
        for bad in ["http", "80/ip", "9-1", "70000"] {
            assert!(exposed_ports(bad).is_err(), "{bad}");
        }
    }
}
