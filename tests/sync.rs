//! Channels, select, WaitGroup, Mutex, Once and timers, checked inside the
//! kernel on one core and on four, plus the misuses that must fail a run.

mod common;

use common::*;

/// Every check `synccheck kind=all` runs, by the start of its `ok:` line.
const CHECKS: &[&str] = &[
    "ok: rendezvous: 200 unbuffered sends each completed only when received",
    "ok: handoff: a waiting receiver got the value directly (buffer stayed empty)",
    "ok: buffered: FIFO order [1, 2, 3, 4]; the 4th send into a 3-slot buffer blocked until a receive",
    "ok: close: drained then None; `for v in &rx` ended; a waiting receiver woke with None",
    "ok: select fairness: 10000 selects",
    "ok: select: default when nothing is ready; blocked until a case was ready; send case delivered",
    "ok: many-to-many: 800000 messages received exactly once, checksum 319999600000 (expected 319999600000)",
    "ok: mutex: 8 routines x 10000 increments = 80000",
    "ok: waitgroup: wait returned after the 5 routines in the group, while the one outside it was still blocked",
    "ok: once: 8 callers, 1 run",
    "ok: timers: after(3 ms) waited",
];

fn expect_all_checks(report: &Report) {
    expect_outcome(report, Outcome::Success);
    for check in CHECKS {
        expect_line(report, check);
    }
    // Fairness: each of two always-ready cases within 5% of half.
    let line = report.console.iter().find(|l| l.contains("ok: select fairness")).unwrap();
    let count = |name: &str| -> u32 {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == name).unwrap();
        words[at + 1].parse().unwrap()
    };
    let (a, b) = (count("a"), count("b"));
    assert_eq!(a + b, 10_000, "{line}");
    assert!((4750..=5250).contains(&a), "select chose a {a} times of 10000: {line}");
}

#[test]
fn sync_checks_pass_on_one_core() {
    expect_all_checks(&boot(4, "synccheck kind=all cpus=1"));
}

#[test]
fn sync_checks_pass_on_four_cores() {
    expect_all_checks(&boot(4, "synccheck kind=all"));
}

#[test]
fn sending_on_a_closed_channel_panics_the_sender() {
    let report = boot(2, "synccheck kind=send-closed");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "panic: send on closed channel [routine 2 on cpu ");
}

#[test]
fn closing_a_closed_channel_panics() {
    let report = boot(2, "synccheck kind=close-twice");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "panic: close of closed channel [routine 1 on cpu ");
}

#[test]
fn a_negative_waitgroup_counter_panics_naming_the_routine() {
    let report = boot(2, "synccheck kind=waitgroup-negative");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "panic: sync: negative WaitGroup counter [routine 2 on cpu ");
}

#[test]
fn receiving_where_nobody_can_send_is_a_deadlock() {
    let report = boot(2, "synccheck kind=deadlock");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "fatal error: all routines are asleep - deadlock!");
    expect_line(&report, "  routine 1 [chan receive]");
}
