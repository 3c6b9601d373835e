//! Routines: what `go` starts.
//!
//! A routine's control block ([`Routine`]) and its closure live at the top of
//! its own stack, so starting one allocates nothing on the heap: it takes a
//! stack from the core's cache, writes the block, the closure and an initial
//! context below them, and queues the routine. The stack region is thus also
//! the routine table (as xv6's `proc[]`): the deadlock report walks it.
//!
//! A routine is freed (its stack recycled) when both the routine has exited
//! and nobody holds a [`JoinHandle`] to it: `refs` counts those two owners.

use core::cell::{Cell, UnsafeCell};
use core::mem::{align_of, size_of};
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

use spindle_shared::trace::{Kind, StopReason};

use super::join::JoinState;
use super::percore::CoreCounters;
use super::schedule::{PostSwitch, finish_switch, id_of, make_ready, run_child_now, switch_away};
use super::{MAIN_ROUTINE, NEXT_ID, end_of_run, find, this_core};
use crate::arch::interrupts::debug_assert_interrupts_off;
use crate::arch::interrupts::{disable_interrupts, enable_interrupts};
use crate::arch::switch::new_context;
use crate::mem::frames;
use crate::mem::stack::Stack;
use crate::panic::{Fatal, fatal};
use crate::{cpu, trace};

/// Marks a stack slot whose top holds a routine's control block.
const MAGIC: u64 = 0x5350_494e_444c_4521; // "SPINDLE!"
/// Most bytes a routine's closure and result may take at the top of its stack.
pub const MAX_PAYLOAD: usize = 8 * 1024;

/// A routine's id: 1 is the program's main routine, then in spawn order.
pub type RoutineId = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// In a run queue (or about to be).
    Runnable,
    /// Running on some core.
    Running,
    /// Waiting for something (`wait_reason` says what).
    Parked,
    /// Returned from its closure.
    Dead,
}

/// What a parked routine waits for: shown by the deadlock report, and
/// recorded (as its index in `spindle_shared::trace::WAIT_REASONS`) by the trace.
/// One word, a pointer to its [`Reason`], so that a park stores one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(&'static Reason);

/// What a [`Wait`] points to: the reason's trace code and its name.
#[derive(Debug, PartialEq, Eq)]
pub struct Reason {
    code: u8,
    name: &'static str,
}

impl Reason {
    const fn known(code: u8) -> Reason {
        Reason { code, name: spindle_shared::trace::WAIT_REASONS[code as usize] }
    }

    /// Anything else, described for the deadlock report (code 0, "other").
    pub const fn other(name: &'static str) -> Reason {
        Reason { code: 0, name }
    }
}

impl Wait {
    pub const CHAN_RECEIVE: Wait = Wait(&Reason::known(1));
    pub const CHAN_SEND: Wait = Wait(&Reason::known(2));
    pub const SELECT: Wait = Wait(&Reason::known(3));
    pub const SLEEP: Wait = Wait(&Reason::known(4));
    pub const JOIN: Wait = Wait(&Reason::known(5));
    pub const MUTEX: Wait = Wait(&Reason::known(6));
    pub const WAIT_GROUP: Wait = Wait(&Reason::known(7));
    pub const ONCE: Wait = Wait(&Reason::known(8));

    /// A wait for anything else, made in a constant:
    /// `const NIL_SEND: Wait = Wait::other(&Reason::other("chan send (nil chan)"));`
    pub const fn other(reason: &'static Reason) -> Wait {
        Wait(reason)
    }

    /// Index in `spindle_shared::trace::WAIT_REASONS` (0 is "other").
    pub fn code(self) -> u32 {
        self.0.code as u32
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }
}

/// The wait reason of a routine that never parked (never shown: only a
/// parked routine's reason is).
const NOT_YET_PARKED: Wait = Wait::other(&Reason::other("nothing yet"));

/// A routine's control block, at the top of its stack. Aligned to 16 so
/// that the payload right below it (a multiple of its own alignment, at
/// most 16) is aligned too.
#[repr(C, align(16))]
pub struct Routine {
    magic: u64,
    pub id: RoutineId,
    /// Saved stack pointer while not running.
    pub(super) context: UnsafeCell<usize>,
    pub(super) state: AtomicU8,
    /// Owners: the running routine until it exits, plus a live JoinHandle.
    refs: AtomicU32,
    stack: UnsafeCell<Option<Stack>>,
    /// Link for the intrusive queues (global run queue, wait queues).
    pub(super) next: Cell<*mut Routine>,
    /// What a parked routine waits for.
    pub(super) wait_reason: Cell<Wait>,
    pub(super) join: JoinState,
    /// Runs the closure and stores its result (monomorphised per closure type).
    run: unsafe fn(*mut Routine),
    /// The `Option<T>` the result goes to, inside the payload.
    pub(super) result: *mut (),
    /// Takes the result out and drops it (monomorphised per result type).
    discard_result: unsafe fn(*mut Routine),
    /// Drops what is left of the payload when the stack is recycled: by
    /// then the closure has run and the result was taken or discarded.
    drop_payload: unsafe fn(*mut Routine),
    /// Counters, written only by the core running the routine: times
    /// switched in, and times preempted. (Run time is in the trace.)
    pub switches: AtomicU64,
    pub preemptions: AtomicU64,
}

