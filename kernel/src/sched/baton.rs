//! The replay mode: the cores that run routines take turns holding a
//! *baton*, one at a time, in an order drawn from the seed, so that a run
//! on several cores repeats exactly under QEMU's icount.
//!
//! # Why
//!
//! Under `-icount shift=0,sleep=off` guest time is the count of guest
//! instructions, over all vCPUs together. On one core that makes a run
//! repeat exactly. On several it does not: QEMU's TCG runs the vCPUs in
//! turn on one host thread and switches between them at host-timed kicks,
//! so how the cores' instructions interleave (who takes a lock first, what
//! each clock read sees) changes from run to run. QEMU 7.2's record/replay,
//! which would fix that, refuses more than one vCPU.
//!
//! # How
//!
//! One core at a time holds the baton ([`HOLDER`]) and runs. Every other
//! active core waits in `hlt`, its local APIC holding back every interrupt
//! but the turn IPI (`arch::hold_back_interrupts`): its timer and wake-up
//! interrupts stay pending until its next turn and then arrive at a point
//! its own instructions fix. A waiting core executes nothing, so the run
//! is a sequence of turns, each the deterministic instructions of one
//! core, in an order the seed decides.
//!
//! The baton moves:
//!
//! - at a *turn tick*: while a routine runs, the holder's timer also fires
//!   every [`TICK_US`] of guest time (each interval drawn at random), and
//!   at each tick the holder passes with odds of 1 in [`PASS_ODDS`]: to a
//!   core whose timer is due if there is one (the holder cannot fire
//!   another core's timers), else to any other active core. The routine
//!   is paused where the tick found it (diverted onto its own stack as a
//!   preemption is, but not switched away) and goes on when its core's
//!   turn comes back; to the rest of the machine it is a routine on a slow
//!   core. A tick only interrupts code that runs with interrupts on, which
//!   holds no spin lock (they keep interrupts off), so no holder ever
//!   waits for a lock that a waiting core holds;
//! - when the holder finds no work (`find::halt_until_woken`): to a core
//!   that has something to do (paused in a routine, woken, or not started
//!   yet); if every core is idle, to the one whose timer is due first,
//!   which halts holding the baton until it fires (under `sleep=off` QEMU
//!   moves the clock straight there); if no timer is pending either, the
//!   usual check has already reported the deadlock.
//!
//! Everything else is the ordinary multi-core scheduler: per-core queues,
//! stealing (a core given the turn while idle looks for work like any
//! other), wake-up IPIs (they reach a waiting core when its turn comes),
//! cross-core wakes, preemption. The end of the run needs nothing of its
//! own: the stop NMI gets through to waiting cores.
//!
//! # Limits
//!
//! - Time is shared: a core's 10 ms slice is 10 ms of the whole machine's
//!   instructions, turns of other cores included.
//! - Passing the turn is: set the holder, send the turn IPI, halt. The old
//!   holder runs a few instructions between the IPI and its `hlt`; QEMU
//!   runs the new holder only once the old one halts (the IPI does not end
//!   the sender's run of instructions), unless a host-timed kick lands in
//!   those few instructions. The IPI is the last thing before the halt to
//!   keep that window as short as it can be.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::percore::CoreSched;
use super::timers::arm_by;
use super::{active_cores, find};
use crate::arch::interrupts::{debug_assert_interrupts_off, wait_for_interrupt};
use crate::{arch, cpu, time};

/// Guest time from one turn tick to the next, in us: each interval is
/// drawn from this range. Short enough that cores interleave many times
/// within a slice; long enough that a tick costs little next to the work
/// between two (measured in the README's replay section).
const TICK_US: (u64, u64) = (5, 50);
/// At a turn tick, the holder passes the baton with odds of 1 in this.
const PASS_ODDS: u64 = 2;

/// Whether the replay mode is on (set once, before the scheduler starts).
static ON: AtomicBool = AtomicBool::new(false);
/// The core whose turn it is. Only the holder changes it.
static HOLDER: AtomicUsize = AtomicUsize::new(0);
/// Turns passed so far (for `stats`).
static PASSES: AtomicU64 = AtomicU64::new(0);

/// Turns the replay mode on, with the bootstrap core (0) holding the baton.
/// Before the scheduler starts.
pub fn enable() {
    HOLDER.store(0, Ordering::Relaxed);
    ON.store(true, Ordering::Release);
}

/// Whether the replay mode is on.
#[inline(always)]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Whether core `index` holds the baton.
pub fn holds(index: usize) -> bool {
    HOLDER.load(Ordering::Acquire) == index
}

