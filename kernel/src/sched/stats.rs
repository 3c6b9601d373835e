//! The scheduler's counters and statistics: per core (switches,
//! preemptions, steals, idle time), per routine (runs, preemptions), and
//! what the `stats` option prints at the end of a run.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use super::percore::{CoreSched, LATENESS_SAMPLES};
use super::routine::RoutineId;
use super::{START_NS, active_cores, current};
use crate::{cpu, summary, time};

static STATS: AtomicBool = AtomicBool::new(false);

pub fn set_stats(on: bool) {
    STATS.store(on, Ordering::Relaxed);
}

/// Sums of the per-core counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub spawned: u64,
    pub finished: u64,
    pub switches: u64,
    pub preemptions: u64,
    pub stolen: u64,
    pub from_global: u64,
    pub idle_ns: u64,
}

fn cores() -> impl Iterator<Item = (usize, &'static CoreSched)> {
    (0..active_cores()).filter_map(cpu::get).map(|c| (c.index(), &c.sched))
}

/// Totals of the per-core counters so far.
pub fn totals() -> Totals {
    let mut t = Totals::default();
    for (_, core) in cores() {
        let c = &core.counters;
        t.spawned += c.spawned.load(Ordering::Relaxed);
        t.finished += c.finished.load(Ordering::Relaxed);
        t.switches += c.switches.load(Ordering::Relaxed);
        t.preemptions += c.preemptions.load(Ordering::Relaxed);
        t.stolen += c.stolen.load(Ordering::Relaxed);
        t.from_global += c.from_global.load(Ordering::Relaxed);
        t.idle_ns += c.idle_ns.load(Ordering::Relaxed);
    }
    t
}

/// Scheduler counters of the running routine: (times switched in, times preempted).
pub fn my_counters() -> (u64, u64) {
    let routine = current();
    assert!(!routine.is_null(), "my_counters outside a routine");
    // SAFETY: the running routine is alive.
    let r = unsafe { &*routine };
    (r.switches.load(Ordering::Relaxed), r.preemptions.load(Ordering::Relaxed))
}

/// Preemption latencies (ns past the end of the slice) recorded on every
/// active core: the most recent samples, and how many were taken in all.
pub fn preemption_lateness() -> (Vec<u32>, u64) {
    let mut samples = Vec::new();
    let mut taken = 0;
    for core in (0..active_cores()).filter_map(cpu::get) {
        let n = core.sched.lateness_count.load(Ordering::Acquire);
        taken += n;
        let kept = (n as usize).min(LATENESS_SAMPLES);
        samples.extend(core.sched.lateness[..kept].iter().map(|sample| sample.load(Ordering::Relaxed)));
    }
    (samples, taken)
}

/// What runs on each active core at this instant: `(cpu, routine id)` for
/// every core running a routine. A snapshot, for programs that want to show
/// parallelism; ids read as a routine exits may be stale.
pub fn running_now() -> Vec<(usize, RoutineId)> {
    (0..active_cores())
        .filter_map(cpu::get)
        .filter_map(|c| {
            let routine = c.sched.current.load(Ordering::Relaxed);
            // SAFETY: control blocks live at the top of stacks, which stay
            // mapped for ever; a recycled one still holds some routine's id.
            (!routine.is_null()).then(|| (c.index(), unsafe { (*routine).id }))
        })
        .collect()
}

/// Prints the counters, per core and in total (the `stats` option). The
/// words mean what they mean in the trace's summary, which the runner
/// prints after these lines (and which alone says how busy a core was: the
/// counters do not see when a routine runs and when the scheduler does).
pub fn print_stats() {
    let elapsed = time::now() - START_NS.load(Ordering::Relaxed);
    for (index, core) in cores() {
        let c = &core.counters;
        summary!(
            "stats: cpu {index}: switches {}, preemptions {}, stole {}, from global {}, idle {} us",
            c.switches.load(Ordering::Relaxed),
            c.preemptions.load(Ordering::Relaxed),
            c.stolen.load(Ordering::Relaxed),
            c.from_global.load(Ordering::Relaxed),
            c.idle_ns.load(Ordering::Relaxed).min(elapsed) / 1000
        );
    }
    let t = totals();
    summary!(
        "stats: total: switches {}, preemptions {}, stole {}, from global {}, run time {} us",
        t.switches,
        t.preemptions,
        t.stolen,
        t.from_global,
        elapsed / 1000
    );
    if super::baton::on() {
        summary!("stats: replay: the baton passed {} times", super::baton::passes());
    }
    summary!(
        "stats: switches: routines switched in; stole: routines taken from other cores' run queues; \
         from global: takes from the global queue; idle: time halted with nothing to run"
    );
}

/// Whether the run prints its counters at the end.
pub fn stats_wanted() -> bool {
    STATS.load(Ordering::Relaxed)
}

/// Nanoseconds one attempt to steal takes when it finds nothing: every
/// pass over every other active core, as a core looking for work makes
/// before it halts (for the benchmark; it grows with the number of cores).
/// `None` if it did find a routine, which is then queued on this core.
pub fn failed_steal_ns() -> Option<u64> {
    let were_enabled = crate::arch::interrupts::disable_interrupts();
    let core = &cpu::current().sched;
    let start = time::now();
    let found = super::find::steal(core, cpu::index());
    let ns = time::now() - start;
    if let Some(routine) = found {
        super::find::push_local(core, routine, false);
    }
    crate::arch::interrupts::restore_interrupts(were_enabled);
    found.is_none().then_some(ns)
}
