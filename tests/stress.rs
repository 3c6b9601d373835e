//! Randomised stress: a mix of spawn, yield, sleep, join, channels, select,
//! Mutex, WaitGroup and timers over 1000+ routines, each run checking that
//! no message, routine or increment was lost (see `stress` in the kernel).
//! The default tier runs a few seeds across core counts and slices; the
//! ignored tier (`cargo test -- --ignored`) a longer matrix up to 16 cores.

mod common;

use common::*;

fn stress(smp: u32, cpus: u32, slice: u32, seed: u64, ms: u64) {
    let report = boot(smp, &format!("stress cpus={cpus} slice={slice} seed={seed} n={ms}"));
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, &format!("stress: ok: seed {seed}, "));
    expect_line(&report, "routines all finished");
}

#[test]
fn stress_one_core() {
    stress(2, 1, 1, 101, 1000);
    stress(2, 1, 10, 102, 1000);
}

#[test]
fn stress_two_cores() {
    stress(2, 2, 3, 201, 1000);
    stress(2, 2, 1, 202, 1000);
}

#[test]
fn stress_four_cores() {
    stress(4, 4, 5, 401, 1000);
    stress(4, 4, 2, 402, 1000);
}

#[test]
fn stress_eight_cores() {
    stress(8, 8, 10, 801, 1000);
    stress(8, 8, 1, 802, 1000);
}

#[test]
#[ignore = "long: run with cargo test -- --ignored"]
fn stress_matrix_up_to_sixteen_cores() {
    for seed in 1000..1012u64 {
        for (smp, cpus) in [(1, 1), (2, 2), (4, 4), (8, 8), (16, 16), (16, 3)] {
            let slice = [1, 2, 5, 10][(seed % 4) as usize];
            stress(smp, cpus, slice, seed, 2000);
        }
    }
}

/// Stacks growing under preemption on every core, and runs that end while
/// every other core allocates: the two ways a core once went deaf or a run
/// hung, many times over.
#[test]
#[ignore = "long: run with cargo test -- --ignored"]
fn stack_growth_and_shutdown_matrix() {
    for seed in 1..=4u64 {
        for (smp, cpus) in [(1, 1), (2, 2), (4, 4), (8, 8)] {
            let report = boot(smp, &format!("selfcheck kind=stack-edge cpus={cpus} slice=1 seed={seed}"));
            expect_outcome(&report, Outcome::Success);
            expect_line(&report, "0 never preempted");
            expect_line(&report, "stack-edge: a 5 ms sleep afterwards returned");
        }
        for kind in ["exit-while-allocating", "panic-while-allocating"] {
            for smp in [2, 4, 8] {
                let (report, trace) = boot_traced(smp, &format!("selfcheck kind={kind} seed={seed}"));
                let expected = if kind.starts_with("exit") { Outcome::Success } else { Outcome::Failure };
                expect_outcome(&report, expected);
                assert!(trace.complete, "trace cut off; console:\n{}", report.text());
            }
        }
    }
}
