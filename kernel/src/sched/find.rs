//! Finding work for a core, and waking cores when there is work.
//!
//! Order of search (Go's `schedule` and `findRunnable`): every 61st decision
//! the global queue first; then `runnext` and the local ring; then the
//! global queue; then stealing from other cores; then halting.
//!
//! Halting without losing a wake-up: a core about to halt takes
//! [`IDLE_LOCK`], stops spinning, sets its bit in [`IDLE`], and only then
//! looks once more at every queue. A core that makes a routine runnable
//! first queues it, then reads [`IDLE`]. One of the two always sees the
//! other: either the waker sees the idle bit and sends an IPI, or the idler
//! sees the routine and does not halt.
//!
//! Deadlock: if the last active core to go idle sees every active core idle
//! and no timer pending, nothing can ever make a routine runnable again.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};

use spindle_shared::coreset::{AtomicCoreSet, CoreSet};
use spindle_shared::runq::{CAPACITY, Spill};

use super::percore::{CoreCounters, CoreSched};
use super::queue::RoutineQueue;
use super::routine::Routine;
use super::{active_cores, baton, end_of_run, timers};
use crate::arch;
use crate::arch::interrupts::debug_assert_interrupts_off;
use crate::cpu;
use crate::lock::SpinLock;
use crate::{time, trace};
use spindle_shared::trace::Kind;

/// Check the global queue first on every this-many-th scheduling decision,
/// so that routines there cannot starve behind a busy local queue. 61 is
/// Go's choice: prime, so it does not fall into step with other periodic
/// behaviour of the program.
const GLOBAL_QUEUE_INTERVAL: u64 = 61;
/// Passes over the other cores when stealing (Go's stealTries).
const STEAL_PASSES: usize = 4;
/// Before taking a victim's `runnext`, watch the victim this long (Go waits
/// ~3 us; emulated cores are slower, so longer): if it switches meanwhile,
/// it is handing work back and forth and keeps its `runnext`. (`delay_us`
/// reads the clock only now and then, so under TCG this is 10 to 15 us.)
const RUNNEXT_GRACE_US: u64 = 10;

/// How long a core looks for work before it halts. While it looks it
/// counts as spinning, so cores that make work runnable need not send it an
/// IPI: for hand-offs at a high rate (ping-pong on a neighbouring core) this
/// turns one IPI per hand-off into one per window. Under emulation an IPI
/// costs microseconds.
const SPIN_BEFORE_HALT_NS: u64 = 50_000;

static GLOBAL: SpinLock<RoutineQueue> = SpinLock::new(RoutineQueue::new());
/// Length of the global queue, readable without its lock.
static GLOBAL_LEN: AtomicUsize = AtomicUsize::new(0);
/// The active cores that are idle (halted, or about to halt). A core adds
/// itself only under [`IDLE_LOCK`]; it and wakers take it out without the
/// lock. The set is a few words wide: what its reads promise is in
/// `spindle_shared::coreset`, and the two arguments above need no more
/// (the wake-up one is per core; the deadlock check reads under the lock).
static IDLE: AtomicCoreSet = AtomicCoreSet::new();
/// Cores looking for work without having found any yet.
static SPINNING: AtomicU32 = AtomicU32::new(0);
/// Serialises cores going idle with each other (not with wakers).
static IDLE_LOCK: SpinLock<()> = SpinLock::new(());

pub fn global_is_empty() -> bool {
    GLOBAL_LEN.load(Ordering::Acquire) == 0
}

/// Appends routines to the global queue.
pub fn global_push(routines: impl IntoIterator<Item = *mut Routine>) {
    let mut global = GLOBAL.lock();
    for routine in routines {
        global.push_back(routine);
    }
    GLOBAL_LEN.store(global.len(), Ordering::Release);
}

/// Half of a full local ring moves to the global queue: another core may
/// be idle, and there is work for it now.
fn global_push_spill(spill: Spill<'_, Routine, CAPACITY>) {
    global_push(spill);
    wake_a_core();
}

/// Takes a batch from the global queue (Go's globrunqget): one to run now,
/// and up to a fair share of the rest into this core's ring.
fn global_take(core: &CoreSched, batch: bool) -> Option<*mut Routine> {
    debug_assert_interrupts_off();
    if global_is_empty() {
        return None;
    }
    let mut global = GLOBAL.lock();
    let len = global.len();
    let share = if batch { (len / active_cores() + 1).min(CAPACITY / 2) } else { 1 };
    let first = global.pop_front()?;
    for _ in 1..share.min(len) {
        let Some(routine) = global.pop_front() else { break };
        core.runq.push(routine, |_| unreachable!("the ring had room for half its size"));
    }
    let taken = len - global.len();
    GLOBAL_LEN.store(global.len(), Ordering::Release);
    CoreCounters::add(&core.counters.from_global, 1);
    // SAFETY: `first` was just taken from the queue: it is ours.
    trace::record(Kind::GlobalTake, 0, taken as u64, unsafe { (*first).id }, 0);
    Some(first)
}

