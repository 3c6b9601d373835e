//! What a channel does, apart from blocking: the buffer, the queues of
//! waiting senders and receivers, direct hand-off and close. After Go's
//! runtime/chan.go.
//!
//! [`ChanCore`] makes every decision and moves every value; the kernel
//! wraps it in a lock, keeps the waiters on the waiting routines' stacks,
//! and parks and wakes routines as the results say. Keeping the semantics
//! here lets the host test them without a machine.
//!
//! - Unbuffered (`cap == 0`): a send completes only by handing its value to
//!   a receiver: one already waiting, or one that comes later and takes it
//!   from the waiting sender.
//! - Buffered: FIFO; a sender waits only when the buffer is full, a receiver
//!   only when it is empty. A receiver that frees a slot lets the oldest
//!   waiting sender put its value in the buffer, so order is kept.
//! - Close: waiting receivers get "closed", waiting senders fail; later
//!   receivers drain the buffer and then get "closed".
//! - A waiter may be a case of a `select` that already fired on another
//!   channel: [`Waiter::claim`] then fails and the waiter is skipped.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

mod waiters;
pub use waiters::WaitQueue;

/// A routine waiting on a channel, seen from the channel.
pub trait Waiter<T>: Clone + PartialEq {
    /// Claims the waiter for this operation. False if it belongs to a select
    /// that another channel already completed: then it must be skipped.
    fn claim(&self) -> bool;
    /// A claimed waiting sender's value.
    fn take_value(&self) -> T;
    /// Completes a claimed waiter's operation (see [`Completion`]).
    fn complete(&self, how: Completion<T>);
}

/// How a waiting operation ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Completion<T> {
    /// A receiver got a value.
    Received(T),
    /// A sender's value was taken.
    Sent,
    /// The channel was closed: a receiver gets nothing, a sender fails.
    Closed,
}

/// Why an operation cannot complete now.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It must wait (buffer full for a send, empty for a receive).
    WouldBlock,
    /// The channel is closed (for a send: a panic, for a receive: `None`).
    Closed,
}

/// A channel's state. The kernel holds it under the channel's lock.
pub struct ChanCore<T, W> {
    buf: VecDeque<T>,
    cap: usize,
    closed: bool,
    receivers: WaitQueue<W>,
    senders: WaitQueue<W>,
}

impl<T, W: Waiter<T>> ChanCore<T, W> {
    pub fn new(cap: usize) -> Self {
        ChanCore {
            buf: VecDeque::with_capacity(cap),
            cap,
            closed: false,
            receivers: WaitQueue::new(),
            senders: WaitQueue::new(),
        }
    }

    /// Values the buffer holds at most (Go's `cap`; 0: unbuffered).
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Values in the buffer (Go's `len`): waiting senders' values do not count.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Receivers queued for a value (select cases that fired elsewhere
    /// included, until they are taken out).
    pub fn waiting_receivers(&self) -> usize {
        self.receivers.len()
    }

    /// Senders queued with a value, counted as [`waiting_receivers`](Self::waiting_receivers) is.
    pub fn waiting_senders(&self) -> usize {
        self.senders.len()
    }

    /// The first waiter in `queue` that can still be claimed.
    // lab(channels): pop waiters until one can be claimed (a select case that fired elsewhere cannot)
    fn claim_first(queue: &mut WaitQueue<W>) -> Option<W> {
        while let Some(w) = queue.pop_front() {
            if w.claim() {
                return Some(w);
            }
        }
        None
    }

    /// Sends without waiting. `Ok(Some(w))`: handed to waiting receiver `w`,
    /// which the caller must wake. `Ok(None)`: buffered. `Err`: the value
    /// back, and why.
    // lab(channels): refuse if closed; hand the value to a waiting receiver; else buffer it if there is room; else it would block
    pub fn try_send(&mut self, value: T) -> Result<Option<W>, (T, Refusal)> {
        if self.closed {
            return Err((value, Refusal::Closed));
        }
        if let Some(receiver) = Self::claim_first(&mut self.receivers) {
            receiver.complete(Completion::Received(value));
            return Ok(Some(receiver));
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(value);
            return Ok(None);
        }
        Err((value, Refusal::WouldBlock))
    }

    /// Whether a send could complete now (for select's first pass).
    pub fn can_send(&self) -> bool {
        self.closed || self.buf.len() < self.cap || !self.receivers.is_empty()
    }

    /// Receives without waiting. `Ok((value, Some(w)))`: a waiting sender
    /// `w` completed too and must be woken. `Err(Closed)` only once the
    /// buffer is drained.
    // lab(channels): from the buffer (refilled from the oldest waiting sender), else from a waiting sender, else closed or would block
    #[inline(always)]
    pub fn try_recv(&mut self) -> Result<(T, Option<W>), Refusal> {
        if let Some(value) = self.buf.pop_front() {
            // The slot just freed goes to the oldest waiting sender.
            let sender = Self::claim_first(&mut self.senders);
            if let Some(sender) = &sender {
                self.buf.push_back(sender.take_value());
                sender.complete(Completion::Sent);
            }
            return Ok((value, sender));
        }
        if let Some(sender) = Self::claim_first(&mut self.senders) {
            let value = sender.take_value();
            sender.complete(Completion::Sent);
            return Ok((value, Some(sender)));
        }
        if self.closed { Err(Refusal::Closed) } else { Err(Refusal::WouldBlock) }
    }

    /// Whether a receive could complete now (for select's first pass).
    pub fn can_recv(&self) -> bool {
        self.closed || !self.buf.is_empty() || !self.senders.is_empty()
    }

    /// Queues a receiver that will wait.
    pub fn wait_to_recv(&mut self, w: W) {
        self.receivers.push_back(w);
    }

    /// Queues a sender that will wait; its value stays with it until taken.
    pub fn wait_to_send(&mut self, w: W) {
        self.senders.push_back(w);
    }

    /// Takes a waiter out of the queues if it is still there (a select
    /// cleaning up its cases after another one fired).
    pub fn forget(&mut self, w: &W) {
        self.receivers.retain(|x| x != w);
        self.senders.retain(|x| x != w);
    }

    /// Closes the channel. Returns every waiter that was completed (with
    /// [`Completion::Closed`]) and must be woken, or `Err` if it was closed
    /// already.
    // lab(channels): refuse a second close; complete every waiter (receivers, then senders) with Closed and return them to wake
    pub fn close(&mut self) -> Result<Vec<W>, Refusal> {
        if self.closed {
            return Err(Refusal::Closed);
        }
        self.closed = true;
        let mut woken = Vec::new();
        for w in self.receivers.drain(..).chain(self.senders.drain(..)) {
            if w.claim() {
                w.complete(Completion::Closed);
                woken.push(w);
            }
        }
        Ok(woken)
    }
}

#[cfg(test)]
mod tests;
