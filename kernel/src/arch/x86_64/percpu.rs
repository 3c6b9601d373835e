//! Per-core state on x86_64.
//!
//! Every core's state (the kernel's `cpu::Cpu`) starts with an [`ArchCpu`],
//! whose first two words are a pointer to itself and the core's index. GS
//! base points at it, so `mov gs:[0]` finds the core's state and
//! `mov gs:[8]` its index, one instruction each: [`index`] is the cheap
//! "which core am I" (xv6's `cpuid()`), apart from the core's state
//! ([`current`], xv6's `mycpu()`).
//!
//! Each core also gets its own GDT and TSS; the TSS holds the interrupt
//! stacks (IST) for what must not run on a stack that may be broken or not
//! yet grown: double fault, NMI, page fault, and the timer and wake-up
//! interrupts. The caller provides those stacks.

use core::arch::asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::model_specific::GsBase;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

use super::timer::CoreTimer;
use super::vectors::IST_SLOTS;

/// Set once the bootstrap core has entered its state; application cores
/// enter theirs before running anything else.
static BOOTSTRAP_ENTERED: AtomicBool = AtomicBool::new(false);

/// The architecture's part of a core's state. Must be the first field of
/// the kernel's per-core struct, which must be `#[repr(C)]`: [`current`]
/// returns a pointer to it that the kernel reads as its whole struct.
#[repr(C)]
pub struct ArchCpu {
    /// Points at this struct once the core entered it; `gs:[0]`.
    this: UnsafeCell<*const ArchCpu>,
    /// The core's index; `gs:[8]`. Set by [`enter`]: an application core
    /// learns its index only when it arrives (see `smp`).
    index: AtomicUsize,
    tss: UnsafeCell<TaskStateSegment>,
    gdt: UnsafeCell<GlobalDescriptorTable>,
    /// The core's timer calibration and mode.
    pub timer: CoreTimer,
    /// Timer interrupts taken (the start-up self-check counts them).
    pub timer_ticks: AtomicU32,
}

// SAFETY: the cells (and the index) are written only by their own core, in
// `enter`, before any other core can reach this struct through the kernel's
// core table.
unsafe impl Sync for ArchCpu {}

impl ArchCpu {
    /// The state of a core, with `ist_tops`, the tops of its interrupt
    /// stacks, in [`IST_SLOTS`] order (mapped, never freed). Its index is
    /// given when the core enters it.
    pub fn new(ist_tops: [VirtAddr; IST_SLOTS.len()]) -> ArchCpu {
        let mut tss = TaskStateSegment::new();
        for (slot, top) in IST_SLOTS.into_iter().zip(ist_tops) {
            tss.interrupt_stack_table[slot as usize] = top;
        }
        ArchCpu {
            this: UnsafeCell::new(core::ptr::null()),
            index: AtomicUsize::new(usize::MAX),
            tss: UnsafeCell::new(tss),
            gdt: UnsafeCell::new(GlobalDescriptorTable::new()),
            timer: CoreTimer::new(),
            timer_ticks: AtomicU32::new(0),
        }
    }

    /// The core's index; only meaningful once the core has entered.
    pub fn index(&self) -> usize {
        self.index.load(Ordering::Relaxed)
    }
}

/// Makes `cpu` the running core's own, as core `index`: loads its GDT and
/// TSS and points GS base at it. Once per core, by that core, before it
/// loads the IDT (whose interrupt stacks are in the TSS).
///
/// # Safety
/// `cpu` points at the first field of the kernel's `#[repr(C)]` per-core
/// struct, derived from a pointer to the whole of it (so that [`current`]
/// may be read as that struct), which is never freed.
pub unsafe fn enter(cpu: *const ArchCpu, index: usize) {
    // SAFETY: the caller's contract: a live, never-freed ArchCpu.
    let arch = unsafe { &*cpu };
    arch.index.store(index, Ordering::Relaxed);
    // SAFETY: only this core touches its ArchCpu's cells, and only here,
    // before the tables are loaded; afterwards they are never changed.
    let (this, gdt) = unsafe { (&mut *arch.this.get(), &mut *arch.gdt.get()) };
    *this = cpu;
    GsBase::write(VirtAddr::from_ptr(cpu));
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    // SAFETY: the TSS lives as long as the ArchCpu, which is never freed.
    let tss_selector = gdt.append(Descriptor::tss_segment(unsafe { &*arch.tss.get() }));
    // SAFETY: the GDT lives as long as the ArchCpu; the selectors point into it.
    unsafe {
        (*arch.gdt.get()).load();
        CS::set_reg(code);
        SS::set_reg(data);
        DS::set_reg(data);
        ES::set_reg(data);
        load_tss(tss_selector);
    }
    if index == 0 {
        BOOTSTRAP_ENTERED.store(true, Ordering::Release);
    }
}

/// The running core's state, as the pointer `enter` stored: to the whole of
/// the kernel's per-core struct, whose first field is the `ArchCpu`.
#[inline]
pub fn current() -> *const ArchCpu {
    let this: *const ArchCpu;
    // SAFETY: after `enter`, GS base points at this core's ArchCpu, whose
    // first field is a pointer to itself.
    unsafe { asm!("mov {}, gs:[0]", out(reg) this, options(nostack, readonly, preserves_flags)) };
    this
}

/// The running core's index: one load, for callers that need nothing else.
#[inline]
pub fn index() -> usize {
    let index: usize;
    // SAFETY: after `enter`, GS base points at this core's ArchCpu, whose
    // second word is the index (`#[repr(C)]`; an AtomicUsize is laid out as
    // a usize), written before GS base was.
    unsafe { asm!("mov {}, gs:[8]", out(reg) index, options(nostack, readonly, preserves_flags)) };
    index
}

/// Whether [`current`] and [`index`] may be called on this core.
pub fn entered() -> bool {
    BOOTSTRAP_ENTERED.load(Ordering::Acquire)
}
