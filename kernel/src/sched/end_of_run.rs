//! How a run ends: the summary when `main` returns, the deadlock report
//! when no routine can ever run again, and the report when the host ends
//! the run. Each stops the machine first (`crate::stop`), so nothing here
//! allocates or waits for a lock.

use core::fmt;
use core::sync::atomic::Ordering;

use spindle_shared::exit::GuestExit;

use super::routine::{self, RoutineId, State};
use super::schedule::MAIN_WOKEN_BY;
use super::stats::{print_stats, stats_wanted, totals};
use crate::stop::{end_run, stop_the_machine};
use crate::{console, cpu, time};

/// `main` returned: the run ends with success, abandoning whatever else runs.
pub fn main_returned() -> ! {
    stop_the_machine();
    let spawned = totals().spawned;
    let left = left_over(false);
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
    /// The routine that had just woken main (a WaitGroup's last `done`, the
    /// send main waited for), if it was still running or runnable: main may
    /// well end the run before it reaches its end. Said so, plainly.
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

/// Counts the routines that have not exited (main among them if
/// `with_main`), by what they were doing. A routine whose closure had
/// returned was only cut short on its way out: it counts as finished.
fn left_over(with_main: bool) -> Abandoned {
    let mut left = Abandoned::default();
    let main_waker = MAIN_WOKEN_BY.load(Ordering::Relaxed);
    let unfinished = routine::all_live().filter(|r| (with_main || r.id != super::MAIN_ROUTINE) && !r.has_returned());
    for r in unfinished {
        let state = r.state();
        match state {
            State::Parked => left.blocked += 1,
            State::Runnable => left.runnable += 1,
            State::Running => left.running += 1,
            State::Dead => {}
        }
        if r.id == main_waker && matches!(state, State::Runnable | State::Running) {
            left.woke_main = Some(r.id);
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

/// The host ended the run (a non-maskable interrupt while nothing else
/// was ending it: the run's time limit passed, or Ctrl-C; see
/// `crate::stop`). Says how far the run got and what each core was
/// running, for whoever debugs a hang, then sends the trace and ends the
/// run with [`GuestExit::Stopped`].
pub fn host_stopped() -> ! {
    stop_the_machine();
    let now_ms = time::now() / 1_000_000;
    let spawned = totals().spawned;
    let left = left_over(true);
    console::write_report(format_args!(
        "stop: the host ended the run {}.{:03} s after kernel entry; routines spawned {spawned}, finished {}, \
         not finished {}\n",
        now_ms / 1000,
        now_ms % 1000,
        spawned.saturating_sub(left.total()),
        Unfinished(&left)
    ));
    console::write_report(format_args!("stop: running: {RunningNow}\n"));
    end_run(GuestExit::Stopped)
}

/// "0", or the count and where they were, without `Abandoned`'s note on
/// main's waker (main is among them here).
struct Unfinished<'a>(&'a Abandoned);

impl fmt::Display for Unfinished<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Abandoned { blocked, runnable, running, .. } = self.0;
        match self.0.total() {
            0 => write!(f, "0"),
            n => write!(f, "{n} ({blocked} blocked, {runnable} runnable, {running} running)"),
        }
    }
}

/// What each core that runs routines was running when the machine stopped:
/// "cpu 0 routine 5, cpu 1 idle, ...".
struct RunningNow;

impl fmt::Display for RunningNow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, core) in cpu::all().take(super::active_cores()).enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            let routine = core.sched.current.load(Ordering::Relaxed);
            if routine.is_null() {
                write!(f, "{separator}cpu {} idle", core.index())?;
            } else {
                // SAFETY: control blocks live at the top of stacks, which
                // stay mapped for ever; the core is stopped, so this is the
                // routine it was running.
                write!(f, "{separator}cpu {} routine {}", core.index(), unsafe { (*routine).id })?;
            }
        }
        Ok(())
    }
}
