//! Joining a routine: Go has no join (a WaitGroup or a channel does that),
//! but `go` here returns a [`JoinHandle`], which waits for the routine and
//! takes its result; dropping the handle detaches the routine. Whoever ends
//! up owning an untaken result drops it where that may block (see
//! [`JoinState`]).

use core::marker::PhantomData;
use core::sync::atomic::{AtomicU8, Ordering};

use super::routine::{Routine, State, spawn};
use super::{Wait, current_locked, park, this_core};
use crate::arch::interrupts::{disable_interrupts, restore_interrupts};
use crate::lock::SpinLock;

/// What a joiner waits on, and who drops the result: one atomic word of
/// facts, each set once, and the joiner, behind a lock.
///
/// A result nobody takes must be dropped where its `Drop` may block: by a
/// routine, with interrupts on, never by the scheduler in the middle of a
/// switch. So exactly one of two routines drops it: the routine itself,
/// right after its closure returns, if its handle is gone by then
/// ([`DETACHED`](Self::DETACHED)); otherwise the handle, when it is dropped
/// without having been joined (it sees [`RETURNED`](Self::RETURNED)). Each
/// sets its fact with one `fetch_or` and learns the other's from it, so
/// exactly one of them sees the other's.
///
/// A joiner and the exiting routine decide the same way between
/// [`WAITING`](Self::WAITING) and [`DONE`](Self::DONE): the joiner sets
/// `WAITING` with its pointer stored and the lock held, and parks under the
/// lock; an exit that sees `WAITING` takes the lock (so the joiner has
/// parked) and wakes it. A joiner that sees `DONE` does not park.
pub(super) struct JoinState {
    facts: AtomicU8,
    joiner: SpinLock<*mut Routine>,
}

impl JoinState {
    /// The closure returned and stored its result.
    pub(super) const RETURNED: u8 = 1;
    /// No handle will ever take the result (dropped, or never made).
    pub(super) const DETACHED: u8 = 2;
    /// The routine is dead: a joiner may take the result.
    pub(super) const DONE: u8 = 4;
    /// A joiner is parked (or parking) on the routine.
    const WAITING: u8 = 8;

    pub(super) fn new(with_handle: bool) -> JoinState {
        let facts = if with_handle { 0 } else { Self::DETACHED };
        JoinState { facts: AtomicU8::new(facts), joiner: SpinLock::new(core::ptr::null_mut()) }
    }

    /// Sets `fact`; returns the facts there were before.
    pub(super) fn set(&self, fact: u8) -> u8 {
        self.facts.fetch_or(fact, Ordering::AcqRel)
    }

    pub(super) fn has(&self, fact: u8) -> bool {
        self.facts.load(Ordering::Acquire) & fact != 0
    }

    /// The routine is dead: tells a parked joiner, if there is one (the
    /// routine itself, interrupts off, once it is `Dead`). Returns the
    /// joiner to wake.
    pub(super) fn finish(&self) -> Option<*mut Routine> {
        if self.set(Self::DONE) & Self::WAITING == 0 {
            return None;
        }
        Some(core::mem::replace(&mut *self.joiner.lock(), core::ptr::null_mut()))
    }
}

/// Owns the right to wait for a routine and take its result.
pub struct JoinHandle<T> {
    pub(super) routine: *mut Routine,
    pub(super) _result: PhantomData<T>,
}

// SAFETY: the handle only reaches the routine through its lock and atomics,
// and the result it takes is a `T: Send`.
unsafe impl<T: Send> Send for JoinHandle<T> {}

/// Starts a routine running `f` and returns a handle to join it.
pub fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let were_enabled = disable_interrupts();
    let (_, routine) = spawn(f, true, were_enabled);
    restore_interrupts(were_enabled);
    JoinHandle { routine, _result: PhantomData }
}

impl<T> JoinHandle<T> {
    /// The routine's result slot, once it has returned.
    ///
    /// # Safety
    /// The routine's closure has returned (`JoinState::returned`) and the
    /// caller owns the result (see `JoinState`).
    #[expect(clippy::mut_from_ref, reason = "the result is owned by whoever JoinState says, not by &self")]
    unsafe fn result(&self) -> &mut Option<T> {
        // SAFETY: the handle keeps the block alive; `result` points at the
        // payload's `Option<T>` (T is this handle's type), which the
        // routine no longer touches once it returned.
        unsafe { &mut *((*self.routine).result as *mut Option<T>) }
    }

    /// Whether the routine is parked right now (blocked on a channel, a
    /// sleep, a lock). For the kernel's own checks, which must wait until
    /// routines have blocked however slowly the host runs the other cores,
    /// rather than guess how long that takes.
    pub(crate) fn is_parked(&self) -> bool {
        // SAFETY: the handle keeps the control block alive.
        unsafe { &*self.routine }.state() == State::Parked
    }

    /// Takes the result; only once the routine is done.
    pub(super) fn take_result(&self) -> T {
        // SAFETY: done implies returned; a live handle owns the result.
        unsafe { self.result() }.take().expect("a finished routine has its result")
    }

    /// The handle goes without joining: drops the result if the routine
    /// returned already, else leaves that to the routine (see `JoinState`).
    pub(super) fn detach(&self) {
        // SAFETY: the handle keeps the control block alive.
        let join = unsafe { &(*self.routine).join };
        if join.set(JoinState::DETACHED) & JoinState::RETURNED == 0 {
            return; // the routine will drop it
        }
        // SAFETY: returned, and the routine saw no DETACHED: this handle
        // owns the result.
        drop(unsafe { self.result() }.take());
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the routine to return and gives its result.
    pub fn join(self) -> T {
        // SAFETY: the handle keeps the control block alive.
        let join = unsafe { &(*self.routine).join };
        if !join.has(JoinState::DONE) {
            let mut joiner = join.joiner.lock();
            *joiner = current_locked();
            if join.set(JoinState::WAITING) & JoinState::DONE == 0 {
                park(joiner, Wait::JOIN);
            } else {
                *joiner = core::ptr::null_mut();
            }
        }
        self.take_result()
        // Dropping self releases the handle's reference.
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // An unjoined result is dropped here, by the routine dropping the
        // handle, or by the routine that made it if it has not returned yet.
        self.detach();
        Routine::release(self.routine, |stack| {
            // Only the last owner gets here: the core's cache wants
            // interrupts off (it is per-core state).
            let were_enabled = disable_interrupts();
            this_core().cache_stack(stack);
            restore_interrupts(were_enabled);
        });
    }
}
