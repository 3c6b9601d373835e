//! `WaitGroup`: wait for a known number of routines to finish (Go's
//! `sync.WaitGroup`). `add(n)` before starting them, `done()` in each,
//! `wait()` where their work is needed. Cloning shares the same group.
//!
//! The counter is an atomic, so `add` and `done` take no lock unless they
//! bring it to zero (then the waiters' lock, to wake whoever waits). Waiters
//! queue under that lock and re-check the counter there, so a `done` that
//! reaches zero while a routine is about to park cannot be missed.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicI64, Ordering};

use crate::lock::SpinLock;
use crate::sched::{self, RoutineQueue};

struct State {
    count: AtomicI64,
    waiters: SpinLock<RoutineQueue>,
}

#[derive(Clone)]
pub struct WaitGroup(Arc<State>);

impl WaitGroup {
    pub fn new() -> WaitGroup {
        WaitGroup(Arc::new(State { count: AtomicI64::new(0), waiters: SpinLock::new(RoutineQueue::new()) }))
    }

    /// Adds `delta` (may be negative) to the counter; at zero, every waiter
    /// wakes. Panics if the counter would go below zero.
    // lab(select): add to the counter; below zero panic as Go does; at zero wake every waiter
    pub fn add(&self, delta: i64) {
        let count = self.0.count.fetch_add(delta, Ordering::AcqRel) + delta;
        if count < 0 {
            panic!("sync: negative WaitGroup counter");
        }
        if count == 0 {
            let mut waiters = self.0.waiters.lock();
            while let Some(waiter) = waiters.pop_front() {
                sched::ready(waiter);
            }
        }
    }

    /// One routine of the group is done: `add(-1)`.
    pub fn done(&self) {
        self.add(-1);
    }

    /// Waits until the counter is zero.
    // lab(select): return at zero; else queue under the waiters' lock, checking the counter again there, and park
    pub fn wait(&self) {
        if self.0.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut waiters = self.0.waiters.lock();
        if self.0.count.load(Ordering::Acquire) == 0 {
            return;
        }
        waiters.push_back(sched::current_locked());
        sched::park(waiters, sched::Wait::WAIT_GROUP);
    }
}
