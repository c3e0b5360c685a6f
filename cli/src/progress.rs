//! Progress on a terminal; silence elsewhere, where stderr belongs to the
//! guest and to scripts.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
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
