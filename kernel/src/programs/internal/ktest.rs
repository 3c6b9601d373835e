//! `ktest`: runs the kernel's unit tests (see `crate::ktest`), the way
//! `cargo test` runs a crate's, and prints what `cargo test` prints:
//!
//! ```text
//! running 24 tests
//! test lock::tests::exclusive_across_cores ... ok
//! test sched::queue::tests::first_in_first_out ... ok
//! ...
//! test result: ok. 24 passed; 0 failed; 0 ignored; finished in 0.41s
//! ```
//!
//! Tests run one after another, in name order, each as its own routine on
//! the scheduler, which runs on every core of the run; a test that needs
//! more cores than that (`#[cores(N)]`) is `ignored`. A test that leaves
//! routines running or timers queued fails. A failing test ends
//! the run (`test NAME ... FAILED`, then the panic or fault report): `n=K`
//! starts at the K-th test, which is how the host goes on after one.
//!
//! `kind=with-failures` adds three tests that fail on purpose (a panic, a
//! page fault, a deadlock), for the host's test that a failure is reported
//! and hides none of the other tests.

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use crate::ktest::{self, Test};
use crate::sched::{self, go};
use crate::{summary, time};

pub fn main() {
    let options = crate::cmdline::options();
    let mut tests: Vec<&'static Test> = ktest::all().iter().collect();
    if options.kind == "with-failures" {
        tests.extend(DELIBERATE_FAILURES);
    }
    tests.sort_by_key(|t| (t.module, t.name));
    let first = options.n.map_or(0, |n| n as usize - 1).min(tests.len());
    let cores = sched::active_cores();
    let most = tests.iter().map(|t| t.cores).max().unwrap_or(1);
    summary!("running {} tests (from test {} of {}; {cores} cores, the most any test needs: {most})", tests.len() - first, first + 1, tests.len());
    let start = time::now();
    let (mut passed, mut ignored) = (0, 0);
    for &test in &tests[first..] {
        if test.cores > cores {
            summary!("test {} ... ignored, needs {} cores", test.path(), test.cores);
            ignored += 1;
            continue;
        }
        ktest::set_running(Some(test));
        let before = left_behind();
        go(test.run).join();
        let (routines, timers) = left_behind();
        assert!(
            (routines, timers) == before,
            "the test left {} routines and {} timers behind (a test joins what it spawns and takes out what it queues)",
            routines as i64 - before.0 as i64,
            timers as i64 - before.1 as i64
        );
        ktest::set_running(None);
        summary!("test {} ... ok", test.path());
        passed += 1;
    }
    let ms = (time::now() - start) / 1_000_000;
    summary!("test result: ok. {passed} passed; 0 failed; {ignored} ignored; finished in {}.{:02}s", ms / 1000, ms % 1000 / 10);
}

/// Routines alive and timers queued: what a test must leave as it found
/// it, or a later test would run among its leftovers (a queued timer also
/// keeps the deadlock detector from ever firing).
fn left_behind() -> (u64, u64) {
    let totals = sched::stats::totals();
    (totals.spawned - totals.finished, sched::timers::PENDING.load(Ordering::SeqCst))
}

/// The tests `kind=with-failures` adds: each fails a different way.
static DELIBERATE_FAILURES: [&Test; 3] = [
    &Test { module: "kernel::ktest::deliberate", name: "panics", cores: 1, run: panics },
    &Test { module: "kernel::ktest::deliberate", name: "page_faults", cores: 1, run: page_faults },
    &Test { module: "kernel::ktest::deliberate", name: "deadlocks", cores: 1, run: deadlocks },
];

fn panics() {
    assert_eq!(1 + 1, 3, "a test that fails on purpose");
}

fn page_faults() {
    /// An address nothing maps (the `fault` program reads the same).
    const UNMAPPED: u64 = 0xdead_0000;
    crate::arch::provoke::page_fault(UNMAPPED);
}

fn deadlocks() {
    let (_tx, rx) = crate::sync::chan::<()>(0);
    rx.recv();
}
