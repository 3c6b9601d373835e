//! Switching between routines: spawn, yield, park, exit, preemption, and
//! each core's scheduling loop. Everything here runs with interrupts off.

use core::sync::atomic::Ordering;

use super::find::{self, find_work, global_push};
use super::percore::{CoreCounters, CoreSched, LATENESS_SAMPLES, Then};
use super::routine::{self, Routine, RoutineId, State, Wait};
use super::timers::{self, arm_by};
use super::{MAIN_ROUTINE, NEXT_ID, SLICE_NS, report, this_core};
use crate::arch::cpu::{disable_interrupts, enable_interrupts};
use crate::arch::switch::{new_context, switch};
use crate::mem::frames;
use crate::mem::stack::Stack;
use crate::panic::{Fatal, fatal};
use crate::{cpu, time, trace};
use spindle_shared::trace::{Kind, SWITCH_INHERITS, StopReason};

/// Creates a routine running `f` and makes it runnable next on this core.
/// Returns its id and control block.
pub fn spawn<F, T>(f: F, with_handle: bool) -> (RoutineId, *mut Routine)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let core = this_core();
    // The page-fault path takes frames from this reserve; top it up here,
    // where no lock is held.
    cpu::current().fault_frames.refill(frames::allocate);
    let stack = match core.cached_stack() {
        Some(stack) => stack,
        None => Stack::lazy().unwrap_or_else(|_| fatal(Fatal::OutOfMemory)),
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let routine = routine::create(stack, id, f, with_handle, |top, arg| {
        // SAFETY: the stack below the payload is the new routine's own.
        unsafe { new_context(top, routine_entry, arg) }
    });
    CoreCounters::add(&core.counters.spawned, 1);
    trace::record(Kind::Spawn, 0, id_of(core.current.load(Ordering::Relaxed)), id, 0);
    find::push_local(core, routine, true);
    find::wake_a_core();
    (id, routine)
}

/// Where every routine starts, on its own stack, with interrupts off.
extern "C" fn routine_entry(routine: usize) -> ! {
    let routine = routine as *mut Routine;
    finish_switch();
    enable_interrupts();
    Routine::run(routine);
    // Still a routine, interrupts on: a result nobody will take is dropped
    // here, where its `Drop` may block.
    Routine::returned(routine);
    disable_interrupts();
    // SAFETY: the routine is alive: it is running.
    let r = unsafe { &*routine };
    if r.id == MAIN_ROUTINE {
        report::main_returned();
    }
    // Dead before anyone hears of it: a joiner that ends the run at once
    // must not find this routine still alive (the exit summary walks them).
    r.set_state(State::Dead);
    let core = this_core();
    CoreCounters::add(&core.counters.finished, 1);
    let waiter = {
        let mut join = r.join.lock();
        join.done = true;
        core::mem::replace(&mut join.waiter, core::ptr::null_mut())
    };
    if !waiter.is_null() {
        make_ready(waiter);
    }
    switch_away(Then::Release(routine), StopReason::Exited);
    unreachable!("a dead routine was switched back to");
}

/// Does what the context that just left asked for (see `Then`). Called by
/// every context right after it is switched in.
pub fn finish_switch() {
    let core = this_core();
    match core.then.replace(Then::Nothing) {
        Then::Nothing => {}
        Then::Requeue(routine) => {
            // SAFETY: the routine is owned by the scheduler until queued.
            unsafe { (*routine).set_state(State::Runnable) };
            find::push_local(core, routine, false);
        }
        Then::RequeueGlobal(routine) => {
            record_lateness(core);
            // SAFETY: as above.
            unsafe { (*routine).set_state(State::Runnable) };
            global_push([routine]);
            find::wake_a_core();
        }
        // SAFETY: `unlock` and `lock` come from `sched::park`.
        Then::Unlock(lock, unlock) => unsafe { unlock(lock) },
        Then::Release(routine) => Routine::release(routine, |stack| core.cache_stack(stack)),
    }
}