// SAFETY: routines move between cores; fields touched by several cores are
// atomics or locks, the Cells are touched by whoever owns the routine at the
// moment (the queue holding it, or the core running it).
unsafe impl Sync for Routine {}
// SAFETY: a control block stays where it is (at the top of its stack); what
// moves between cores is ownership of it, handed over through the run
// queues and wait queues, whose locks and atomics order the hand-over.
unsafe impl Send for Routine {}

/// Closure and result, right below the control block.
struct Payload<F, T> {
    f: Option<F>,
    result: Option<T>,
}

/// Bytes reserved at the top of each stack for the control block and payload
/// of type `Payload<F, T>`, rounded to keep the stack 16-byte aligned.
const fn reserved<F, T>() -> usize {
    (size_of::<Routine>() + size_of::<Payload<F, T>>() + 15) & !15
}

impl Routine {
    /// The payload, right below the control block.
    fn payload<F, T>(this: *mut Routine) -> *mut Payload<F, T> {
        (this as usize - size_of::<Payload<F, T>>()) as *mut Payload<F, T>
    }

    pub fn state(&self) -> State {
        // SAFETY: only valid State values are ever stored.
        unsafe { core::mem::transmute::<u8, State>(self.state.load(Ordering::Acquire)) }
    }

    pub(super) fn set_state(&self, state: State) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Runs the closure (on the routine's own stack).
    pub(super) fn run(this: *mut Routine) {
        // SAFETY: `run` was made for this routine's payload type.
        unsafe { ((*this).run)(this) }
    }

    /// Drops one owner's reference; the last one gives the stack back.
    /// Must not be called on the stack being released. The decrement is in
    /// line (an exit whose handle is still alive does only that); the
    /// freeing is not.
    #[inline(always)]
    pub(super) fn release(this: *mut Routine, recycle: impl FnOnce(Stack)) {
        // SAFETY: `this` is a live control block while refs > 0.
        let routine = unsafe { &*this };
        if routine.refs.fetch_sub(1, Ordering::AcqRel) == 1 {
            Routine::free(this, recycle);
        }
    }

    /// The last owner is gone: drops the payload and gives the stack back.
    #[inline(never)]
    fn free(this: *mut Routine, recycle: impl FnOnce(Stack)) {
        // SAFETY: last owner: no one else touches the block any more.
        let routine = unsafe { &*this };
        // SAFETY: as above.
        unsafe { (routine.drop_payload)(this) };
        // SAFETY: last owner: no one else touches the block, so the
        // stack cell is ours to empty.
        let stack = unsafe { (*routine.stack.get()).take() }.expect("a live routine has a stack");
        recycle(stack);
    }

    /// The routine's closure has returned (called by the routine itself,
    /// interrupts on): drops the result here if no handle will take it.
    /// Returns whether that was so (no handle, now or later: nobody joins).
    pub(super) fn returned(this: *mut Routine) -> bool {
        // SAFETY: the routine is alive: it is running.
        let routine = unsafe { &*this };
        let detached = routine.join.set(JoinState::RETURNED) & JoinState::DETACHED != 0;
        if detached {
            // SAFETY: detached: no handle will ever touch the result.
            unsafe { (routine.discard_result)(this) };
        }
        detached
    }

    /// The closure has returned: what is left is the routine's exit. Read
    /// without a lock by the exit summary (which counts such a routine as
    /// finished).
    pub fn has_returned(&self) -> bool {
        self.join.has(JoinState::RETURNED)
    }
}

unsafe fn run_payload<F: FnOnce() -> T, T>(this: *mut Routine) {
    let payload = Routine::payload::<F, T>(this);
    // SAFETY: the payload was written by `create` and is owned by this
    // routine, which runs it once.
    unsafe {
        let f = (*payload).f.take().expect("a routine runs once");
        (*payload).result = Some(f());
    }
}

unsafe fn discard_payload_result<F, T>(this: *mut Routine) {
    // SAFETY: called once the closure has run, by whoever `JoinState` says
    // owns the result; nobody else touches it.
    drop(unsafe { (*Routine::payload::<F, T>(this)).result.take() });
}

unsafe fn drop_payload<F, T>(this: *mut Routine) {
    // SAFETY: the last owner drops what is left (nothing the program wrote:
    // the closure ran, the result was taken or discarded).
    unsafe { core::ptr::drop_in_place(Routine::payload::<F, T>(this)) }
}

/// Lays out a new routine on `stack` and returns it with its initial context
/// made by `new_context(top, arg)`. `with_handle` says whether a JoinHandle
/// will own a reference.
pub(super) fn create<F, T>(
    stack: Stack,
    id: RoutineId,
    f: F,
    with_handle: bool,
    new_context: impl FnOnce(usize, usize) -> usize,
) -> *mut Routine
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    const {
        assert!(
            size_of::<Payload<F, T>>() <= MAX_PAYLOAD,
            "a routine's closure and result must fit in 8 KiB; box large captures"
        );
        assert!(align_of::<Payload<F, T>>() <= 16 && align_of::<Routine>() <= 16);
    }
    let top = stack.top().as_u64() as usize;
    let this = (top - size_of::<Routine>()) as *mut Routine;
    let payload = Routine::payload::<F, T>(this);
    let context_top = (top - reserved::<F, T>()) & !15;
    // SAFETY: the top of the stack is ours (the stack was just taken from
    // the pool or mapped) and big enough (checked above); a fault in the
    // unmapped part grows it.
    unsafe {
        payload.write(Payload { f: Some(f), result: None });
        this.write(Routine {
            magic: MAGIC,
            id,
            context: UnsafeCell::new(0),
            state: AtomicU8::new(State::Runnable as u8),
            refs: AtomicU32::new(1 + with_handle as u32),
            stack: UnsafeCell::new(Some(stack)),
            next: Cell::new(core::ptr::null_mut()),
            wait_reason: Cell::new(NOT_YET_PARKED),
            join: JoinState::new(with_handle),
            run: run_payload::<F, T>,
            result: (&raw mut (*payload).result).cast(),
            discard_result: discard_payload_result::<F, T>,
            drop_payload: drop_payload::<F, T>,
            switches: AtomicU64::new(0),
            preemptions: AtomicU64::new(0),
        });
        *(*this).context.get() = new_context(context_top, this as usize);
    }
    this
}

