//! The routine scheduler.
//!
//! # The model
//!
//! Spindle follows Go's runtime (runtime/proc.go), with the machine taking
//! the place of the operating system:
//!
//! - A **routine** (Go's G) is a closure with its own stack. `go(f)` starts
//!   one; the program's `main` is routine 1.
//! - A **core** that runs routines plays both Go's P (the right to run
//!   routines, with a local run queue) and its M (the thread doing it). There
//!   are `cpus` of them (GOMAXPROCS); the other processors stay halted.
//! - Each core has a **local run queue**: a lock-free ring of 256 routines
//!   plus a `runnext` slot (`spindle_shared::runq`). Only the owner pushes;
//!   the owner pops and other cores steal, claiming entries by CAS.
//! - New and just-woken routines go to the current core's `runnext` and
//!   inherit the running routine's time slice, so a producer and a consumer
//!   that hand work back and forth keep to one core (a thief may still take
//!   one of them now and then) without starving others. A spawn on a core
//!   whose queue is already long runs the new routine at once instead, the
//!   spawner taking `runnext` (`routine::spawn`).
//! - A full ring moves half of itself to the **global queue** (a locked
//!   FIFO). A core checks the global queue every 61st scheduling decision,
//!   so routines there cannot starve behind a busy local queue, and whenever
//!   its local queue is empty.
//! - A core with nothing to run **steals** half of another core's ring
//!   (four passes over the other cores in random order; a victim's
//!   `runnext` only on the last pass), then looks at the global queue, then
//!   **halts** (`sti; hlt`, decided with interrupts off) until an interrupt.
//!   Whoever makes a routine runnable while cores are halted and none is
//!   already looking for work ("spinning") wakes one with an IPI.
//! - **Switches** happen at `yield_now` (to the tail of the local queue:
//!   Go's Gosched uses the global queue; the local tail keeps the routine's
//!   core and needs no lock), at every blocking operation (`park`), at exit,
//!   and at **preemption**: each core's timer interrupt takes the core from a
//!   routine that has run a whole slice (10 ms unless `slice=`) and puts it
//!   in the global queue, as Go does. Spin locks keep interrupts off, so a
//!   routine is never preempted while holding one; the pending timer
//!   interrupt is taken when the last lock is released.
//! - When `main` returns the run ends, whatever other routines are doing
//!   (they are *abandoned*, and counted). When every routine is blocked and
//!   no timer is pending, the run ends with Go's deadlock error.
//!
//! # The mechanics
//!
//! A switch saves the callee-saved registers on the old stack and loads the
//! new stack ([`crate::arch::switch`]). What must happen to the routine that
//! left (requeue it, release the lock it parked under, recycle its stack)
//! cannot happen before its registers are saved, or another core could pick
//! it up while it is still running; so it is recorded in the core's
//! post-switch action ([`schedule::PostSwitch`]) and done by whichever
//! context runs next ([`schedule::finish_switch`]).
//!
//! Each core also has an idle context on its own kernel stack, where it looks
//! for work and halts; a routine that gives up the core with nothing else
//! runnable locally switches there.
//!
//! # Reading order
//!
//! 1. [`start`] (here): main becomes routine 1 and every core enters
//! 2. `schedule::scheduler_loop`, which asks
//! 3. `find::find_work` for a routine (local, global, stolen, or halt),
//! 4. switches to it (`schedule::switch_into`), and the routine, once
//!    switched in, first runs
//! 5. `schedule::finish_switch`, the post-switch action of whoever left.
//!
//! Yield, park and exit differ only in that action: a yielding routine is
//! put back in the run queue, a parking one has the lock it parked under
//! released (so a waker finds it switched out), and an exiting one has its
//! stack recycled once nobody holds a handle to it.
//!
//! | file | what |
//! |---|---|
//! | `schedule.rs` | each core's loop; switching; the post-switch action; yield, park, wake |
//! | `find.rs` | finding work: local, global, stealing, halting, waking cores |
//! | `routine.rs` | control blocks at the top of each stack; spawning, entry and exit |
//! | `join.rs` | `go`'s join handles, and who drops an untaken result |
//! | `percore.rs` | a core's scheduler state and counters |
//! | `queue.rs` | intrusive FIFO (global queue, wait queues) |
//! | `preempt.rs` | the time slice: the timer's decision, preempting a routine |
//! | `timers.rs` | sleep and timed callbacks |
//! | `baton.rs` | the replay mode: one core at a time, turns in an order drawn from the seed |
//! | `stats.rs` | counters and statistics (`stats`) |
//! | `end_of_run.rs` | how a run ends: the exit summary, the deadlock report, the host's stop |

