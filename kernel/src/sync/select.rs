//! `select!`: wait on several channel operations, run the first that can go.
//!
//! ```ignore
//! select! {
//!     recv(rx) -> v => println!("got {v:?}"),
//!     send(tx, 42) => println!("sent"),
//!     default => println!("nothing ready"),
//! }
//! ```
//!
//! After Go's `selectgo` (runtime/select.go):
//! 1. lock every channel involved, in address order (so two selects on the
//!    same channels cannot deadlock);
//! 2. look at the cases in a random order (the core's generator, seeded by
//!    `seed=`) and complete the first that can go now: when several are
//!    ready, each is equally likely;
//! 3. with a `default`, run it if none could go;
//! 4. otherwise queue a waiter on every channel, in that random order, all
//!    sharing one [`SelectState`], and park; the first channel operation to claim the
//!    state wins, the others skip those waiters;
//! 5. once woken, lock again and take the losing waiters out of their queues.
//!
//! At most [`MAX_CASES`] cases; a `recv` arm gets an `Option<T>` (`None`:
//! the channel is closed and drained). Arms run inline, so `break`,
//! `continue` and `return` work in them.

use spindle_shared::chan::{ChanCore, Completion, Refusal};

use super::chan::{Chan, Node, NodeRef, Receiver, SelectState, Sender, wake};
use crate::arch::cpu::{disable_interrupts, restore_interrupts};
use crate::sched;

/// Most cases one `select!` takes.
pub const MAX_CASES: usize = 8;

/// One case of a select, seen by the select machinery. Every method but
/// `chan_id` and `finish` is called with the case's channel locked.
pub trait Case {
    /// Identifies the channel (for lock order and sharing one lock).
    fn chan_id(&self) -> usize;
    /// Takes the channel's lock (interrupts are off).
    fn lock(&self);
    fn unlock(&self);
    /// Completes the operation now if it can; says whether it did.
    fn poll(&mut self) -> bool;
    /// Queues this case's waiter as case `index` of the select `state`.
    fn enqueue(&mut self, state: &SelectState, index: usize);
    /// Takes this case's waiter out of the queue if it is still there.
    fn dequeue(&mut self);
    /// After this case fired while parked: collects its outcome.
    fn finish(&mut self);
}

/// What both kinds of case share: the channel, held by hand while the
/// select runs, and this case's waiter.
struct Waiting<'a, T: Send> {
    chan: &'a Chan<T>,
    node: Node<T>,
}

impl<'a, T: Send> Waiting<'a, T> {
    fn new(chan: &'a Chan<T>) -> Self {
        Waiting { chan, node: Node::new(core::ptr::null_mut(), None) }
    }

    fn chan_id(&self) -> usize {
        self.chan as *const Chan<T> as usize
    }

    fn lock(&self) {
        // SAFETY: interrupts are off for the whole select; `unlock` follows.
        unsafe { self.chan.lock().lock_raw() };
    }

    fn unlock(&self) {
        // SAFETY: locked by `lock` above.
        unsafe { self.chan.lock().unlock_raw() };
    }

    /// The channel's state. Only while locked by hand (see [`Case`]).
    fn core(&mut self) -> &mut ChanCore<T, NodeRef<T>> {
        // SAFETY: the select holds the lock, and this is the only reference.
        unsafe { &mut *self.chan.lock().data_raw() }
    }

    fn dequeue(&mut self) {
        let handle = self.node.handle();
        self.core().forget(&handle);
    }
}

/// A `recv(rx) -> v` case.
pub struct RecvCase<'a, T: Send> {
    waiting: Waiting<'a, T>,
    result: Option<Option<T>>,
}

impl<'a, T: Send> RecvCase<'a, T> {
    pub fn new(rx: &'a Receiver<T>) -> Self {
        RecvCase { waiting: Waiting::new(rx.chan()), result: None }
    }

    /// What the case received (`None`: closed), once it fired.
    pub fn take(&mut self) -> Option<T> {
        self.result.take().expect("the case fired")
    }
}

