//! The running core's interrupt flag, and halting it.

use x86_64::instructions::interrupts;

/// Disables interrupts on this core and says whether they were enabled, so
/// the caller can put them back with [`restore_interrupts`].
#[inline]
pub fn disable_interrupts() -> bool {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    were_enabled
}

/// Re-enables interrupts if `were_enabled` (from [`disable_interrupts`]) says so.
#[inline]
pub fn restore_interrupts(were_enabled: bool) {
    if were_enabled {
        interrupts::enable();
    }
}

/// Stops this core for good: interrupts off, then halt forever.
pub fn halt_forever() -> ! {
    loop {
        interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Enables interrupts and halts until one arrives, atomically: `sti` takes
/// effect only after the next instruction, so an interrupt that is already
/// pending wakes the `hlt` rather than slipping in before it. Returns with
/// interrupts off.
pub fn wait_for_interrupt() {
    x86_64::instructions::interrupts::enable_and_hlt();
    interrupts::disable();
}

/// Disables interrupts without asking whether they were on (for callers
/// that know they were).
#[inline]
pub fn disable_interrupts_unchecked() {
    interrupts::disable();
}

/// Checks, in builds with debug assertions (the tests' kernel), that
/// interrupts are off here: the caller relies on it (it touches per-core
/// state, or must not be moved to another core or preempted).
#[inline(always)]
#[track_caller]
pub fn debug_assert_interrupts_off() {
    debug_assert!(!interrupts_enabled(), "interrupts must be off here");
}

/// Whether interrupts are enabled on this core.
#[inline]
pub fn interrupts_enabled() -> bool {
    interrupts::are_enabled()
}

/// Enables interrupts on this core.
#[inline]
pub fn enable_interrupts() {
    interrupts::enable();
}
