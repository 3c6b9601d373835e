//! `channel-wait`: `main-exits` fixed with a channel: each worker sends on
//! it when done, and main receives once per worker.

use super::main_exits::worker;
use crate::api::*;

const WORKERS: usize = 3;

pub fn main() {
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