/// Switches from the context whose stack pointer is saved at `from` into
/// `next`; `inherit` keeps the current time slice (runnext). This is the
/// hot path of every switch: it reads the clock only when a new slice starts.
fn switch_into(core: &CoreSched, from: *mut usize, next: *mut Routine, inherit: bool) {
    // SAFETY: `next` came out of a run queue: it is runnable and ours.
    let r = unsafe { &*next };
    r.set_state(State::Running);
    r.switches.store(r.switches.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    core.current.store(next, Ordering::Relaxed);
    if !inherit {
        let now = time::now();
        core.slice_start.set(now);
        arm_by(core, now + SLICE_NS.load(Ordering::Relaxed));
    }
    CoreCounters::add(&core.counters.switches, 1);
    // SAFETY: interrupts are off; `next`'s context was saved by `switch` or
    // made by `new_context`, and nothing else runs on its stack.
    unsafe { switch(from, *r.context.get()) };
}

/// Records a switch on this core from `prev` to `next` (`None`: the idle
/// loop). Only called while tracing: the check stays at the call site, so
/// that the untraced switch pays one load and a branch, and the body is
/// inlined there, so that the traced one pays no call. Each call site knows
/// whether `prev` and `next` are routines, which keeps the traced path
/// nearly free of branches (under TCG each branch ends a translated block,
/// and a block boundary costs more than a few instructions).
#[inline(always)]
fn trace_switch(cpu: &cpu::Cpu, prev: Option<&Routine>, reason: StopReason, next: Option<(&Routine, bool)>) {
    // The wait reason goes in whatever the reason (the dump keeps a
    // `Block`'s only), which spares a branch.
    let (prev, waits_for) = prev.map_or((0, 0), |prev| (prev.id, prev.wait_reason.get().code() as u64));
    let (next, flag, woken_by) = match next {
        Some((next, inherit)) => {
            let flag = reason as u8 | if inherit { SWITCH_INHERITS } else { 0 };
            (next.id, flag, next.woken_by.replace(0))
        }
        None => (0, reason as u8, 0),
    };
    trace::switch(cpu, prev, next, flag, waits_for, woken_by);
}

/// The running routine gives up the core; `then` says what becomes of it
/// and `reason` why (for the trace). Runs `next` if given, else the next
/// local routine, or the idle loop if there is none. Returns when the
/// routine is switched back in.
fn switch_away_to(then: Then, reason: StopReason, next: Option<(*mut Routine, bool)>) {
    let cpu = cpu::current();
    let core = &cpu.sched;
    // SAFETY: `current` is the running routine: the caller.
    let prev = unsafe { &*core.current.load(Ordering::Relaxed) };
    let next = next.or_else(|| find::pick_local(core));
    core.then.set(then);
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
pub fn switch_away(then: Then, reason: StopReason) {
    switch_away_to(then, reason, None);
}

/// `yield_now`: run something else if anything else is runnable here.
pub fn yield_core() {
    let core = this_core();
    if let Some(next) = find::pick_local(core) {
        switch_away_to(Then::Requeue(core.current.load(Ordering::Relaxed)), StopReason::Yield, Some(next));
    }
}

/// Parks the running routine; `lock` is released by `unlock` after the switch.
pub fn park_current(reason: Wait, lock: *const (), unlock: unsafe fn(*const ())) {
    let routine = this_core().current.load(Ordering::Relaxed);
    assert!(!routine.is_null(), "park outside a routine");
    // SAFETY: the running routine is ours to change.
    unsafe {
        (*routine).wait_reason.set(reason);
        (*routine).set_state(State::Parked);
    }
    switch_away(Then::Unlock(lock, unlock), StopReason::Block);
}

/// Makes a parked routine runnable next on this core.
pub fn make_ready(routine: *mut Routine) {
    // SAFETY: the caller took the routine from whatever it was parked on.
    let r = unsafe { &*routine };
    debug_assert_eq!(r.state(), State::Parked);
    r.set_state(State::Runnable);
    let cpu = cpu::current();
    let core = &cpu.sched;
    if trace::enabled() {
        // Noted on the routine, recorded when it gets a core (see `trace`).
        // A timer's wake has no waker, whatever routine it interrupted.
        let waker = if core.firing_timers.get() { 0 } else { id_of(core.current.load(Ordering::Relaxed)) };
        r.woken_by.set(trace::pack_wake(waker, cpu.index() as u32));
    }
    find::push_local(core, routine, true);
    find::wake_a_core();
}

/// A core's scheduling loop, on its own kernel stack (the idle context):
/// find a routine, run it until it gives the core back with nothing else
/// runnable here, repeat.
pub fn run_this_core() -> ! {
    disable_interrupts();
    let core = this_core();
    loop {
        // Coming from idle there is no slice to inherit: always a fresh one.
        let (next, _) = find_work(core);
        if trace::enabled() {
            // SAFETY: `next` came out of a run queue: it is ours.
            trace_switch(cpu::current(), None, StopReason::Yield, Some((unsafe { &*next }, false)));
        }
        switch_into(core, core.idle_context.get(), next, false);
        finish_switch();
    }
}

/// The timer interrupt on a core that runs routines: fires due timers and
/// re-arms. Returns whether the running routine used up its slice, with its
/// preemption already counted and the next slice armed; the interrupt then
/// diverts the routine into [`preempt_current`].
pub fn on_timer() -> bool {
    let core = this_core();
    core.armed.set(0);
    // A core that runs routines but never spawns keeps its page-fault
    // reserve full here (no lock can be held: the timer only interrupts
    // code with interrupts on).
    cpu::current().fault_frames.refill(frames::allocate);
    // Leave the idle set before firing timers: the deadlock check relies on
    // a core with a due timer never looking idle once the timer is gone.
    find::leave_idle_set();
    core.firing_timers.set(true);
    timers::fire_due(core);
    core.firing_timers.set(false);
    if let Some(deadline) = core.timers.lock().earliest() {
        arm_by(core, deadline);
    }
    let running = core.current.load(Ordering::Relaxed);
    if running.is_null() {
        trace::record(Kind::Tick, 0, 0, 0, 0);
        return false;
    }
    let slice_end = core.slice_start.get() + SLICE_NS.load(Ordering::Relaxed);
    let preempt = time::now() >= slice_end;
    trace::record(Kind::Tick, preempt as u8, 0, 0, 0);
    if !preempt {
        arm_by(core, slice_end);
        return false;
    }
    CoreCounters::add(&core.counters.preemptions, 1);
    // SAFETY: the routine is running on this core.
    let r = unsafe { &*running };
    r.preemptions.store(r.preemptions.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    // The slice is used up: whoever runs next (even from runnext, which
    // normally inherits the slice) starts a fresh one.
    core.preempt_due.set(slice_end);
    let now = time::now();
    core.slice_start.set(now);
    arm_by(core, now + SLICE_NS.load(Ordering::Relaxed));
    true
}

/// The routine `on_timer` found had used up its slice gives up the core, to
/// the global queue (as Go does). On its own stack, interrupts off.
pub fn preempt_current() {
    let running = this_core().current.load(Ordering::Relaxed);
    debug_assert!(!running.is_null(), "preempting with no routine running");
    switch_away(Then::RequeueGlobal(running), StopReason::Preempted);
}

/// Notes how long past the end of its slice a preempted routine kept the
/// core: from the slice's end to now, when the next context runs.
fn record_lateness(core: &CoreSched) {
    let late = time::now().saturating_sub(core.preempt_due.get()).min(u32::MAX as u64) as u32;
    let n = core.lateness_count.load(Ordering::Relaxed);
    core.lateness[n as usize % LATENESS_SAMPLES].store(late, Ordering::Relaxed);
    core.lateness_count.store(n + 1, Ordering::Release);
}

/// The id of `routine`, 0 for none (the kernel, an interrupt).
fn id_of(routine: *mut Routine) -> u64 {
    // SAFETY: a non-null routine pointer here is a running or queued routine.
    if routine.is_null() { 0 } else { unsafe { (*routine).id } }
}
