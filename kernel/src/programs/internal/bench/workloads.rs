//! The workloads shared with Go's benchmark set (`../shared/bench`), with
//! the same sizes and the same names: spawn, pingpong, yield (Gosched),
//! sieve, cpu.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use super::figures::{Figures, REPS, repeat, scaled, time_ns, time_unit};
use crate::api::*;

/// Routines per spawn batch (Go: 100,000).
const SPAWN: u64 = 100_000;
/// Round trips per pingpong run (Go: 1,000,000, after 10,000 to warm up).
const ROUND_TRIPS: u64 = 1_000_000;
const WARM_UP_ROUND_TRIPS: u64 = 10_000;
/// Yields per routine (Go: 1,000,000 Gosched calls in each of 2 goroutines).
const YIELDS: u64 = 1_000_000;
/// Primes the sieve finds (Go: 1000; the 1000th is 7919).
const PRIMES: u64 = 1000;
/// Numbers each cpu routine sums (Go in QEMU: N = 500,000,000).
const SUM_N: u64 = 500_000_000;

/// One batch: start `count` routines that do nothing but mark a WaitGroup,
/// wait for all. Nanoseconds per routine.
fn spawn_batch(count: u64) -> f64 {
    // Captured by reference, like Go's closure over a *WaitGroup.
    let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    time_ns(|| {
        wg.add(count as i64);
        for _ in 0..count {
            go(move || wg.done());
        }
        wg.wait();
    }) / count as f64
}

pub fn spawn() {
    let count = scaled(SPAWN);
    // The first batch meets fresh stacks; later ones reuse recycled ones.
    Figures { name: "spawn-first", unit: time_unit("ns/routine"), samples: [spawn_batch(count)].into() }.print();
    Figures { name: "spawn", unit: time_unit("ns/routine"), samples: repeat(|| spawn_batch(count)) }.print();
}

pub fn pingpong() {
    let (warm_up, round_trips) = (scaled(WARM_UP_ROUND_TRIPS), scaled(ROUND_TRIPS));
    let samples = repeat(|| pingpong_ns(warm_up, round_trips));
    Figures { name: "pingpong", unit: time_unit("ns/round-trip"), samples }.print();
}

/// One ping-pong over unbuffered channels, between main and a fresh
/// routine: ns per round trip, after `warm_up` untimed ones.
pub(super) fn pingpong_ns(warm_up: u64, round_trips: u64) -> f64 {
    let rally = BareRally::start();
    rally.hit(warm_up);
    let ns = time_ns(|| rally.hit(round_trips));
    rally.end();
    ns / round_trips as f64
}

/// The bare ping-pong: main hits a ball to a partner routine over an
/// unbuffered channel and waits for it to come back on another. Each round
/// trip is two channel hand-offs and nothing else.
pub(super) struct BareRally {
    ping_tx: Sender<u64>,
    pong_rx: Receiver<u64>,
    partner: JoinHandle<()>,
}

impl BareRally {
    pub(super) fn start() -> BareRally {
        let (ping_tx, ping_rx) = chan::<u64>(0);
        let (pong_tx, pong_rx) = chan::<u64>(0);
        let partner = go(move || {
            for ball in &ping_rx {
                pong_tx.send(ball);
            }
        });
        BareRally { ping_tx, pong_rx, partner }
    }

    /// Plays `round_trips` round trips.
    pub(super) fn hit(&self, round_trips: u64) {
        for ball in 0..round_trips {
            self.ping_tx.send(ball);
            self.pong_rx.recv();
        }
    }

    /// Closes the ping channel (the partner's loop ends) and waits for the partner.
    pub(super) fn end(self) {
        self.ping_tx.close();
        self.partner.join();
    }
}

