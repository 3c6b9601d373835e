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

mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use core::mem::MaybeUninit;

    /// Stand-ins for routines: zeroed control blocks, of which the queue
    /// touches only the link (a null pointer when zeroed). Never read as
    /// whole `Routine`s.
    fn stand_ins(n: usize) -> Vec<*mut Routine> {
        (0..n).map(|_| Box::into_raw(Box::new(MaybeUninit::<Routine>::zeroed())).cast::<Routine>()).collect()
    }

    fn free(routines: Vec<*mut Routine>) {
        for routine in routines {
            // SAFETY: made by `stand_ins` with `Box::into_raw`, freed once.
            drop(unsafe { Box::from_raw(routine.cast::<MaybeUninit<Routine>>()) });
        }
    }

    crate::ktest! {
        /// First in, first out, through emptying and refilling: the tail is
        /// reset when the last routine leaves, and a routine can come back.
        fn routines_leave_in_the_order_they_came() {
            let r = stand_ins(3);
            let (a, b, c) = (r[0], r[1], r[2]);
            let mut queue = RoutineQueue::new();
            assert_eq!((queue.len(), queue.pop_front()), (0, None));
            queue.push_back(a);
            queue.push_back(b);
            queue.push_back(c);
            assert_eq!(queue.len(), 3);
            assert_eq!(queue.pop_front(), Some(a));
            queue.push_back(a);
            let order: Vec<_> = core::iter::from_fn(|| queue.pop_front()).collect();
            assert_eq!(order, [b, c, a]);
            assert_eq!((queue.len(), queue.pop_front()), (0, None));
            queue.push_back(c);
            assert_eq!((queue.len(), queue.pop_front(), queue.pop_front()), (1, Some(c), None));
            free(r);
        }
    }
}
