//! Resource limits of a wasm guest.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// What a guest may use. `None` means unlimited.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// A hard cap, in bytes, on all of the guest's linear memories and tables
    /// together.
    pub memory: Option<u64>,
    /// A wall-clock deadline for the whole run.
    pub timeout: Option<Duration>,
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
}

impl MemoryCap {
    pub(crate) fn new(limit: Option<u64>) -> Self {
        let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        MemoryCap { limit, used: 0 }
    }

    fn grow(&mut self, current_bytes: usize, desired_bytes: usize) -> bool {
        let next = (self.used - current_bytes.min(self.used)).saturating_add(desired_bytes);
        if next > self.limit {
            tracing::debug!(
                "memory cap: refused growth to {desired_bytes} bytes ({next} in all, cap {})",
                self.limit
            );
            return false;
        }
        self.used = next;
        true
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_the_sum_of_all_memories() {
        let mut cap = MemoryCap::new(Some(100));
        assert!(cap.grow(0, 60));
        assert!(!cap.grow(0, 60), "a second memory must not get its own 100");
        assert!(cap.grow(0, 40));
        assert!(!cap.grow(60, 61));
        assert!(cap.grow(40, 40), "staying the same size is always allowed");
    }
}
