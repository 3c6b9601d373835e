//! `stress`: a random mix of everything the scheduler and the sync
//! primitives do, over more than a thousand routines, checked at the end.
//!
//! From `--seed S` (every routine draws from its own generator seeded by S
//! and its number) and for about `--n` milliseconds (default 2000):
//!
//! - producers send numbered messages to random channels (unbuffered and
//!   buffered), sometimes through a `select!` over two channels, sometimes
//!   with a `default` that falls back to a plain send;
//! - consumers receive with `select!` over their channels and a timeout,
//!   until every channel is closed;
//! - workers yield, sleep, spawn and join children, add to Mutex-protected
//!   counters, use WaitGroups and a Once, and recurse deep enough to grow
//!   their stacks by several pages while being preempted.
//!
//! Then it checks, and prints: every channel's messages were received
//! exactly once (count and checksum per channel); every routine finished;
//! every Mutex-protected counter equals the increments made; the Once ran
//! once. A violation prints the seed and fails the run.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use crate::api::*;

const CHANNELS: usize = 16;
const PRODUCERS: u64 = 200;
const CONSUMERS: u64 = 64;
const WORKERS: u64 = 800;
const COUNTERS: usize = 4;
/// Run length in ms unless `--n` says otherwise.
const DEFAULT_MS: u64 = 2000;

/// Per-channel ledger: what went in and what came out.
#[derive(Default)]
struct Ledger {
    sent: AtomicU64,
    sent_sum: AtomicU64,
    received: AtomicU64,
    received_sum: AtomicU64,
}

/// A message's contribution to a checksum: a mixing function, so that a
/// lost message and a duplicated one cannot cancel out.
fn mix(v: u64) -> u64 {
    let mut z = v.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 27)
}

/// A small per-routine generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        Rng(mix(seed ^ mix(stream)))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct World {
    senders: Vec<Sender<u64>>,
    ledgers: Vec<Ledger>,
    counters: Vec<Mutex<u64>>,
    increments: Vec<AtomicU64>,
    spawned: AtomicU64,
    finished: AtomicU64,
    selects: AtomicU64,
    sleeps: AtomicU64,
    /// Deep recursions made (stack growth under preemption).
    deep: AtomicU64,
    deadline: Duration,
}

impl World {
    fn record_send(&self, chan: usize, value: u64) {
        self.ledgers[chan].sent.fetch_add(1, Ordering::Relaxed);
        self.ledgers[chan].sent_sum.fetch_add(mix(value), Ordering::Relaxed);
    }
    fn record_receive(&self, chan: usize, value: u64) {
        self.ledgers[chan].received.fetch_add(1, Ordering::Relaxed);
        self.ledgers[chan].received_sum.fetch_add(mix(value), Ordering::Relaxed);
    }
    /// Starts a routine counted in `spawned`/`finished`.
    fn go(self: &Arc<World>, f: impl FnOnce(&Arc<World>) + Send + 'static) -> JoinHandle<()> {
        self.go_in(None, f)
    }

    /// Starts a routine counted in `spawned`/`finished` that marks `group`
    /// done once it is counted as finished: whoever waits on the group may
    /// end the run at once, and must not find it still uncounted.
    fn go_in(self: &Arc<World>, group: Option<WaitGroup>, f: impl FnOnce(&Arc<World>) + Send + 'static) -> JoinHandle<()> {
        self.spawned.fetch_add(1, Ordering::Relaxed);
        let world = self.clone();
        go(move || {
            f(&world);
            world.finished.fetch_add(1, Ordering::Relaxed);
            if let Some(group) = group {
                group.done();
            }
        })
    }
}

