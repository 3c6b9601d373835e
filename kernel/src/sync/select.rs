//! `select!`: wait on several channel operations, run the first that can go.
//!
//! ```ignore
//! select! {
//!     recv(rx) -> v => println!("got {v:?}"),      // v: Option<T>, None once closed
//!     send(tx, 42) => println!("sent"),
//!     recv(after(ms(5))) -> _ => println!("timed out"),
//!     default => println!("nothing ready"),        // anywhere, at most once
//! }
//! ```
//!
//! As in Go:
//! - any number of cases, and `default` in any position (`select! {}`
//!   blocks for ever, as Go's `select {}` does);
//! - every channel expression and every value to send is evaluated once,
//!   in source order, before the select looks at any channel; temporaries
//!   live until it is over, so `send(cc.recv().unwrap(), 2)` and
//!   `recv(after(d))` work;
//! - a case's channel may be a `Sender`/`Receiver`, a reference to one, or
//!   an `Option` of either (see [`SendChan`], [`RecvChan`]): `None` is Go's
//!   nil channel and its case never fires. A bare `None` needs its type:
//!   `None::<&Receiver<u32>>`;
//! - a `recv` arm binds `Option<T>`: `None` means closed and drained (Go's
//!   `v, ok := <-ch` with `ok == false`);
//! - when several cases can go, each is equally likely; when none can and
//!   the select waits, a partner that arrives later is equally likely to
//!   complete any of the cases waiting on its channel.
//!
//! Unlike Go, `break` and `continue` inside an arm must name a loop label:
//! an arm runs inside the enclosing Rust loop, where an unlabeled `break`
//! would leave that loop, while Go's leaves only the select. So the
//! difference cannot pass silently, the arms sit in a labeled block and the
//! compiler refuses an unlabeled `break` or `continue` there (E0695). Go's
//! `continue` is `continue 'outer`; Go's `break` out of a select is the end
//! of the arm. `return` works as in Go.
//!
//! A select! expands to one level of macro recursion per case, so the
//! default `recursion_limit` (128) allows about 120 cases. Cases built at
//! run time, in any number, go through
//! [`select_cases`](super::select_cases::select_cases) (Go's
//! `reflect.Select`). The macro itself is in `select_macro.rs`.
//!
//! After Go's `selectgo` (runtime/select.go):
//! 1. lock every channel involved, each once, in address order (so two
//!    selects on the same channels cannot deadlock);
//! 2. look at the cases in a random order (the core's generator, seeded by
//!    `seed=`) and complete the first that can go now;
//! 3. with a `default`, run it if none could go;
//! 4. otherwise queue a waiter on every channel, in that same random order
//!    (so cases on one channel are queued in random order: Go's "start
//!    with the pollorder to permute cases on the same channel"), all sharing
//!    one [`SelectState`], and park; the first channel operation to claim
//!    the state wins, the others skip those waiters;
//! 5. once woken, lock again and take the losing waiters out of their queues.

use alloc::vec;

use spindle_shared::chan::{ChanCore, Completion, Refusal};

use super::chan::Chan;
use super::endpoint::{RecvChan, SendChan, block_forever};
use super::waiter::{Node, NodeRef, SelectState, wake_locked};
use crate::arch::interrupts::{disable_interrupts, restore_interrupts};
use crate::sched::{self, Reason, Wait};

/// Cases a select handles with its bookkeeping on the stack; more take
/// two small heap allocations.
const INLINE_CASES: usize = 8;

/// What the deadlock report says of a select with no case that can fire.
const NO_CASES: Wait = Wait::other(&Reason::other("select (no cases)"));

/// One case of a select, seen by the select machinery. `poll`, `enqueue`
/// and `dequeue` are called with every channel of the select locked; the
/// others without.
pub trait Case {
    /// The case's channel lock, or `None` for a nil channel (never fires).
    fn chan_lock(&self) -> Option<ChanLock>;
    /// Completes the operation now if it can; says whether it did.
    fn poll(&mut self) -> bool;
    /// Queues this case's waiter as case `index` of the select `state`.
    fn enqueue(&mut self, state: &SelectState, index: usize);
    /// Takes this case's waiter out of the queue if it is still there.
    fn dequeue(&mut self);
    /// After this case fired (`parked`: while the select waited): collects
    /// its outcome, and panics if it was a send on a closed channel.
    fn finish(&mut self, parked: bool);
}

