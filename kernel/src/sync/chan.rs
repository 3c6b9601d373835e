//! Channels: Go's `chan T`, for routines on any cores.
//!
//! `chan::<T>(cap)` gives a [`Sender`] and a [`Receiver`], both cloneable.
//! The semantics (buffer, direct hand-off, close) are
//! `spindle_shared::chan::ChanCore`, host-tested; this module adds the lock,
//! the waiters and the blocking. A blocked routine's waiter ([`Node`]) lives
//! on its own stack: the channel links to it while it waits, and whoever
//! completes it unlinks it before waking the routine.
//!
//! A routine woken by a channel operation runs next on the waker's core
//! (`sched::ready`), so two routines that ping-pong stay on one core.
//!
//! Misuse panics the routine, as in Go: sending on a closed channel, closing
//! a closed channel. Dropping the last `Sender` closes the channel.

use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

use spindle_shared::chan::{ChanCore, Completion, Refusal, Waiter};

use crate::sched::{self, Routine};
use crate::lock::SpinLock;

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
        Node {
            routine,
            select: None,
            value: UnsafeCell::new(value),
            done: UnsafeCell::new(None),
        }
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

    pub fn handle(&self) -> NodeRef<T> {
        NodeRef(self)
    }
}

/// What the channel's queues hold: a pointer to a node on a parked stack.
pub struct NodeRef<T>(*const Node<T>);

impl<T> Clone for NodeRef<T> {
    fn clone(&self) -> Self {
        NodeRef(self.0)
    }
}

impl<T> PartialEq for NodeRef<T> {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self.0, other.0)
    }
}

// The channel's lock is held for every call below; the node's routine is
// parked (or, for a select, about to be) and touches the node only after
// it is woken.
impl<T> Waiter<T> for NodeRef<T> {
    fn claim(&self) -> bool {
        // SAFETY: see above.
        match unsafe { (*self.0).select } {
            None => true,
            Some((state, index)) => {
                // SAFETY: the select's state outlives its queued cases.
                let state = unsafe { &*state };
                state.fired.compare_exchange(NOT_FIRED, index, Ordering::AcqRel, Ordering::Acquire).is_ok()
            }
        }
    }

    fn take_value(&self) -> T {
        // SAFETY: see above.
        unsafe { (*(*self.0).value.get()).take().expect("a waiting sender has a value") }
    }

    fn complete(&self, how: Completion<T>) {
        // SAFETY: see above.
        unsafe { *(*self.0).done.get() = Some(how) };
    }
}

/// Wakes a completed waiter's routine. The node must not be touched
/// afterwards: the routine may run, return, and reuse its stack.
pub fn wake<T>(node: NodeRef<T>) {
    // SAFETY: the node is alive until its routine runs again.
    sched::ready(unsafe { (*node.0).routine });
}

/// The channel itself, shared by its senders and receivers.
pub struct Chan<T> {
    core: SpinLock<ChanCore<T, NodeRef<T>>>,
    /// Live `Sender`s: the last one to go closes the channel.
    senders: AtomicUsize,
}

// SAFETY: values cross cores only through the lock; nodes are only touched
// under it (see `Waiter` above).
unsafe impl<T: Send> Send for Chan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Chan<T> {}

/// Sends values into a channel.
pub struct Sender<T>(Arc<Chan<T>>);

/// Receives values from a channel.
pub struct Receiver<T>(Arc<Chan<T>>);

/// Makes a channel with room for `cap` values (0: unbuffered).
pub fn chan<T: Send>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan { core: SpinLock::new(ChanCore::new(cap)), senders: AtomicUsize::new(1) });
    (Sender(chan.clone()), Receiver(chan))
}

impl<T: Send> Chan<T> {
    /// Sends without blocking: `Err(value)` if it would block or the channel is closed.
    pub fn try_send(&self, value: T) -> Result<(), T> {
        let mut core = self.core.lock();
        match core.try_send(value) {
            Ok(woken) => {
                woken.map(wake);
                Ok(())
            }
            Err((value, _)) => Err(value),
        }
    }

