//! Per-core state, and the table of cores.
//!
//! Each core that came online has one [`Cpu`], allocated once and never
//! freed. A core reaches its own through [`current`] (the architecture keeps
//! the pointer in a per-core register: GS base on x86_64), and its index
//! alone, more cheaply, through [`index`]; any core can look up another's
//! with [`get`].

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use spindle_shared::cmdline::MAX_CPUS;

use crate::arch;
use crate::mem::stack::Stack;

/// One core.
#[repr(C)]
pub struct Cpu {
    /// Architecture state: descriptor tables, the timer. Must stay the first
    /// field: the architecture finds the core through it (see [`current`]).
    pub arch: arch::percpu::ArchCpu,
    /// The core's interrupt-controller id (local APIC id on x86_64).
    pub apic_id: u32,
    /// Frames set aside for the page-fault handler (stack growth), which
    /// cannot wait for the frame allocator's lock.
    pub fault_frames: crate::mem::reserve::FrameReserve,
    /// The core's scheduler state.
    pub sched: crate::sched::CoreSched,
    /// The core's scheduler trace.
    pub trace: crate::trace::TraceBuffer,
}

// SAFETY: a Cpu is shared between cores only through its atomic and
// immutable fields; the cells of `arch`, `sched` and `trace` are touched by
// their own core only.
unsafe impl Sync for Cpu {}

/// Most cores Spindle handles.
pub const MAX: usize = MAX_CPUS as usize;

static CPUS: [AtomicPtr<Cpu>; MAX] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX];
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Creates the `Cpu` of the processor with interrupt-controller id
/// `apic_id`. The core itself must then call [`Cpu::enter`], which gives it
/// its index and registers it.
pub fn create(apic_id: u32) -> &'static Cpu {
    // The interrupt stacks are made here, on the core that creates the Cpu:
    // the core it is for cannot allocate before it has entered it.
    let ist_tops = arch::vectors::IST_SLOTS.map(|_| Stack::eager().expect("memory for the interrupt stacks").leak());
    alloc::boxed::Box::leak(alloc::boxed::Box::new(Cpu {
        arch: arch::percpu::ArchCpu::new(ist_tops),
        apic_id,
        fault_frames: crate::mem::reserve::FrameReserve::new(),
        sched: crate::sched::CoreSched::new(),
        trace: crate::trace::TraceBuffer::new(),
    }))
}

impl Cpu {
    /// 0 for the bootstrap core, then 1, 2, ... in the order the other cores
    /// arrived in their start-up code (see `smp`).
    pub fn index(&self) -> usize {
        self.arch.index()
    }

    /// Makes this `Cpu` the running core's own, as core `index`: its
    /// descriptor tables are loaded, [`current`] returns it from now on and
    /// [`get`] finds it under `index`. Indices are given out without gaps.
    pub fn enter(&'static self, index: usize) {
        assert!(index < MAX, "core {index}: Spindle handles at most {MAX} cores");
        // SAFETY: `arch` is the first field of this `#[repr(C)]` Cpu, and the
        // pointer is made from the whole Cpu, which is leaked (never freed).
        unsafe { arch::percpu::enter(self as *const Cpu as *const arch::percpu::ArchCpu, index) };
        arch::idt::load();
        CPUS[self.index()].store(self as *const Cpu as *mut Cpu, Ordering::Release);
        COUNT.fetch_max(self.index() + 1, Ordering::AcqRel);
    }
}

/// The running core's `Cpu`. Only valid after the core called [`Cpu::enter`].
#[inline]
pub fn current() -> &'static Cpu {
    // SAFETY: `enter` stored a pointer to this core's whole Cpu, whose first
    // field is the ArchCpu; Cpus are leaked and never freed.
    unsafe { &*(arch::percpu::current() as *const Cpu) }
}

/// The running core's index (one load; no need for the whole `Cpu`).
/// Only valid after the core called [`Cpu::enter`].
#[inline]
pub fn index() -> usize {
    arch::percpu::index()
}

/// Whether the running core has entered its `Cpu` yet.
pub fn entered() -> bool {
    arch::percpu::entered()
}

/// Core `index`, if it is online.
pub fn get(index: usize) -> Option<&'static Cpu> {
    let cpu = CPUS.get(index)?.load(Ordering::Acquire);
    // SAFETY: registered pointers come from Box::leak and are never freed.
    unsafe { cpu.as_ref() }
}

/// How many cores are online (indices `0..count()`).
pub fn count() -> usize {
    COUNT.load(Ordering::Acquire)
}

/// Every online core.
pub fn all() -> impl Iterator<Item = &'static Cpu> {
    (0..count()).filter_map(get)
}
