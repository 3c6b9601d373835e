//! The kernel's own unit tests (`#[cores(N)]`-annotated functions registered
//! with `ktest!` in the modules they test, see `kernel/src/ktest.rs`), run
//! inside the kernel in QEMU: one boot, or one more after each failure.
//! The guest's per-test lines are printed here (`-- --nocapture` shows
//! them), and a failure names the tests that failed.

mod common;

use common::*;
use spindle_boot::ktest::{Results, Verdict, run_all};

/// Processors each boot gets: the most any kernel test needs (the kernel
/// reports a test that needs more as `ignored`, which fails the test below).
const SMP: u32 = 4;

/// Runs every test of `ktest kind=KIND`, printing the guest's lines.
#[track_caller]
fn run(kind: &str) -> Results {
    let results = run_all(kind, |cmdline| Ok(boot(SMP, cmdline))).unwrap_or_else(|e| panic!("{e}"));
    for line in &results.lines {
        println!("{line}");
    }
    println!("{}", results.summary());
    results
}

#[test]
fn the_kernels_own_tests_pass() {
    let results = run("all");
    let failed = results.failed();
    assert!(failed.is_empty(), "kernel tests failed: {failed:?}\n{}", results.lines.join("\n"));
    let ignored: Vec<_> = results.tests.iter().filter(|(_, v)| matches!(v, Verdict::Ignored(_))).collect();
    assert!(ignored.is_empty(), "kernel tests were not run (raise SMP to what they need): {ignored:?}");
    assert_eq!(results.boots, 1, "a run without failures is one boot");
    assert!(results.tests.len() >= 17, "only {} kernel tests ran: {:?}", results.tests.len(), results.tests);
    for module in
        ["time", "sched::timers", "sched::queue", "mem::reserve", "mem::stack", "lock", "console", "sync::chan"]
    {
        let prefix = format!("{module}::tests::");
        assert!(results.tests.iter().any(|(name, _)| name.starts_with(&prefix)), "no test of {module} ran");
    }
}

#[test]
fn a_failing_kernel_test_is_reported_and_hides_none_of_the_others() {
    let results = run("with-failures");
    let mut failed = results.failed();
    failed.sort();
    assert_eq!(
        failed,
        ["ktest::deliberate::deadlocks", "ktest::deliberate::page_faults", "ktest::deliberate::panics"],
        "{}",
        results.lines.join("\n")
    );
    assert_eq!(results.boots, 4, "one boot, and one more after each failure");
    let report = |name: &str| match &results.tests.iter().find(|(n, _)| n.ends_with(name)).unwrap().1 {
        Verdict::Failed(report) => report.join("\n"),
        other => panic!("{name}: {other:?}"),
    };
    assert!(
        report("panics").contains("panic: assertion `left == right` failed: a test that fails on purpose"),
        "{}",
        report("panics")
    );
    assert!(report("page_faults").contains("fatal error: page fault"), "{}", report("page_faults"));
    assert!(report("deadlocks").contains("deadlock"), "{}", report("deadlocks"));
    // Every other test ran, once, and passed.
    let passed = results.count(|v| *v == Verdict::Ok);
    assert_eq!(passed + 3, results.tests.len(), "{}", results.lines.join("\n"));
    let mut names: Vec<&str> = results.tests.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), results.tests.len(), "a test ran twice");
    assert!(passed >= 17, "only {passed} tests passed around the failing ones");
}
