//! Progress on a terminal; plain lines or silence elsewhere, where output
//! belongs to the guest and to scripts.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use wbox_runtime::reference::ImageRef;
use wbox_runtime::store::{Descriptor, Digest};
use wbox_runtime::wasm::CompileProgress;

/// A spinner on stderr while a program compiles, when stderr is a terminal.
pub struct CompileSpinner {
    bar: ProgressBar,
}

impl CompileSpinner {
    pub fn on_terminal() -> Option<Self> {
        std::io::stderr().is_terminal().then(|| CompileSpinner { bar: ProgressBar::hidden() })
    }
}

impl CompileProgress for CompileSpinner {
    fn compiling(&self, name: &str, wasm_bytes: usize) {
        self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        self.bar
            .set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"));
        self.bar.set_message(format!("compiling {name} ({:.1} MB)", wasm_bytes as f64 / 1e6));
        self.bar.enable_steady_tick(Duration::from_millis(100));
    }

    fn compiled(&self) {
        self.bar.finish_and_clear();
    }
}

/// A pull's progress as Docker shows it: a bar per blob on a terminal,
/// otherwise one line per blob as it completes.
pub struct PullProgress {
    bars: Option<(MultiProgress, Mutex<HashMap<Digest, ProgressBar>>)>,
    to_stderr: bool,
    pushing: bool,
    downloaded: AtomicBool,
}

impl PullProgress {
    /// Progress on stdout (for `pull`) or stderr (for `run`, whose stdout
    /// belongs to the guest).
    pub fn new(to_stderr: bool) -> Self {
        let terminal =
            if to_stderr { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() };
        let bars = terminal.then(|| {
            let target = if to_stderr { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::stdout() };
            (MultiProgress::with_draw_target(target), Mutex::new(HashMap::new()))
        });
        PullProgress { bars, to_stderr, pushing: false, downloaded: AtomicBool::new(false) }
    }

    /// The same, in a push's words, on stdout.
    pub fn for_push() -> Self {
        PullProgress { pushing: true, ..PullProgress::new(false) }
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None if self.to_stderr => eprintln!("{text}"),
            None => println!("{text}"),
        }
    }

    /// The summary Docker prints after a pull.
    pub fn finish(&self, reference: &ImageRef, manifest: &Digest) {
        if let Some((multi, _)) = &self.bars {
            let _ = multi.clear();
        }
        self.line(&format!("Digest: {manifest}"));
        let status = if self.downloaded.load(Ordering::Relaxed) {
            "Downloaded newer image for"
        } else {
            "Image is up to date for"
        };
        self.line(&format!("Status: {status} {}", reference.familiar()));
    }
}

impl wbox_runtime::registry::PullProgress for PullProgress {
    fn resolved(&self, reference: &ImageRef, _manifest: &Digest, blobs: &[Descriptor]) {
        if self.pushing {
            self.line(&format!("The push refers to repository [{}]", reference.familiar_repository()));
        } else {
            let tag = reference.tag().or(reference.digest()).unwrap_or("latest");
            self.line(&format!("{tag}: Pulling from {}", reference.repository()));
        }
        if let Some((multi, bars)) = &self.bars {
            let style = ProgressStyle::with_template("{prefix}: {msg:16} [{bar:30}] {bytes}/{total_bytes}")
                .expect("a valid template")
                .progress_chars("=> ");
            let mut bars = bars.lock().unwrap();
            for blob in blobs {
                let bar = multi.add(ProgressBar::new(blob.size));
                bar.set_style(style.clone());
                bar.set_prefix(blob.digest.short().to_owned());
                bar.set_message(if self.pushing { "Pushing" } else { "Downloading" });
                bars.insert(blob.digest.clone(), bar);
            }
        }
    }

    fn advanced(&self, blob: &Digest, bytes: u64) {
        if let Some((_, bars)) = &self.bars
            && let Some(bar) = bars.lock().unwrap().get(blob)
        {
            bar.inc(bytes);
        }
    }

    fn stored(&self, blob: &Digest, had: bool) {
        if !had {
            self.downloaded.store(true, Ordering::Relaxed);
        }
        let status = match (self.pushing, had) {
            (false, false) => "Pull complete",
            (false, true) => "Already exists",
            (true, false) => "Pushed",
            (true, true) => "Layer already exists",
        };
        match &self.bars {
            Some((_, bars)) => {
                if let Some(bar) = bars.lock().unwrap().get(blob) {
                    bar.set_position(bar.length().unwrap_or(0));
                    bar.finish_with_message(status);
                }
            }
            None => self.line(&format!("{}: {status}", blob.short())),
        }
    }
}

/// A build's steps on a terminal, as BuildKit shows them: the running step
/// on a live line with the time so far, each finished one printed above it
/// with how long it took, or that it was cached.
pub struct BuildSteps {
    bar: ProgressBar,
    current: Option<(String, std::time::Instant, bool)>,
}

impl BuildSteps {
    pub fn on_stdout() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"));
        BuildSteps { bar, current: None }
    }

    /// What the build says: a new step, or that the current one was cached.
    pub fn say(&mut self, line: &str) {
        if line.trim() == "---> CACHED" {
            if let Some(current) = &mut self.current {
                current.2 = true;
            }
            return;
        }
        self.finish_step();
        self.bar.set_message(line.to_owned());
        self.bar.reset_elapsed();
        self.bar.enable_steady_tick(Duration::from_millis(100));
        self.current = Some((line.to_owned(), std::time::Instant::now(), false));
    }

    fn finish_step(&mut self) {
        if let Some((step, started, cached)) = self.current.take() {
            if cached {
                self.bar.println(format!("=> CACHED {step}"));
            } else {
                self.bar.println(format!("=> {step} {:.1}s", started.elapsed().as_secs_f64()));
            }
        }
    }

    pub fn finish(mut self) {
        self.finish_step();
        self.bar.finish_and_clear();
    }
}
