//! The scheduler loop and the context switch: how a core gives up one
//! routine and takes the next.
//!
//! Read in this order: [`scheduler_loop`] (each core's loop, in its idle
//! context), `find::find_work` (where the next routine comes from),
//! [`switch_into`] (the switch itself) and [`finish_switch`] (the
//! [`PostSwitch`] action done by the next context for the one that left).
//! A running routine leaves through [`switch_away_to`] (or
//! [`switch_away`], which reads the running routine itself), to the next local
//! routine or back to the loop: [`yield_core`], [`park_current`], exit
//! (`routine::routine_entry`) and preemption (`preempt`) differ only in the
//! [`PostSwitch`] action they ask for.
//!
//! Everything here runs with interrupts off.

use core::sync::atomic::{AtomicU64, Ordering};

use spindle_shared::trace::StopReason;

use super::find::{self, find_work, global_push};
use super::percore::{CoreCounters, CoreSched};
use super::preempt::record_lateness;
use super::routine::{Routine, State, Wait};
use super::timers::arm_by;
use super::{MAIN_ROUTINE, SLICE_NS, baton, this_core};
use crate::arch::interrupts::debug_assert_interrupts_off;
use crate::arch::interrupts::disable_interrupts;
use crate::arch::switch::switch;
use crate::lock::ParkedLock;
use crate::{cpu, time, trace};

/// Each core's scheduler: find a routine, run it until it gives the core
/// back with nothing else runnable here, repeat. Runs on the core's own
/// kernel stack (its idle context); every core that runs routines calls it
/// once set up, and it never returns.
pub fn scheduler_loop() -> ! {
    disable_interrupts();
    let core = this_core();
    loop {
        debug_assert_interrupts_off();
        // Coming from idle there is no slice to inherit: always a fresh one.
        let (next, _) = find_work(core);
        if baton::on() {
            // Replay mode: the turn ticks stop while a core idles.
            baton::arm_tick(core);
        }
        if trace::enabled() {
            // SAFETY: `next` came out of a run queue: it is ours.
            trace_switch(cpu::current(), None, StopReason::Yield, Some((unsafe { &*next }, false)));
        }
        switch_into(core, core.idle_context.get(), next, false);
        finish_switch();
    }
}

