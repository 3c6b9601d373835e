//! `Mutex<T>`: mutual exclusion for routines (Go's `sync.Mutex`, holding
//! its data as Rust does). A routine that finds it locked parks instead of
//! spinning; unlocking hands the mutex directly to the longest waiter, so
//! waiters are served in order and none starves.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

use crate::sched::{self, RoutineQueue};
use crate::lock::SpinLock;

struct State {
    locked: bool,
    waiters: RoutineQueue,
}

pub struct Mutex<T> {
    state: SpinLock<State>,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through a guard, and one guard exists at a time.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Mutex<T> {}

pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            state: SpinLock::new(State { locked: false, waiters: RoutineQueue::new() }),
            data: UnsafeCell::new(value),
        }
    }

    /// Locks the mutex, parking until it is free.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let mut state = self.state.lock();
        if !state.locked {
            state.locked = true;
            return MutexGuard { mutex: self };
        }
        state.waiters.push_back(sched::current_locked());
        // Woken by `unlock`, which handed the mutex over still locked.
        sched::park(state, sched::Wait::MUTEX);
        MutexGuard { mutex: self }
    }

    fn unlock(&self) {
        let mut state = self.state.lock();
        match state.waiters.pop_front() {
            Some(next) => {
                drop(state);
                sched::ready(next);
            }
            None => state.locked = false,
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}