/// A channel's lock, type-erased so one select can hold the locks of
/// channels of different types. Holds no reference to the case it came
/// from: the select keeps these apart from its cases, so nothing aliases
/// the `&mut` it takes to poll and queue a case.
#[derive(Clone, Copy)]
pub struct ChanLock {
    chan: *const (),
    lock: unsafe fn(*const ()),
    unlock: unsafe fn(*const ()),
}

impl ChanLock {
    /// A placeholder for unused bookkeeping slots; never locked.
    const UNUSED: ChanLock = ChanLock { chan: core::ptr::null(), lock: nothing, unlock: nothing };

    fn of<T: Send>(chan: &Chan<T>) -> ChanLock {
        ChanLock { chan: chan as *const Chan<T> as *const (), lock: lock_chan::<T>, unlock: unlock_chan::<T> }
    }

    fn address(&self) -> usize {
        self.chan as usize
    }
}

unsafe fn nothing(_: *const ()) {}

/// # Safety
/// `chan` is a live `Chan<T>`; interrupts are off until the matching unlock.
unsafe fn lock_chan<T: Send>(chan: *const ()) {
    // SAFETY: forwarded to the caller.
    unsafe { (*(chan as *const Chan<T>)).lock().lock_raw() }
}

/// # Safety
/// `chan` is a live `Chan<T>` locked by `lock_chan`.
unsafe fn unlock_chan<T: Send>(chan: *const ()) {
    // SAFETY: forwarded to the caller.
    unsafe { (*(chan as *const Chan<T>)).lock().unlock_raw() }
}

/// The channels of a select, each once, in lock order.
///
/// **The select lock rule**, which the unsafe code of this module relies
/// on: the cases' channels outlive the select (the cases borrow them);
/// interrupts stay off from `lock_all` to the matching `unlock_all`; and
/// between the two the select holds every case's channel lock, so it alone
/// reaches those channels' state, one case at a time.
struct Locks<'s> {
    held: &'s [ChanLock],
}

impl Locks<'_> {
    fn lock_all(&self) {
        // SAFETY: the select lock rule: the channels are alive, interrupts off.
        self.held.iter().for_each(|l| unsafe { (l.lock)(l.chan) });
    }

    fn unlock_all(&self) {
        // SAFETY: the select lock rule; each was locked by `lock_all`.
        self.held.iter().rev().for_each(|l| unsafe { (l.unlock)(l.chan) });
    }
}

/// Releases a parked select's locks (called by the next context).
unsafe fn unlock_parked(locks: *const ()) {
    // SAFETY: `locks` lives on the parked select's stack until it resumes;
    // the select lock rule holds until this call.
    unsafe { (*(locks as *const Locks<'_>)).unlock_all() }
}

/// What both kinds of case share: the channel (`None`: nil), held by hand
/// while the select runs, and this case's waiter.
struct Waiting<'a, T: Send> {
    chan: Option<&'a Chan<T>>,
    node: Node<T>,
}

impl<'a, T: Send> Waiting<'a, T> {
    fn new(chan: Option<&'a Chan<T>>) -> Self {
        Waiting { chan, node: Node::new(core::ptr::null_mut(), None) }
    }

    fn chan_lock(&self) -> Option<ChanLock> {
        self.chan.map(ChanLock::of)
    }

    /// Queues this case's node on its channel (unless nil) with `push`,
    /// as case `index` of the select `state`, carrying `value` if a send.
    fn enqueue(
        &mut self,
        state: &SelectState,
        index: usize,
        value: Option<T>,
        push: fn(&mut ChanCore<T, NodeRef<T>>, NodeRef<T>),
    ) {
        let Some(chan) = self.chan else { return };
        self.node.in_select(state, index, value);
        // SAFETY: the select lock rule.
        let core = unsafe { locked_core(chan) };
        // The handle is the last use of this case until the select wakes:
        // a `&mut` to the case after it would invalidate the pointer the
        // channel keeps (Stacked Borrows), which is why `core` comes from
        // the channel and not through `self`.
        push(core, self.node.handle());
    }

    fn dequeue(&mut self) {
        if let Some(chan) = self.chan {
            let handle = self.node.handle();
            // SAFETY: the select lock rule.
            unsafe { locked_core(chan) }.forget(&handle);
        }
    }
}

/// A channel's state, reached while a select holds its lock by hand.
///
/// # Safety
/// The select lock rule holds (see [`Locks`]), and no other reference to
/// this channel's state is live while the result is.
#[expect(
    clippy::mut_from_ref,
    reason = "the select holds the channel's lock by hand: the lock rule, not &chan, grants it"
)]
unsafe fn locked_core<T: Send>(chan: &Chan<T>) -> &mut ChanCore<T, NodeRef<T>> {
    // SAFETY: forwarded to the caller.
    unsafe { &mut *chan.lock().data_raw() }
}

