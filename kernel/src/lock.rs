//! The kernel's spin lock, which also keeps the holder on its core.
//!
//! Taking a [`SpinLock`] disables interrupts on this core until the guard is
//! dropped. Two things follow, and the kernel relies on both:
//! - an interrupt handler on this core can never spin on a lock its own core
//!   holds, so handlers may take spin locks;
//! - the timer interrupt cannot preempt a routine while it holds any spin
//!   lock (the console, the allocator, a run queue): the preemption is only
//!   taken once the last lock is dropped and interrupts come back on.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::interrupts::{disable_interrupts, restore_interrupts};

/// A test-and-set lock. `locked` comes first (`repr(C)`), so that a parked
/// routine's lock can be released through a pointer to it alone
/// ([`ParkedLock`]), whatever `T` is.
#[repr(C)]
pub struct SpinLock<T> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only by the holder of the lock, which
// `locked` makes one core at a time; moving it between cores needs `T: Send`.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: the lock owns its data; sending it sends the data.
unsafe impl<T: Send> Send for SpinLock<T> {}

pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
    interrupts_were_enabled: bool,
}

/// The lock of a routine that parked while holding it, given up by
/// [`SpinLockGuard::into_parked`]: released by the next context once the
/// routine's registers are saved ([`ParkedLock::release`]).
#[derive(Clone, Copy)]
pub struct ParkedLock(*const AtomicBool);

impl ParkedLock {
    /// Releases the lock.
    ///
    /// # Safety
    /// The lock is held through the guard this came from, and released once.
    pub unsafe fn release(self) {
        // SAFETY: `SpinLock`s are never freed while held, and this one is
        // held (the caller's contract).
        unsafe { (*self.0).store(false, Ordering::Release) }
    }
}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> SpinLock<T> {
        SpinLock { locked: AtomicBool::new(false), data: UnsafeCell::new(value) }
    }

    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let interrupts_were_enabled = disable_interrupts();
        self.acquire();
        SpinLockGuard { lock: self, interrupts_were_enabled }
    }

    /// Takes the lock if it is free, without waiting.
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        let interrupts_were_enabled = disable_interrupts();
        if self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            return Some(SpinLockGuard { lock: self, interrupts_were_enabled });
        }
        restore_interrupts(interrupts_were_enabled);
        None
    }

    /// Takes the lock: one compare-and-swap when it is free, which is the
    /// common case; the wait is out of line.
    #[inline]
    fn acquire(&self) {
        if self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.acquire_contended();
        }
    }

    #[cold]
    fn acquire_contended(&self) {
        loop {
            // Read-only while it is taken, so waiters do not fight over the line.
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
            if self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return;
            }
        }
    }

    /// Releases the lock whoever holds it. Only for the panic path, when every
    /// other core has been stopped and the holder will never release it.
    ///
    /// # Safety
    /// No guard for this lock may be used afterwards.
    pub unsafe fn force_unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }

    /// Takes the lock without a guard and without touching the interrupt
    /// flag, for code that holds several locks across a context switch
    /// (`select`). Reach the data with [`data_raw`](Self::data_raw).
    ///
    /// # Safety
    /// Interrupts must be off until the matching [`unlock_raw`](Self::unlock_raw).
    pub unsafe fn lock_raw(&self) {
        self.acquire();
    }

    /// The protected data, for the holder of a [`lock_raw`](Self::lock_raw) lock.
    ///
    /// # Safety
    /// The caller holds the lock through `lock_raw` and no other reference
    /// to the data is live.
    pub unsafe fn data_raw(&self) -> *mut T {
        self.data.get()
    }

    /// Releases a lock taken with [`lock_raw`](Self::lock_raw).
    ///
    /// # Safety
    /// The lock must be held through `lock_raw`, and released once.
    pub unsafe fn unlock_raw(&self) {
        self.locked.store(false, Ordering::Release);
    }
}

impl<'a, T> SpinLockGuard<'a, T> {
    /// Gives up the guard without releasing the lock or re-enabling
    /// interrupts: for parking a routine, whose lock is released by the next
    /// context once the routine's registers are saved. Returns the lock (for
    /// [`ParkedLock::release`]) and whether interrupts were enabled.
    pub fn into_parked(self) -> (ParkedLock, bool) {
        let this = core::mem::ManuallyDrop::new(self);
        (ParkedLock(&this.lock.locked), this.interrupts_were_enabled)
    }
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock: no other reference to the data.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` makes this the
        // only reference through it.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        restore_interrupts(self.interrupts_were_enabled);
    }
}

mod tests {
    use super::*;
    use crate::arch::interrupts::interrupts_enabled;
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicUsize, Ordering};

    crate::ktest! {
        /// Holding a spin lock keeps interrupts off (so the holder is never
        /// preempted); the last guard dropped turns them back on.
        fn a_held_lock_keeps_interrupts_off_until_released() {
            assert!(interrupts_enabled(), "routines run with interrupts on");
            let lock = SpinLock::new(0u32);
            let held = lock.lock();
            assert!(!interrupts_enabled());
            assert!(lock.try_lock().is_none(), "a held lock cannot be taken again");
            assert!(!interrupts_enabled(), "a failed try_lock leaves them off");
            let inner = SpinLock::new(());
            drop(inner.lock());
            assert!(!interrupts_enabled(), "an inner lock's release leaves them off");
            drop(held);
            assert!(interrupts_enabled());
            assert_eq!(lock.try_lock().map(|guard| *guard), Some(0));
            assert!(interrupts_enabled());
        }

        /// Routines on four cores increment one counter under the lock with
        /// a plain read and write: no update is lost.
        #[cores(4)]
        fn four_cores_incrementing_under_the_lock_lose_no_update() {
            const WORKERS: usize = 4;
            const EACH: u64 = 20_000;
            static COUNTER: SpinLock<u64> = SpinLock::new(0);
            static ARRIVED: AtomicUsize = AtomicUsize::new(0);
            let workers: Vec<_> = (0..WORKERS)
                .map(|_| {
                    crate::sched::go(|| {
                        // Start together, so that the cores contend.
                        ARRIVED.fetch_add(1, Ordering::AcqRel);
                        while ARRIVED.load(Ordering::Acquire) < WORKERS {
                            crate::sched::yield_now();
                        }
                        for _ in 0..EACH {
                            let mut counter = COUNTER.lock();
                            let seen = core::hint::black_box(*counter);
                            *counter = seen + 1;
                        }
                    })
                })
                .collect();
            workers.into_iter().for_each(crate::sched::JoinHandle::join);
            assert_eq!(*COUNTER.lock(), WORKERS as u64 * EACH);
        }
    }
}
