//! `worker-pool`: run many jobs on a fixed number of worker routines, so
//! that no more than that many run at once (Go's bounded parallelism:
//! workers reading jobs from one channel). (The `programs` lab asks you to
//! write `run_pool`: see labs/programs/.)

use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::api::*;

const JOBS: u64 = 24;
const WORKERS: usize = 3;

/// Jobs running right now, and the most seen at once.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST: AtomicUsize = AtomicUsize::new(0);

/// A job: some arithmetic that takes a while.
fn job(n: u64) -> u64 {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    MOST.fetch_max(now, Ordering::SeqCst);
    let result = (0..100_000u64).fold(n, |acc, i| opaque(acc ^ i.wrapping_mul(n)));
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    result
}

// lab(programs): start `workers` routines that take jobs from one channel and send (job, result) back; gather the results in job order
/// Runs `job(n)` for every `n` in `0..jobs` on exactly `workers` routines;
/// returns the results indexed by `n`.
pub fn run_pool(jobs: u64, workers: usize, job: fn(u64) -> u64) -> Vec<u64> {
    let (jobs_tx, jobs_rx) = chan::<u64>(0);
    let (results_tx, results_rx) = chan::<(u64, u64)>(0);
    for _ in 0..workers {
        let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
        go(move || {
            for n in &jobs_rx {
                results_tx.send((n, job(n)));
            }
        });
    }
    let mut results = vec![0; jobs as usize];
    let mut sent = 0;
    let mut received = 0;
    while received < jobs {
        if sent < jobs {
            select! {
                send(jobs_tx, sent) => sent += 1,
                recv(results_rx) -> r => {
                    let (n, value) = r.expect("the results channel stays open");
                    results[n as usize] = value;
                    received += 1;
                }
            }
        } else {
            let (n, value) = results_rx.recv().expect("the results channel stays open");
            results[n as usize] = value;
            received += 1;
        }
    }
    jobs_tx.close();
    results
}

pub fn main() {
    let results = run_pool(JOBS, WORKERS, job);
    let expected: Vec<u64> = (0..JOBS).map(|n| (0..100_000u64).fold(n, |acc, i| acc ^ i.wrapping_mul(n))).collect();
    assert_eq!(results, expected, "a job's result is missing or in the wrong place");
    println!("main: {} results in job order", results.len());
    summary!("worker-pool: {JOBS} jobs, results checked; at most {} jobs at once with {WORKERS} workers", MOST.load(Ordering::SeqCst));
}
