//! An intrusive FIFO of routines, linked through `Routine::next`: the global
//! run queue and the wait queues of channels, mutexes and the like. A routine
//! is in at most one such queue at a time, so one link field is enough and
//! queueing never allocates.

use core::ptr::null_mut;

use super::routine::Routine;

pub struct RoutineQueue {
    head: *mut Routine,
    tail: *mut Routine,
    len: usize,
}

// SAFETY: the queue is always used behind a lock; the routines it links are
// owned by the queue while inside it.
unsafe impl Send for RoutineQueue {}

impl RoutineQueue {
    pub const fn new() -> RoutineQueue {
        RoutineQueue { head: null_mut(), tail: null_mut(), len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends `routine`, which must not be in any queue.
    pub fn push_back(&mut self, routine: *mut Routine) {
        // SAFETY: the caller owns `routine` and hands it to the queue.
        unsafe { (*routine).next.set(null_mut()) };
        if self.tail.is_null() {
            self.head = routine;
        } else {
            // SAFETY: `tail` is in the queue, so alive.
            unsafe { (*self.tail).next.set(routine) };
        }
        self.tail = routine;
        self.len += 1;
    }

    /// Takes the oldest routine.
    pub fn pop_front(&mut self) -> Option<*mut Routine> {
        if self.head.is_null() {
            return None;
        }
        let routine = self.head;
        // SAFETY: `head` is in the queue, so alive.
        self.head = unsafe { (*routine).next.get() };
        if self.head.is_null() {
            self.tail = null_mut();
        }
        self.len -= 1;
        Some(routine)
    }
}
