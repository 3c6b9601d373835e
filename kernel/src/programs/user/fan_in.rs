//! `fan-in`: Go's fan-in pattern. Four producers each send ten numbers on
//! their own channel and close it; `merge` turns their channels into one,
//! which is closed once every input is drained; main receives until then.
//! (The `programs` lab asks you to write `merge`: see labs/programs/.)

use alloc::vec::Vec;

use crate::api::*;

const PRODUCERS: u64 = 4;
const EACH: u64 = 10;

/// Work before each value, so that the producers overlap on several cores.
fn work(seed: u64) -> u64 {
    (0..50_000u64).fold(seed, |acc, i| opaque(acc.wrapping_mul(31).wrapping_add(i)))
}

// lab(programs): one forwarding routine per input, and one more that closes the output once a WaitGroup says they all finished
/// Every value received on any of `inputs`, on one channel that is closed
/// once all the inputs are closed and drained.
pub fn merge(inputs: Vec<Receiver<u64>>) -> Receiver<u64> {
    let (tx, rx) = chan::<u64>(0);
    let forwarding = WaitGroup::new();
    for input in inputs {
        forwarding.add(1);
        let (tx, forwarding) = (tx.clone(), forwarding.clone());
        go(move || {
            for value in &input {
                tx.send(value);
            }
            forwarding.done();
        });
    }
    go(move || {
        forwarding.wait();
        tx.close();
    });
    rx
}

pub fn main() {
    let inputs = (0..PRODUCERS)
        .map(|p| {
            let (tx, rx) = chan::<u64>(2);
            go(move || {
                for i in 1..=EACH {
                    core::hint::black_box(work(i));
                    tx.send(p * EACH + i);
                }
                tx.close();
            });
            rx
        })
        .collect();
    let (mut count, mut sum) = (0u64, 0u64);
    for value in &merge(inputs) {
        println!("main: got {value}");
        count += 1;
        sum += value;
    }
    let n = PRODUCERS * EACH;
    let verdict = if count == n && sum == n * (n + 1) / 2 { "correct" } else { "WRONG" };
    summary!("fan-in: received {count} values from {PRODUCERS} producers, sum {sum} ({verdict})");
}
