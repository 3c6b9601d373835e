//! What the kernel does when a core is interrupted: the architecture's
//! handlers decode the interrupt and call here.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::{cpu, sched, smp};

/// Timer interrupts taken, per core (the start-up self-check counts them).
static TIMER_TICKS: [AtomicU32; cpu::MAX] = [const { AtomicU32::new(0) }; cpu::MAX];

/// The core's timer fired.
pub fn timer() {
    TIMER_TICKS[cpu::current().index].fetch_add(1, Ordering::Relaxed);
    sched::on_timer();
}

/// Timer interrupts core `index` has taken.
pub fn timer_ticks(index: usize) -> u32 {
    TIMER_TICKS[index].load(Ordering::Relaxed)
}

/// Another core sent this one the wake-up interrupt.
pub fn wake() {
    sched::on_wake();
    smp::run_mailbox();
}