/// How many times the baton was passed.
pub fn passes() -> u64 {
    PASSES.load(Ordering::Relaxed)
}

/// Gives the baton to core `next` and waits, halted, until it comes back.
/// Interrupts off; they stay held back in the APIC while this core waits.
fn pass_to(me: usize, next: usize) {
    debug_assert_interrupts_off();
    debug_assert!(me != next && holds(me), "core {me} passing the baton to {next}");
    let apic_id = cpu::get(next).expect("the baton goes to an active core").apic_id;
    arch::hold_back_interrupts();
    PASSES.fetch_add(1, Ordering::Relaxed);
    HOLDER.store(next, Ordering::Release);
    // The last thing before the halt (see the module's limits).
    arch::send_turn(apic_id);
    while !holds(me) {
        wait_for_interrupt();
    }
    arch::let_interrupts_through();
}

/// Draws when the running core's next turn tick is due and arms its timer
/// for it: a routine is about to run, or goes on running, on this core.
pub fn arm_tick(core: &CoreSched) {
    let (least, most) = TICK_US;
    let due = time::now() + (least + core.random() % (most - least + 1)) * 1000;
    core.turn_tick.set(due);
    arm_by(core, due);
}

/// After the timer interrupt's own work on the holder (`preempt::on_timer`,
/// which re-armed the timer for what it knows and said whether to
/// `preempt`): at a turn tick while a routine runs, decides whether the
/// baton passes, and to whom. Returns whether to divert the routine into
/// `sched::preempt_current`, which preempts it or, if a pass was chosen
/// ([`CoreSched::turn_to`]), calls [`pass_from_routine`]. Keeps the tick
/// armed otherwise (a tick already due fires once interrupts are on).
pub fn after_timer(core: &CoreSched, preempt: bool) -> bool {
    if core.current.load(Ordering::Relaxed).is_null() {
        // Idle: no ticks until a routine runs again (`schedule::scheduler_loop`).
        return false;
    }
    let due = core.turn_tick.get();
    if preempt {
        arm_by(core, due);
        return true;
    }
    if time::now() < due {
        arm_by(core, due);
        return false;
    }
    if !core.random().is_multiple_of(PASS_ODDS) {
        arm_tick(core);
        return false;
    }
    let me = cpu::index();
    let next = core_with_due_timer(me).unwrap_or_else(|| other_core(me, core.random()));
    core.turn_to.set(Some(next));
    true
}

/// A routine a turn tick diverted: passes the baton as `on_timer` chose,
/// and returns, to let the routine go on, once it is this core's turn again.
/// On the routine's own stack, interrupts off.
pub fn pass_from_routine(core: &CoreSched, next: usize) {
    pass_to(cpu::index(), next);
    arm_tick(core);
}

/// The holder found no work anywhere and is in the idle set: gives the
/// baton to a core that has something to do, or lets time move on to the
/// earliest timer. Returns when this core should look for work again.
/// Interrupts off.
pub fn idle_turn(core: &CoreSched, me: usize) {
    debug_assert_interrupts_off();
    let busy = || (0..active_cores()).filter(|&other| other != me && !find::is_idle(other));
    let count = busy().count();
    if count > 0 {
        let next = busy().nth(core.random() as usize % count).expect("one of the busy cores");
        return pass_to(me, next);
    }
    match core_with_earliest_timer() {
        Some(next) if next != me => pass_to(me, next),
        // The next timer is this core's: halt holding the baton until it fires.
        _ => wait_for_interrupt(),
    }
}

/// Another active core, `draw` choosing which (uniformly).
fn other_core(me: usize, draw: u64) -> usize {
    let other = draw as usize % (active_cores() - 1);
    if other >= me { other + 1 } else { other }
}

/// The earliest deadline in core `index`'s timer queue.
fn earliest_timer(index: usize) -> Option<u64> {
    cpu::get(index).and_then(|c| c.sched.timers.lock().earliest())
}

/// The first other active core with a timer due now.
fn core_with_due_timer(me: usize) -> Option<usize> {
    let now = time::now();
    (0..active_cores()).filter(|&other| other != me).find(|&other| earliest_timer(other).is_some_and(|t| t <= now))
}

/// The active core whose timer is due first (the lowest index of a tie).
fn core_with_earliest_timer() -> Option<usize> {
    (0..active_cores()).filter_map(|index| Some((earliest_timer(index)?, index))).min().map(|(_, index)| index)
}
