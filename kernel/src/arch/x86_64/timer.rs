//! The per-core timer: the local APIC timer, in TSC-deadline mode where the
//! CPU has it, otherwise one-shot mode with a count calibrated against the
//! TSC, once, on the bootstrap core: every core's APIC timer counts the same
//! clock (the bus or core crystal clock, Intel SDM 3A 11.5.4), so the other
//! cores take its figure, as Linux does (`lapic_timer_period`). Measuring
//! on every core cost each one 10 ms of reading the TSC in a loop, which
//! under TCG takes a lock all vCPUs share: with the cores starting at once,
//! `-smp 8` took 325 ms from kernel entry to every core online with it and
//! 207 ms without (`-smp 64`: 813 and 638 ms; one boot each).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::apic::{self, timer};
use super::tsc;
use super::vectors::TIMER_VECTOR;

/// How long the bootstrap core measures its APIC timer against the TSC, in ms.
const CALIBRATION_MS: u64 = 10;
/// APIC timer ticks per ms, as the bootstrap core measured them (0: not yet).
static TICKS_PER_MS: AtomicU64 = AtomicU64::new(0);

static TSC_DEADLINE: AtomicBool = AtomicBool::new(false);

/// Per-core timer state.
pub struct CoreTimer {
    /// APIC timer ticks per millisecond on this core (one-shot mode).
    apic_ticks_per_ms: AtomicU64,
    /// The timer is in periodic mode (set by `periodic`, undone by `arm`).
    periodic: AtomicBool,
}

impl CoreTimer {
    pub const fn new() -> CoreTimer {
        CoreTimer { apic_ticks_per_ms: AtomicU64::new(0), periodic: AtomicBool::new(false) }
    }
}

/// Picks the timer mode for the machine. Bootstrap core, once.
pub fn init() -> &'static str {
    let deadline = apic::tsc_deadline_supported();
    TSC_DEADLINE.store(deadline, Ordering::Relaxed);
    if deadline { "TSC-deadline" } else { "one-shot, calibrated once" }
}

/// Sets up this core's APIC timer and returns its ticks per millisecond:
/// the first core to call this measures them against the TSC
/// (`tsc_per_ms` TSC ticks per millisecond), the others take that figure.
pub fn calibrate_this_cpu(state: &CoreTimer, tsc_per_ms: u64) -> u64 {
    timer::divide();
    let per_ms = match TICKS_PER_MS.load(Ordering::Acquire) {
        0 => {
            timer::start_free_running();
            let start = tsc::read();
            while tsc::read() - start < CALIBRATION_MS * tsc_per_ms {
                core::hint::spin_loop();
            }
            let counted = u32::MAX - timer::remaining();
            timer::stop();
            let per_ms = (counted as u64 / CALIBRATION_MS).max(1);
            TICKS_PER_MS.store(per_ms, Ordering::Release);
            per_ms
        }
        measured => measured,
    };
    state.apic_ticks_per_ms.store(per_ms, Ordering::Relaxed);
    if TSC_DEADLINE.load(Ordering::Relaxed) {
        timer::use_tsc_deadline(TIMER_VECTOR);
    }
    per_ms
}

/// Arms this core's timer to interrupt once at TSC value `deadline`
/// (`tsc_per_ms` converts for one-shot mode). Earlier calls are replaced.
pub fn arm(state: &CoreTimer, deadline: u64, tsc_per_ms: u64) {
    let was_periodic = state.periodic.swap(false, Ordering::Relaxed);
    if TSC_DEADLINE.load(Ordering::Relaxed) {
        if was_periodic {
            timer::stop();
            timer::use_tsc_deadline(TIMER_VECTOR);
        }
        timer::deadline(deadline.max(1));
        return;
    }
    let delta = deadline.saturating_sub(tsc::read());
    let per_ms = state.apic_ticks_per_ms.load(Ordering::Relaxed);
    let ticks = (delta as u128 * per_ms as u128 / tsc_per_ms as u128).min(u32::MAX as u128);
    timer::oneshot(TIMER_VECTOR, ticks as u32);
}

/// Makes this core's timer interrupt every `period_tsc` TSC ticks.
pub fn periodic(state: &CoreTimer, period_tsc: u64, tsc_per_ms: u64) {
    let per_ms = state.apic_ticks_per_ms.load(Ordering::Relaxed);
    let ticks = (period_tsc as u128 * per_ms as u128 / tsc_per_ms as u128).min(u32::MAX as u128);
    state.periodic.store(true, Ordering::Relaxed);
    timer::periodic(TIMER_VECTOR, ticks as u32);
}

/// Stops this core's timer.
pub fn disarm(state: &CoreTimer) {
    if state.periodic.swap(false, Ordering::Relaxed) {
        timer::stop();
        if TSC_DEADLINE.load(Ordering::Relaxed) {
            timer::use_tsc_deadline(TIMER_VECTOR);
        }
    } else if TSC_DEADLINE.load(Ordering::Relaxed) {
        timer::deadline(0);
    } else {
        timer::stop();
    }
}