mod baton;
mod end_of_run;
mod find;
mod join;
mod percore;
mod preempt;
mod queue;
mod routine;
mod schedule;
pub mod stats;
pub mod timers;

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

pub use end_of_run::host_stopped;
pub use join::{JoinHandle, go};
pub use percore::CoreSched;
pub use queue::RoutineQueue;
pub use routine::{Reason, Routine, RoutineId, Wait};

use crate::arch::interrupts::{disable_interrupts, restore_interrupts};
use crate::cpu;
use crate::lock::SpinLockGuard;
use schedule::PostSwitch;

/// Id of the program's main routine.
pub const MAIN_ROUTINE: RoutineId = 1;

/// How many cores run routines (`cpus=`); cores `0..ACTIVE` do.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Time slice in ns.
static SLICE_NS: AtomicU64 = AtomicU64::new(10_000_000);
/// Next routine id.
static NEXT_ID: AtomicU64 = AtomicU64::new(MAIN_ROUTINE);
/// Set once the scheduler runs: cores then enter their scheduling loop.
static STARTED: AtomicBool = AtomicBool::new(false);
/// When the scheduler started (ns since boot).
static START_NS: AtomicU64 = AtomicU64::new(0);

/// Settings of a run.
pub struct Settings {
    pub cpus: usize,
    pub slice_ns: u64,
    pub seed: u64,
    pub stats: bool,
    /// The replay mode: the cores take turns (`baton`).
    pub replay: bool,
}

/// The scheduler state of the running core.
#[inline]
fn this_core() -> &'static CoreSched {
    &cpu::current().sched
}

/// Cores that run routines.
pub fn active_cores() -> usize {
    ACTIVE.load(Ordering::Relaxed)
}

/// Starts the scheduler with `main` as routine 1, on the bootstrap core,
/// and makes the bootstrap core run routines. Does not return: the run ends
/// when `main` returns, on a deadlock, or on a failure.
pub fn start(settings: Settings, main: fn()) -> ! {
    ACTIVE.store(settings.cpus, Ordering::Relaxed);
    set_slice_ns(settings.slice_ns);
    stats::set_stats(settings.stats);
    for core in cpu::all() {
        // Distinct, non-zero seeds per core (xorshift must not start at 0).
        let seed = settings.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (core.index() as u64 + 1);
        core.sched.rng.set(seed | 1);
    }
    START_NS.store(crate::time::now(), Ordering::Relaxed);
    crate::console::tag_lines_with(current_id);
    let were_enabled = disable_interrupts();
    let routine = routine::spawn(main, false, false);
    debug_assert_eq!(routine.0, MAIN_ROUTINE);
    if settings.replay && settings.cpus > 1 {
        baton::enable();
    }
    STARTED.store(true, Ordering::Release);
    // In the replay mode the other cores start when first given the baton.
    for core in cpu::all().filter(|c| c.index() != 0 && c.index() < settings.cpus && !baton::on()) {
        crate::arch::send_wake(core.apic_id);
    }
    restore_interrupts(were_enabled);
    schedule::scheduler_loop()
}

/// Where an application processor goes once it is ready: run routines if it
/// is one of the active cores (as soon as the scheduler starts), else halt.
pub fn enter_from_ap() -> ! {
    let index = cpu::index();
    // Woken by the scheduler's start, or in the replay mode by a first turn.
    while !STARTED.load(Ordering::Acquire) || (baton::on() && !baton::holds(index)) {
        crate::arch::interrupts::wait_for_interrupt();
    }
    if index < active_cores() {
        schedule::scheduler_loop()
    }
    // Not one of the cores that run routines: halted for good (interrupts
    // on, so that the stop NMI and stray wake-ups are still taken).
    loop {
        crate::arch::interrupts::wait_for_interrupt();
    }
}

/// Whether the running core executes routines now.
pub fn running_here() -> bool {
    STARTED.load(Ordering::Acquire) && cpu::entered() && cpu::index() < active_cores()
}

/// Lets other routines run: the current one goes to the back of its core's
/// queue (Go's `runtime.Gosched`). Returns at once if nothing else is runnable.
#[inline]
pub fn yield_now() {
    let were_enabled = disable_interrupts();
    schedule::yield_core();
    restore_interrupts(were_enabled);
}

