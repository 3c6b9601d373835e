//! Time: a monotonic clock in nanoseconds, usable on every core, and each
//! core's one-shot alarm.
//!
//! The clock is the TSC scaled by its frequency (found once, on the bootstrap
//! core). Under QEMU's TCG the TSC follows the host clock and agrees across
//! vCPUs, so `now()` on one core can be compared with `now()` on another.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use crate::arch::{percpu, timer, tsc};

/// The running core's timer state.
fn percpu_timer() -> &'static timer::CoreTimer {
    // SAFETY: a core's state is never freed; this core entered it.
    unsafe { &(*percpu::current()).timer }
}

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static TSC_PER_MS: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per TSC tick as a 32.32 fixed-point number.
static NS_PER_TICK_32_32: AtomicU64 = AtomicU64::new(0);
/// TSC value at which `now()` is 0.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Finds the TSC frequency and starts the clock at `epoch_tsc` (the TSC at
/// kernel entry). Bootstrap core, once.
pub fn init(epoch_tsc: u64) -> (u64, &'static str) {
    let (hz, source) = tsc::frequency();
    TSC_HZ.store(hz, Ordering::Relaxed);
    TSC_PER_MS.store(hz / 1000, Ordering::Relaxed);
    NS_PER_TICK_32_32.store(((1_000_000_000u128 << 32) / hz as u128) as u64, Ordering::Relaxed);
    EPOCH.store(epoch_tsc, Ordering::Release);
    (hz, source)
}

/// The TSC now: a timestamp for [`tsc_to_ns`] or `now`.
#[inline]
pub fn read_tsc() -> u64 {
    tsc::read()
}

/// Converts a TSC difference into nanoseconds.
#[inline]
pub fn tsc_to_ns(ticks: u64) -> u64 {
    ((ticks as u128 * NS_PER_TICK_32_32.load(Ordering::Relaxed) as u128) >> 32) as u64
}

/// Converts a TSC value read since boot into nanoseconds since kernel entry.
pub fn tsc_to_ns_since_boot(tsc: u64) -> u64 {
    tsc_to_ns(tsc.saturating_sub(EPOCH.load(Ordering::Relaxed)))
}

/// Converts nanoseconds into TSC ticks (saturating: a deadline past the
/// TSC's range is never reached).
pub fn ns_to_tsc(ns: u64) -> u64 {
    let ticks = ns as u128 * TSC_HZ.load(Ordering::Relaxed) as u128 / 1_000_000_000;
    ticks.min(u64::MAX as u128) as u64
}

/// `d` in nanoseconds; a duration past `u64::MAX` ns (584 years) is
/// `u64::MAX`, which the timers treat as never.
pub fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Nanoseconds since kernel entry.
#[inline]
pub fn now() -> u64 {
    tsc_to_ns(tsc::read().saturating_sub(EPOCH.load(Ordering::Relaxed)))
}

/// Microseconds since kernel entry.
pub fn now_us() -> u64 {
    now() / 1000
}

/// Spin-loop hints between clock reads while busy-waiting. Under QEMU's
/// TCG every core's clock read takes one lock shared by all the emulated
/// cores, so a core that waits by reading the clock in a tight loop slows
/// every other core's clock reads (the traced switch, a new time slice);
/// a hint costs about 165 ns there (`bench --only micro`), so this many put
/// about 5 us between reads (about 1.5 us on recent Intel cores, where
/// `pause` takes some 140 cycles). A wait can overrun by that much.
const HINTS_PER_CLOCK_READ: usize = 32;

/// Busy-waits for `us` microseconds, or a little longer (see
/// [`HINTS_PER_CLOCK_READ`]).
pub fn delay_us(us: u64) {
    spin_for::<()>(us.saturating_mul(1000), || None);
}

/// Tries `ready` until it gives something or `ns` have passed, with
/// [`HINTS_PER_CLOCK_READ`] spin-loop hints between clock reads: one round
/// of tries at least, so with the clock not running yet (no time passes)
/// it is tried that many times and no more. `None` if it never was ready.
pub fn spin_for<T>(ns: u64, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let give_up = tsc::read().saturating_add(ns_to_tsc(ns));
    loop {
        for _ in 0..HINTS_PER_CLOCK_READ {
            if let Some(value) = ready() {
                return Some(value);
            }
            core::hint::spin_loop();
        }
        if tsc::read() >= give_up {
            return None;
        }
    }
}

