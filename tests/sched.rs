//! The routine scheduler: interleaving on one core, parallelism on several,
//! preemption, stealing, many routines, and the three ways a run ends
//! (main returns, deadlock, panic).

mod common;

use common::*;

/// The lines routines printed, without their `[cpu N rM]` tag padding.
fn routine_lines(report: &Report) -> Vec<String> {
    report
        .console
        .iter()
        .filter(|l| l.starts_with("[cpu "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The number just before `word` in the first line containing `prefix`.
fn number_before(report: &Report, prefix: &str, word: &str) -> u64 {
    let line = report
        .console
        .iter()
        .find(|l| l.contains(prefix))
        .unwrap_or_else(|| panic!("no line contains {prefix:?}; console:\n{}", report.text()));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| w.trim_end_matches([',', ';']) == word).expect(word);
    words[at - 1].parse().unwrap_or_else(|_| panic!("no number before {word:?} in {line:?}"))
}

#[test]
fn one_core_interleaves_deterministically() {
    let cmdline = "selfcheck kind=interleave seed=7";
    let first = boot_repeatable(cmdline);
    let second = boot_repeatable(cmdline);
    expect_outcome(&first, Outcome::Success);
    expect_outcome(&second, Outcome::Success);
    let lines = routine_lines(&first);
    assert_eq!(lines, routine_lines(&second), "two runs interleaved differently");
    // Round robin: nine steps, all on cpu 0, no routine twice in a row.
    let steps: Vec<&String> = lines.iter().filter(|l| l.contains(" step ")).collect();
    assert_eq!(steps.len(), 9, "{lines:#?}");
    assert!(steps.iter().all(|l| l.starts_with("[cpu 0 ")), "{lines:#?}");
    for pair in steps.windows(2) {
        assert_ne!(pair[0].split(' ').nth(2), pair[1].split(' ').nth(2), "{lines:#?}");
    }
}

#[test]
fn four_busy_routines_run_at_the_same_instant_on_four_cores() {
    let report = boot(4, "selfcheck kind=parallel");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "parallel: 4 routines running at the same instant on 4 cores");
    for cpu in 0..4 {
        expect_line(&report, &format!("parallel: cpu {cpu} ran routine "));
    }
}

#[test]
fn a_tight_loop_is_preempted_and_the_others_still_finish_on_one_core() {
    let report = boot(2, "selfcheck kind=preempt cpus=1");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "all 3 others finished");
    assert!(number_before(&report, "preempt:", "times") >= 1, "{}", report.text());
}

#[test]
fn routines_spawned_on_one_core_are_stolen_by_the_others() {
    let report = boot(4, "selfcheck kind=steal");
    expect_outcome(&report, Outcome::Success);
    assert!(number_before(&report, "steal:", "cores") >= 2, "{}", report.text());
    assert!(number_before(&report, "steal:", "stolen") >= 1, "{}", report.text());
}

#[test]
fn ten_thousand_routines_spawn_and_all_join() {
    let report = boot(4, "selfcheck kind=spawn");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "spawn: 10000 routines spawned and joined, sum 50005000 (expected 50005000)");
    expect_line(&report, "exit: main returned; routines spawned 10001, finished 10001, abandoned 0");
}

#[test]
fn main_returning_early_abandons_its_children() {
    let report = boot(2, "selfcheck kind=abandon");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "main: returning without waiting");
    expect_line(&report, "exit: main returned; routines spawned 4, finished 1, abandoned 3 (");
}

#[test]
fn a_deadlock_is_reported_with_the_blocked_routines_and_fails() {
    let report = boot(2, "selfcheck kind=deadlock");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "fatal error: all routines are asleep - deadlock!");
    expect_line(&report, "  routine 1 [a signal nobody sends]");
    expect_line(&report, "  routine 2 [join]");
    expect_line(&report, "  routine 3 [join]");
}

#[test]
fn a_panicking_routine_names_itself_and_its_core() {
    let report = boot(2, "selfcheck kind=panic");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "panic: deliberate panic in a child routine [routine 2 on cpu ");
}

#[test]
fn more_cpus_than_cores_online_is_refused_by_the_kernel() {
    let report = boot(2, "hello cpus=3");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "error: cpus=3 is more than the 2 cores online; valid: 1 to 2");
}

/// A timer interrupt that arrives while a routine's stack pointer sits just
/// above a page its stack has not grown into yet must still preempt it, and
/// the core's timer must keep working afterwards (it once went deaf for
/// good: the interrupt frame's push faulted and the interrupt was lost).
#[test]
fn timer_interrupts_on_stacks_not_yet_grown_still_preempt_and_the_timer_keeps_working() {
    for (smp, cpus) in [(1, 1), (4, 4)] {
        let report = boot(smp, &format!("selfcheck kind=stack-edge cpus={cpus} slice=1"));
        expect_outcome(&report, Outcome::Success);
        expect_line(&report, "stack-edge: 256 routines at every 16-byte stack position, 0 never preempted");
        expect_line(&report, "stack-edge: a 5 ms sleep afterwards returned");
    }
}

/// A result nobody joins is dropped by a routine, where its `Drop` may
/// block, never inside a context switch: whether the handle goes before the
/// routine returns or after.
#[test]
fn unjoined_results_are_dropped_by_routines_where_drop_may_block() {
    for cpus in [1, 4] {
        let report = boot(4, &format!("selfcheck kind=unjoined-results cpus={cpus}"));
        expect_outcome(&report, Outcome::Success);
        expect_line(&report, "unjoined-results: 16 of 16 results dropped by routines");
    }
}

#[test]
fn a_sleep_to_the_end_of_time_never_ends_and_breaks_nothing() {
    let report = boot(2, "selfcheck kind=sleep-forever");
    expect_outcome(&report, Outcome::Success);
    expect_line(
        &report,
        "exit: main returned; routines spawned 3, finished 1, abandoned 2 (2 blocked, 0 runnable, 0 running)",
    );
}

/// When main returns right after a routine woke it, and that routine is
/// still running, the summary says so plainly rather than leave a student
/// to read a bare "1 running" as a bug in a correct program.
#[test]
fn the_exit_summary_names_the_routine_that_had_just_woken_main() {
    let report = boot(2, "selfcheck kind=woke-main");
    expect_outcome(&report, Outcome::Success);
    // Routine 2 is running when main returns, or runnable if it was
    // preempted first (main then ran on its core, its slice used up while
    // the other core, stalled by the host, did not take main): the note
    // names it either way.
    let lines = [
        "exit: main returned; routines spawned 2, finished 1, abandoned 1 (0 blocked, 0 runnable, 1 running); routine 2 had just woken main and had not returned yet",
        "exit: main returned; routines spawned 2, finished 1, abandoned 1 (0 blocked, 1 runnable, 0 running); routine 2 had just woken main and had not returned yet",
    ];
    assert!(
        report.console.iter().any(|l| lines.contains(&l.as_str())),
        "no exit summary naming routine 2 as main's waker; console:\n{}",
        report.text()
    );
}

/// A wake by main's own timer names no routine, even the one the timer
/// interrupted: at one core, main sleeps beside a routine that never stops,
/// and returns once it is back.
#[test]
fn a_main_woken_by_its_own_timer_names_no_waker() {
    let report = boot(2, "selfcheck kind=timer-woke-main cpus=1");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "main: woken by its timer; returning");
    expect_line(
        &report,
        "exit: main returned; routines spawned 2, finished 1, abandoned 1 (0 blocked, 1 runnable, 0 running)",
    );
    assert!(!report.text().contains("had just woken main"), "{}", report.full_text());
}
