//! The kernel heap: `talc` over a virtual region that grows on demand.
//!
//! The heap starts empty. When talc runs out it asks [`Grow::handle_oom`] for
//! more, which maps fresh frames at the end of the heap (at least
//! [`GROW_STEP`] at a time) and extends talc's span. When no frame is left
//! the run ends with `fatal error: out of memory` (see `crate::panic`).
//!
//! The heap lock is a [`SpinLock`]: interrupts are off while it is held, so an
//! interrupt handler that allocates cannot deadlock against the code it
//! interrupted, and the holder is never preempted.
//!
//! On the stop path (see `crate::panic`) the lock is never waited for: a
//! stopped core may hold it for ever. Nothing there should allocate; if
//! something does and the lock is taken, the run ends with that failure
//! (and a free is skipped) instead of hanging.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use talc::{OomHandler, Span, Talc};
use x86_64::VirtAddr;

use crate::arch::paging::PAGE_SIZE;
use crate::arch::paging::{self, DATA};
use crate::lock::{SpinLock, SpinLockGuard};
use crate::panic::{Fatal, fatal};
use crate::stop::stop_path_blocked;

/// Smallest growth of the heap, in bytes.
const GROW_STEP: usize = 2 << 20;

/// Grows the heap into its reserved region.
struct Grow {
    /// Start of the heap region; 0 until `init`.
    base: usize,
    /// Bytes mapped so far from `base`.
    mapped: usize,
}

impl OomHandler for Grow {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        let grow = &mut talc.oom_handler;
        if grow.base == 0 {
            return Err(());
        }
        // Room for the allocation plus talc's per-chunk overhead and alignment.
        let want = (layout.size() + layout.align() + 64).next_multiple_of(PAGE_SIZE as usize);
        let step = want.max(GROW_STEP);
        let old = Span::from_base_size(grow.base as *mut u8, grow.mapped);
        let mut added = 0;
        while added < step {
            let page = VirtAddr::new((grow.base + grow.mapped + added) as u64);
            if paging::map_new(page, DATA).is_err() {
                break;
            }
            added += PAGE_SIZE as usize;
        }
        if added < want {
            return Err(());
        }
        grow.mapped += added;
        let new = Span::from_base_size(grow.base as *mut u8, grow.mapped);
        // SAFETY: `new` is mapped, unused, and contains `old`.
        unsafe {
            if old.is_empty() {
                talc.claim(new)?;
            } else {
                talc.extend(old, new);
            }
        }
        Ok(())
    }
}

struct Heap(SpinLock<Talc<Grow>>);

impl Heap {
    /// The heap, locked; `None` on the stop path when another core holds it.
    fn lock(&self) -> Option<SpinLockGuard<'_, Talc<Grow>>> {
        if crate::stop::on_stop_path() { self.0.try_lock() } else { Some(self.0.lock()) }
    }

    /// The heap, locked, or the end of the run if it cannot be had.
    fn lock_or_fail(&self) -> SpinLockGuard<'_, Talc<Grow>> {
        self.lock().unwrap_or_else(|| stop_path_blocked("an allocation, while a stopped core holds the heap"))
    }
}

#[global_allocator]
static HEAP: Heap = Heap(SpinLock::new(Talc::new(Grow { base: 0, mapped: 0 })));

pub fn init() {
    let base = paging::reserve_region();
    HEAP.lock_or_fail().oom_handler.base = base.as_u64() as usize;
}

/// What the heap holds now (for `api::mem_stats`).
pub struct HeapUsage {
    /// Bytes allocated and not yet freed.
    pub allocated: u64,
    /// Allocations not yet freed.
    pub objects: u64,
    /// Allocations since boot.
    pub allocations: u64,
    /// Bytes of memory mapped for the heap.
    pub mapped: u64,
}

/// Reads the heap's counters (takes the heap lock).
pub fn usage() -> HeapUsage {
    let talc = HEAP.0.lock();
    let counters = talc.get_counters();
    HeapUsage {
        allocated: counters.allocated_bytes as u64,
        objects: counters.allocation_count as u64,
        allocations: counters.total_allocation_count,
        mapped: talc.oom_handler.mapped as u64,
    }
}

// SAFETY: talc is a correct allocator; the lock serialises all access.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from GlobalAlloc's contract.
        let allocated = unsafe { self.lock_or_fail().malloc(layout) };
        // The kernel has no use for a failed allocation: report it (with the
        // heap lock already released) rather than unwind into callers.
        allocated.unwrap_or_else(|()| fatal(Fatal::OutOfMemory)).as_ptr()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Skipped (leaked) only while the run ends.
        if let Some(mut talc) = self.lock() {
            // SAFETY: `ptr` came from `alloc` with this layout.
            unsafe { talc.free(NonNull::new_unchecked(ptr), layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let ptr = NonNull::new(ptr).expect("realloc of a null pointer");
        let mut talc = self.lock_or_fail();
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe {
            if new_size <= layout.size() {
                talc.shrink(ptr, layout, new_size);
                return ptr.as_ptr();
            }
            let grown = talc.grow(ptr, layout, new_size);
            drop(talc);
            grown.unwrap_or_else(|()| fatal(Fatal::OutOfMemory)).as_ptr()
        }
    }
}
