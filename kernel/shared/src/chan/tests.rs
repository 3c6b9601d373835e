//! Channel semantics on the host: hand-off, FIFO order, blocking points,
//! close, and select waiters that fired elsewhere.

use super::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A test waiter: an id, maybe a value to send, what it was completed with,
/// and (for select) a flag shared with its sibling cases.
#[derive(Clone)]
struct TestWaiter {
    id: u32,
    value: Rc<RefCell<Option<u32>>>,
    done: Rc<RefCell<Option<Completion<u32>>>>,
    select_fired: Option<Rc<Cell<bool>>>,
}

impl std::fmt::Debug for TestWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "waiter {}", self.id)
    }
}

impl PartialEq for TestWaiter {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl TestWaiter {
    fn receiver(id: u32) -> Self {
        TestWaiter { id, value: Rc::default(), done: Rc::default(), select_fired: None }
    }
    fn sender(id: u32, value: u32) -> Self {
        TestWaiter { value: Rc::new(RefCell::new(Some(value))), ..Self::receiver(id) }
    }
    fn in_select(mut self, fired: &Rc<Cell<bool>>) -> Self {
        self.select_fired = Some(fired.clone());
        self
    }
    fn completion(&self) -> Option<Completion<u32>> {
        self.done.borrow_mut().take()
    }
}

impl Waiter<u32> for TestWaiter {
    fn claim(&self) -> bool {
        match &self.select_fired {
            Some(fired) => !fired.replace(true),
            None => true,
        }
    }
    fn take_value(&self) -> u32 {
        self.value.borrow_mut().take().expect("a sender has a value")
    }
    fn complete(&self, how: Completion<u32>) {
        assert!(self.done.borrow().is_none(), "completed twice");
        *self.done.borrow_mut() = Some(how);
    }
}

type Chan = ChanCore<u32, TestWaiter>;

#[test]
fn unbuffered_send_without_a_receiver_must_wait() {
    let mut c = Chan::new(0);
    assert_eq!(c.try_send(1), Err((1, Refusal::WouldBlock)));
    assert_eq!(c.try_recv().map(|(v, _)| v), Err(Refusal::WouldBlock));
}

#[test]
fn unbuffered_send_hands_the_value_directly_to_a_waiting_receiver() {
    let mut c = Chan::new(0);
    let r = TestWaiter::receiver(1);
    c.wait_to_recv(r.clone());
    let woken = c.try_send(42).unwrap();
    assert!(woken == Some(r.clone()));
    assert_eq!(r.completion(), Some(Completion::Received(42)));
    assert_eq!(c.len(), 0, "nothing went through the buffer");
}

#[test]
fn a_receiver_takes_the_value_of_a_waiting_sender_and_completes_it() {
    let mut c = Chan::new(0);
    let s = TestWaiter::sender(1, 7);
    c.wait_to_send(s.clone());
    let (value, woken) = c.try_recv().unwrap();
    assert_eq!(value, 7);
    assert!(woken == Some(s.clone()));
    assert_eq!(s.completion(), Some(Completion::Sent));
}

#[test]
fn waiting_receivers_are_served_in_arrival_order() {
    let mut c = Chan::new(0);
    let (a, b) = (TestWaiter::receiver(1), TestWaiter::receiver(2));
    c.wait_to_recv(a.clone());
    c.wait_to_recv(b.clone());
    c.try_send(10).unwrap();
    c.try_send(20).unwrap();
    assert_eq!(a.completion(), Some(Completion::Received(10)));
    assert_eq!(b.completion(), Some(Completion::Received(20)));
}

#[test]
fn buffered_values_come_out_in_fifo_order_and_a_full_buffer_blocks() {
    let mut c = Chan::new(3);
    for v in 1..=3 {
        assert_eq!(c.try_send(v), Ok(None));
    }
    assert_eq!(c.try_send(4), Err((4, Refusal::WouldBlock)));
    let got: Vec<u32> = (0..3).map(|_| c.try_recv().unwrap().0).collect();
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(c.try_recv().map(|(v, _)| v), Err(Refusal::WouldBlock));
}

#[test]
fn a_freed_slot_goes_to_the_oldest_waiting_sender_keeping_order() {
    let mut c = Chan::new(1);
    c.try_send(1).unwrap();
    let (s2, s3) = (TestWaiter::sender(2, 2), TestWaiter::sender(3, 3));
    c.wait_to_send(s2.clone());
    c.wait_to_send(s3.clone());
    let (v, woken) = c.try_recv().unwrap();
    assert_eq!(v, 1);
    assert!(woken == Some(s2.clone()));
    assert_eq!(s2.completion(), Some(Completion::Sent));
    assert_eq!(c.try_recv().unwrap().0, 2);
    assert_eq!(c.try_recv().unwrap().0, 3);
}

#[test]
fn close_drains_the_buffer_then_reports_closed() {
    let mut c = Chan::new(2);
    c.try_send(1).unwrap();
    c.try_send(2).unwrap();
    assert!(c.close().unwrap().is_empty());
    assert_eq!(c.try_recv().unwrap().0, 1);
    assert_eq!(c.try_recv().unwrap().0, 2);
    assert_eq!(c.try_recv().map(|(v, _)| v), Err(Refusal::Closed));
    assert!(c.can_recv(), "a closed channel never blocks a receiver");
}

#[test]
fn send_on_a_closed_channel_is_refused() {
    let mut c = Chan::new(1);
    c.close().unwrap();
    assert_eq!(c.try_send(5), Err((5, Refusal::Closed)));
}

#[test]
fn closing_twice_is_refused() {
    let mut c = Chan::new(0);
    c.close().unwrap();
    assert_eq!(c.close().map(|_| ()), Err(Refusal::Closed));
}

#[test]
fn close_completes_every_waiter_with_closed() {
    let mut c = Chan::new(0);
    let (r, s) = (TestWaiter::receiver(1), TestWaiter::sender(2, 9));
    c.wait_to_recv(r.clone());
    c.wait_to_send(s.clone());
    let woken = c.close().unwrap();
    assert_eq!(woken.len(), 2);
    assert_eq!(r.completion(), Some(Completion::Closed));
    assert_eq!(s.completion(), Some(Completion::Closed));
}

#[test]
fn select_waiters_that_fired_elsewhere_are_skipped() {
    let mut c = Chan::new(0);
    let fired = Rc::new(Cell::new(false));
    let stale = TestWaiter::receiver(1).in_select(&fired);
    let sibling = TestWaiter::receiver(2).in_select(&fired);
    let plain = TestWaiter::receiver(3);
    c.wait_to_recv(stale.clone());
    c.wait_to_recv(plain.clone());
    // The select's other case fired first.
    assert!(sibling.claim());
    assert!(c.try_send(5).unwrap() == Some(plain.clone()));
    assert_eq!(stale.completion(), None);
    assert_eq!(plain.completion(), Some(Completion::Received(5)));
}

#[test]
fn forgetting_a_waiter_removes_it() {
    let mut c = Chan::new(0);
    let r = TestWaiter::receiver(1);
    c.wait_to_recv(r.clone());
    c.forget(&r);
    assert_eq!(c.try_send(1), Err((1, Refusal::WouldBlock)));
}

#[test]
fn len_counts_buffered_values_and_cap_is_fixed_at_creation() {
    let mut c = Chan::new(3);
    assert_eq!((c.len(), c.capacity()), (0, 3));
    c.try_send(1).unwrap();
    c.try_send(2).unwrap();
    assert_eq!((c.len(), c.capacity()), (2, 3));
    c.try_recv().unwrap();
    assert_eq!((c.len(), c.capacity()), (1, 3));
}

#[test]
fn waiting_senders_values_are_not_counted_by_len() {
    let mut c = Chan::new(1);
    c.try_send(1).unwrap();
    c.wait_to_send(TestWaiter::sender(1, 2));
    c.wait_to_send(TestWaiter::sender(2, 3));
    assert_eq!((c.len(), c.capacity(), c.waiting_senders()), (1, 1, 2));
    let mut unbuffered = Chan::new(0);
    unbuffered.wait_to_send(TestWaiter::sender(3, 4));
    assert_eq!((unbuffered.len(), unbuffered.capacity(), unbuffered.waiting_senders()), (0, 0, 1));
}

#[test]
fn a_closed_channel_keeps_its_buffered_values_in_len() {
    let mut c = Chan::new(2);
    c.try_send(1).unwrap();
    c.close().unwrap();
    assert_eq!((c.len(), c.capacity()), (1, 2));
    c.try_recv().unwrap();
    assert_eq!(c.len(), 0);
}
