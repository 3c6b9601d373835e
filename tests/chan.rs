//! Go's channel semantics (`chancheck`): random choice among select cases
//! on one channel, nil channels, len/cap, wide and dynamic selects, at one
//! core and at four, across seeds; and the runs Go's runtime would end
//! (blocked on nil channels, on a channel whose senders are gone, a panic
//! on closing a nil channel). Where `default` may go, labeled `break` in
//! arms and dropped senders are kernel tests (`tests/kernel_tests.rs`).

mod common;

use common::*;

/// Every check `chancheck kind=all` runs, by the start of its `ok:` line.
const CHECKS: &[&str] = &[
    "ok: same-channel receive cases, unbuffered: ",
    "ok: same-channel send cases, unbuffered: ",
    "ok: same-channel receive cases, buffered: ",
    "ok: same-channel send cases, buffered: ",
    "ok: nil cases: never fired in 1000 polls or while waiting; merged two channels to their close, switching each off with None (sum 465)",
    "ok: len and cap: both ends agree (2 of 3, then 1), unbuffered 0 of 0, nil 0 of 0",
    "ok: wide select: 20 cases, each fired alone and after waiting; 12 ready at once won ",
    "ok: dynamic select: 200 values from 10 channels until each closed (checksum 901900); send and default cases",
    "ok: evaluation order: [\"channel a\", \"channel b\", \"value b\"]; a channel received in the case and after(d) worked as temporaries",
    "ok: memory figures: a 1 MiB Vec raised the heap by ",
];

/// Seeds each core count is run at: the random choices differ per seed.
const SEEDS: [u64; 3] = [1, 2, 3];

fn expect_all_checks(cpus: u32) {
    for seed in SEEDS {
        let report = boot(4, &format!("chancheck kind=all cpus={cpus} seed={seed}"));
        expect_outcome(&report, Outcome::Success);
        for check in CHECKS {
            expect_line(&report, check);
        }
        // The kernel asserts each same-channel case won more than a tenth
        // of 100 rounds (Go's TestPseudoRandomSend); check the figures too.
        for line in report.console.iter().filter(|l| l.contains("ok: same-channel")) {
            let wins: Vec<u32> = line.split_whitespace().filter_map(|w| w.trim_end_matches(',').parse().ok()).collect();
            assert!(
                wins.len() == 5 && wins[1] > 10 && wins[3] > 10 && wins[1] + wins[3] == 100,
                "seed {seed}, cpus {cpus}: {line}"
            );
        }
    }
}

#[test]
fn go_channel_semantics_hold_on_one_core_at_several_seeds() {
    expect_all_checks(1);
}

#[test]
fn go_channel_semantics_hold_on_four_cores_at_several_seeds() {
    expect_all_checks(4);
}

fn expect_deadlock(kind: &str, routines: &[&str]) {
    let report = boot(2, &format!("chancheck kind={kind}"));
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "fatal error: all routines are asleep - deadlock!");
    for routine in routines {
        expect_line(&report, routine);
    }
}

#[test]
fn a_send_on_a_nil_channel_blocks_for_ever_into_the_deadlock_report() {
    expect_deadlock("nil-send", &["  routine 1 [chan send (nil chan)]"]);
}

#[test]
fn a_receive_on_a_nil_channel_blocks_for_ever_into_the_deadlock_report() {
    expect_deadlock("nil-recv", &["  routine 1 [join]", "  routine 2 [chan receive (nil chan)]"]);
}

#[test]
fn a_select_of_only_nil_cases_blocks_for_ever_into_the_deadlock_report() {
    expect_deadlock("nil-select", &["  routine 1 [select (no cases)]"]);
}

#[test]
fn dropping_every_sender_does_not_close_so_the_receiver_deadlocks_as_in_go() {
    expect_deadlock("dropped-sender", &["  routine 1 [chan receive]"]);
}

#[test]
fn closing_a_nil_channel_panics_at_the_callers_line() {
    let report = boot(2, "chancheck kind=close-nil");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "panic: close of nil channel [routine 1 on cpu ");
    expect_line(&report, "at kernel/src/programs/internal/chancheck.rs:");
}
