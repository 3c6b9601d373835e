//! A routine waiting on a channel: the node on its parked stack that the
//! channel's queue points to (Go's sudog), and, for a `select!`, the state
//! its cases share so that exactly one of them fires.
//!
//! **The waiter rule**, which the unsafe code here relies on: whoever but
//! the waiting routine touches a node holds the lock of the channel whose
//! queue holds it; the routine itself touches its node only before it is
//! queued and after it was woken, and keeps it (on its stack) alive until
//! then.

use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use spindle_shared::chan::{Completion, Waiter};

use crate::sched::{self, Routine};

/// No select case has fired yet.
const NOT_FIRED: usize = usize::MAX;

/// The state a select shares between its cases: which one fired.
pub struct SelectState {
    fired: AtomicUsize,
}

impl SelectState {
    pub fn new() -> SelectState {
        SelectState { fired: AtomicUsize::new(NOT_FIRED) }
    }

    /// The case that fired, once the select was woken.
    pub fn fired(&self) -> usize {
        self.fired.load(Ordering::Acquire)
    }
}

/// A routine waiting on one channel (Go's sudog). Lives on that routine's
/// stack while it is parked.
pub struct Node<T> {
    routine: *mut Routine,
    /// For a select case: the select's shared state and this case's index.
    select: Option<(*const SelectState, usize)>,
    /// A waiting sender's value.
    value: UnsafeCell<Option<T>>,
    /// How the wait ended; set by whoever completed it.
    done: UnsafeCell<Option<Completion<T>>>,
}

impl<T> Node<T> {
    /// A waiter for `routine` (for a select case: set when it is queued).
    pub fn new(routine: *mut Routine, value: Option<T>) -> Node<T> {
        Node { routine, select: None, value: UnsafeCell::new(value), done: UnsafeCell::new(None) }
    }

    /// Makes this node case `index` of a select.
    pub fn in_select(&mut self, state: &SelectState, index: usize, value: Option<T>) {
        self.routine = sched::current_locked();
        self.select = Some((state, index));
        *self.value.get_mut() = value;
    }

    /// How the wait ended; only after the routine was woken.
    pub fn completion(&mut self) -> Completion<T> {
        self.done.get_mut().take().expect("a woken waiter was completed")
    }

    /// A waiting sender's value that no receiver took (a select case that
    /// lost), once the node is out of every queue.
    pub fn take_unsent(&mut self) -> Option<T> {
        self.value.get_mut().take()
    }

    pub fn handle(&self) -> NodeRef<T> {
        NodeRef(NonNull::from(self))
    }
}

/// What the channel's queues hold: a pointer to a node on a parked stack.
/// Never null, so that a queue's `Option<NodeRef>` is one word.
pub struct NodeRef<T>(NonNull<Node<T>>);

impl<T> Clone for NodeRef<T> {
    fn clone(&self) -> Self {
        NodeRef(self.0)
    }
}

impl<T> PartialEq for NodeRef<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

// Called by `ChanCore` under the channel's lock: the waiter rule holds.
impl<T> Waiter<T> for NodeRef<T> {
    // lab(select): a plain waiter is always claimed; a select case only if it is the first of its select to fire (CAS on the shared state)
    fn claim(&self) -> bool {
        // SAFETY: the waiter rule.
        match unsafe { (*self.0.as_ptr()).select } {
            None => true,
            Some((state, index)) => {
                // SAFETY: the select's state outlives its queued cases.
                let state = unsafe { &*state };
                state.fired.compare_exchange(NOT_FIRED, index, Ordering::AcqRel, Ordering::Acquire).is_ok()
            }
        }
    }

    fn take_value(&self) -> T {
        // SAFETY: the waiter rule.
        unsafe { (*(*self.0.as_ptr()).value.get()).take().expect("a waiting sender has a value") }
    }

    fn complete(&self, how: Completion<T>) {
        // SAFETY: the waiter rule.
        unsafe { *(*self.0.as_ptr()).done.get() = Some(how) };
    }
}

/// Wakes a completed waiter's routine. The node must not be touched
/// afterwards: the routine may run, return, and reuse its stack.
pub fn wake<T>(node: NodeRef<T>) {
    // SAFETY: the node is alive until its routine runs again.
    sched::ready(unsafe { (*node.0.as_ptr()).routine });
}

/// [`wake`], for a caller that still holds the channel's lock (so
/// interrupts are off: no interrupt-flag round trip of its own).
#[inline]
pub fn wake_locked<T>(node: NodeRef<T>) {
    // SAFETY: the node is alive until its routine runs again.
    sched::ready_locked(unsafe { (*node.0.as_ptr()).routine });
}
