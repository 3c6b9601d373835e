//! What a send or a receive can be done on: a [`Sender`] or [`Receiver`],
//! a reference to one, or an `Option` of either, where `None` is Go's nil
//! channel. [`SendChan`] and [`RecvChan`] give all of them Go's operations
//! (a nil channel blocks for ever, has `len` and `cap` 0, and panics on
//! `close`), and `select!` cases take any of them (a nil case never fires).

use super::chan::{Chan, Receiver, Sender};
use crate::arch::interrupts::disable_interrupts;
use crate::sched::{self, Reason, Wait};

/// What the deadlock report says of a routine blocked on a nil channel
/// (Go's wait reasons).
const NIL_SEND: Wait = Wait::other(&Reason::other("chan send (nil chan)"));
const NIL_RECEIVE: Wait = Wait::other(&Reason::other("chan receive (nil chan)"));

/// Parks the running routine for good: a nil channel, or a `select!` with
/// no case that can ever fire. Nothing will wake it; if every routine ends
/// up like this or otherwise waiting, the deadlock report names it.
pub fn block_forever(reason: Wait) -> ! {
    unsafe fn nothing_to_unlock(_: *const ()) {}
    disable_interrupts();
    sched::park_unlocking(reason, core::ptr::null(), nothing_to_unlock);
    unreachable!("a routine blocked for ever was woken")
}

/// Something a value can be sent on: a [`Sender`], a reference to one, or
/// an `Option` of either, where `None` is Go's nil channel (see the module
/// documentation). `select!`'s `send` cases take any of these.
pub trait SendChan {
    type Item: Send;

    /// The channel, or `None` for a nil channel.
    fn chan(&self) -> Option<&Chan<Self::Item>>;

    /// Sends `value`; on a nil channel, blocks for ever.
    #[track_caller]
    fn send(&self, value: Self::Item) {
        match self.chan() {
            Some(chan) => chan.send(value),
            None => block_forever(NIL_SEND),
        }
    }

    /// Closes the channel; panics if it is closed already, or nil.
    #[track_caller]
    fn close(&self) {
        match self.chan() {
            Some(chan) => chan.close(),
            None => panic!("close of nil channel"),
        }
    }

    /// Values in the buffer (0 for a nil channel).
    fn len(&self) -> usize {
        self.chan().map_or(0, Chan::len)
    }

    /// Room in the buffer (0 for a nil channel).
    fn cap(&self) -> usize {
        self.chan().map_or(0, Chan::cap)
    }
}

/// Something a value can be received from: a [`Receiver`], a reference to
/// one, or an `Option` of either, `None` being Go's nil channel.
/// `select!`'s `recv` cases take any of these.
pub trait RecvChan {
    type Item: Send;

    /// The channel, or `None` for a nil channel.
    fn chan(&self) -> Option<&Chan<Self::Item>>;

    /// Receives a value (`None`: closed and drained); on a nil channel,
    /// blocks for ever.
    fn recv(&self) -> Option<Self::Item> {
        match self.chan() {
            Some(chan) => chan.recv(),
            None => block_forever(NIL_RECEIVE),
        }
    }

    /// Values in the buffer (0 for a nil channel).
    fn len(&self) -> usize {
        self.chan().map_or(0, Chan::len)
    }

    /// Room in the buffer (0 for a nil channel).
    fn cap(&self) -> usize {
        self.chan().map_or(0, Chan::cap)
    }
}

impl<T: Send> SendChan for Sender<T> {
    type Item = T;
    fn chan(&self) -> Option<&Chan<T>> {
        Some(&self.0)
    }
}

impl<T: Send> RecvChan for Receiver<T> {
    type Item = T;
    fn chan(&self) -> Option<&Chan<T>> {
        Some(&self.0)
    }
}

impl<C: SendChan + ?Sized> SendChan for &C {
    type Item = C::Item;
    fn chan(&self) -> Option<&Chan<C::Item>> {
        (**self).chan()
    }
}

impl<C: RecvChan + ?Sized> RecvChan for &C {
    type Item = C::Item;
    fn chan(&self) -> Option<&Chan<C::Item>> {
        (**self).chan()
    }
}

impl<C: SendChan> SendChan for Option<C> {
    type Item = C::Item;
    fn chan(&self) -> Option<&Chan<C::Item>> {
        self.as_ref().and_then(C::chan)
    }
}

impl<C: RecvChan> RecvChan for Option<C> {
    type Item = C::Item;
    fn chan(&self) -> Option<&Chan<C::Item>> {
        self.as_ref().and_then(C::chan)
    }
}