/// Queues `routine` on this core: next in line, or at the tail.
#[inline(always)]
pub fn push_local(core: &CoreSched, routine: *mut Routine, next: bool) {
    debug_assert_interrupts_off();
    if next {
        core.runq.push_next(routine, global_push_spill);
    } else {
        core.runq.push(routine, global_push_spill);
    }
}

/// The next routine from this core's own queues and the global queue, and
/// whether it inherits the current time slice. No stealing, no waiting.
// lab(findwork): every 61st decision the global queue first; then runnext and the ring; then a batch from the global queue
#[inline(always)]
pub fn pick_local(core: &CoreSched) -> Option<(*mut Routine, bool)> {
    debug_assert_interrupts_off();
    // Counts down to the next look at the global queue.
    let tick = core.schedtick.get().wrapping_sub(1);
    core.schedtick.set(tick);
    if tick == 0 {
        core.schedtick.set(GLOBAL_QUEUE_INTERVAL);
        if let Some(routine) = global_take(core, false) {
            return Some((routine, false));
        }
    }
    core.runq.pop().or_else(|| global_take(core, true).map(|r| (r, false)))
}

/// Steals from another active core, in random order (Go's randomOrder: a
/// random start and a stride coprime to the number of cores).
// lab(findwork): up to 4 passes over the other cores in random order (a random start and a coprime stride); runnext only on the last pass
pub(super) fn steal(core: &CoreSched, me: usize) -> Option<*mut Routine> {
    let n = active_cores();
    if n < 2 {
        return None;
    }
    for pass in 0..STEAL_PASSES {
        let take_runnext = pass == STEAL_PASSES - 1;
        let start = core.random() as usize % n;
        let stride = coprime_stride(core.random() as usize, n);
        for i in 0..n {
            let victim = (start + i * stride) % n;
            if victim == me {
                continue;
            }
            let Some(victim) = cpu::get(victim) else { continue };
            if take_runnext && victim.sched.runq.only_runnext() && victim_hands_off(&victim.sched) {
                continue;
            }
            if let Some((routine, moved)) = victim.sched.runq.steal_into(&core.runq, take_runnext) {
                CoreCounters::add(&core.counters.stolen, moved as u64);
                // SAFETY: the stolen routine is now ours.
                trace::record(Kind::Steal, 0, victim.index() as u64, moved as u64, unsafe { (*routine).id });
                return Some(routine);
            }
        }
    }
    None
}

/// Whether a core whose only queued routine is its `runnext` is in the
/// middle of hand-offs (it switched during a short grace period): then the
/// routine is about to run there, and stealing it would only turn a
/// same-core hand-off (ping-pong) into a cross-core one. A core that keeps
/// running the same routine through the grace period is busy: its
/// `runnext` is fair game.
fn victim_hands_off(victim: &CoreSched) -> bool {
    let switches = victim.counters.switches.load(Ordering::Relaxed);
    time::delay_us(RUNNEXT_GRACE_US);
    victim.counters.switches.load(Ordering::Relaxed) != switches
}

/// A stride in `1..n` that is coprime to `n`, so `start + i*stride` visits every core once.
fn coprime_stride(seed: usize, n: usize) -> usize {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut stride = 1 + seed % (n - 1).max(1);
    while gcd(stride, n) != 1 {
        stride = stride % (n - 1) + 1;
    }
    stride
}

/// Whether any active core has runnable work in its queues or the global one.
fn work_anywhere() -> bool {
    !global_is_empty() || (0..active_cores()).filter_map(cpu::get).any(|c| !c.sched.runq.is_empty())
}

fn start_spinning(core: &CoreSched) -> bool {
    if core.spinning.get() {
        return true;
    }
    // Go bounds spinning to half the busy cores: more would only burn time.
    let busy = active_cores().saturating_sub(IDLE.len(Ordering::Relaxed)) as u32;
    if 2 * SPINNING.load(Ordering::Relaxed) >= busy {
        return false;
    }
    SPINNING.fetch_add(1, Ordering::SeqCst);
    core.spinning.set(true);
    true
}

/// Stops spinning after finding work; if this was the last spinning core,
/// wakes another, since there may be more work (Go's resetspinning).
fn found_work(core: &CoreSched) {
    if core.spinning.replace(false) && SPINNING.fetch_sub(1, Ordering::SeqCst) == 1 {
        wake_a_core();
    }
}

