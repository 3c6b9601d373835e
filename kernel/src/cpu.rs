//! Per-core state, and the table of cores.
//!
//! Each core that came online has one [`Cpu`], allocated once and never
//! freed. A core reaches its own through [`current`] (the architecture keeps
//! the pointer in a per-core register: GS base on x86_64); any core can look
//! up another's with [`get`].

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use spindle_shared::cmdline::MAX_CPUS;

use crate::arch;

/// One core.
#[repr(C)]
pub struct Cpu {
    /// Must stay the first field: the architecture's fast path reads it.
    arch_self: *const Cpu,
    /// 0 for the bootstrap core, then 1, 2, ... in the order cores came online.
    pub index: usize,
    /// The core's interrupt-controller id (local APIC id on x86_64).
    pub apic_id: u32,
    /// Architecture state: descriptor tables, interrupt stacks.
    pub arch: arch::percpu::ArchCpu,
    /// Frames set aside for the page-fault handler (stack growth), which
    /// cannot wait for the frame allocator's lock.
    pub fault_frames: arch::percpu::FrameReserve,
    /// The core's scheduler state.
    pub sched: crate::sched::CoreSched,
    /// The core's scheduler trace.
    pub trace: crate::trace::TraceBuffer,
}

// SAFETY: a Cpu is shared between cores only through its atomic and
// immutable fields; `arch` and `fault_frames` are touched by their own core.
unsafe impl Sync for Cpu {}

/// Most cores Spindle handles.
pub const MAX: usize = MAX_CPUS as usize;

static CPUS: [AtomicPtr<Cpu>; MAX] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX];
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Creates the `Cpu` for core `index` and registers it. The core itself must
/// then call [`Cpu::enter`].
pub fn create(index: usize, apic_id: u32) -> &'static Cpu {
    assert!(index < MAX, "more than {MAX} cores");
    let cpu = alloc::boxed::Box::leak(alloc::boxed::Box::new(Cpu {
        arch_self: core::ptr::null(),
        index,
        apic_id,
        arch: arch::percpu::ArchCpu::new(),
        fault_frames: arch::percpu::FrameReserve::new(),
        sched: crate::sched::CoreSched::new(),
        trace: crate::trace::TraceBuffer::new(),
    }));
    cpu.arch_self = cpu;
    cpu
}

impl Cpu {
    /// Makes this `Cpu` the running core's own: its descriptor tables are
    /// loaded and [`current`] returns it from now on.
    pub fn enter(&'static self) {
        arch::percpu::enter(self);
        CPUS[self.index].store(self as *const Cpu as *mut Cpu, Ordering::Release);
        COUNT.fetch_max(self.index + 1, Ordering::AcqRel);
    }
}

/// The running core's `Cpu`. Only valid after the core called [`Cpu::enter`].
#[inline]
pub fn current() -> &'static Cpu {
    arch::percpu::current()
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
