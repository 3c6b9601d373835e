//! A core's local run queue: a fixed ring plus a `runnext` slot, after Go's
//! `runq` (runtime/proc.go: runqput, runqget, runqgrab, runqsteal).
//!
//! - Only the owning core pushes ([`RunQueue::push`]) and writes `tail`.
//! - The owner pops from the head; thieves on other cores take up to half of
//!   the ring at once ([`RunQueue::steal_into`]). Both claim entries with a
//!   compare-and-swap on `head`, so an entry is taken exactly once.
//! - `runnext` holds the routine that should run next (one just spawned or
//!   woken). The owner swaps it in and out; a thief takes it only when told
//!   to, on its last stealing pass, so a producer-consumer pair keeps running
//!   back to back on its core.
//!
//! Entries are raw pointers owned by the queue while inside it. The ring's
//! slots are atomics with relaxed ordering: a thief may read a slot the owner
//! is overwriting, but then its CAS on `head` fails and the value is dropped.

#[cfg(not(loom))]
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
#[cfg(loom)]
use loom::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use core::ptr::null_mut;

/// Entries in a core's ring (Go uses 256).
pub const CAPACITY: usize = 256;

/// A run queue of `N` slots (a power of two) plus `runnext`.
pub struct RunQueue<T, const N: usize = CAPACITY> {
    /// Next slot to take (owner pops, thieves steal): moves forward by CAS.
    head: AtomicU32,
    /// Next slot to fill: only the owner stores it.
    tail: AtomicU32,
    slots: [AtomicPtr<T>; N],
    runnext: AtomicPtr<T>,
}

// SAFETY: the queue only moves pointers between threads; the protocol above
// hands each one to exactly one taker.
unsafe impl<T, const N: usize> Sync for RunQueue<T, N> {}
// SAFETY: the queue holds only pointers it hands to exactly one taker, on
// whichever thread; moving the queue itself moves no pointee.
unsafe impl<T, const N: usize> Send for RunQueue<T, N> {}

/// What [`RunQueue::push`] could not keep: the ring was full, so the older
/// half of it, then the new entry, must go to the global queue.
pub struct Spill<'a, T, const N: usize> {
    queue: &'a RunQueue<T, N>,
    next: u32,
    end: u32,
    extra: Option<*mut T>,
}

impl<T, const N: usize> Iterator for Spill<'_, T, N> {
    type Item = *mut T;

    fn next(&mut self) -> Option<*mut T> {
        if self.next != self.end {
            let slot = &self.queue.slots[(self.next & RunQueue::<T, N>::MASK) as usize];
            self.next = self.next.wrapping_add(1);
            // Claimed by the owner's CAS on head; only the owner writes slots.
            return Some(slot.load(Ordering::Relaxed));
        }
        self.extra.take()
    }
}

impl<T, const N: usize> RunQueue<T, N> {
    const MASK: u32 = {
        assert!(N.is_power_of_two() && N >= 2 && N <= (1 << 30));
        N as u32 - 1
    };

