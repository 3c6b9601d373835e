//! How a run ends: the summary when `main` returns, the deadlock report,
//! and the `stats` counters.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use spindle_shared::exit::GuestExit;

use super::percore::CoreSched;
use super::routine::{self, State};
use super::{START_NS, active_cores};
use crate::stop::{end_run, stop_the_machine};
use crate::{console, cpu, summary, time};

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

/// `main` returned: the run ends with success, abandoning whatever else runs.
pub fn main_returned() -> ! {
    stop_the_machine();
    let spawned = totals().spawned;
    let left = abandoned();
    // Cores stopped in the middle of a spawn may have made a routine they
    // had not counted yet: never below zero.
    console::outcome(format_args!(
        "exit: main returned; routines spawned {spawned}, finished {}, abandoned {left}",
        spawned.saturating_sub(left.total())
    ));
    if STATS.load(Ordering::Relaxed) {
        print_stats();
    }
    end_run(GuestExit::Success)
}

/// Where the routines other than main were when the machine stopped.
#[derive(Default)]
struct Abandoned {
    /// Parked: waiting on a channel, a sleep, a lock, ...
    blocked: u64,
    /// In a run queue.
    runnable: u64,
    /// On another core. A routine that just woke main (`done`, a send) and
    /// had not yet returned is one of these: its work was over, its exit not.
    running: u64,
}

impl Abandoned {
    fn total(&self) -> u64 {
        self.blocked + self.runnable + self.running
    }
}

/// "0", or the count and where they were: "3 (1 blocked, 2 runnable, 0 running)".
impl fmt::Display for Abandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.total() {
            0 => write!(f, "0"),
            n => {
                let Abandoned { blocked, runnable, running } = self;
                write!(f, "{n} ({blocked} blocked, {runnable} runnable, {running} running)")
            }
        }
    }
}

/// Counts the routines that have not exited, by what they were doing.
fn abandoned() -> Abandoned {
    let mut left = Abandoned::default();
    for r in routine::all_live().filter(|r| r.id != super::MAIN_ROUTINE) {
        match r.state() {
            State::Parked => left.blocked += 1,
            State::Runnable => left.runnable += 1,
            State::Running => left.running += 1,
            State::Dead => {}
        }
    }
    left
}

fn print_stats() {
    let elapsed = time::now() - START_NS.load(Ordering::Relaxed);
    for (index, core) in cores() {
        let c = &core.counters;
        let idle = c.idle_ns.load(Ordering::Relaxed).min(elapsed);
        let busy_permille = (elapsed - idle) * 1000 / elapsed.max(1);
        summary!(
            "stats: cpu {index}: busy {}.{}%, switches {}, preemptions {}, stolen {}, from global {}, idle {} us",
            busy_permille / 10,
            busy_permille % 10,
            c.switches.load(Ordering::Relaxed),
            c.preemptions.load(Ordering::Relaxed),
            c.stolen.load(Ordering::Relaxed),
            c.from_global.load(Ordering::Relaxed),
            idle / 1000
        );
    }
    let t = totals();
    summary!(
        "stats: total: switches {}, preemptions {}, stolen {}, from global {}, run time {} us",
        t.switches,
        t.preemptions,
        t.stolen,
        t.from_global,
        elapsed / 1000
    );
}

/// Every active core is idle and no timer is pending: no routine can ever
/// run again. Reports the parked routines and ends the run with failure.
pub fn deadlock() -> ! {
    stop_the_machine();
    console::write_report(format_args!("fatal error: all routines are asleep - deadlock!\n"));
    for r in routine::all_live().filter(|r| r.state() == State::Parked) {
        console::write_report(format_args!("  routine {} [{}]\n", r.id, r.wait_reason.get().name()));
    }
    end_run(GuestExit::Failure)
}
