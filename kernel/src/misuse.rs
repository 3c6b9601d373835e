//! Misuses of the routine API that must not compile, one function each
//! (`misuse_*`). Compiled only with the `compile-fail-checks` feature;
//! `tests/compile_fail.rs` checks the kernel with it and asserts that each
//! function gets its expected error, and that the kernel checks clean
//! without it. A function here that starts to compile is a soundness hole
//! (or a Go divergence) come back.

#![allow(dead_code, unused_variables, unreachable_code)]

use alloc::rc::Rc;
use alloc::sync::Arc;
use core::cell::Cell;

use crate::api::*;

/// A shared `MutexGuard` would let two routines `.set()` one `Cell` at
/// once: the guard must be `Sync` only if `T` is (E0277).
fn misuse_shared_mutex_guard_of_a_cell() {
    static COUNTER: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));
    let guard = Arc::new(COUNTER.lock());
    let other = guard.clone();
    go(move || other.set(1));
    guard.set(2);
}

/// A `Mutex` shares its data between routines: `T` must be `Send` (E0277).
fn misuse_mutex_of_an_rc_shared() {
    static SHARED: Mutex<Option<Rc<u64>>> = Mutex::new(None);
    go(|| SHARED.lock().take());
}

/// A channel moves its values between routines: `T` must be `Send` (E0277).
fn misuse_channel_of_an_rc() {
    let (tx, rx) = chan::<Rc<u64>>(1);
}

/// A routine's result goes to whoever joins it, on any core (E0277).
fn misuse_routine_result_that_is_not_send() {
    let handle = go(|| Rc::new(1u64));
}

/// Go's `break` in a select leaves the select; Rust's would leave the
/// loop. An unlabeled one must not compile (E0695).
fn misuse_unlabeled_break_in_a_select_arm() {
    let (tx, rx) = chan::<u32>(1);
    loop {
        select! {
            recv(rx) -> v => { if v.is_none() { break; } },
        }
    }
}

/// The same in a `default` arm, the usual place for a loop's way out (E0695).
fn misuse_unlabeled_break_in_a_select_default_arm() {
    let (tx, rx) = chan::<u32>(1);
    loop {
        select! {
            recv(rx) -> v => {},
            default => { break; },
        }
    }
}

/// `continue` in an arm must name its loop too (E0695).
fn misuse_unlabeled_continue_in_a_select_arm() {
    let (tx, rx) = chan::<u32>(1);
    for _ in 0..3 {
        select! {
            recv(rx) -> v => { if v.is_none() { continue; } },
        }
    }
}

/// Go allows one `default` per select; a second is refused.
fn misuse_two_default_cases_in_a_select() {
    let (tx, rx) = chan::<u32>(1);
    select! {
        default => {},
        recv(rx) -> v => {},
        default => {},
    }
}
