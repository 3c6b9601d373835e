//! `Once`: run something exactly once, whoever asks first (Go's
//! `sync.Once`). Routines that ask while it runs park until it is done.

use crate::lock::SpinLock;
use crate::sched::{self, RoutineQueue};

struct State {
    done: bool,
    running: bool,
    waiters: RoutineQueue,
}

pub struct Once {
    state: SpinLock<State>,
}

impl Once {
    pub const fn new() -> Once {
        Once { state: SpinLock::new(State { done: false, running: false, waiters: RoutineQueue::new() }) }
    }

    /// Runs `f` if no call has run it yet; returns once it has run.
    pub fn call_once(&self, f: impl FnOnce()) {
        let mut state = self.state.lock();
        if state.done {
            return;
        }
        if state.running {
            state.waiters.push_back(sched::current_locked());
            sched::park(state, sched::Wait::ONCE);
            return;
        }
        state.running = true;
        drop(state);
        f();
        let mut state = self.state.lock();
        state.done = true;
        while let Some(waiter) = state.waiters.pop_front() {
            sched::ready(waiter);
        }
    }
}
