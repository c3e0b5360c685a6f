//! The process's one wasmtime engine, configured once.

use std::sync::{Once, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances while a deadline is armed. Every tick the
/// guest yields to the executor, so a deadline is noticed within one tick,
/// even while the guest spins in a loop.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The wasmtime wbox runs guests with, as `version` names it (Cargo.toml
/// pins it; a test checks the two agree).
pub const WASMTIME_VERSION: &str = "48.0.8";

static ENGINE: OnceLock<Engine> = OnceLock::new();
static SERVICE_ENGINE: OnceLock<Engine> = OnceLock::new();

fn config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    // WASI 0.3's interfaces are async functions, streams and futures.
    config.wasm_component_model_async(true);
    config
}

/// The engine of programs that run once: memory is mapped per instance,
/// which costs a run nothing up front.
pub(crate) fn engine() -> &'static Engine {
    ENGINE.get_or_init(|| Engine::new(&config()).expect("wbox's wasmtime configuration is valid"))
}

/// The engine of HTTP services, which instantiate their component for every
/// request: instances come from a pool whose memories stay mapped and keep
/// their first pages resident between uses, so that a fresh instance costs
/// no mmap, no munmap (and its TLB shootdowns) and few page faults. That
/// triples a Python component's requests per second.
pub(crate) fn service_engine() -> &'static Engine {
    SERVICE_ENGINE.get_or_init(|| {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(SERVICE_INSTANCES)
            // A component holds several core instances, memories and tables
            // (CPython from componentize-py: five of each).
            .total_core_instances(SERVICE_INSTANCES * 8)
            .total_memories(SERVICE_INSTANCES * 8)
            .total_tables(SERVICE_INSTANCES * 8)
            .max_memory_size(SERVICE_MAX_MEMORY)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);
        let mut config = config();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        Engine::new(&config).expect("wbox's wasmtime pooling configuration is valid")
    })
}

/// How many requests a service instantiates at once; more wait for a slot.
pub(crate) const SERVICE_INSTANCES: u32 = 256;
/// The most one linear memory of a service may grow to (`--memory` caps the
/// sum lower).
const SERVICE_MAX_MEMORY: usize = 4 << 30;
const KEEP_RESIDENT: usize = 16 << 20;

/// Starts the thread that advances the engine's epoch. Only runs that have a
/// deadline need it, so a plain `wbox run` pays nothing for it.
pub(crate) fn start_epoch_ticker() {
    static TICKER: Once = Once::new();
    TICKER.call_once(|| {
        std::thread::Builder::new()
            .name("wbox-epoch".into())
            .spawn(|| {
                loop {
                    for engine in [&ENGINE, &SERVICE_ENGINE] {
                        if let Some(engine) = engine.get() {
                            engine.increment_epoch();
                        }
                    }
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .expect("spawning the epoch ticker thread");
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_named_is_the_one_built_with() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        let entry = format!("name = \"wasmtime\"\nversion = \"{}\"", super::WASMTIME_VERSION);
        assert!(lock.contains(&entry), "Cargo.lock has another wasmtime than {}", super::WASMTIME_VERSION);
    }
}