/// A `recv(rx) -> v` case.
pub struct RecvCase<'a, T: Send> {
    waiting: Waiting<'a, T>,
    /// Set once the case fired: what it received (`None`: closed).
    result: Option<Option<T>>,
}

impl<'a, T: Send> RecvCase<'a, T> {
    pub fn new<C: RecvChan<Item = T> + ?Sized>(rx: &'a C) -> Self {
        RecvCase { waiting: Waiting::new(rx.chan()), result: None }
    }

    /// What the case received (`None`: closed), if it is the one that fired.
    pub fn outcome(self) -> Option<Option<T>> {
        self.result
    }

    /// [`outcome`](Self::outcome) for a case that stays in place, taken
    /// once (`select_cases`).
    pub(super) fn take_outcome(&mut self) -> Option<Option<T>> {
        self.result.take()
    }
}

impl<T: Send> Case for RecvCase<'_, T> {
    fn chan_lock(&self) -> Option<ChanLock> {
        self.waiting.chan_lock()
    }

    fn poll(&mut self) -> bool {
        let Some(chan) = self.waiting.chan else { return false };
        // SAFETY: the select lock rule.
        match unsafe { locked_core(chan) }.try_recv() {
            Ok((value, woken)) => {
                if let Some(woken) = woken {
                    wake_locked(woken);
                }
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
        self.waiting.enqueue(state, index, None, ChanCore::wait_to_recv);
    }

    fn dequeue(&mut self) {
        self.waiting.dequeue();
    }

    fn finish(&mut self, parked: bool) {
        if parked {
            self.result = Some(match self.waiting.node.completion() {
                Completion::Received(value) => Some(value),
                _ => None,
            });
        }
    }
}

/// A `send(tx, value)` case.
pub struct SendCase<'a, T: Send> {
    waiting: Waiting<'a, T>,
    /// The value, until it is sent (or queued with the waiter).
    value: Option<T>,
    /// Set once the case fired: true if sent, false if the channel was closed.
    sent: Option<bool>,
}

impl<'a, T: Send> SendCase<'a, T> {
    pub fn new<C: SendChan<Item = T> + ?Sized>(tx: &'a C, value: T) -> Self {
        SendCase { waiting: Waiting::new(tx.chan()), value: Some(value), sent: None }
    }

    /// `Some(())` if this is the case that fired.
    pub fn outcome(self) -> Option<()> {
        self.sent.map(|_| ())
    }

    /// Whether the case still holds its value (it has not sent yet).
    pub(super) fn has_value(&self) -> bool {
        self.value.is_some()
    }
}

