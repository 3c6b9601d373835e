//! Per-core state on x86_64: the GS base register points at the core's
//! [`Cpu`], whose first field points at itself, so `mov gs:[0]` finds it in
//! one instruction. Each core also gets its own GDT and TSS; the TSS holds
//! the interrupt stacks (IST) for what must not run on a stack that may be
//! broken or not yet grown: double fault, NMI, page fault, and the timer and
//! wake-up interrupts.

use core::arch::asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::model_specific::GsBase;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::{PhysAddr, VirtAddr};

use super::idt;
use super::timer::CoreTimer;
use crate::cpu::Cpu;
use crate::mem::stack::Stack;

/// IST slot (0-based, as the TSS array) of the double-fault handler's stack.
pub const DOUBLE_FAULT_IST: u16 = 0;
/// IST slot of the NMI handler's stack (NMIs stop cores on panic).
pub const NMI_IST: u16 = 1;
/// IST slot of the page-fault handler's stack: a fault that grows a routine's
/// stack cannot push its frame onto that same, unmapped, stack.
pub const PAGE_FAULT_IST: u16 = 2;
/// IST slot of the timer and wake-up interrupts: their frame must not be
/// pushed onto a routine's stack, which may not have grown that far yet
/// (see `interrupt_entry`).
pub const INTERRUPT_IST: u16 = 3;

/// Set once the bootstrap core has entered its `Cpu`; application cores enter
/// theirs before running anything else.
static BOOTSTRAP_ENTERED: AtomicBool = AtomicBool::new(false);

/// The architecture's part of a core's state.
pub struct ArchCpu {
    tss: UnsafeCell<TaskStateSegment>,
    gdt: UnsafeCell<GlobalDescriptorTable>,
    /// The core's timer calibration and mode.
    pub timer: CoreTimer,
}

impl ArchCpu {
    pub fn new() -> ArchCpu {
        ArchCpu {
            tss: UnsafeCell::new(TaskStateSegment::new()),
            gdt: UnsafeCell::new(GlobalDescriptorTable::new()),
            timer: CoreTimer::new(),
        }
    }
}

/// Loads `cpu`'s GDT, TSS and the shared IDT on the running core and points
/// GS base at `cpu`. Called once per core, by that core.
pub fn enter(cpu: &'static Cpu) {
    // SAFETY: only this core touches its ArchCpu, and only here, before the
    // tables are loaded; afterwards they are never changed.
    let (tss, gdt) = unsafe { (&mut *cpu.arch.tss.get(), &mut *cpu.arch.gdt.get()) };
    // First, so that `current` works in everything below (the frame
    // allocator asks which core is calling once the bootstrap core entered).
    GsBase::write(VirtAddr::from_ptr(cpu as *const Cpu));
    for ist in [DOUBLE_FAULT_IST, NMI_IST, PAGE_FAULT_IST, INTERRUPT_IST] {
        let stack = Stack::eager().expect("memory for the interrupt stacks");
        tss.interrupt_stack_table[ist as usize] = stack.leak();
    }
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    // SAFETY: the TSS lives as long as the Cpu, which is never freed.
    let tss_selector = gdt.append(Descriptor::tss_segment(unsafe { &*cpu.arch.tss.get() }));
    // SAFETY: the GDT lives as long as the Cpu; the selectors point into it.
    unsafe {
        (*cpu.arch.gdt.get()).load();
        CS::set_reg(code);
        SS::set_reg(data);
        DS::set_reg(data);
        ES::set_reg(data);
        load_tss(tss_selector);
    }
    idt::load();
    if cpu.index == 0 {
        BOOTSTRAP_ENTERED.store(true, Ordering::Release);
    }
}

/// The running core's `Cpu`.
#[inline]
pub fn current() -> &'static Cpu {
    let cpu: *const Cpu;
    // SAFETY: after `enter`, GS base points at this core's Cpu, whose first
    // field is a pointer to itself.
    unsafe { asm!("mov {}, gs:[0]", out(reg) cpu, options(nostack, readonly, preserves_flags)) };
    // SAFETY: Cpus are leaked and never freed.
    unsafe { &*cpu }
}

/// Whether [`current`] may be called on this core.
pub fn entered() -> bool {
    BOOTSTRAP_ENTERED.load(Ordering::Acquire)
}

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
    pub fn refill(&self, mut allocate: impl FnMut() -> Option<PhysAddr>) {
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
