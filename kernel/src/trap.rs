//! What the kernel does when a core is interrupted: the architecture's
//! handlers decode the interrupt and call here.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::{cpu, sched, smp};

/// Timer interrupts taken, per core (the start-up self-check counts them).
static TIMER_TICKS: [AtomicU32; cpu::MAX] = [const { AtomicU32::new(0) }; cpu::MAX];

/// Registers the handlers below with the architecture's interrupt entry.
pub fn init() {
    crate::arch::interrupt_entry::set_handlers(timer, wake, preempted);
}

/// The core's timer fired. Returns whether the running routine must be
/// preempted: then the interrupt returns into [`preempted`], on that
/// routine's stack.
fn timer() -> bool {
    TIMER_TICKS[cpu::current().index].fetch_add(1, Ordering::Relaxed);
    sched::on_timer()
}

/// A routine the timer preempted, on its own stack, interrupts off:
/// switches away; returns once it is switched back in.
fn preempted() {
    sched::preempt_current();
}

/// Timer interrupts core `index` has taken.
pub fn timer_ticks(index: usize) -> u32 {
    TIMER_TICKS[index].load(Ordering::Relaxed)
}

/// Another core sent this one the wake-up interrupt.
fn wake() {
    sched::on_wake();
    smp::run_mailbox();
}
