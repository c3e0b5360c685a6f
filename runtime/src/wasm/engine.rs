//! The process's one wasmtime engine, configured once.

use std::sync::{Once, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Engine};

/// How often the epoch advances while a deadline is armed. Every tick the
/// guest yields to the executor, so a deadline is noticed within one tick,
/// even while the guest spins in a loop.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

pub(crate) fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        Engine::new(&config).expect("wbox's wasmtime configuration is valid")
    })
}

/// Starts the thread that advances the engine's epoch. Only runs that have a
/// deadline need it, so a plain `wbox run` pays nothing for it.
pub(crate) fn start_epoch_ticker() {
    static TICKER: Once = Once::new();
    TICKER.call_once(|| {
        std::thread::Builder::new()
            .name("wbox-epoch".into())
            .spawn(|| {
                loop {
                    engine().increment_epoch();
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .expect("spawning the epoch ticker thread");
    });
}