/// Finds the next routine for this core, halting until there is one.
/// From the core's idle context, interrupts off.
pub fn find_work(core: &'static CoreSched) -> (*mut Routine, bool) {
    debug_assert_interrupts_off();
    let me = cpu::index();
    loop {
        if let Some(found) = pick_local(core) {
            found_work(core);
            return found;
        }
        let may_steal = start_spinning(core);
        if may_steal {
            let give_up = time::now() + SPIN_BEFORE_HALT_NS;
            loop {
                if let Some(found) = core.runq.pop() {
                    found_work(core);
                    return found;
                }
                if let Some(routine) = steal(core, me).or_else(|| global_take(core, true)) {
                    found_work(core);
                    return (routine, false);
                }
                if time::now() >= give_up {
                    break;
                }
            }
        }
        halt_until_woken(core, me, may_steal);
    }
}

/// Goes idle: unless work shows up at the last moment, halts until an
/// interrupt. Detects deadlock. A core that was not allowed to look for
/// work on other cores (enough cores are spinning) only rechecks its own
/// queue and the global one: the spinners will take the rest, and looking
/// at it would only send this core round the loop without halting.
// lab(findwork): join the idle set under IDLE_LOCK, look at every queue once more, then halt until an interrupt
fn halt_until_woken(core: &CoreSched, me: usize, may_steal: bool) {
    {
        let _serial = IDLE_LOCK.lock();
        if core.spinning.replace(false) {
            SPINNING.fetch_sub(1, Ordering::SeqCst);
        }
        core.in_idle_set.set(true);
        IDLE.insert(me, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let visible = if may_steal { work_anywhere() } else { !core.runq.is_empty() || !global_is_empty() };
        if visible {
            leave_idle_set();
            return;
        }
        // lab(deadlock) begin: end the run with the deadlock report if every active core is idle and no timer is pending
        // Pending first, then IDLE: a core whose timer fires leaves IDLE
        // before the timer stops counting as pending. IDLE is read word by
        // word, but under IDLE_LOCK nobody joins it: every core the read
        // finds idle was idle when the read began.
        if timers::PENDING.load(Ordering::SeqCst) == 0 && IDLE.load(Ordering::SeqCst) == CoreSet::below(active_cores())
        {
            end_of_run::deadlock();
        }
        // lab(deadlock) end
    }
    let slept = time::now();
    trace::record(Kind::Idle, 0, 0, 0, 0);
    halt_or_pass_the_turn(core, me);
    let woke = time::now();
    trace::record(Kind::IdleEnd, 0, 0, 0, 0);
    CoreCounters::add(&core.counters.idle_ns, woke - slept);
    leave_idle_set();
}

/// Halts until an interrupt; in the replay mode, gives the baton to a core
/// with something to do instead, if there is one (`baton::idle_turn`).
fn halt_or_pass_the_turn(core: &CoreSched, me: usize) {
    if baton::on() {
        baton::idle_turn(core, me);
    } else {
        arch::interrupts::wait_for_interrupt();
    }
}

/// Whether core `index` is in the idle set: halted, or about to halt, with
/// nothing to run (in the replay mode: waiting for a turn with nothing to do).
pub(super) fn is_idle(index: usize) -> bool {
    IDLE.load(Ordering::SeqCst).contains(index)
}

/// Takes this core out of the idle set, if it is in it. Only the core
/// itself and [`wake_a_core`] clear a core's bit; if a waker got there first,
/// it counted this core as spinning, and this core now is.
pub fn leave_idle_set() {
    let core = cpu::current();
    if !core.sched.in_idle_set.replace(false) {
        return;
    }
    if !IDLE.remove(core.index(), Ordering::SeqCst) {
        core.sched.spinning.set(true);
    }
}

/// Wakes an idle core to look for work, unless one is already looking
/// (Go's wakep). Called after making a routine runnable; the common case
/// (nobody idle, or somebody already spinning) is inline.
#[inline]
pub fn wake_a_core() {
    fence(Ordering::SeqCst);
    if IDLE.is_empty(Ordering::SeqCst) || SPINNING.load(Ordering::SeqCst) != 0 {
        return;
    }
    wake_an_idle_core();
}

#[cold]
// lab(findwork): become the spinning core, clear one idle core's bit and send it the wake-up interrupt
fn wake_an_idle_core() {
    if SPINNING.compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed).is_err() {
        return;
    }
    loop {
        let Some(target) = IDLE.first(Ordering::SeqCst) else {
            SPINNING.fetch_sub(1, Ordering::SeqCst);
            return;
        };
        if IDLE.remove(target, Ordering::SeqCst) {
            // The target finds its bit gone and takes over our SPINNING count.
            trace::record(Kind::IpiSend, 0, target as u64, 0, 0);
            if let Some(cpu) = cpu::get(target) {
                arch::send_wake(cpu.apic_id);
            }
            return;
        }
    }
}
