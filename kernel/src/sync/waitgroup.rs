//! `WaitGroup`: wait for a known number of routines to finish (Go's
//! `sync.WaitGroup`). `add(n)` before starting them, `done()` in each,
//! `wait()` where their work is needed. Cloning shares the same group.

use alloc::sync::Arc;

use crate::sched::{self, RoutineQueue};
use crate::sync::spin::SpinLock;

struct State {
    count: i64,
    waiters: RoutineQueue,
}

#[derive(Clone)]
pub struct WaitGroup(Arc<SpinLock<State>>);

impl WaitGroup {
    pub fn new() -> WaitGroup {
        WaitGroup(Arc::new(SpinLock::new(State { count: 0, waiters: RoutineQueue::new() })))
    }

    /// Adds `delta` (may be negative) to the counter; at zero, every waiter
    /// wakes. Panics if the counter would go below zero.
    pub fn add(&self, delta: i64) {
        let mut state = self.0.lock();
        state.count += delta;
        if state.count < 0 {
            drop(state);
            panic!("sync: negative WaitGroup counter");
        }
        if state.count == 0 {
            while let Some(waiter) = state.waiters.pop_front() {
                sched::ready(waiter);
            }
        }
    }

    /// One routine of the group is done: `add(-1)`.
    pub fn done(&self) {
        self.add(-1);
    }

    /// Waits until the counter is zero.
    pub fn wait(&self) {
        let mut state = self.0.lock();
        if state.count == 0 {
            return;
        }
        state.waiters.push_back(sched::current());
        sched::park(state, sched::Wait::WaitGroup);
    }
}
