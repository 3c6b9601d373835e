//! The first bug everyone meets with goroutines, and its two fixes.
//!
//! - `main-exits`: main starts workers and returns. The run ends when main
//!   returns, so the workers are cut off mid-way (the summary counts them
//!   as abandoned).
//! - `waitgroup`: main waits on a `WaitGroup` the workers mark done.
//! - `channel-wait`: each worker sends on a channel when done; main
//!   receives once per worker.

use crate::api::*;

const WORKERS: usize = 3;
const STEPS: usize = 4;

fn worker(id: usize) {
    for step in 1..=STEPS {
        println!("worker {id}: step {step} of {STEPS}");
        sleep(ms(2));
    }
    println!("worker {id}: finished");
}

pub fn main_exits() {
    for id in 1..=WORKERS {
        go(move || worker(id));
    }
    println!("main: started {WORKERS} workers; returning without waiting for them");
}

pub fn waitgroup() {
    let wg = WaitGroup::new();
    for id in 1..=WORKERS {
        wg.add(1);
        let wg = wg.clone();
        go(move || {
            worker(id);
            wg.done();
        });
    }
    println!("main: started {WORKERS} workers; waiting for the WaitGroup");
    wg.wait();
    println!("main: every worker is done");
}

pub fn channel_wait() {
    let (done_tx, done_rx) = chan::<usize>(0);
    for id in 1..=WORKERS {
        let done = done_tx.clone();
        go(move || {
            worker(id);
            done.send(id);
        });
    }
    println!("main: started {WORKERS} workers; waiting for {WORKERS} messages");
    for _ in 0..WORKERS {
        let id = done_rx.recv().expect("main holds a sender: never closed");
        println!("main: worker {id} reported done");
    }
    println!("main: every worker is done");
}
