//! Stacks with an unmapped guard page below them.
//!
//! The stack region is cut into [`SLOT_SIZE`] slots. The lowest page of a
//! slot is never mapped: running off the bottom of a stack faults there, and
//! the fault handler reports a stack overflow instead of letting the stack
//! run into its neighbour.
//!
//! Routine stacks are *lazy*: only the top page is mapped when the slot is
//! first used; the page-fault handler maps the rest as the stack grows
//! ([`grow`]), so a parked routine costs the pages it touched, not 64 KiB.
//! Kernel stacks (per-core, interrupt stacks) are mapped eagerly: the fault
//! handler itself runs on them and must not fault.
//!
//! Slots are recycled, never unmapped ([`Stack`]'s drop puts it in a pool).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::{PhysAddr, VirtAddr};

use crate::arch::paging::PAGE_SIZE;
use crate::arch::paging::{self, DATA};
use crate::lock::SpinLock;

/// Bytes of virtual space per stack, guard page included.
pub const SLOT_SIZE: u64 = 64 * 1024;

/// Where the stack region starts (0 until [`init`]).
static REGION: AtomicU64 = AtomicU64::new(0);
/// Next never-used slot.
static NEXT_SLOT: AtomicU64 = AtomicU64::new(0);
/// Slots given back, ready for reuse (their touched pages are still mapped).
static POOL: SpinLock<Vec<u64>> = SpinLock::new(Vec::new());
/// Pages mapped in the stack region so far (none is ever unmapped).
static MAPPED_PAGES: AtomicU64 = AtomicU64::new(0);

/// Bytes of memory mapped for stacks, routines' and the kernel's (for
/// `api::mem_stats`).
pub fn mapped_bytes() -> u64 {
    MAPPED_PAGES.load(Ordering::Relaxed) * PAGE_SIZE
}

pub fn init() {
    REGION.store(paging::reserve_region().as_u64(), Ordering::Release);
}

/// The lowest address of stack slot `slot`. Only after [`init`] (a stack
/// exists only then); a spawn computes it, so it is a load and an add.
#[inline]
fn slot_base(slot: u64) -> VirtAddr {
    VirtAddr::new_truncate(REGION.load(Ordering::Relaxed) + slot * SLOT_SIZE)
}

/// Slots the region holds: [`Stack::lazy`] and [`Stack::eager`] never hand
/// out a slot past them, which is what lets [`Stack::top`] skip the
/// overflow and canonical-address checks.
const SLOTS: u64 = paging::REGION_SIZE / SLOT_SIZE;

/// One past the highest byte of slot `slot`, which must be below
/// [`SLOTS`] (see [`Stack::top`]).
#[inline]
fn slot_top(slot: u64) -> VirtAddr {
    let base = REGION.load(Ordering::Relaxed);
    VirtAddr::new_truncate(base.wrapping_add(slot.wrapping_add(1).wrapping_mul(SLOT_SIZE)))
}

/// A never-used slot, if the region has one left.
fn new_slot() -> Result<u64, OutOfMemory> {
    let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
    if slot >= SLOTS {
        NEXT_SLOT.fetch_sub(1, Ordering::Relaxed);
        return Err(OutOfMemory);
    }
    Ok(slot)
}

/// A stack. Dropping it returns its slot to the pool.
#[derive(Debug)]
pub struct Stack {
    slot: u64,
}

/// There was no memory for a stack.
#[derive(Debug)]
pub struct OutOfMemory;

impl Stack {
    /// A routine stack: a slot from the pool, or a new one with its top page
    /// mapped; the rest is mapped on first touch.
    pub fn lazy() -> Result<Stack, OutOfMemory> {
        if let Some(slot) = POOL.lock().pop() {
            return Ok(Stack { slot });
        }
        let stack = Stack { slot: new_slot()? };
        // The top page also makes the page tables for the whole slot exist,
        // which the lock-free growth path relies on.
        if paging::map_new(stack.top() - PAGE_SIZE, DATA).is_err() {
            core::mem::forget(stack); // never mapped: not worth recycling
            return Err(OutOfMemory);
        }
        MAPPED_PAGES.fetch_add(1, Ordering::Relaxed);
        Ok(stack)
    }

    /// A kernel stack with every usable page mapped now.
    pub fn eager() -> Result<Stack, OutOfMemory> {
        let stack = Stack { slot: new_slot()? };
        let mut page = stack.top();
        while page > stack.bottom() {
            page -= PAGE_SIZE;
            if paging::map_new(page, DATA).is_err() {
                core::mem::forget(stack); // half mapped: not fit for the pool
                return Err(OutOfMemory);
            }
            MAPPED_PAGES.fetch_add(1, Ordering::Relaxed);
        }
        Ok(stack)
    }

    /// One past the highest byte: the initial stack pointer. On every
    /// spawn's path, so computed without `VirtAddr`'s checked arithmetic:
    /// the slot is below [`SLOTS`], so the sum is at most the region's
    /// end, which is canonical (about a dozen instructions a spawn).
    #[inline]
    pub fn top(&self) -> VirtAddr {
        debug_assert!(self.slot < SLOTS);
        slot_top(self.slot)
    }