impl<T: Send> Case for RecvCase<'_, T> {
    fn chan_id(&self) -> usize {
        self.waiting.chan_id()
    }

    fn lock(&self) {
        self.waiting.lock();
    }

    fn unlock(&self) {
        self.waiting.unlock();
    }

    fn poll(&mut self) -> bool {
        match self.waiting.core().try_recv() {
            Ok((value, woken)) => {
                woken.map(wake);
                self.result = Some(Some(value));
                true
            }
            Err(Refusal::Closed) => {
                self.result = Some(None);
                true
            }
            Err(Refusal::WouldBlock) => false,
        }
    }

    fn enqueue(&mut self, state: &SelectState, index: usize) {
        self.waiting.node.in_select(state, index, None);
        let handle = self.waiting.node.handle();
        self.waiting.core().wait_to_recv(handle);
    }

    fn dequeue(&mut self) {
        self.waiting.dequeue();
    }

    fn finish(&mut self) {
        self.result = Some(match self.waiting.node.completion() {
            Completion::Received(value) => Some(value),
            _ => None,
        });
    }
}

/// A `send(tx, value)` case.
pub struct SendCase<'a, T: Send> {
    waiting: Waiting<'a, T>,
    value: Option<T>,
}

impl<'a, T: Send> SendCase<'a, T> {
    pub fn new(tx: &'a Sender<T>, value: T) -> Self {
        SendCase { waiting: Waiting::new(tx.chan()), value: Some(value) }
    }
}

impl<T: Send> Case for SendCase<'_, T> {
    fn chan_id(&self) -> usize {
        self.waiting.chan_id()
    }

    fn lock(&self) {
        self.waiting.lock();
    }

    fn unlock(&self) {
        self.waiting.unlock();
    }

    fn poll(&mut self) -> bool {
        let value = self.value.take().expect("a send case sends once");
        match self.waiting.core().try_send(value) {
            Ok(woken) => {
                woken.map(wake);
                true
            }
            Err((_, Refusal::Closed)) => panic!("send on closed channel"),
            Err((value, Refusal::WouldBlock)) => {
                self.value = Some(value);
                false
            }
        }
    }

    fn enqueue(&mut self, state: &SelectState, index: usize) {
        let value = self.value.take();
        self.waiting.node.in_select(state, index, value);
        let handle = self.waiting.node.handle();
        self.waiting.core().wait_to_send(handle);
    }

    fn dequeue(&mut self) {
        self.waiting.dequeue();
    }

    fn finish(&mut self) {
        if matches!(self.waiting.node.completion(), Completion::Closed) {
            panic!("send on closed channel");
        }
    }
}

/// The channels of a select, each once, in lock order.
struct Locks<'a> {
    cases: *const [&'a mut (dyn Case + 'a)],
    /// Indices of one case per distinct channel, ordered by channel.
    order: [usize; MAX_CASES],
    len: usize,
}

impl<'a> Locks<'a> {
    fn new(cases: &[&'a mut (dyn Case + 'a)]) -> Locks<'a> {
        let n = cases.len();
        let mut sorted = [0usize; MAX_CASES];
        (0..n).for_each(|i| sorted[i] = i);
        sorted[..n].sort_unstable_by_key(|&i| cases[i].chan_id());
        let mut order = [0usize; MAX_CASES];
        let mut len = 0;
        for &i in &sorted[..n] {
            if len == 0 || cases[order[len - 1]].chan_id() != cases[i].chan_id() {
                order[len] = i;
                len += 1;
            }
        }
        Locks { cases, order, len }
    }

    fn cases(&self) -> &[&'a mut (dyn Case + 'a)] {
        // SAFETY: the cases outlive the select, and lock/unlock take `&self`.
        unsafe { &*self.cases }
    }

    fn lock_all(&self) {
        self.order[..self.len].iter().for_each(|&i| self.cases()[i].lock());
    }

    fn unlock_all(&self) {
        self.order[..self.len].iter().rev().for_each(|&i| self.cases()[i].unlock());
    }
}

