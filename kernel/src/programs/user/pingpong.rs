//! `pingpong`: two routines bounce a ball over a pair of unbuffered
//! channels. Each hand-off wakes the other player on the waker's own core,
//! next in line (Go's `runnext`), so once the pair is together it stays on
//! one core however many there are. Another core can still take one of
//! them now and then (an idle core steals a waiting player when its core
//! seems busy), which moves the pair: the summary counts how often.

use alloc::collections::BTreeSet;
use core::time::Duration;

use crate::api::*;

const DEFAULT_ROUND_TRIPS: u64 = 10_000;
/// Hits printed before the rally goes quiet.
const SHOWN: u64 = 3;

pub fn main() {
    let round_trips = options().n.unwrap_or(DEFAULT_ROUND_TRIPS);
    let rally = rally(round_trips, SHOWN);
    summary!(
        "pingpong: {round_trips} round trips in {} ms, {} ns each; the players ran on cores {:?} and changed cores {} times",
        rally.elapsed.as_millis(),
        rally.elapsed.as_nanos() as u64 / round_trips,
        rally.cores,
        rally.core_changes
    );
}

/// How a rally went.
pub struct Rally {
    /// From the first hit to the last return.
    pub elapsed: Duration,
    /// Every core either player ran a hit on.
    pub cores: BTreeSet<usize>,
    /// How many hits a player made on another core than its previous hit.
    pub core_changes: u64,
}

/// The cores one player ran its hits on.
#[derive(Default)]
struct Places {
    cores: BTreeSet<usize>,
    last: Option<usize>,
    changes: u64,
}

impl Places {
    fn note(&mut self) {
        let here = cpu();
        if self.last.is_some_and(|last| last != here) {
            self.changes += 1;
        }
        self.last = Some(here);
        self.cores.insert(here);
    }
}

/// Plays `round_trips` hits, printing the first `shown` of them. (The
/// trace-overhead benchmark times this too, traced and not.)
pub fn rally(round_trips: u64, shown: u64) -> Rally {
    let (ping_tx, ping_rx) = chan::<u64>(0);
    let (pong_tx, pong_rx) = chan::<u64>(0);
    let pong = go(move || {
        let mut places = Places::default();
        for ball in &ping_rx {
            places.note();
            if ball <= shown {
                println!("pong {ball}");
            }
            pong_tx.send(ball);
        }
        places
    });
    let start = now();
    let mut places = Places::default();
    for ball in 1..=round_trips {
        if ball <= shown {
            println!("ping {ball}");
        }
        ping_tx.send(ball);
        let back = pong_rx.recv().expect("pong answers every ball");
        assert_eq!(back, ball);
        places.note();
    }
    let elapsed = now() - start;
    ping_tx.close(); // pong's loop ends
    let pong = pong.join();
    let mut cores = places.cores;
    cores.extend(pong.cores);
    Rally { elapsed, cores, core_changes: places.changes + pong.changes }
}
