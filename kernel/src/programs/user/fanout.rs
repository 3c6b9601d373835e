//! `fanout`: one producer hands jobs to `--n` workers (default 4) through a
//! buffered channel; the workers send results back on another; main
//! gathers them all and checks the total. Channels close as in Go: the
//! producer closes the jobs once sent, and a closer routine closes the
//! results once a WaitGroup says every worker is done.

use alloc::vec;

use crate::api::*;

const DEFAULT_WORKERS: u64 = 4;
const JOBS: u64 = 40;

/// The work for job `n`: a sum that takes a moment.
fn work(n: u64) -> u64 {
    (0..20_000u64).fold(0, |acc, i| acc.wrapping_add(core::hint::black_box(i * n)))
}

pub fn main() {
    let workers = options().n.unwrap_or(DEFAULT_WORKERS);
    let (jobs_tx, jobs_rx) = chan::<u64>(8);
    let (results_tx, results_rx) = chan::<(u64, u64, u64)>(8);
    go(move || {
        for job in 1..=JOBS {
            jobs_tx.send(job);
        }
        println!("producer: all {JOBS} jobs sent; closing the job channel");
        jobs_tx.close();
    });
    let working = WaitGroup::new();
    for worker in 1..=workers {
        let (jobs, results, working) = (jobs_rx.clone(), results_tx.clone(), working.clone());
        working.add(1);
        go(move || {
            for job in &jobs {
                results.send((worker, job, work(job)));
            }
            working.done();
        });
    }
    go(move || {
        working.wait();
        results_tx.close();
    });
    let mut per_worker = vec![0u64; workers as usize];
    let mut total = 0u64;
    for (worker, job, result) in &results_rx {
        println!("main: job {job} done by worker {worker}");
        per_worker[worker as usize - 1] += 1;
        total = total.wrapping_add(result);
    }
    let expected = (1..=JOBS).map(work).fold(0u64, u64::wrapping_add);
    assert_eq!(total, expected, "a result was lost or counted twice");
    summary!("fanout: {JOBS} jobs over {workers} workers, jobs per worker {per_worker:?}, total checked");
}