/// Releases a parked select's locks (called by the next context).
unsafe fn unlock_parked(locks: *const ()) {
    // SAFETY: `locks` lives on the parked select's stack until it resumes.
    unsafe { (*(locks as *const Locks<'_>)).unlock_all() }
}

/// Runs a select over `cases`: the index of the case that completed, or
/// `None` if `has_default` and none could complete at once.
pub fn select<'a>(cases: &mut [&'a mut (dyn Case + 'a)], has_default: bool) -> Option<usize> {
    let n = cases.len();
    assert!(n <= MAX_CASES, "select! takes at most {MAX_CASES} cases");
    let were_enabled = disable_interrupts();

    // Poll order: a random permutation (Fisher-Yates, inside-out).
    let mut poll = [0usize; MAX_CASES];
    for i in 0..n {
        let j = (sched::random() % (i as u64 + 1)) as usize;
        poll[i] = poll[j];
        poll[j] = i;
    }

    let locks = Locks::new(cases);
    locks.lock_all();
    let ready = poll[..n].iter().copied().find(|&i| cases[i].poll());
    if ready.is_some() || has_default {
        locks.unlock_all();
        restore_interrupts(were_enabled);
        return ready;
    }

    let state = SelectState::new();
    // Queued in the random poll order, not source order: of several cases
    // on one channel, a partner that comes later completes the first
    // queued, which must be equally likely to be any of them (Go queues in
    // its permuted lock order for the same reason).
    for &index in &poll[..n] {
        cases[index].enqueue(&state, index);
    }
    sched::park_unlocking(sched::Wait::SELECT, &locks as *const Locks<'_> as *const (), unlock_parked);

    let fired = state.fired();
    locks.lock_all();
    for (index, case) in cases.iter_mut().enumerate() {
        if index != fired {
            case.dequeue();
        }
    }
    locks.unlock_all();
    cases[fired].finish();
    restore_interrupts(were_enabled);
    Some(fired)
}

/// Waits on several channel operations; see the module documentation.
#[macro_export]
macro_rules! select {
    ($($cases:tt)*) => {
        $crate::__select_parse!(@parse [] [__c0 __c1 __c2 __c3 __c4 __c5 __c6 __c7] $($cases)*)
    };
}

/// Implementation of [`select!`]: gathers the cases, naming each from a
/// pool of identifiers, then emits the select and the arms.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    (@parse [$($done:tt)*] [$name:ident $($names:ident)*]
        recv($rx:expr) -> $v:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@parse [$($done)* (recv $name ($rx) ($v) $body)] [$($names)*] $($($rest)*)?)
    };
    (@parse [$($done:tt)*] [$name:ident $($names:ident)*]
        send($tx:expr, $value:expr) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@parse [$($done)* (send $name ($tx, $value) () $body)] [$($names)*] $($($rest)*)?)
    };
    (@parse [$($done:tt)*] [$($names:ident)*] default => $default:expr $(,)?) => {
        $crate::__select_parse!(@emit [$($done)*] true ($default))
    };
    (@parse [$($done:tt)*] [$($names:ident)*]) => {
        $crate::__select_parse!(@emit [$($done)*] false (unreachable!("a select without default always fires a case")))
    };
    (@parse [$($done:tt)*] [] $($rest:tt)+) => {
        compile_error!("select! takes at most 8 cases")
    };
    (@case recv ($rx:expr)) => { $crate::sync::select::RecvCase::new(&$rx) };
    (@case send ($tx:expr, $value:expr)) => { $crate::sync::select::SendCase::new(&$tx, $value) };
    (@arm recv $name:ident ($v:pat) $body:expr) => {{ let $v = $name.take(); $body }};
    (@arm send $name:ident () $body:expr) => {{ $body }};
    (@emit [$(($kind:ident $name:ident $args:tt $pat:tt $body:expr))*] $has_default:tt ($default:expr)) => {{
        $( let mut $name = $crate::__select_parse!(@case $kind $args); )*
        let __fired = $crate::sync::select::select(
            &mut [$( &mut $name as &mut dyn $crate::sync::select::Case ),*],
            $has_default,
        );
        let mut __index = 0usize;
        let mut __result = None;
        $(
            if __result.is_none() && __fired == Some(__index) {
                __result = Some($crate::__select_parse!(@arm $kind $name $pat $body));
            }
            __index += 1;
        )*
        let _ = __index;
        match __result {
            Some(value) => value,
            None => $default,
        }
    }};
}