    #[cfg(not(loom))]
    #[expect(
        clippy::new_without_default,
        reason = "queues live in statics and per-core state: const new is what they need"
    )]
    pub const fn new() -> Self {
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: [const { AtomicPtr::new(null_mut()) }; N],
            runnext: AtomicPtr::new(null_mut()),
        }
    }

    #[cfg(loom)]
    pub fn new() -> Self {
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: core::array::from_fn(|_| AtomicPtr::new(null_mut())),
            runnext: AtomicPtr::new(null_mut()),
        }
    }

    /// Entries in the ring, plus one if `runnext` is taken. May be stale by
    /// the time it returns when other cores are stealing.
    pub fn len(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        let next = !self.runnext.load(Ordering::Acquire).is_null();
        tail.wrapping_sub(head) as usize + next as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the only queued entry is in `runnext` (the ring is empty).
    pub fn only_runnext(&self) -> bool {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        head == tail && !self.runnext.load(Ordering::Acquire).is_null()
    }

    /// Takes `runnext` if something is there, racing the owner and thieves.
    // lab(runqueue): take runnext if it holds an entry, racing the owner and thieves (compare-and-swap)
    #[inline(always)]
    fn take_runnext(&self) -> Option<*mut T> {
        let next = self.runnext.load(Ordering::Acquire);
        if next.is_null() {
            return None;
        }
        self.runnext.compare_exchange(next, null_mut(), Ordering::AcqRel, Ordering::Relaxed).ok()
    }

    /// Owner only: puts `entry` in `runnext`, moving whatever was there to
    /// the tail of the ring (see [`push`](Self::push) for `spill`).
    // lab(runqueue): put `entry` in runnext; the routine it displaces goes to the tail of the ring
    #[inline(always)]
    pub fn push_next(&self, entry: *mut T, spill: impl FnOnce(Spill<'_, T, N>)) {
        let old = self.runnext.swap(entry, Ordering::AcqRel);
        if !old.is_null() {
            self.push(old, spill);
        }
    }

    /// Owner only: puts `entry` at the tail of the ring. When the ring is
    /// full, claims its older half and hands that half, then `entry`, to
    /// `spill`, which must move them to the global queue.
    // lab(runqueue): store at the tail; when the ring is full, claim its older half with a CAS on head and hand it, then `entry`, to `spill`
    #[inline(always)]
    pub fn push(&self, entry: *mut T, spill: impl FnOnce(Spill<'_, T, N>)) {
        loop {
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Relaxed);
            if tail.wrapping_sub(head) < N as u32 {
                self.slots[(tail & Self::MASK) as usize].store(entry, Ordering::Relaxed);
                self.tail.store(tail.wrapping_add(1), Ordering::Release);
                return;
            }
            let half = N as u32 / 2;
            if self.head.compare_exchange(head, head.wrapping_add(half), Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                let end = head.wrapping_add(half);
                return spill(Spill { queue: self, next: head, end, extra: Some(entry) });
            }
            // A thief took some: there may be room now, try again.
        }
    }

    /// Owner only: takes the next entry, `runnext` first. The flag says
    /// whether it came from `runnext` (Go: the routine inherits the time slice).
    // lab(runqueue): runnext first (say so), else the head of the ring, claimed by CAS on head
    #[inline(always)]
    pub fn pop(&self) -> Option<(*mut T, bool)> {
        if let Some(next) = self.take_runnext() {
            return Some((next, true));
        }
        loop {
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Relaxed);
            if head == tail {
                return None;
            }
            let entry = self.slots[(head & Self::MASK) as usize].load(Ordering::Relaxed);
            if self.head.compare_exchange(head, head.wrapping_add(1), Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                return Some((entry, false));
            }
        }
    }

    /// Thief: moves up to half of `self`'s entries into `into` (which must
    /// belong to the calling core and be empty), and returns one of them to
    /// run now plus how many were moved in all. With `take_runnext`, an
    /// otherwise empty victim gives up its `runnext`.
    // lab(runqueue): grab half of the victim into your ring, publish all but the last, and return the last to run now
    pub fn steal_into(&self, into: &RunQueue<T, N>, take_runnext: bool) -> Option<(*mut T, usize)> {
        let into_tail = into.tail.load(Ordering::Relaxed);
        let n = self.grab(into, into_tail, take_runnext);
        if n == 0 {
            return None;
        }
        let last = into.slots[(into_tail.wrapping_add(n - 1) & Self::MASK) as usize].load(Ordering::Relaxed);
        if n > 1 {
            into.tail.store(into_tail.wrapping_add(n - 1), Ordering::Release);
        }
        Some((last, n as usize))
    }

    /// Copies up to half of the ring into `into`'s slots from `into_tail`
    /// on, and claims them; returns how many.
    // lab(runqueue): copy up to half (rounded up) of the ring into `into` from `into_tail`, then claim them with one CAS on head
    fn grab(&self, into: &RunQueue<T, N>, into_tail: u32, take_runnext: bool) -> u32 {
        loop {
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Acquire);
            let available = tail.wrapping_sub(head);
            let n = available - available / 2;
            if n == 0 {
                if !take_runnext {
                    return 0;
                }
                return match self.take_runnext() {
                    Some(next) => {
                        into.slots[(into_tail & Self::MASK) as usize].store(next, Ordering::Relaxed);
                        1
                    }
                    None => 0,
                };
            }
            if n > N as u32 / 2 {
                continue; // read head and tail at different moments: retry
            }
            for i in 0..n {
                let entry = self.slots[(head.wrapping_add(i) & Self::MASK) as usize].load(Ordering::Relaxed);
                into.slots[(into_tail.wrapping_add(i) & Self::MASK) as usize].store(entry, Ordering::Relaxed);
            }
            if self.head.compare_exchange(head, head.wrapping_add(n), Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                return n;
            }
        }
    }
}

#[cfg(test)]
mod tests;