/// Parks the running routine for `ns` nanoseconds from now. A sleep that
/// would end past the clock's range never ends (`u64::MAX` ns is 584 years),
/// as Go's `time.Sleep` of its longest duration.
pub fn sleep_ns(ns: u64) {
    if ns == 0 {
        return yield_now();
    }
    timers::sleep_until(crate::time::now().saturating_add(ns));
}

/// The running routine (null outside routines).
pub fn current() -> *mut Routine {
    if !running_here() {
        return core::ptr::null_mut();
    }
    let were_enabled = disable_interrupts();
    let routine = this_core().current.load(Ordering::Relaxed);
    restore_interrupts(were_enabled);
    routine
}

/// The running routine, for callers that hold a spin lock (interrupts are
/// off, so the routine cannot move to another core while this reads).
pub fn current_locked() -> *mut Routine {
    crate::arch::interrupts::debug_assert_interrupts_off();
    this_core().current.load(Ordering::Relaxed)
}

/// The running routine's id and core, if a routine is running here.
pub fn current_id() -> Option<(RoutineId, usize)> {
    let routine = current();
    // SAFETY: the running routine is alive while it runs.
    (!routine.is_null()).then(|| (unsafe { (*routine).id }, cpu::index()))
}

/// Parks the running routine. `guard` is the lock protecting whatever will
/// wake it; it is released once the routine's registers are saved, so a
/// waker (which takes that lock) always finds the routine parked and
/// switched out. `reason` is shown by the deadlock report.
#[inline(always)]
pub fn park<T>(guard: SpinLockGuard<'_, T>, reason: Wait) {
    let (lock, were_enabled) = guard.into_parked();
    schedule::park_current(reason, PostSwitch::UnlockParked(lock));
    restore_interrupts(were_enabled);
}

/// Parks the running routine, like [`park`], for code that holds its locks
/// by hand (`select` holds several): once the routine's registers are saved,
/// the next context calls `unlock(arg)`. Interrupts must be off.
pub fn park_unlocking(reason: Wait, arg: *const (), unlock: unsafe fn(*const ())) {
    // On this stack, which stays as it is until the unlock has run.
    let then = schedule::ParkedUnlock { arg, unlock };
    schedule::park_current(reason, PostSwitch::Unlock(&then));
}

/// A pseudo-random number from the running core's generator (seeded by
/// `seed=`, so a run on one core is reproducible).
pub fn random() -> u64 {
    let were_enabled = disable_interrupts();
    let value = this_core().random();
    restore_interrupts(were_enabled);
    value
}

/// Makes a parked routine runnable, on the running core, next in line
/// (Go's `goready`): a routine woken by another keeps the waker's core and
/// runs as soon as the waker gives it up.
pub fn ready(routine: *mut Routine) {
    let were_enabled = disable_interrupts();
    schedule::make_ready(routine);
    restore_interrupts(were_enabled);
}

/// [`ready`], for a caller that holds a spin lock: interrupts are off
/// already, so there is no interrupt-flag round trip here.
#[inline]
pub fn ready_locked(routine: *mut Routine) {
    crate::arch::interrupts::debug_assert_interrupts_off();
    schedule::make_ready(routine);
}

/// Sets the time slice for routines switched in from now on.
pub fn set_slice_ns(ns: u64) {
    SLICE_NS.store(ns, Ordering::Relaxed);
}

/// The time slice, in ns.
pub fn slice_ns() -> u64 {
    SLICE_NS.load(Ordering::Relaxed)
}

/// The timer interrupt, after the start-up self-check: fire due timers,
/// re-arm. Returns whether the running routine has used up its slice; the
/// interrupt then returns into [`preempt_current`] on the routine's stack.
pub fn on_timer() -> bool {
    if !running_here() {
        return false;
    }
    let preempt = preempt::on_timer();
    if baton::on() {
        // Replay mode: a turn tick may divert the routine to pass the baton.
        return baton::after_timer(this_core(), preempt);
    }
    preempt
}

/// Preempts the running routine, which the timer interrupt found had used
/// up its slice: it goes to the global queue and the core runs something
/// else. On the routine's own stack, interrupts off; returns when the
/// routine is switched back in. In the replay mode the timer may instead
/// have chosen to pass the baton: the routine then waits, where it is, for
/// its core's next turn.
pub fn preempt_current() {
    let core = this_core();
    if let Some(next) = core.turn_to.take() {
        return baton::pass_from_routine(core, next);
    }
    preempt::preempt_current();
}

/// The wake-up interrupt.
pub fn on_wake() {
    if running_here() {
        crate::trace::record(spindle_shared::trace::Kind::IpiReceive, 0, 0, 0, 0);
        find::leave_idle_set();
    }
}
