//! Per-core timers: sleeping routines and timed callbacks.
//!
//! Each core keeps its own queue, ordered by deadline, and its own hardware
//! timer armed for the earliest entry (or the end of the running routine's
//! time slice, whichever is first). An entry fires on the core that queued
//! it: a sleeper wakes there, a callback runs there (from the timer
//! interrupt, so a callback must not block).
//!
//! [`PENDING`] counts entries on all cores: the deadlock detector needs to
//! know that a timer may still make a routine runnable.

use alloc::boxed::Box;
use alloc::collections::BinaryHeap;
use core::cmp::Ordering as CmpOrdering;
use core::sync::atomic::{AtomicU64, Ordering};

use super::percore::CoreSched;
use super::routine::Routine;
use super::{Wait, park, ready, this_core};
use crate::arch::interrupts::debug_assert_interrupts_off;
use crate::arch::interrupts::{disable_interrupts, restore_interrupts};
use crate::lock::SpinLockGuard;
use crate::time;

/// Timer entries queued on all cores.
pub static PENDING: AtomicU64 = AtomicU64::new(0);

/// A callback run when its timer fires; returns the next deadline to run
/// again (a periodic timer) or `None`.
pub type Callback = Box<dyn FnMut() -> Option<u64> + Send>;

enum Action {
    Wake(*mut Routine),
    Call(Callback),
}

struct Entry {
    deadline: u64,
    /// Breaks ties in queueing order, so equal deadlines fire first-in first-out.
    seq: u64,
    action: Action,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed: `BinaryHeap` is a max-heap, the earliest deadline must be on top.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

/// One core's timers.
pub struct TimerQueue {
    heap: BinaryHeap<Entry>,
    seq: u64,
}

// SAFETY: the queue is only used behind its core's lock; routine pointers in
// it are owned by the queue until the entry fires.
unsafe impl Send for TimerQueue {}

impl TimerQueue {
    pub const fn new() -> TimerQueue {
        TimerQueue { heap: BinaryHeap::new(), seq: 0 }
    }

    fn push(&mut self, deadline: u64, action: Action) {
        self.seq += 1;
        self.heap.push(Entry { deadline, seq: self.seq, action });
        PENDING.fetch_add(1, Ordering::SeqCst);
    }

    /// The earliest deadline queued.
    pub fn earliest(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Takes the earliest entry if it is due at `now`.
    fn pop_due(&mut self, now: u64) -> Option<Entry> {
        if self.heap.peek()?.deadline > now {
            return None;
        }
        let entry = self.heap.pop();
        PENDING.fetch_sub(1, Ordering::SeqCst);
        entry
    }
}

/// Arms `core`'s timer for `deadline` unless it is already armed earlier.
/// Interrupts off, on `core` itself.
// lab(preempt): arm the core's timer for `deadline` unless it is already armed for an earlier moment
pub fn arm_by(core: &CoreSched, deadline: u64) {
    debug_assert_interrupts_off();
    let armed = core.armed.get();
    if armed == 0 || deadline < armed {
        core.armed.set(deadline);
        time::set_alarm(deadline);
    }
}

/// Queues `action` at `deadline` on the running core and arms its timer.
/// Interrupts must be off: the routine must not move to another core
/// between choosing the queue and arming that core's timer. Returns the
/// queue, still locked (a sleeper parks under it).
fn queue(deadline: u64, action: impl FnOnce(&CoreSched) -> Action) -> SpinLockGuard<'static, TimerQueue> {
    debug_assert_interrupts_off();
    let core = this_core();
    let mut timers = core.timers.lock();
    timers.push(deadline, action(core));
    arm_by(core, deadline);
    timers
}

/// Parks the running routine until `deadline` (ns since boot).
// lab(preempt): queue a wake-up for the running routine at `deadline` and park it under the timer queue's lock
pub fn sleep_until(deadline: u64) {
    let were_enabled = disable_interrupts();
    let timers = queue(deadline, |core| Action::Wake(core.current.load(Ordering::Relaxed)));
    park(timers, Wait::SLEEP);
    restore_interrupts(were_enabled);
}

/// Runs `callback` on the running core at `deadline`, from its timer interrupt.
pub fn call_at(deadline: u64, callback: Callback) {
    let were_enabled = disable_interrupts();
    drop(queue(deadline, |_| Action::Call(callback)));
    restore_interrupts(were_enabled);
}

/// Fires every due entry of `core`'s queue. From the timer interrupt.
// lab(preempt): take each due entry out under the lock and act on it after: wake the sleeper, or run the callback (and requeue it if periodic)
pub fn fire_due(core: &CoreSched) {
    loop {
        let now = time::now();
        // Taken out under the lock, run after it: a wake-up takes run-queue
        // locks, a callback may take channel locks.
        let Some(entry) = core.timers.lock().pop_due(now) else { return };
        match entry.action {
            Action::Wake(routine) => ready(routine),
            Action::Call(mut callback) => {
                if let Some(next) = callback() {
                    core.timers.lock().push(next, Action::Call(callback));
                }
            }
        }
    }
}

mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A queue with a callback entry at each of `deadlines`, in that order.
    fn queue_of(deadlines: &[u64]) -> TimerQueue {
        let mut queue = TimerQueue::new();
        for &deadline in deadlines {
            queue.push(deadline, Action::Call(Box::new(|| None)));
        }
        queue
    }

    /// (deadline, queueing order) of each entry due at `now`, in the order taken.
    fn take_due(queue: &mut TimerQueue, now: u64) -> Vec<(u64, u64)> {
        core::iter::from_fn(|| queue.pop_due(now)).map(|e| (e.deadline, e.seq)).collect()
    }

    crate::ktest! {
        /// Entries come out earliest first, equal deadlines in the order
        /// they were queued, and none before it is due.
        fn entries_fire_earliest_first_and_ties_in_queueing_order() {
            let mut queue = queue_of(&[30, 10, 20, 10, u64::MAX]);
            assert_eq!(queue.earliest(), Some(10));
            assert_eq!(take_due(&mut queue, 9), []);
            assert_eq!(take_due(&mut queue, 10), [(10, 2), (10, 4)]);
            assert_eq!(queue.earliest(), Some(20));
            assert_eq!(take_due(&mut queue, 1000), [(20, 3), (30, 1)]);
            assert_eq!(queue.earliest(), Some(u64::MAX), "a never-deadline stays queued");
            assert_eq!(take_due(&mut queue, u64::MAX - 1), []);
            // Taken out, so that `PENDING` does not count it after the test.
            assert_eq!(take_due(&mut queue, u64::MAX), [(u64::MAX, 5)]);
        }

        /// `PENDING` counts what the queues hold (the deadlock detector
        /// reads it): up by each entry queued, down by each taken.
        fn pending_counts_queued_entries() {
            let before = PENDING.load(Ordering::SeqCst);
            let mut queue = queue_of(&[5, 6, 7]);
            let queued = PENDING.load(Ordering::SeqCst);
            let taken = take_due(&mut queue, 6).len();
            let after = PENDING.load(Ordering::SeqCst);
            drop(queue.pop_due(7));
            let emptied = PENDING.load(Ordering::SeqCst);
            // Other cores' timers may come and go meanwhile, but nothing
            // else runs during this test: no one else sleeps.
            assert_eq!((queued - before, taken, queued - after, emptied), (3, 2, 2, before));
        }
    }
}
