//! The memory cap of a guest: `Limits::memory` across all its memories
//! and tables.

use wasmtime::ResourceLimiter;

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
}

impl MemoryCap {
    pub(crate) fn new(limit: Option<u64>) -> Self {
        let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        MemoryCap { limit, used: 0, before_last_growth: 0 }
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
        self.used = next;
        true
    }

    /// wasmtime could not do a growth we allowed (e.g. the host is out of
    /// memory): it must not count against the cap.
    fn growth_failed(&mut self) {
        self.used = self.before_last_growth;
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
        let mut cap = MemoryCap::new(Some(100));
        assert!(cap.grow(0, 60, None));
        assert!(!cap.grow(0, 60, None), "a second memory must not get its own 100");
        assert!(cap.grow(0, 40, None));
        assert!(!cap.grow(60, 61, None));
        assert!(cap.grow(40, 40, None), "staying the same size is always allowed");
    }

    #[test]
    fn growths_that_do_not_happen_are_not_counted() {
        let mut cap = MemoryCap::new(Some(100));
        assert!(!cap.grow(0, 50, Some(40)), "past the memory's own maximum");
        assert!(cap.grow(0, 60, None));
        cap.growth_failed();
        assert!(cap.grow(0, 100, None), "the failed growth left the cap as it was");
    }
}