fn producer(world: &Arc<World>, id: u64) {
    let mut rng = Rng::new(options().seed, id);
    let mut sequence = 0u64;
    while now() < world.deadline {
        let value = (id << 32) | sequence;
        sequence += 1;
        let a = rng.below(CHANNELS as u64) as usize;
        let b = rng.below(CHANNELS as u64) as usize;
        match rng.below(4) {
            0 => {
                world.selects.fetch_add(1, Ordering::Relaxed);
                // Either channel may take it: record where it went.
                let went = select! {
                    send(world.senders[a], value) => a,
                    send(world.senders[b], value) => b,
                };
                world.record_send(went, value);
            }
            1 => {
                world.selects.fetch_add(1, Ordering::Relaxed);
                let went = select! {
                    send(world.senders[a], value) => Some(a),
                    default => None,
                };
                if went.is_none() {
                    world.senders[a].send(value);
                }
                world.record_send(a, value);
            }
            _ => {
                world.senders[a].send(value);
                world.record_send(a, value);
            }
        }
        if rng.below(16) == 0 {
            yield_now();
        }
    }
}

fn consumer(world: &Arc<World>, id: u64, channels: Vec<(usize, Receiver<u64>)>) {
    let mut rng = Rng::new(options().seed, 1_000_000 + id);
    let mut open = channels;
    while !open.is_empty() {
        let i = rng.below(open.len() as u64) as usize;
        let j = rng.below(open.len() as u64) as usize;
        let timeout = after(Duration::from_millis(5));
        world.selects.fetch_add(1, Ordering::Relaxed);
        let got = select! {
            recv(open[i].1) -> v => Some((i, v)),
            recv(open[j].1) -> v => Some((j, v)),
            recv(timeout) -> _t => None,
        };
        match got {
            Some((k, Some(value))) => world.record_receive(open[k].0, value),
            Some((k, None)) => {
                open.swap_remove(k);
            }
            None => {}
        }
    }
}

/// Deepest recursion of [`deep`]: with its frame of about half a page,
/// enough to grow a fresh stack by several pages.
const MAX_DEPTH: u64 = 24;

/// Recurses `depth` frames of about 512 bytes, then yields and spins a
/// little at the bottom: the stack grows by faults while the routine is
/// being preempted and switched out at depth.
#[inline(never)]
fn deep(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 64]);
    if depth == 0 {
        yield_now();
        let mut x = 0u64;
        for i in 0..20_000 {
            x = crate::arch::opaque(x.wrapping_mul(31).wrapping_add(i));
        }
        return x;
    }
    deep(depth - 1).wrapping_add(frame[depth as usize % 64])
}

/// Runs once, whichever worker gets there first; the others wait for it.
static SETUP: Once = Once::new();
static SETUP_RUNS: AtomicU64 = AtomicU64::new(0);

fn worker(world: &Arc<World>, id: u64, depth: u32) {
    let mut rng = Rng::new(options().seed, 2_000_000 + id * 8 + depth as u64);
    SETUP.call_once(|| {
        sleep(Duration::from_micros(500));
        SETUP_RUNS.fetch_add(1, Ordering::Relaxed);
    });
    let wg = WaitGroup::new();
    let mut children = Vec::new();
    for _ in 0..(4 + rng.below(12)) {
        match rng.below(7) {
            0 => yield_now(),
            6 => {
                world.deep.fetch_add(1, Ordering::Relaxed);
                core::hint::black_box(deep(rng.below(MAX_DEPTH)));
            }
            1 => {
                world.sleeps.fetch_add(1, Ordering::Relaxed);
                sleep(Duration::from_micros(50 + rng.below(2000)));
            }
            2 | 3 => {
                let c = rng.below(COUNTERS as u64) as usize;
                *world.counters[c].lock() += 1;
                world.increments[c].fetch_add(1, Ordering::Relaxed);
            }
            4 if depth < 2 => {
                let child = id * 16 + rng.below(16);
                children.push(world.go(move |w| worker(w, child, depth + 1)));
            }
            _ if depth < 2 => {
                wg.add(1);
                let child = id * 16 + rng.below(16);
                drop(world.go_in(Some(wg.clone()), move |w| worker(w, child, depth + 1)));
            }
            _ => yield_now(),
        }
    }
    children.into_iter().for_each(JoinHandle::join);
    wg.wait();
}