/// Calibrates the running core's timer; returns its ticks per millisecond.
pub fn init_this_cpu() -> u64 {
    timer::calibrate_this_cpu(percpu_timer(), TSC_PER_MS.load(Ordering::Relaxed))
}

/// Makes the running core's timer interrupt once at `deadline` (ns since
/// kernel entry), replacing any earlier alarm. `u64::MAX` means never.
pub fn set_alarm(deadline: u64) {
    let tsc = EPOCH.load(Ordering::Relaxed).saturating_add(ns_to_tsc(deadline));
    timer::arm(percpu_timer(), tsc, TSC_PER_MS.load(Ordering::Relaxed));
}

/// Makes the running core's timer interrupt every `period` ns.
pub fn set_periodic(period: u64) {
    timer::periodic(percpu_timer(), ns_to_tsc(period), TSC_PER_MS.load(Ordering::Relaxed));
}

/// Cancels the running core's alarm.
pub fn cancel_alarm() {
    timer::disarm(percpu_timer());
}

mod tests {
    use super::*;

    crate::ktest! {
        /// Nanoseconds to ticks and back come out a little short, never
        /// long: by under a tick, plus what the 32.32 fixed-point
        /// nanoseconds per tick drop (under 2^-32 ns a tick).
        fn ticks_and_nanoseconds_convert_both_ways() {
            let hz = TSC_HZ.load(Ordering::Relaxed);
            assert!(hz >= 1_000_000, "the TSC runs at {hz} Hz");
            assert_eq!(ns_to_tsc(1_000_000_000), hz, "one second is hz ticks");
            let tick_ns = 1_000_000_000 / hz + 1;
            for ns in [0, 1, 999, 1_000_000, 1_234_567_891, 3_600_000_000_000] {
                let ticks = ns_to_tsc(ns);
                let back = tsc_to_ns(ticks);
                let bound = tick_ns + (ticks >> 32) + 1;
                assert!(back <= ns && ns - back <= bound, "{ns} ns -> {ticks} ticks -> {back} ns (bound {bound})");
            }
        }

        /// A deadline past the TSC's range is never reached, not wrapped
        /// round to a moment soon.
        fn a_far_deadline_saturates_instead_of_wrapping() {
            assert_eq!(ns_to_tsc(u64::MAX), u64::MAX);
            assert!(ns_to_tsc(u64::MAX / 2) > ns_to_tsc(u64::MAX / 4));
        }

        /// A duration becomes nanoseconds exactly while it fits, and
        /// `u64::MAX` (never) past that, as long as `Duration` goes.
        fn durations_past_the_clocks_range_saturate_to_never() {
            assert_eq!(duration_ns(Duration::ZERO), 0);
            assert_eq!(duration_ns(Duration::from_secs(3)), 3_000_000_000);
            assert_eq!(duration_ns(Duration::from_nanos(u64::MAX)), u64::MAX);
            assert_eq!(duration_ns(Duration::from_nanos(u64::MAX) + Duration::from_nanos(1)), u64::MAX);
            assert_eq!(duration_ns(Duration::MAX), u64::MAX);
        }

        /// A TSC value from before kernel entry counts as time 0.
        fn time_before_the_epoch_is_zero() {
            assert_eq!(tsc_to_ns_since_boot(0), 0);
            assert_eq!(tsc_to_ns_since_boot(EPOCH.load(Ordering::Relaxed)), 0);
            let now_tsc = read_tsc();
            assert!(tsc_to_ns_since_boot(now_tsc) > 0);
        }

        /// The clock never goes back, and a busy wait lasts at least as
        /// long as asked.
        fn the_clock_is_monotonic_and_delay_waits_long_enough() {
            let mut last = now();
            for _ in 0..10_000 {
                let t = now();
                assert!(t >= last, "now() went from {last} to {t}");
                last = t;
            }
            let before = now();
            delay_us(200);
            let waited = now() - before;
            assert!(waited >= 200_000, "delay_us(200) returned after {waited} ns");
        }
    }
}
