//! The physical frame allocator.
//!
//! Frames come from the regions the bootloader reported usable, above 1 MiB.
//! Fresh frames are handed out in address order; freed frames go on a free
//! list threaded through the frames themselves (each free frame holds the
//! physical address of the next), so the allocator needs no memory of its own.

use core::sync::atomic::{AtomicBool, Ordering};

use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use spindle_shared::cmdline::MAX_CPUS;
use x86_64::PhysAddr;

use crate::arch::interrupts::{disable_interrupts, restore_interrupts};
use crate::arch::paging::PAGE_SIZE;
use crate::arch::paging::phys_to_virt;
use crate::arch::percpu;
use crate::lock::SpinLock;

/// Frames below this address are never handed out (the AP trampoline is there).
const LOW_MEMORY_END: u64 = 0x10_0000;
/// Most usable regions tracked (after merging neighbours). BIOS reports a
/// handful; OVMF's UEFI map splits memory into many more.
const MAX_REGIONS: usize = 256;

struct Frames {
    regions: [(u64, u64); MAX_REGIONS],
    region_count: usize,
    /// Index of the region fresh frames come from, and the next fresh address.
    region: usize,
    next: u64,
    /// Physical address of the first freed frame, 0 if none.
    free_list: u64,
    total: u64,
    in_use: u64,
}

static FRAMES: SpinLock<Frames> = SpinLock::new(Frames {
    regions: [(0, 0); MAX_REGIONS],
    region_count: 0,
    region: 0,
    next: 0,
    free_list: 0,
    total: 0,
    in_use: 0,
});

/// Takes the usable regions the bootloader reported. Frames are reached
/// through the physical-memory map (`paging::phys_to_virt`), which must be
/// set up before the first allocation.
pub fn init(regions: &MemoryRegions) {
    let mut frames = FRAMES.lock();
    for region in regions.iter().filter(|r| r.kind == MemoryRegionKind::Usable) {
        let start = region.start.max(LOW_MEMORY_END).next_multiple_of(PAGE_SIZE);
        let end = region.end & !(PAGE_SIZE - 1);
        if start >= end {
            continue;
        }
        let n = frames.region_count;
        if n > 0 && frames.regions[n - 1].1 == start {
            frames.regions[n - 1].1 = end;
            frames.total += (end - start) / PAGE_SIZE;
            continue;
        }
        assert!(n < MAX_REGIONS, "more than {MAX_REGIONS} usable memory regions");
        frames.regions[n] = (start, end);
        frames.region_count += 1;
        frames.total += (end - start) / PAGE_SIZE;
    }
    frames.next = frames.regions[0].0;
}

impl Frames {
    fn allocate(&mut self) -> Option<PhysAddr> {
        let frame = if self.free_list != 0 {
            let frame = self.free_list;
            // SAFETY: a frame on the free list is ours and holds the next link.
            self.free_list = unsafe { *phys_to_virt(PhysAddr::new(frame)).as_ptr::<u64>() };
            frame
        } else {
            while self.region < self.region_count && self.next >= self.regions[self.region].1 {
                self.region += 1;
                self.next = self.regions.get(self.region).map_or(0, |r| r.0);
            }
            if self.region == self.region_count {
                return None;
            }
            let frame = self.next;
            self.next += PAGE_SIZE;
            frame
        };
        self.in_use += 1;
        Some(PhysAddr::new(frame))
    }

    fn free(&mut self, frame: PhysAddr) {
        // SAFETY: the caller gave the frame back; nothing else refers to it.
        unsafe { *phys_to_virt(frame).as_mut_ptr::<u64>() = self.free_list };
        self.free_list = frame.as_u64();
        self.in_use -= 1;
    }
}

/// Cores taking or holding the allocator's lock (by core index).
static TAKING: [AtomicBool; MAX_CPUS as usize] = [const { AtomicBool::new(false) }; MAX_CPUS as usize];

/// The running core's `TAKING` flag; none before the per-core data is set up.
fn taking_flag() -> Option<&'static AtomicBool> {
    percpu::entered().then(|| &TAKING[percpu::index()])
}

/// Runs `f` on the allocator under its lock, noting that this core holds it.
/// Interrupts go off before the core is chosen: a routine moved to another
/// core between choosing and locking would leave the flag on the wrong
/// core, whose page-fault path could then wait for the lock it holds.
fn with_frames<R>(f: impl FnOnce(&mut Frames) -> R) -> R {
    let were_enabled = disable_interrupts();
    let me = taking_flag();
    me.inspect(|flag| flag.store(true, Ordering::Relaxed));
    let result = f(&mut FRAMES.lock());
    me.inspect(|flag| flag.store(false, Ordering::Relaxed));
    restore_interrupts(were_enabled);
    result
}

/// A frame, not zeroed; `None` when physical memory is exhausted.
pub fn allocate() -> Option<PhysAddr> {
    with_frames(Frames::allocate)
}

/// A zeroed frame.
pub fn allocate_zeroed() -> Option<PhysAddr> {
    let frame = allocate()?;
    // SAFETY: the frame was just allocated and is mapped through the offset map.
    unsafe { phys_to_virt(frame).as_mut_ptr::<u8>().write_bytes(0, PAGE_SIZE as usize) };
    Some(frame)
}

/// A frame for the page-fault handler, which may have interrupted this
/// core inside the allocator: then it cannot wait for the lock and gets
/// `None`. Nor can it on the stop path, where a stopped core may hold the
/// lock for good (the rule in `stop`). Otherwise it waits, as any caller
/// would. `None` also when memory is exhausted.
pub fn allocate_in_fault() -> Option<PhysAddr> {
    if crate::stop::on_stop_path() || taking_flag().is_some_and(|flag| flag.load(Ordering::Relaxed)) {
        return FRAMES.try_lock()?.allocate();
    }
    FRAMES.lock().allocate()
}

/// Gives a frame back.
pub fn free(frame: PhysAddr) {
    with_frames(|frames| frames.free(frame))
}

/// Frames usable in all, and frames handed out now.
pub fn usage() -> (u64, u64) {
    with_frames(|frames| (frames.total, frames.in_use))
}
