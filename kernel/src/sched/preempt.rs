//! Preemption: each core's timer is armed for the end of the running
//! routine's time slice (or an earlier sleeper's deadline). When it fires
//! and the slice is used up, the routine goes to the global queue, as Go
//! preempts a goroutine that ran too long.
//!
//! The timer interrupt runs on the core's interrupt stack, which it cannot
//! switch away from ([`on_timer`] only decides and counts); the
//! architecture then diverts the routine into [`preempt_current`], which
//! switches away on the routine's own stack (see
//! `arch::x86_64::interrupt_entry`).

use core::sync::atomic::Ordering;

use spindle_shared::trace::{Kind, StopReason};

use super::find;
use super::percore::{CoreCounters, CoreSched, LATENESS_SAMPLES};
use super::schedule::{PostSwitch, switch_away};
use super::timers::{self, arm_by};
use super::{SLICE_NS, this_core};
use crate::arch::interrupts::debug_assert_interrupts_off;
use crate::mem::frames;
use crate::{cpu, time, trace};

/// The timer interrupt on a core that runs routines: fires due timers and
/// re-arms. Returns whether the running routine used up its slice, with its
/// preemption already counted and the next slice armed; the interrupt then
/// diverts the routine into [`preempt_current`].
// lab(preempt): fire due timers, re-arm, and decide whether the running routine used up its slice (then start the next slice)
pub fn on_timer() -> bool {
    debug_assert_interrupts_off();
    let core = this_core();
    core.armed.set(0);
    core.slice_armed.set(false);
    // A core that runs routines but never spawns keeps its page-fault
    // reserve full here (no lock can be held: the timer only interrupts
    // code with interrupts on).
    cpu::current().fault_frames.refill(frames::allocate);
    // Leave the idle set before firing timers: the deadlock check relies on
    // a core with a due timer never looking idle once the timer is gone.
    find::leave_idle_set();
    core.firing_timers.set(true);
    timers::fire_due(core);
    core.firing_timers.set(false);
    if let Some(deadline) = core.timers.lock().earliest() {
        arm_by(core, deadline);
    }
    let running = core.current.load(Ordering::Relaxed);
    if running.is_null() {
        trace::record(Kind::Tick, 0, 0, 0, 0);
        return false;
    }
    let slice_end = time::tsc_to_ns_since_boot(core.slice_start_tsc.get()) + SLICE_NS.load(Ordering::Relaxed);
    let preempt = time::now() >= slice_end;
    trace::record(Kind::Tick, preempt as u8, 0, 0, 0);
    if !preempt {
        arm_by(core, slice_end);
        core.slice_armed.set(true);
        return false;
    }
    CoreCounters::add(&core.counters.preemptions, 1);
    // SAFETY: the routine is running on this core.
    let r = unsafe { &*running };
    r.preemptions.store(r.preemptions.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    // The slice is used up: whoever runs next (even from runnext, which
    // normally inherits the slice) starts a fresh one.
    core.preempt_due.set(slice_end);
    let now_tsc = time::read_tsc();
    core.slice_start_tsc.set(now_tsc);
    arm_by(core, time::tsc_to_ns_since_boot(now_tsc) + SLICE_NS.load(Ordering::Relaxed));
    core.slice_armed.set(true);
    true
}

/// The routine `on_timer` found had used up its slice gives up the core, to
/// the global queue (as Go does). On its own stack, interrupts off.
// lab(preempt): the running routine gives up the core to the global queue
pub fn preempt_current() {
    debug_assert_interrupts_off();
    let running = this_core().current.load(Ordering::Relaxed);
    debug_assert!(!running.is_null(), "preempting with no routine running");
    switch_away(PostSwitch::RequeueGlobal(running), StopReason::Preempted);
}

/// Notes how long past the end of its slice a preempted routine kept the
/// core: from the slice's end to now, when the next context runs.
pub(super) fn record_lateness(core: &CoreSched) {
    let late = time::now().saturating_sub(core.preempt_due.get()).min(u32::MAX as u64) as u32;
    let n = core.lateness_count.load(Ordering::Relaxed);
    core.lateness[n as usize % LATENESS_SAMPLES].store(late, Ordering::Relaxed);
    core.lateness_count.store(n + 1, Ordering::Release);
}
