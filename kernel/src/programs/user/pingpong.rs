//! `pingpong`: two routines bounce a ball over a pair of unbuffered
//! channels. Each hand-off wakes the other player on the same core
//! (`runnext`), so the pair stays on one core however many there are.

use alloc::collections::BTreeSet;
use core::time::Duration;

use crate::api::*;

const DEFAULT_ROUND_TRIPS: u64 = 10_000;
/// Hits printed before the rally goes quiet.
const SHOWN: u64 = 3;

pub fn main() {
    let round_trips = options().n.unwrap_or(DEFAULT_ROUND_TRIPS);
    let (elapsed, cores) = rally(round_trips, SHOWN);
    summary!(
        "pingpong: {round_trips} round trips in {} ms, {} ns each; the players ran on cores {cores:?}",
        elapsed.as_millis(),
        elapsed.as_nanos() as u64 / round_trips
    );
}

/// Plays `round_trips` hits, printing the first `shown` of them. Returns how
/// long the hits took and the cores the players ran on. (The trace-overhead
/// benchmark times this too, traced and not.)
pub fn rally(round_trips: u64, shown: u64) -> (Duration, BTreeSet<usize>) {
    let (ping_tx, ping_rx) = chan::<u64>(0);
    let (pong_tx, pong_rx) = chan::<u64>(0);
    let pong = go(move || {
        let mut cores = BTreeSet::new();
        for ball in &ping_rx {
            cores.insert(cpu());
            if ball <= shown {
                println!("pong {ball}");
            }
            pong_tx.send(ball);
        }
        cores
    });
    let start = now();
    let mut cores = BTreeSet::new();
    for ball in 1..=round_trips {
        if ball <= shown {
            println!("ping {ball}");
        }
        ping_tx.send(ball);
        let back = pong_rx.recv().expect("pong answers every ball");
        assert_eq!(back, ball);
        cores.insert(cpu());
    }
    let elapsed = now() - start;
    ping_tx.close(); // pong's loop ends
    cores.extend(pong.join());
    (elapsed, cores)
}
