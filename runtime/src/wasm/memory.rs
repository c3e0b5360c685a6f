//! The memory cap of a guest: `Limits::memory` across all its memories
//! and tables; and what its live instances hold, for `stats`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::ResourceLimiter;

use crate::plan::GuestUsage;

/// What a guest's live instances hold at a time: the bytes of their linear
/// memories and tables (what `--memory` caps), and how many there are (a
/// command is one; a service has one per request in flight, and those kept
/// warm for `--instance-reuse`).
#[derive(Debug, Default)]
pub struct Gauge {
    bytes: AtomicU64,
    instances: AtomicU64,
}

impl Gauge {
    pub fn read(&self) -> GuestUsage {
        GuestUsage {
            memory: self.bytes.load(Ordering::Relaxed),
            instances: self.instances.load(Ordering::Relaxed),
        }
    }
}

/// wasmtime counts a table element as one pointer.
const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();

/// Enforces `Limits::memory` across every memory and table of a store.
///
/// wasmtime's own `StoreLimits` caps each memory separately, so a component
/// with several memories could use a multiple of the cap; this sums them.
/// Refusing a growth makes `memory.grow` return -1 (malloc returns NULL in the
/// guest): the guest's allocation fails, never the host.
pub(crate) struct MemoryCap {
    limit: usize,
    used: usize,
    /// `used` before the last growth we allowed, should wasmtime fail it.
    before_last_growth: usize,
    /// Where this instance counts, with the guest's others.
    gauge: Arc<Gauge>,
}

impl MemoryCap {
    /// The cap of one new instance of a guest, counted in `gauge`.
    pub(crate) fn new(limit: Option<u64>, gauge: &Arc<Gauge>) -> Self {
        let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        gauge.instances.fetch_add(1, Ordering::Relaxed);
        MemoryCap { limit, used: 0, before_last_growth: 0, gauge: Arc::clone(gauge) }
    }

    fn set_used(&mut self, used: usize) {
        if used >= self.used {
            self.gauge.bytes.fetch_add((used - self.used) as u64, Ordering::Relaxed);
        } else {
            self.gauge.bytes.fetch_sub((self.used - used) as u64, Ordering::Relaxed);
        }
        self.used = used;
    }

    fn grow(&mut self, current_bytes: usize, desired_bytes: usize, maximum: Option<usize>) -> bool {
        if maximum.is_some_and(|maximum| desired_bytes > maximum) {
            // wasmtime refuses it anyway; count nothing.
            return false;
        }
        let next = (self.used - current_bytes.min(self.used)).saturating_add(desired_bytes);
        if next > self.limit {
            tracing::debug!(
                "memory cap: refused growth to {desired_bytes} bytes ({next} in all, cap {})",
                self.limit
            );
            return false;
        }
        self.before_last_growth = self.used;
        self.set_used(next);
        true
    }

    /// wasmtime could not do a growth we allowed (e.g. the host is out of
    /// memory): it must not count against the cap.
    fn growth_failed(&mut self) {
        self.set_used(self.before_last_growth);
    }
}

impl Drop for MemoryCap {
    /// The instance is gone, and what it held with it.
    fn drop(&mut self) {
        self.set_used(0);
        self.gauge.instances.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired, maximum))
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        tracing::debug!("memory growth failed: {error:#}");
        self.growth_failed();
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let bytes = |elements: usize| elements.saturating_mul(TABLE_ELEMENT_BYTES);
        Ok(self.grow(bytes(current), bytes(desired), maximum.map(bytes)))
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        tracing::debug!("table growth failed: {error:#}");
        self.growth_failed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_the_sum_of_all_memories() {
        let mut cap = MemoryCap::new(Some(100), &Arc::default());
        assert!(cap.grow(0, 60, None));
        assert!(!cap.grow(0, 60, None), "a second memory must not get its own 100");
        assert!(cap.grow(0, 40, None));
        assert!(!cap.grow(60, 61, None));
        assert!(cap.grow(40, 40, None), "staying the same size is always allowed");
    }

    #[test]
    fn the_gauge_counts_live_instances_and_what_they_hold() {
        let gauge = Arc::default();
        let mut first = MemoryCap::new(None, &gauge);
        let mut second = MemoryCap::new(None, &gauge);
        assert!(first.grow(0, 60, None) && second.grow(0, 10, None) && second.grow(10, 30, None));
        assert_eq!(gauge.read(), GuestUsage { memory: 90, instances: 2 });
        second.growth_failed();
        assert_eq!(gauge.read(), GuestUsage { memory: 70, instances: 2 });
        drop(first);
        assert_eq!(gauge.read(), GuestUsage { memory: 10, instances: 1 });
        drop(second);
        assert_eq!(gauge.read(), GuestUsage { memory: 0, instances: 0 });
    }

    #[test]
    fn growths_that_do_not_happen_are_not_counted() {
        let mut cap = MemoryCap::new(Some(100), &Arc::default());
        assert!(!cap.grow(0, 50, Some(40)), "past the memory's own maximum");
        assert!(cap.grow(0, 60, None));
        cap.growth_failed();
        assert!(cap.grow(0, 100, None), "the failed growth left the cap as it was");
    }
}
