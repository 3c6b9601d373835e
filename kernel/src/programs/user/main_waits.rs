//! `main-waits`: the bug of `main-exits`, fixed. Main starts three
//! workers (the same `worker` as main-exits) and must not return before
//! each has finished and reported; the run ends when main returns, so
//! returning early abandons them. (The `programs` lab asks you to write
//! `main`: see labs/programs/.) The buggy version is
//!
//! ```ignore
//! for id in 1..=3 {
//!     go(move || worker(id));
//! }
//! println!("main: started 3 workers");
//! ```

use super::main_exits::worker;
use crate::api::*;

const WORKERS: usize = 3;

// lab(programs): start the workers so that each reports when it is done, wait for all the reports, then print that they all reported
pub fn main() {
    let (done_tx, done_rx) = chan::<usize>(0);
    for id in 1..=WORKERS {
        let done_tx = done_tx.clone();
        go(move || {
            worker(id);
            done_tx.send(id);
        });
    }
    for _ in 0..WORKERS {
        let id = done_rx.recv().expect("the channel stays open");
        println!("main: worker {id} reported");
    }
    println!("main: all {WORKERS} workers reported");
}
