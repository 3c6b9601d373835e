//! A per-core reserve of frames for the page-fault handler, which grows
//! routine stacks and cannot wait for the frame allocator's lock (it may
//! have interrupted its holder on the same core).

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use x86_64::PhysAddr;

/// Frames put aside for the page-fault handler, per core.
///
/// Only its own core touches a reserve, but not only from one place: the
/// page-fault handler takes a frame whenever a routine's stack grows, and
/// that can interrupt [`refill`](Self::refill) anywhere, since refilling
/// calls the frame allocator, whose own calls may grow the stack. So the
/// reserve is a stack of atomics rather than data behind a `&mut`: `take`
/// runs to completion once it starts (the fault handler is not interrupted
/// by anything that touches the reserve), and `refill` publishes each frame
/// with a compare-exchange on the length, trying again if a `take` slipped
/// in between.
pub struct FrameReserve {
    frames: [AtomicU64; FrameReserve::CAPACITY],
    len: AtomicUsize,
}

impl FrameReserve {
    /// Frames kept in reserve: one stack page per fault, and faults come one at a time.
    pub const CAPACITY: usize = 8;

    pub const fn new() -> FrameReserve {
        FrameReserve { frames: [const { AtomicU64::new(0) }; Self::CAPACITY], len: AtomicUsize::new(0) }
    }

    /// Takes a frame. On the reserve's own core, from the page-fault handler
    /// (or with interrupts off).
    pub fn take(&self) -> Option<PhysAddr> {
        let len = self.len.load(Ordering::Acquire);
        let top = len.checked_sub(1)?;
        let frame = self.frames[top].load(Ordering::Relaxed);
        self.len.store(top, Ordering::Release);
        Some(PhysAddr::new(frame))
    }

    /// Tops the reserve up from `allocate`. On the reserve's own core,
    /// holding no lock `allocate` needs. A `take` in between only lowers the
    /// length, so each frame is placed (below the capacity) before the next
    /// one is asked for, and none is lost.
    #[inline]
    pub fn refill(&self, allocate: impl FnMut() -> Option<PhysAddr>) {
        // The common case, a full reserve, is one load in line.
        if self.len.load(Ordering::Acquire) < Self::CAPACITY {
            self.top_up(allocate);
        }
    }

    #[inline(never)]
    fn top_up(&self, mut allocate: impl FnMut() -> Option<PhysAddr>) {
        while self.len.load(Ordering::Acquire) < Self::CAPACITY {
            let Some(frame) = allocate() else { break };
            loop {
                let len = self.len.load(Ordering::Acquire);
                self.frames[len].store(frame.as_u64(), Ordering::Relaxed);
                // A `take` between the two lines lowers `len`: store again
                // at the new top.
                if self.len.compare_exchange(len, len + 1, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                    break;
                }
            }
        }
    }
}

mod tests {
    use super::*;

    /// A fake allocator: hands out `count` made-up frames, 0x1000 apart.
    fn frames(count: u64) -> impl FnMut() -> Option<PhysAddr> {
        let mut next = 0;
        move || {
            next += 1;
            (next <= count).then(|| PhysAddr::new(next * 0x1000))
        }
    }

    crate::ktest! {
        /// Refilling stops at the capacity; frames come back last in first out.
        fn refill_fills_to_capacity_and_take_is_last_in_first_out() {
            let reserve = FrameReserve::new();
            assert_eq!(reserve.take(), None, "a new reserve is empty");
            reserve.refill(frames(100));
            assert_eq!(reserve.len.load(Ordering::Relaxed), FrameReserve::CAPACITY);
            let top = FrameReserve::CAPACITY as u64 * 0x1000;
            assert_eq!(reserve.take(), Some(PhysAddr::new(top)));
            assert_eq!(reserve.take(), Some(PhysAddr::new(top - 0x1000)));
            reserve.refill(frames(1));
            assert_eq!(reserve.take(), Some(PhysAddr::new(0x1000)), "the refilled frame is on top");
        }

        /// An allocator that runs dry leaves the reserve part full, and every
        /// frame it gave is there.
        fn an_allocator_running_dry_leaves_what_it_gave() {
            let reserve = FrameReserve::new();
            reserve.refill(frames(3));
            let mut got = [0u64; 4];
            for slot in &mut got {
                *slot = reserve.take().map_or(0, |f| f.as_u64());
            }
            assert_eq!(got, [0x3000, 0x2000, 0x1000, 0]);
        }
    }
}
