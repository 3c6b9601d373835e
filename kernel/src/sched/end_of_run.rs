//! How a run ends: the summary when `main` returns, and the deadlock
//! report when no routine can ever run again. Both stop the machine first
//! (`crate::stop`), so nothing here allocates or waits for a lock.

use core::fmt;
use core::sync::atomic::Ordering;

use spindle_shared::exit::GuestExit;

use super::routine::{self, RoutineId, State};
use super::schedule::MAIN_WOKEN_BY;
use super::stats::{print_stats, stats_wanted, totals};
use crate::console;
use crate::stop::{end_run, stop_the_machine};

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
    if stats_wanted() {
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
    /// On another core, still inside their closure.
    running: u64,
    /// A running routine that had just woken main (a WaitGroup's last
    /// `done`, a send main waited for): main may well have ended the run
    /// before this one reached its end. Said so, plainly.
    woke_main: Option<RoutineId>,
}

impl Abandoned {
    fn total(&self) -> u64 {
        self.blocked + self.runnable + self.running
    }
}

/// "0", or the count and where they were: "3 (1 blocked, 2 runnable, 0
/// running)", and which running one had just woken main.
impl fmt::Display for Abandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Abandoned { blocked, runnable, running, woke_main } = self;
        match self.total() {
            0 => write!(f, "0")?,
            n => write!(f, "{n} ({blocked} blocked, {runnable} runnable, {running} running)")?,
        }
        match woke_main {
            Some(id) => write!(f, "; routine {id} had just woken main and had not returned yet"),
            None => Ok(()),
        }
    }
}

/// Counts the routines that have not exited, by what they were doing. A
/// routine whose closure had returned was only cut short on its way out: it
/// counts as finished.
fn abandoned() -> Abandoned {
    let mut left = Abandoned::default();
    let main_waker = MAIN_WOKEN_BY.load(Ordering::Relaxed);
    let unfinished = routine::all_live().filter(|r| r.id != super::MAIN_ROUTINE && !r.has_returned());
    for r in unfinished {
        match r.state() {
            State::Parked => left.blocked += 1,
            State::Runnable => left.runnable += 1,
            State::Running => {
                left.running += 1;
                if r.id == main_waker {
                    left.woke_main = Some(r.id);
                }
            }
            State::Dead => {}
        }
    }
    left
}

/// Every active core is idle and no timer is pending: no routine can ever
/// run again. Reports the parked routines and ends the run with failure.
// lab(deadlock): stop the machine, print Go's message and every parked routine with what it waits for, end with failure
pub fn deadlock() -> ! {
    stop_the_machine();
    console::write_report(format_args!("fatal error: all routines are asleep - deadlock!\n"));
    for r in routine::all_live().filter(|r| r.state() == State::Parked) {
        console::write_report(format_args!("  routine {} [{}]\n", r.id, r.wait_reason.get().name()));
    }
    end_run(GuestExit::Failure)
}
