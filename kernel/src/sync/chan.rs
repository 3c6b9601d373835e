//! Channels: Go's `chan T`, for routines on any cores.
//!
//! `chan::<T>(cap)` gives a [`Sender`] and a [`Receiver`], both cloneable.
//! The semantics (buffer, direct hand-off, close) are
//! `spindle_shared::chan::ChanCore`, host-tested; this module adds the lock,
//! the waiters and the blocking. A blocked routine's waiter
//! ([`Node`](super::waiter::Node)) lives on its own stack: the channel links
//! to it while it waits, and whoever completes it unlinks it before waking
//! the routine.
//!
//! A routine woken by a channel operation runs next on the waker's core
//! (`sched::ready`), so two routines that ping-pong stay on one core.
//!
//! Misuse panics the routine, as in Go: sending on a closed channel, closing
//! a closed channel, closing a nil channel.
//!
//! # Only `close` closes a channel, as in Go
//!
//! Dropping every [`Sender`] does **not** close the channel. Go never closes
//! a channel implicitly, and Spindle follows Go here rather than Rust's
//! `std::sync::mpsc` (which reports a channel whose senders are all gone as
//! disconnected): a ported program whose sender goes out of scope early
//! must behave as it did in Go, where its receivers wait (and, if every
//! routine ends up waiting, the run ends with the deadlock report naming
//! them), not take the closed channel's path. So close where Go closes:
//! `close(ch)` is `tx.close()`, and `defer close(ch)` is `tx.close()` as the
//! routine's last statement (a panic ends the whole run, so there is no
//! other way out to cover). Producers that share a channel close it the way
//! Go's do: once a `WaitGroup` says they are all done.
//!
//! # nil channels
//!
//! Go's nil channel is `None`: `Option<Sender<T>>` and `Option<Receiver<T>>`
//! (or options of references) implement [`SendChan`](super::endpoint::SendChan)
//! and [`RecvChan`](super::endpoint::RecvChan), as do `Sender`, `Receiver`
//! and references to them. On `None`, `send` and
//! `recv` block for ever (the deadlock report shows them as
//! `chan send (nil chan)` and `chan receive (nil chan)`), `len` and `cap`
//! are 0, `close` panics, and a `select!` case never fires: setting a case's
//! channel to `None` switches the case off, as setting it to nil does in Go.

use alloc::sync::Arc;

use spindle_shared::chan::{ChanCore, Completion, Refusal};

use super::waiter::{Node, NodeRef, wake, wake_locked};
use crate::lock::SpinLock;
use crate::sched;

/// The channel itself, shared by its senders and receivers.
pub struct Chan<T> {
    core: SpinLock<ChanCore<T, NodeRef<T>>>,
}

// SAFETY: values cross cores only through the lock; nodes follow the
// waiter rule (`sync::waiter`).
unsafe impl<T: Send> Send for Chan<T> {}
// SAFETY: values cross cores only through the lock (which needs `T: Send`
// only: no `&T` is ever shared); nodes follow the waiter rule.
unsafe impl<T: Send> Sync for Chan<T> {}

/// Sends values into a channel.
pub struct Sender<T>(pub(super) Arc<Chan<T>>);

/// Receives values from a channel.
pub struct Receiver<T>(pub(super) Arc<Chan<T>>);

/// Makes a channel with room for `cap` values (0: unbuffered).
pub fn chan<T: Send>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan { core: SpinLock::new(ChanCore::new(cap)) });
    (Sender(chan.clone()), Receiver(chan))
}

impl<T: Send> Chan<T> {
    /// Sends without blocking: `Err(value)` if it would block or the channel is closed.
    pub fn try_send(&self, value: T) -> Result<(), T> {
        let mut core = self.core.lock();
        match core.try_send(value) {
            Ok(woken) => {
                if let Some(woken) = woken {
                    wake_locked(woken);
                }
                Ok(())
            }
            Err((value, _)) => Err(value),
        }
    }