    /// The lowest usable byte (just above the guard page).
    pub fn bottom(&self) -> VirtAddr {
        slot_base(self.slot) + PAGE_SIZE
    }

    /// Keeps the stack mapped and in use for ever (per-core kernel stacks).
    pub fn leak(self) -> VirtAddr {
        let top = self.top();
        core::mem::forget(self);
        top
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        POOL.lock().push(self.slot);
    }
}

/// The tops of every stack slot handed out so far whose top page is mapped:
/// where routine control blocks may be (see `sched::routine`).
pub fn slot_tops() -> impl Iterator<Item = VirtAddr> {
    // A `new_slot` that fails moves NEXT_SLOT past SLOTS for a moment.
    (0..NEXT_SLOT.load(Ordering::Acquire).min(SLOTS)).map(slot_top).filter(|top| paging::is_mapped(*top - 1u64))
}

/// What a page fault at some address means for stacks.
pub enum Fault {
    /// The address is not in the stack region.
    NotAStack,
    /// The address is a guard page: a stack overflowed.
    Overflow,
    /// The page was mapped (a stack grew) or already mapped by now.
    Grown,
    /// The stack needed a page and none was to be had.
    OutOfMemory,
}

/// Handles a page fault at `addr` if it is in the stack region: maps a page
/// from `frame` for growth, or reports an overflow. Called from the page-fault
/// handler with interrupts off; takes no lock.
pub fn grow(addr: VirtAddr, frame: impl FnOnce() -> Option<PhysAddr>) -> Fault {
    let region = match REGION.load(Ordering::Acquire) {
        0 => return Fault::NotAStack,
        base => VirtAddr::new_truncate(base),
    };
    if addr < region || addr >= region + paging::REGION_SIZE {
        return Fault::NotAStack;
    }
    if (addr - region) / SLOT_SIZE >= NEXT_SLOT.load(Ordering::Acquire) {
        return Fault::NotAStack; // a wild access past every stack handed out
    }
    let offset_in_slot = (addr - region) % SLOT_SIZE;
    if offset_in_slot < PAGE_SIZE {
        return Fault::Overflow;
    }
    let page = addr.align_down(PAGE_SIZE);
    if paging::is_mapped(page) {
        return Fault::Grown;
    }
    let Some(phys) = frame() else { return Fault::OutOfMemory };
    // SAFETY: the frame is ours and mapped through the physical-memory map.
    unsafe { paging::phys_to_virt(phys).as_mut_ptr::<u8>().write_bytes(0, PAGE_SIZE as usize) };
    if paging::map_in_existing_table(page, phys, DATA) {
        MAPPED_PAGES.fetch_add(1, Ordering::Relaxed);
        Fault::Grown
    } else {
        // Handed-out slots have their tables (their top page was mapped):
        // this cannot happen. The frame is not worth a lock to return.
        Fault::NotAStack
    }
}

mod tests {
    use super::*;
    use crate::arch::interrupts::{disable_interrupts, restore_interrupts};

    /// A frame source for faults that must not need one.
    fn no_frame() -> Option<PhysAddr> {
        panic!("a frame was asked for where no page should be mapped")
    }

    /// `grow` as the page-fault handler calls it: interrupts off.
    fn fault_at(addr: VirtAddr, frame: impl FnOnce() -> Option<PhysAddr>) -> Fault {
        let were_enabled = disable_interrupts();
        let fault = grow(addr, frame);
        restore_interrupts(were_enabled);
        fault
    }

    crate::ktest! {
        /// A fault in a lazy stack maps the page, from the frame source;
        /// its guard page is an overflow, a mapped page needs nothing, and
        /// addresses outside every stack handed out are not stacks.
        fn a_lazy_stack_grows_page_by_page_above_its_guard() {
            let stack = Stack::lazy().expect("memory for a stack");
            assert!(paging::is_mapped(stack.top() - 1u64), "the top page is mapped from the start");
            assert!(matches!(fault_at(stack.top() - 8u64, no_frame), Fault::Grown));
            assert!(matches!(fault_at(stack.bottom() - 1u64, no_frame), Fault::Overflow));
            assert!(matches!(fault_at(VirtAddr::new(0xdead_0000), no_frame), Fault::NotAStack));
            let past_every_slot = slot_base(NEXT_SLOT.load(Ordering::Acquire)) + 2 * PAGE_SIZE;
            assert!(matches!(fault_at(past_every_slot, no_frame), Fault::NotAStack));

            // The lowest usable page: untouched unless this slot was used
            // nearly to its end before.
            let lowest = stack.bottom();
            if !paging::is_mapped(lowest) {
                let mapped_before = MAPPED_PAGES.load(Ordering::Relaxed);
                let fault = fault_at(lowest + 100u64, crate::mem::frames::allocate);
                assert!(matches!(fault, Fault::Grown));
                assert!(paging::is_mapped(lowest), "growth mapped the page");
                assert!(MAPPED_PAGES.load(Ordering::Relaxed) > mapped_before);
                // SAFETY: the page is mapped now, in a stack this test owns
                // and nothing runs on.
                let word = unsafe { core::ptr::read_volatile(lowest.as_ptr::<u64>()) };
                assert_eq!(word, 0, "a grown page starts zeroed");
            }
        }
    }
}