    fn send(&self, value: T) {
        let mut core = self.core.lock();
        match core.try_send(value) {
            // Woken with the lock still held: one interrupt-flag round trip
            // fewer, which under emulation is a good part of a hand-off.
            Ok(woken) => {
                woken.map(wake);
            }
            Err((_, Refusal::Closed)) => {
                drop(core);
                panic!("send on closed channel");
            }
            Err((value, Refusal::WouldBlock)) => {
                let mut node = Node::new(sched::current_locked(), Some(value));
                core.wait_to_send(node.handle());
                sched::park(core, sched::Wait::CHAN_SEND);
                if matches!(node.completion(), Completion::Closed) {
                    panic!("send on closed channel");
                }
            }
        }
    }

    fn recv(&self) -> Option<T> {
        let mut core = self.core.lock();
        match core.try_recv() {
            Ok((value, woken)) => {
                woken.map(wake);
                Some(value)
            }
            Err(Refusal::Closed) => None,
            Err(Refusal::WouldBlock) => {
                let mut node = Node::new(sched::current_locked(), None);
                core.wait_to_recv(node.handle());
                sched::park(core, sched::Wait::CHAN_RECEIVE);
                match node.completion() {
                    Completion::Received(value) => Some(value),
                    _ => None,
                }
            }
        }
    }

}

/// Needs no `Send` bound: the last `Sender`'s drop closes the channel.
impl<T> Chan<T> {
    fn close(&self) -> Result<(), Refusal> {
        let woken = self.core.lock().close()?;
        woken.into_iter().for_each(wake);
        Ok(())
    }

    /// For select: the lock, taken and released by hand.
    pub(super) fn lock(&self) -> &SpinLock<ChanCore<T, NodeRef<T>>> {
        &self.core
    }
}

impl<T: Send> Sender<T> {
    /// Sends `value`, waiting while the channel is full (or, unbuffered,
    /// until a receiver takes it). Panics if the channel is closed.
    pub fn send(&self, value: T) {
        self.0.send(value)
    }

    /// Closes the channel: receivers drain what is buffered, then get
    /// `None`. Panics if it is already closed.
    pub fn close(&self) {
        if self.0.close().is_err() {
            panic!("close of closed channel");
        }
    }

    pub(super) fn chan(&self) -> &Arc<Chan<T>> {
        &self.0
    }

    /// Gives up this sender without ever closing the channel on its
    /// account, keeping a handle for `Chan::try_send` (timer channels).
    pub(super) fn into_uncounted(self) -> Arc<Chan<T>> {
        let this = core::mem::ManuallyDrop::new(self);
        this.0.senders.fetch_sub(1, Ordering::AcqRel);
        // SAFETY: `this` is never dropped, so the Arc is moved out once.
        unsafe { core::ptr::read(&this.0) }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.0.senders.fetch_add(1, Ordering::Relaxed);
        Sender(self.0.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last sender: nobody can send any more. It may have been
            // closed explicitly already, which is fine here.
            let _ = self.0.close();
        }
    }
}

impl<T: Send> Receiver<T> {
    /// Receives the next value, waiting until there is one; `None` once the
    /// channel is closed and drained.
    pub fn recv(&self) -> Option<T> {
        self.0.recv()
    }

    /// Values waiting in the buffer.
    pub fn len(&self) -> usize {
        self.0.core.lock().len()
    }

    /// Routines parked receiving on this channel.
    pub fn waiting_receivers(&self) -> usize {
        self.0.core.lock().waiting_receivers()
    }

    /// Receives without waiting.
    pub fn try_recv(&self) -> Option<T> {
        let received = self.0.core.lock().try_recv();
        received.ok().map(|(value, woken)| {
            woken.map(wake);
            value
        })
    }

    pub(super) fn chan(&self) -> &Arc<Chan<T>> {
        &self.0
    }

}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver(self.0.clone())
    }
}

/// `for v in &rx` receives until the channel is closed and drained.
impl<'a, T: Send> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        Iter(self)
    }
}

/// Iterates over received values until the channel is closed and drained.
pub struct Iter<'a, T>(&'a Receiver<T>);

impl<T: Send> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.0.recv()
    }
}
