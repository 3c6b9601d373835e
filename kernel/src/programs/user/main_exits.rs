//! `main-exits`: the first bug everyone meets with goroutines. Main starts
//! workers and returns; the run ends when main returns, so the workers are
//! cut off mid-way (the summary counts them as abandoned). `waitgroup` and
//! `channel-wait` are the two fixes.

use crate::api::*;

const WORKERS: usize = 3;
const STEPS: usize = 4;

/// A worker: a few steps with a short sleep between them. Shared by the
/// three programs of the lesson.
pub fn worker(id: usize) {
    for step in 1..=STEPS {
        println!("worker {id}: step {step} of {STEPS}");
        sleep(ms(2));
    }
    println!("worker {id}: finished");
}

pub fn main() {
    for id in 1..=WORKERS {
        go(move || worker(id));
    }
    println!("main: started {WORKERS} workers; returning without waiting for them");
}
