//! What the kernel does when a core is interrupted: the architecture's
//! handlers decode the interrupt and call here.

use crate::{sched, smp};

/// Registers the handlers below with the architecture's interrupt entry.
pub fn init() {
    crate::arch::interrupt_entry::set_handlers(timer, wake, preempted);
}

/// The core's timer fired. Returns whether the running routine must be
/// preempted: then the interrupt returns into [`preempted`], on that
/// routine's stack.
fn timer() -> bool {
    sched::on_timer()
}

/// A routine the timer preempted, on its own stack, interrupts off:
/// switches away; returns once it is switched back in.
fn preempted() {
    sched::preempt_current();
}

/// Another core sent this one the wake-up interrupt.
fn wake() {
    sched::on_wake();
    smp::run_mailbox();
}