/// Switches from the context whose stack pointer is saved at `from` into
/// `next`; `inherit` keeps the current time slice (runnext). This is the
/// hot path of every switch: it reads the clock only when a new slice
/// starts, and then only the raw TSC.
#[inline(always)]
fn switch_into(core: &CoreSched, from: *mut usize, next: *mut Routine, inherit: bool) {
    debug_assert_interrupts_off();
    // SAFETY: `next` came out of a run queue: it is runnable and ours.
    let r = unsafe { &*next };
    r.set_state(State::Running);
    r.switches.store(r.switches.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    core.current.store(next, Ordering::Relaxed);
    if !inherit {
        start_slice(core);
    }
    CoreCounters::add(&core.counters.switches, 1);
    // SAFETY: interrupts are off; `next`'s context was saved by `switch` or
    // made by `new_context`, and nothing else runs on its stack.
    unsafe { switch(from, *r.context.get()) };
}

/// A fresh time slice starts now. The timer needs arming for its end only
/// if it is not armed already for a moment before that (see
/// `CoreSched::slice_armed`): after a switch from a routine that had a
/// slice it never does, and the clock read is the whole cost.
#[inline(always)]
fn start_slice(core: &CoreSched) {
    let now = time::read_tsc();
    core.slice_start_tsc.set(now);
    if !core.slice_armed.get() {
        arm_slice_end(core, now);
    }
}

#[cold]
#[inline(never)]
fn arm_slice_end(core: &CoreSched, start_tsc: u64) {
    arm_by(core, time::tsc_to_ns_since_boot(start_tsc) + SLICE_NS.load(Ordering::Relaxed));
    core.slice_armed.set(true);
}

/// The running routine, `prev` on `cpu` (which the caller has at hand:
/// reading either again would cost a load the compiler cannot merge), gives
/// up the core; `action` says what becomes of it and `reason` why (for the
/// trace). Runs `next` if given, else the next local routine, or the idle
/// loop if there is none. Returns when the routine is switched back in.
#[inline(always)]
fn switch_away_to(
    cpu: &cpu::Cpu,
    prev: *mut Routine,
    action: PostSwitch,
    reason: StopReason,
    next: Option<(*mut Routine, bool)>,
) {
    debug_assert_interrupts_off();
    let core = &cpu.sched;
    debug_assert_eq!(prev, core.current.load(Ordering::Relaxed));
    // SAFETY: `prev` is the running routine: the caller.
    let prev = unsafe { &*prev };
    let next = next.or_else(|| find::pick_local(core));
    core.post_switch.set(action);
    let from = prev.context.get();
    match next {
        Some((next, inherit)) => {
            if trace::enabled() {
                // SAFETY: `next` came out of a run queue: it is ours.
                trace_switch(cpu, Some(prev), reason, Some((unsafe { &*next }, inherit)));
            }
            switch_into(core, from, next, inherit)
        }
        None => {
            if trace::enabled() {
                trace_switch(cpu, Some(prev), reason, None);
            }
            core.current.store(core::ptr::null_mut(), Ordering::Relaxed);
            // SAFETY: interrupts are off; the idle context was saved by `switch`.
            unsafe { switch(from, *core.idle_context.get()) };
        }
    }
    finish_switch();
}

/// The running routine gives up the core; see [`switch_away_to`].
#[inline(always)]
pub fn switch_away(action: PostSwitch, reason: StopReason) {
    let cpu = cpu::current();
    switch_away_to(cpu, cpu.sched.current.load(Ordering::Relaxed), action, reason, None);
}

/// The post-context-switch action: what the next context must do for the
/// routine that just switched away (it cannot do it itself: it was still
/// running on its stack until the switch saved its registers). Done by
/// [`finish_switch`], the first thing every context does once switched in.
///
/// The variants are declared hottest first, the order [`finish_switch`]
/// tests them in (each test a switch does not need is two instructions): a
/// park's unlock, a yield's requeue, an exit's release. Those three are done
/// in line and the rest out of line: a fourth in line would make LLVM
/// dispatch through a jump table, which costs every switch four more.
/// `Nothing` is out of line, so a switch from the idle loop into a routine
/// (a halted core that was woken) pays a call, which the one-core budgets
/// of `tests/budget.rs` never see; that path has just searched for work.
#[derive(Clone, Copy)]
pub enum PostSwitch {
    /// It parked holding a spin lock: release it.
    UnlockParked(ParkedLock),
    /// Put it back in this core's run queue: at the tail (yield), or next
    /// in line (a spawner that gave the core to its child).
    Requeue(*mut Routine, bool),
    /// It exited: drop its reference (maybe recycling its stack).
    Release(*mut Routine),
    /// Nothing (the previous context was the idle loop, or is gone).
    Nothing,
    /// Put it in the global queue (preemption, as Go does).
    RequeueGlobal(*mut Routine),
    /// It parked: release the lock(s) it parked under, as the
    /// [`ParkedUnlock`] says (it lives on the parked routine's stack).
    Unlock(*const ParkedUnlock),
}

/// How a routine that parked holding locks by hand has them released:
/// `unlock(arg)` (see `sched::park_unlocking`).
#[derive(Clone, Copy)]
pub struct ParkedUnlock {
    pub arg: *const (),
    pub unlock: unsafe fn(*const ()),
}

/// Does what the context that just left asked for (its [`PostSwitch`]). Called by
/// every context right after it is switched in. The actions of the
/// hottest paths, a park's unlock, a yield's requeue and an exit's release
/// (a spawned child's exit, before its handle is dropped, is one
/// decrement), are done here in line; the rest out of line.
// lab(switch): do the post-switch action the previous context left (requeue, requeue globally, unlock, release)
#[inline(always)]
pub fn finish_switch() {
    debug_assert_interrupts_off();
    let core = this_core();
    match core.post_switch.replace(PostSwitch::Nothing) {
        // SAFETY: the lock was held by the routine that parked, which gave it up to us.
        PostSwitch::UnlockParked(lock) => unsafe { lock.release() },
        PostSwitch::Requeue(routine, next) => {
            // SAFETY: the routine is owned by the scheduler until queued.
            unsafe { (*routine).set_state(State::Runnable) };
            find::push_local(core, routine, next);
        }
        PostSwitch::Release(routine) => Routine::release(routine, |stack| core.cache_stack(stack)),
        other => finish_switch_rarely(core, other),
    }
}

// lab(switch): the rarer post-switch actions, out of line: nothing, requeue globally, unlock by hand
#[inline(never)]
fn finish_switch_rarely(core: &CoreSched, action: PostSwitch) {
    match action {
        PostSwitch::Nothing => {}
        PostSwitch::RequeueGlobal(routine) => {
            record_lateness(core);
            // SAFETY: the routine is owned by the scheduler until queued
            // (it just switched away and is in no queue yet).
            unsafe { (*routine).set_state(State::Runnable) };
            global_push([routine]);
            find::wake_a_core();
        }
        PostSwitch::Unlock(parked) => {
            // SAFETY: `parked` is on the stack of the routine that just
            // parked, which stays as it is until the unlock lets a waker
            // run it: read before the call.
            let ParkedUnlock { arg, unlock } = unsafe { *parked };
            // SAFETY: `unlock` and `arg` come from `sched::park_unlocking`.
            unsafe { unlock(arg) }
        }
        PostSwitch::UnlockParked(_) | PostSwitch::Requeue(..) | PostSwitch::Release(_) => {
            unreachable!("done in line by finish_switch")
        }
    }
}

/// `yield_now`: run something else if anything else is runnable here.
#[inline(always)]
pub fn yield_core() {
    debug_assert_interrupts_off();
    let cpu = cpu::current();
    if let Some(next) = find::pick_local(&cpu.sched) {
        let current = cpu.sched.current.load(Ordering::Relaxed);
        switch_away_to(cpu, current, PostSwitch::Requeue(current, false), StopReason::Yield, Some(next));
    }
}

/// The running routine gives the core to `child`, which it just created,
/// and goes next in line itself: the child runs at once, on the spawner's
/// time slice (as runnext would), and the spawner resumes when the child
/// gives up the core (see `routine::spawn`).
pub fn run_child_now(child: *mut Routine) {
    debug_assert_interrupts_off();
    let cpu = cpu::current();
    let spawner = cpu.sched.current.load(Ordering::Relaxed);
    switch_away_to(cpu, spawner, PostSwitch::Requeue(spawner, true), StopReason::Yield, Some((child, true)));
}

/// Parks the running routine; `action` (an unlock) is done after the switch.
#[inline(always)]
pub fn park_current(reason: Wait, action: PostSwitch) {
    debug_assert_interrupts_off();
    let cpu = cpu::current();
    let routine = cpu.sched.current.load(Ordering::Relaxed);
    assert!(!routine.is_null(), "park outside a routine");
    // SAFETY: the running routine is ours to change.
    unsafe {
        (*routine).wait_reason.set(reason);
        (*routine).set_state(State::Parked);
    }
    switch_away_to(cpu, routine, action, StopReason::Block, None);
}

/// Who is making a routine runnable on `core`: the running routine's id, or
/// 0 for the kernel. A timer's wake (a sleep, `after`) has no waker,
/// whatever routine the interrupt happened to stop.
#[inline(always)]
fn waker(core: &CoreSched) -> u64 {
    if core.firing_timers.get() { 0 } else { id_of(core.current.load(Ordering::Relaxed)) }
}

/// Makes a parked routine runnable next on this core. In line at every
/// wake: a call and its return are a good part of a hand-off's cost.
#[inline(always)]
pub fn make_ready(routine: *mut Routine) {
    debug_assert_interrupts_off();
    // SAFETY: the caller took the routine from whatever it was parked on.
    let r = unsafe { &*routine };
    debug_assert_eq!(r.state(), State::Parked);
    r.set_state(State::Runnable);
    let cpu = cpu::current();
    let core = &cpu.sched;
    if trace::enabled() {
        trace::wake(cpu, core.firing_timers.get(), r.id);
    }
    if r.id == MAIN_ROUTINE {
        MAIN_WOKEN_BY.store(waker(core), Ordering::Relaxed);
    }
    find::push_local(core, routine, true);
    find::wake_a_core();
}

/// The routine that last woke main (0: none, or an interrupt): when main
/// then returns at once, the exit summary can say which routine was still
/// on its way out after waking it.
pub(super) static MAIN_WOKEN_BY: AtomicU64 = AtomicU64::new(0);

/// Records a switch on this core from `prev` to `next` (`None`: the idle
/// loop). Only called while tracing: the check stays at the call site, so
/// that the untraced switch pays one load and a branch, and the body is
/// inlined there, so that the traced one pays no call. Each call site knows
/// whether `prev` and `next` are routines and why `prev` stops, which keeps
/// the traced path nearly free of branches (under TCG each branch ends a
/// translated block, and a block boundary costs more than a few
/// instructions).
#[inline(always)]
fn trace_switch(cpu: &cpu::Cpu, prev: Option<&Routine>, reason: StopReason, next: Option<(&Routine, bool)>) {
    // Only a block's wait reason means anything, and `reason` is a constant
    // at every call site: no branch is left of this test.
    let waits_for = prev.filter(|_| reason == StopReason::Block).map(|prev| prev.wait_reason.get().code());
    let (next, inherits) = next.map_or((0, false), |(next, inherits)| (next.id, inherits));
    trace::switch(cpu, next, reason, inherits, waits_for);
}

/// The id of `routine`, 0 for none (the kernel, an interrupt).
pub(super) fn id_of(routine: *mut Routine) -> u64 {
    // SAFETY: a non-null routine pointer here is a running or queued routine.
    if routine.is_null() { 0 } else { unsafe { (*routine).id } }
}