impl<T: Send> Case for SendCase<'_, T> {
    fn chan_lock(&self) -> Option<ChanLock> {
        self.waiting.chan_lock()
    }

    fn poll(&mut self) -> bool {
        let Some(chan) = self.waiting.chan else { return false };
        let value = self.value.take().expect("a send case has its value until it fires");
        // SAFETY: the select lock rule.
        match unsafe { locked_core(chan) }.try_send(value) {
            Ok(woken) => {
                if let Some(woken) = woken {
                    wake_locked(woken);
                }
                self.sent = Some(true);
                true
            }
            // Fires, and panics in `finish`, once the locks are released.
            Err((_, Refusal::Closed)) => {
                self.sent = Some(false);
                true
            }
            Err((value, Refusal::WouldBlock)) => {
                self.value = Some(value);
                false
            }
        }
    }

    fn enqueue(&mut self, state: &SelectState, index: usize) {
        if self.waiting.chan.is_some() {
            let value = self.value.take();
            self.waiting.enqueue(state, index, value, ChanCore::wait_to_send);
        }
    }

    fn dequeue(&mut self) {
        self.waiting.dequeue();
        // A losing case keeps its value (`select_cases` may run it again).
        if self.waiting.chan.is_some() && self.value.is_none() {
            self.value = self.waiting.node.take_unsent();
        }
    }

    fn finish(&mut self, parked: bool) {
        if parked {
            self.sent = Some(!matches!(self.waiting.node.completion(), Completion::Closed));
        }
        if self.sent == Some(false) {
            panic!("send on closed channel");
        }
    }
}

/// Runs a select over `cases`: the index of the case that completed, or
/// `None` if `has_default` and none could complete at once. `select!` and
/// `select_cases` call this; a program can too, with cases of different
/// element types.
pub fn select(cases: &mut [&mut dyn Case], has_default: bool) -> Option<usize> {
    let n = cases.len();
    if n <= INLINE_CASES {
        let mut poll = [0usize; INLINE_CASES];
        let mut locks = [ChanLock::UNUSED; INLINE_CASES];
        run(cases, has_default, &mut poll[..n], &mut locks[..n])
    } else {
        let mut poll = vec![0usize; n];
        let mut locks = vec![ChanLock::UNUSED; n];
        run(cases, has_default, &mut poll, &mut locks)
    }
}

/// [`select`] with its bookkeeping in `poll` and `locks` (each as long as `cases`).
// lab(select): lock every channel once in address order, poll in a random order, else queue a waiter per case and park; clean up the losers
fn run(cases: &mut [&mut dyn Case], has_default: bool, poll: &mut [usize], locks: &mut [ChanLock]) -> Option<usize> {
    // Every distinct channel once, in address order. Nil cases have none.
    let mut held = 0;
    for lock in cases.iter().filter_map(|case| case.chan_lock()) {
        locks[held] = lock;
        held += 1;
    }
    let locks = &mut locks[..held];
    locks.sort_unstable_by_key(ChanLock::address);
    let mut distinct = 0;
    for i in 0..locks.len() {
        if distinct == 0 || locks[distinct - 1].address() != locks[i].address() {
            locks[distinct] = locks[i];
            distinct += 1;
        }
    }
    let locks = Locks { held: &locks[..distinct] };
    if distinct == 0 {
        // Only nil cases (or none): Go's `select {}` and friends.
        if has_default {
            return None;
        }
        block_forever(NO_CASES);
    }

    let were_enabled = disable_interrupts();
    // Poll order: a random permutation (Fisher-Yates, inside-out).
    for i in 0..cases.len() {
        let j = (sched::random() % (i as u64 + 1)) as usize;
        poll[i] = poll[j];
        poll[j] = i;
    }

    locks.lock_all();
    let ready = poll.iter().copied().find(|&i| cases[i].poll());
    if ready.is_some() || has_default {
        locks.unlock_all();
        restore_interrupts(were_enabled);
        if let Some(i) = ready {
            cases[i].finish(false);
        }
        return ready;
    }

    let state = SelectState::new();
    for &i in poll.iter() {
        cases[i].enqueue(&state, i);
    }
    sched::park_unlocking(Wait::SELECT, &locks as *const Locks<'_> as *const (), unlock_parked);

    let fired = state.fired();
    locks.lock_all();
    for (index, case) in cases.iter_mut().enumerate() {
        if index != fired {
            case.dequeue();
        }
    }
    locks.unlock_all();
    restore_interrupts(were_enabled);
    cases[fired].finish(true);
    Some(fired)
}
