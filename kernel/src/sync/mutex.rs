//! `Mutex<T>`: mutual exclusion for routines (Go's `sync.Mutex`, holding
//! its data as Rust does). A routine that finds it locked parks instead of
//! spinning; unlocking hands the mutex directly to the longest waiter, so
//! waiters are served in order and none starves.
//!
//! Thread-safety is std's: a `Mutex<T>` is shared between routines if `T`
//! can be sent (`T: Send`); a `MutexGuard` is `Sync` only if `T: Sync`,
//! since sharing the guard shares `&T`. (It is `Send` for `T: Send`,
//! unlike std's: unlocking from another routine is fine here, as in Go.)

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::lock::SpinLock;
use crate::sched::{self, RoutineQueue};

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
// SAFETY: a Mutex owns its `T`; sending the Mutex sends the `T`, which is Send.
unsafe impl<T: Send> Send for Mutex<T> {}

pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    /// The guard hands out `&T` and `&mut T`, so it is `Send`/`Sync` only as
    /// `&mut T` is. Without this it would be `Sync` for any `T: Send`
    /// through `&Mutex<T>`, and a shared guard would let two routines reach
    /// one `Cell` at once.
    _data: PhantomData<&'a mut T>,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            state: SpinLock::new(State { locked: false, waiters: RoutineQueue::new() }),
            data: UnsafeCell::new(value),
        }
    }

    /// Locks the mutex, parking until it is free.
    // lab(select): take the mutex if free; else queue and park until `unlock` hands it over, still locked
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let mut state = self.state.lock();
        if !state.locked {
            state.locked = true;
            return MutexGuard { mutex: self, _data: PhantomData };
        }
        state.waiters.push_back(sched::current_locked());
        // Woken by `unlock`, which handed the mutex over still locked.
        sched::park(state, sched::Wait::MUTEX);
        MutexGuard { mutex: self, _data: PhantomData }
    }

    // lab(select): hand the mutex to the longest waiter (it stays locked), or mark it free
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
