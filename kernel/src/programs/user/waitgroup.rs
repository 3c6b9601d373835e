//! `waitgroup`: `main-exits` fixed with a WaitGroup: main waits until every
//! worker has marked itself done.

use super::main_exits::worker;
use crate::api::*;

const WORKERS: usize = 3;

pub fn main() {
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