pub fn yields() {
    let per_routine = scaled(YIELDS);
    let samples = repeat(|| {
        let (start_tx, start_rx) = chan::<()>(0);
        let yielders: Vec<_> = (0..2)
            .map(|_| {
                let start = start_rx.clone();
                go(move || {
                    start.recv();
                    for _ in 0..per_routine {
                        yield_now();
                    }
                })
            })
            .collect();
        time_ns(|| {
            start_tx.close();
            yielders.into_iter().for_each(JoinHandle::join);
        }) / (2 * per_routine) as f64
    });
    Figures { name: "yield", unit: time_unit("ns/yield"), samples }.print();
}

/// A sieve's chain of routines, still running once the `count`th prime is
/// out: the numbers in flight go on down the chain, and the generator
/// keeps feeding it, until every filter up to the last is full.
struct Sieve {
    stop: Arc<AtomicBool>,
    end: Receiver<u64>,
    routines: Vec<JoinHandle<()>>,
}

/// The concurrent sieve to the `count`th prime; returns the prime and the
/// chain, which is still running (as Go's is when its `sieve` returns).
fn sieve_to(count: u64) -> (u64, Sieve) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut routines = Vec::with_capacity(count as usize + 1);
    let (tx, mut numbers) = chan::<u64>(0);
    let stopped = stop.clone();
    routines.push(go(move || {
        // One relaxed load a number: the only change from Go's generator.
        for n in (2..u64::MAX).take_while(|_| !stopped.load(Ordering::Relaxed)) {
            tx.send(n);
        }
        tx.close();
    }));
    let mut prime = 0;
    for _ in 0..count {
        prime = numbers.recv().expect("the generator runs until stopped");
        let (tx, rx) = chan::<u64>(0);
        routines.push(go(move || {
            for n in &numbers {
                if n % prime != 0 {
                    tx.send(n);
                }
            }
            tx.close();
        }));
        numbers = rx;
    }
    (prime, Sieve { stop, end: numbers, routines })
}

impl Sieve {
    /// Stops the generator, takes what is still in the chain off its end,
    /// and waits for every routine of it to finish.
    fn wind_down(self) {
        self.stop.store(true, Ordering::Relaxed);
        for _ in &self.end {}
        self.routines.into_iter().for_each(JoinHandle::join);
    }
}

/// Go measures one sieve a process. Here a boot runs several, so each
/// chain is wound down before the next run starts, outside the time: left
/// running, the last run's chain would go on filling on the same cores as
/// the next run (at one core 81 M instructions more, about what a run
/// itself takes), and double its figure.
pub fn sieve() {
    let count = scaled(PRIMES);
    let samples = repeat(|| {
        let mut run = None;
        let ns = time_ns(|| run = Some(sieve_to(count)));
        let (last, chain) = run.expect("the run has returned");
        chain.wind_down();
        if count == PRIMES {
            assert_eq!(last, 7919, "the 1000th prime");
        }
        ns / 1e6
    });
    Figures { name: "sieve", unit: time_unit("ms"), samples }.print();
}

/// Sums 1..=n with one addition per number (as Go's `sum`).
fn sum(n: u64) -> u64 {
    let mut s = 0u64;
    for i in 1..=n {
        s = s.wrapping_add(opaque(i));
    }
    s
}

pub fn cpu() {
    let n = scaled(SUM_N);
    let expected = n.wrapping_mul(n + 1) / 2;
    let k = cores() as u64;
    let (mut one, mut all) = (Vec::new(), Vec::new());
    let speedup: Vec<f64> = (0..REPS)
        .map(|_| {
            let t1 = time_ns(|| assert_eq!(go(move || sum(n)).join(), expected));
            let tk = time_ns(|| {
                let handles: Vec<_> = (0..k).map(|_| go(move || sum(n))).collect();
                for h in handles {
                    assert_eq!(h.join(), expected);
                }
            });
            one.push(t1 / 1e6);
            all.push(tk / 1e6);
            k as f64 * t1 / tk
        })
        .collect();
    Figures { name: "cpu-one", unit: time_unit("ms"), samples: one }.print();
    Figures { name: "cpu-all", unit: time_unit("ms"), samples: all }.print();
    Figures { name: "cpu-speedup", unit: "x", samples: speedup }.print();
}