/// Every routine that has not exited, found through the stack slots. Only
/// once the machine is stopped: nothing changes under the walk.
pub(super) fn all_live() -> impl Iterator<Item = &'static Routine> {
    crate::mem::stack::slot_tops().filter_map(|top| live_at(top.as_u64() as usize))
}

/// The routine whose control block sits at the top of `stack_top`'s stack,
/// if that slot holds one that has not exited.
fn live_at(stack_top: usize) -> Option<&'static Routine> {
    let this = (stack_top - size_of::<Routine>()) as *const Routine;
    // SAFETY: `slot_tops` only yields slots whose top page is mapped; a slot
    // that never held a routine fails the magic check.
    let routine = unsafe { &*this };
    (routine.magic == MAGIC && routine.state() != State::Dead).then_some(routine)
}

/// Queued routines (in the local ring) at which a spawn runs the new
/// routine at once instead of queueing it, if the spawner may switch: a
/// spawner that keeps spawning then reuses one warm stack, instead of
/// spilling half its ring to the global queue and running its core's cache
/// of stacks dry. Half the ring: well before it would spill.
const RUN_AT_ONCE_QUEUED: usize = spindle_shared::runq::CAPACITY / 2;

/// Creates a routine running `f` and makes it runnable next on this core;
/// or, if `may_switch` (the spawner is a routine that holds no lock) and
/// this core already has a long queue, runs it at once, the spawner next in
/// line. Returns its id and control block.
pub fn spawn<F, T>(f: F, with_handle: bool, may_switch: bool) -> (RoutineId, *mut Routine)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    debug_assert_interrupts_off();
    let core = this_core();
    // The page-fault path takes frames from this reserve; top it up here,
    // where no lock is held.
    cpu::current().fault_frames.refill(frames::allocate);
    let stack = match core.cached_stack() {
        Some(stack) => stack,
        None => Stack::lazy().unwrap_or_else(|_| fatal(Fatal::OutOfMemory)),
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let routine = create(stack, id, f, with_handle, |top, arg| {
        // SAFETY: the stack below the payload is the new routine's own.
        unsafe { new_context(top, routine_entry, arg) }
    });
    CoreCounters::add(&core.counters.spawned, 1);
    let spawner = core.current.load(Ordering::Relaxed);
    trace::record(Kind::Spawn, 0, id_of(spawner), id, 0);
    if may_switch && !spawner.is_null() && core.runq.len() >= RUN_AT_ONCE_QUEUED {
        find::wake_a_core();
        run_child_now(routine);
    } else {
        find::push_local(core, routine, true);
        find::wake_a_core();
    }
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
    let detached = Routine::returned(routine);
    disable_interrupts();
    // SAFETY: the routine is alive: it is running.
    let r = unsafe { &*routine };
    if r.id == MAIN_ROUTINE {
        end_of_run::main_returned();
    }
    // Dead before anyone hears of it: a joiner that ends the run at once
    // must not find this routine still alive (the exit summary walks them).
    r.set_state(State::Dead);
    let core = this_core();
    CoreCounters::add(&core.counters.finished, 1);
    // With no handle there is no joiner to tell (and none can come).
    if !detached && let Some(joiner) = r.join.finish() {
        make_ready(joiner);
    }
    switch_away(PostSwitch::Release(routine), StopReason::Exited);
    unreachable!("a dead routine was switched back to");
}