    /// Sends `value`, waiting for room or a receiver; panics if closed.
    #[track_caller]
    // lab(channels): try_send under the lock; if it must wait, queue a Node on this stack and park under the channel's lock
    #[inline(always)]
    pub fn send(&self, value: T) {
        let mut core = self.core.lock();
        match core.try_send(value) {
            // Woken with the lock still held: one interrupt-flag round trip
            // fewer, which under emulation is a good part of a hand-off.
            Ok(woken) => {
                if let Some(woken) = woken {
                    wake_locked(woken);
                }
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

    /// Receives the next value, waiting for one; `None` once closed and drained.
    // lab(channels): try_recv under the lock; if it must wait, queue a Node and park; what the node was completed with is the answer
    #[inline(always)]
    pub fn recv(&self) -> Option<T> {
        let mut core = self.core.lock();
        match core.try_recv() {
            Ok((value, woken)) => {
                if let Some(woken) = woken {
                    wake_locked(woken);
                }
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

    /// Receives without waiting: `None` if nothing is there (or closed).
    pub fn try_recv(&self) -> Option<T> {
        let received = self.core.lock().try_recv();
        received.ok().map(|(value, woken)| {
            if let Some(woken) = woken {
                wake(woken);
            }
            value
        })
    }

    /// Closes the channel; panics if it is closed already.
    #[track_caller]
    pub fn close(&self) {
        let closed = self.core.lock().close();
        match closed {
            Ok(woken) => woken.into_iter().for_each(wake),
            Err(_) => panic!("close of closed channel"),
        }
    }
}

impl<T> Chan<T> {
    /// Values in the buffer (Go's `len`).
    pub fn len(&self) -> usize {
        self.core.lock().len()
    }

    /// Room in the buffer (Go's `cap`; 0: unbuffered).
    pub fn cap(&self) -> usize {
        self.core.lock().capacity()
    }

    /// Routines (or select cases) queued to receive: a snapshot, for tests
    /// and benchmarks (Go has no such call).
    pub fn waiting_receivers(&self) -> usize {
        self.core.lock().waiting_receivers()
    }

    /// Routines (or select cases) queued to send, as `waiting_receivers`.
    pub fn waiting_senders(&self) -> usize {
        self.core.lock().waiting_senders()
    }

    /// For select: the lock, taken and released by hand.
    pub(super) fn lock(&self) -> &SpinLock<ChanCore<T, NodeRef<T>>> {
        &self.core
    }
}

impl<T: Send> Sender<T> {
    /// Sends `value`, waiting while the channel is full (or, unbuffered,
    /// until a receiver takes it). Panics if the channel is closed.
    #[track_caller]
    pub fn send(&self, value: T) {
        self.0.send(value)
    }

    /// Closes the channel: receivers drain what is buffered, then get
    /// `None`. Panics if it is already closed. The only way a channel is
    /// closed: dropping senders never does (see the module documentation).
    #[track_caller]
    pub fn close(&self) {
        self.0.close()
    }

    /// Gives up this sender for the channel itself (timer channels feed it
    /// with `Chan::try_send`).
    pub(super) fn into_chan(self) -> Arc<Chan<T>> {
        self.0
    }
}

impl<T> Sender<T> {
    /// Values in the buffer (Go's `len`).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Room in the buffer (Go's `cap`; 0: unbuffered).
    pub fn cap(&self) -> usize {
        self.0.cap()
    }

    /// Routines (or select cases) parked receiving: a snapshot, for tests.
    pub fn waiting_receivers(&self) -> usize {
        self.0.waiting_receivers()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender(self.0.clone())
    }
}

impl<T: Send> Receiver<T> {
    /// Receives the next value, waiting until there is one; `None` once the
    /// channel is closed and drained.
    pub fn recv(&self) -> Option<T> {
        self.0.recv()
    }

    /// Receives without waiting.
    pub fn try_recv(&self) -> Option<T> {
        self.0.try_recv()
    }
}

impl<T> Receiver<T> {
    /// Values waiting in the buffer (Go's `len`).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Room in the buffer (Go's `cap`; 0: unbuffered).
    pub fn cap(&self) -> usize {
        self.0.cap()
    }

    /// Routines (or select cases) parked receiving on this channel.
    pub fn waiting_receivers(&self) -> usize {
        self.0.waiting_receivers()
    }

    /// Routines (or select cases) parked sending on this channel.
    pub fn waiting_senders(&self) -> usize {
        self.0.waiting_senders()
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

mod tests {
    use super::*;
    use crate::select;

    crate::ktest! {
        /// Dropping every sender leaves the channel open, as in Go: a
        /// receive would still block (the select takes its default); only
        /// `close` closes.
        fn dropping_every_sender_does_not_close_the_channel() {
            let (tx, rx) = chan::<u32>(0);
            let tx2 = tx.clone();
            drop(tx);
            drop(tx2);
            let blocked = select! {
                recv(rx) -> _v => false,
                default => true,
            };
            assert!(blocked, "a channel whose senders are gone was closed");
        }
    }
}