pub fn main() {
    let seed = options().seed;
    let ms = options().n.unwrap_or(DEFAULT_MS);
    let start = now();
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for c in 0..CHANNELS {
        let (tx, rx) = chan::<u64>(c % 5 * 2); // capacities 0, 2, 4, 6, 8
        senders.push(tx);
        receivers.push((c, rx));
    }
    let world = Arc::new(World {
        senders,
        ledgers: (0..CHANNELS).map(|_| Ledger::default()).collect(),
        counters: (0..COUNTERS).map(|_| Mutex::new(0)).collect(),
        increments: (0..COUNTERS).map(|_| AtomicU64::new(0)).collect(),
        spawned: AtomicU64::new(0),
        finished: AtomicU64::new(0),
        selects: AtomicU64::new(0),
        sleeps: AtomicU64::new(0),
        deep: AtomicU64::new(0),
        deadline: start + Duration::from_millis(ms),
    });

    // Every channel gets at least one consumer; each consumer watches a few.
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|id| {
            let mine: Vec<_> = (0..3)
                .map(|k| {
                    let c = (id as usize * 3 + k) % CHANNELS;
                    (c, receivers[c].1.clone())
                })
                .collect();
            world.go(move |w| consumer(w, id, mine))
        })
        .collect();
    drop(receivers);
    let producers: Vec<_> = (0..PRODUCERS).map(|id| world.go(move |w| producer(w, id))).collect();
    let workers: Vec<_> = (0..WORKERS).map(|id| world.go(move |w| worker(w, id + 1, 0))).collect();

    producers.into_iter().for_each(JoinHandle::join);
    // Every producer is done: close the channels so consumers drain and end.
    world.senders.iter().for_each(Sender::close);
    consumers.into_iter().for_each(JoinHandle::join);
    workers.into_iter().for_each(JoinHandle::join);
    check(&world, seed, now() - start);
}

fn check(world: &World, seed: u64, took: Duration) {
    let mut failures = 0;
    let (mut messages, mut bad) = (0, Vec::new());
    for (c, l) in world.ledgers.iter().enumerate() {
        let (sent, received) = (l.sent.load(Ordering::Relaxed), l.received.load(Ordering::Relaxed));
        let (sent_sum, received_sum) = (l.sent_sum.load(Ordering::Relaxed), l.received_sum.load(Ordering::Relaxed));
        messages += received;
        if sent != received || sent_sum != received_sum {
            bad.push(c);
            summary!("stress: FAILED: channel {c}: sent {sent} (checksum {sent_sum:#x}), received {received} (checksum {received_sum:#x})");
        }
    }
    failures += bad.len();
    let (spawned, finished) = (world.spawned.load(Ordering::Relaxed), world.finished.load(Ordering::Relaxed));
    if spawned != finished {
        failures += 1;
        summary!("stress: FAILED: {spawned} routines spawned but {finished} finished");
    }
    let mut increments = 0;
    for (c, counter) in world.counters.iter().enumerate() {
        let (value, expected) = (*counter.lock(), world.increments[c].load(Ordering::Relaxed));
        increments += expected;
        if value != expected {
            failures += 1;
            summary!("stress: FAILED: mutex counter {c} is {value}, expected {expected}");
        }
    }
    let setup_runs = SETUP_RUNS.load(Ordering::Relaxed);
    if setup_runs != 1 {
        failures += 1;
        summary!("stress: FAILED: Once ran its function {setup_runs} times");
    }
    if failures > 0 {
        panic!("stress: {failures} invariant(s) violated; reproduce with --seed {seed}");
    }
    summary!(
        "stress: ok: seed {seed}, {} ms, {spawned} routines all finished, {messages} messages over {CHANNELS} channels each received exactly once (count and checksum), {} selects, {} sleeps, {} deep stacks, {increments} mutex increments exact",
        took.as_millis(),
        world.selects.load(Ordering::Relaxed),
        world.sleeps.load(Ordering::Relaxed),
        world.deep.load(Ordering::Relaxed),
    );
}
