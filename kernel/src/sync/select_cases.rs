//! Selects built at run time (Go's `reflect.Select`): a slice of
//! [`SelectCase`]s, as many as the program likes, of one element type.
//! Same machinery and guarantees as `select!` (`super::select`).

use alloc::vec::Vec;

use super::endpoint::{RecvChan, SendChan};
use super::select::{Case, RecvCase, SendCase, select};

/// One case of a select built at run time (Go's `reflect.SelectCase`), for
/// [`select_cases`].
pub enum SelectCase<'a, T: Send> {
    Recv(RecvCase<'a, T>),
    Send(SendCase<'a, T>),
    /// Runs if no other case can go at once; at most one per select.
    Default,
    /// A case on a nil channel: never fires (Go's way to switch a case off).
    Nil,
}

impl<'a, T: Send> SelectCase<'a, T> {
    /// A receive from `rx` (any [`RecvChan`]; `None` never fires).
    pub fn recv<C: RecvChan<Item = T> + ?Sized>(rx: &'a C) -> Self {
        SelectCase::Recv(RecvCase::new(rx))
    }

    /// A send of `value` on `tx` (any [`SendChan`]; `None` never fires).
    pub fn send<C: SendChan<Item = T> + ?Sized>(tx: &'a C, value: T) -> Self {
        SelectCase::Send(SendCase::new(tx, value))
    }
}

/// Go's `reflect.Select`: waits on the operations in `cases` and runs the
/// first that can go, as `select!` does. Returns the index of the case that
/// ran and, for a receive, what it received (`None`: closed); for a send
/// or the default, `None`.
///
/// A send case that ran gave up its value; the others keep theirs, so the
/// slice can be selected on again once the case that sent is replaced (a
/// send case without a value panics, naming its index). Panics if there is
/// more than one [`SelectCase::Default`], as Go's does.
pub fn select_cases<T: Send>(cases: &mut [SelectCase<'_, T>]) -> (usize, Option<T>) {
    let defaults: Vec<usize> = (0..cases.len()).filter(|&i| matches!(cases[i], SelectCase::Default)).collect();
    assert!(defaults.len() <= 1, "select_cases: more than one Default case (at indices {defaults:?})");
    let mut indices = Vec::with_capacity(cases.len());
    let mut live: Vec<&mut dyn Case> = Vec::with_capacity(cases.len());
    for (index, case) in cases.iter_mut().enumerate() {
        match case {
            SelectCase::Recv(recv) => live.push(recv),
            SelectCase::Send(send) => {
                assert!(send.has_value(), "select_cases: send case {index} has no value (it sent already; replace it)");
                live.push(send);
            }
            SelectCase::Default | SelectCase::Nil => continue,
        }
        indices.push(index);
    }
    let fired = select(&mut live, !defaults.is_empty());
    drop(live);
    match fired {
        None => (defaults[0], None),
        Some(i) => {
            let index = indices[i];
            match &mut cases[index] {
                SelectCase::Recv(recv) => (index, recv.take_outcome().expect("the case that fired has a result")),
                _ => (index, None),
            }
        }
    }
}
