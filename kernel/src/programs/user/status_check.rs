//! `status-check`: the link status checker. Main starts one routine per
//! link; each "checks" its link (latency and up/down are simulated from
//! `--seed`, so runs are reproducible), reports on a channel, and main
//! starts a re-check of that link after a pause, for `--rounds` rounds.

use crate::api::*;

const LINKS: [&str; 5] = [
    "http://golang.org",
    "http://rust-lang.org",
    "http://stackoverflow.com",
    "http://example.com",
    "http://spindle.local",
];
const DEFAULT_ROUNDS: u64 = 3;
/// Pause before a link is checked again.
const PAUSE_MS: u64 = 10;

struct Report {
    link: usize,
    round: u64,
    up: bool,
    latency_ms: u64,
}

/// A reproducible pseudo-random number for (seed, link, round): splitmix64.
fn simulated(seed: u64, link: usize, round: u64) -> u64 {
    let mut z = seed ^ (link as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ round.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn check(link: usize, round: u64, results: Sender<Report>) {
    let r = simulated(options().seed, link, round);
    let latency_ms = 5 + r % 40;
    let up = !r.is_multiple_of(5);
    sleep(ms(latency_ms));
    results.send(Report { link, round, up, latency_ms });
}

pub fn main() {
    let rounds = options().rounds.unwrap_or(DEFAULT_ROUNDS);
    let (tx, rx) = chan::<Report>(0);
    for link in 0..LINKS.len() {
        let tx = tx.clone();
        go(move || check(link, 1, tx));
    }
    let (mut up, mut down) = (0, 0);
    for _ in 0..rounds * LINKS.len() as u64 {
        let report = rx.recv().expect("main holds a sender: never closed");
        let state = if report.up { "up" } else { "DOWN" };
        println!(
            "round {}: {} is {state} ({} ms)",
            report.round, LINKS[report.link], report.latency_ms
        );
        if report.up { up += 1 } else { down += 1 }
        if report.round < rounds {
            let tx = tx.clone();
            go(move || {
                sleep(ms(PAUSE_MS));
                check(report.link, report.round + 1, tx);
            });
        }
    }
    summary!("status-check: {} links x {rounds} rounds: {up} up, {down} down", LINKS.len());
}
