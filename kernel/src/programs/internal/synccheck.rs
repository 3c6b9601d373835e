//! `synccheck`: checks of Go's ways for routines to talk and wait, run
//! inside the kernel on however many cores the run has. `kind=all` runs
//! every check that should pass and prints one `ok:` line each; the other
//! kinds misuse something on purpose and must fail the run.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use core::time::Duration;

use crate::api::*;

pub fn main() {
    match options().kind {
        "all" => {
            rendezvous();
            handoff();
            buffered();
            close();
            select_fairness();
            select_blocks_and_defaults();
            many_to_many();
            mutex_counter();
            waitgroup();
            once();
            timers();
        }
        "send-closed" => {
            let (tx, rx) = chan::<u32>(1);
            drop(rx);
            tx.close();
            go(move || tx.send(1)).join();
        }
        "close-twice" => {
            let (tx, _rx) = chan::<u32>(0);
            tx.close();
            tx.close();
        }
        "waitgroup-negative" => {
            let wg = WaitGroup::new();
            wg.add(1);
            wg.done();
            go(move || wg.done()).join();
        }
        "deadlock" => {
            // Nobody ever sends on this channel, yet its sender stays alive,
            // so it is never closed either.
            let (_tx, rx) = chan::<u32>(0);
            rx.recv();
        }
        other => unreachable!("kind {other} is not in the synccheck table"),
    }
}

/// Unbuffered: a send completes only when a receiver takes the value, so
/// when the receiver has value i, send(i + 1) cannot have returned yet.
fn rendezvous() {
    const N: u64 = 200;
    static SENT: AtomicU64 = AtomicU64::new(0);
    let (tx, rx) = chan::<u64>(0);
    let sender = go(move || {
        for i in 1..=N {
            tx.send(i);
            SENT.store(i, Ordering::Release);
        }
    });
    for i in 1..=N {
        assert_eq!(rx.recv(), Some(i), "unbuffered values arrive in order");
        let sent = SENT.load(Ordering::Acquire);
        assert!(sent <= i, "send({}) returned before value {} was received", sent, sent);
        if i % 16 == 0 {
            sleep(Duration::from_micros(100));
        }
    }
    sender.join();
    summary!("ok: rendezvous: {N} unbuffered sends each completed only when received");
}

/// A value for a receiver that is already waiting goes straight to it, not
/// through the buffer.
fn handoff() {
    let (tx, rx) = chan::<u32>(4);
    let rx2 = rx.clone();
    let receiver = go(move || rx2.recv());
    while rx.waiting_receivers() == 0 {
        yield_now(); // until the receiver is parked on recv
    }
    tx.send(7);
    let buffered = rx.len();
    assert_eq!(receiver.join(), Some(7));
    assert_eq!(buffered, 0, "the value went through the buffer");
    summary!("ok: handoff: a waiting receiver got the value directly (buffer stayed empty)");
}

/// Buffered: FIFO; a send blocks only when the buffer is full.
fn buffered() {
    let (tx, rx) = chan::<u32>(3);
    for v in 1..=3 {
        tx.send(v); // room in the buffer: returns at once
    }
    static FOURTH_SENT: AtomicBool = AtomicBool::new(false);
    let tx2 = tx.clone();
    let sender = go(move || {
        tx2.send(4);
        FOURTH_SENT.store(true, Ordering::Release);
    });
    sleep(ms(5));
    assert!(!FOURTH_SENT.load(Ordering::Acquire), "a send to a full buffer did not block");
    let got: Vec<u32> = (0..4).map(|_| rx.recv().unwrap()).collect();
    sender.join();
    assert!(FOURTH_SENT.load(Ordering::Acquire));
    assert_eq!(got, [1, 2, 3, 4]);
    summary!("ok: buffered: FIFO order {got:?}; the 4th send into a 3-slot buffer blocked until a receive");
}

/// Close: receivers drain, then get None; iteration ends once the producer
/// closes; a waiting receiver is woken by close.
fn close() {
    let (tx, rx) = chan::<u32>(3);
    tx.send(1);
    tx.send(2);
    tx.close();
    assert_eq!((rx.recv(), rx.recv(), rx.recv()), (Some(1), Some(2), None));

    let (tx, rx) = chan::<u32>(0);
    let producer = go(move || {
        (1..=5).for_each(|v| tx.send(v));
        tx.close();
    });
    let total: u32 = (&rx).into_iter().sum();
    producer.join();
    assert_eq!(total, 15);
    assert_eq!(rx.recv(), None);

    let (tx, rx) = chan::<u32>(0);
    let waiting = go(move || rx.recv());
    sleep(ms(2));
    tx.close();
    assert_eq!(waiting.join(), None, "a waiting receiver is woken by close");
    summary!("ok: close: drained then None; `for v in &rx` ended; a waiting receiver woke with None");
}

/// Two always-ready channels: select picks each about half the time.
fn select_fairness() {
    const ROUNDS: u32 = 10_000;
    let (tx_a, rx_a) = chan::<u32>(1);
    let (tx_b, rx_b) = chan::<u32>(1);
    tx_a.send(0);
    tx_b.send(0);
    let (mut a, mut b) = (0u32, 0u32);
    for _ in 0..ROUNDS {
        select! {
            recv(rx_a) -> _v => { a += 1; tx_a.send(0); },
            recv(rx_b) -> _v => { b += 1; tx_b.send(0); },
        }
    }
    summary!("ok: select fairness: {ROUNDS} selects over two ready channels chose a {a} times, b {b} times");
}

/// A select with nothing ready runs `default`; without one it waits for the
/// first case that becomes ready.
fn select_blocks_and_defaults() {
    let (_tx_a, rx_a) = chan::<u32>(0);
    let (tx_b, rx_b) = chan::<u32>(0);
    let defaulted = select! {
        recv(rx_a) -> _v => false,
        recv(rx_b) -> _v => false,
        default => true,
    };
    assert!(defaulted);
    let sender = go(move || {
        sleep(ms(2));
        tx_b.send(9);
    });
    let got = select! {
        recv(rx_a) -> v => (0, v),
        recv(rx_b) -> v => (1, v),
    };
    sender.join();
    assert_eq!(got, (1, Some(9)));
    let (tx_c, rx_c) = chan::<u32>(0);
    let receiver = go(move || rx_c.recv());
    select! {
        send(tx_c, 5) => {},
    }
    assert_eq!(receiver.join(), Some(5));
    summary!("ok: select: default when nothing is ready; blocked until a case was ready; send case delivered");
}

/// 8 producers and 8 consumers move 800,000 messages through one buffered
/// channel: each arrives exactly once.
fn many_to_many() {
    const PRODUCERS: u64 = 8;
    const CONSUMERS: usize = 8;
    const PER_PRODUCER: u64 = 100_000;
    let (tx, rx) = chan::<u64>(64);
    let producers: Vec<JoinHandle<()>> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            go(move || (0..PER_PRODUCER).for_each(|i| tx.send(p * PER_PRODUCER + i)))
        })
        .collect();
    let consumers: Vec<JoinHandle<(u64, u64)>> = (0..CONSUMERS)
        .map(|_| {
            let rx = rx.clone();
            go(move || (&rx).into_iter().fold((0, 0), |(n, sum), v| (n + 1, sum + v)))
        })
        .collect();
    producers.into_iter().for_each(JoinHandle::join);
    tx.close(); // every producer is done: the consumers drain and end
    let (count, sum) = consumers.into_iter().map(JoinHandle::join).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let total = PRODUCERS * PER_PRODUCER;
    let expected_sum = total * (total - 1) / 2;
    assert_eq!((count, sum), (total, expected_sum), "messages lost or duplicated");
    summary!("ok: many-to-many: {count} messages received exactly once, checksum {sum} (expected {expected_sum})");
}

/// 8 routines × 10,000 increments under a Mutex.
fn mutex_counter() {
    static COUNTER: Mutex<u64> = Mutex::new(0);
    let workers: Vec<_> = (0..8)
        .map(|_| {
            go(|| {
                for i in 0..10_000 {
                    *COUNTER.lock() += 1;
                    if i % 1000 == 0 {
                        yield_now();
                    }
                }
            })
        })
        .collect();
    workers.into_iter().for_each(JoinHandle::join);
    let total = *COUNTER.lock();
    assert_eq!(total, 80_000);
    summary!("ok: mutex: 8 routines x 10000 increments = {total}");
}

/// `wait` returns once exactly the routines added have called `done`, not
/// waiting for others: a routine outside the group stays blocked until main
/// releases it, which main does only after `wait` returned (had `wait`
/// waited for it, the run would deadlock).
fn waitgroup() {
    static IN_GROUP: AtomicUsize = AtomicUsize::new(0);
    static OUTSIDE: AtomicUsize = AtomicUsize::new(0);
    let wg = WaitGroup::new();
    for i in 0..5u64 {
        wg.add(1);
        let wg = wg.clone();
        drop(go(move || {
            sleep(ms(i + 1));
            IN_GROUP.fetch_add(1, Ordering::Release);
            wg.done();
        }));
    }
    let (release, released) = chan::<()>(0);
    let outside = go(move || {
        released.recv();
        OUTSIDE.fetch_add(1, Ordering::Release);
    });
    wg.wait();
    let (inside, out) = (IN_GROUP.load(Ordering::Acquire), OUTSIDE.load(Ordering::Acquire));
    assert_eq!((inside, out), (5, 0));
    release.send(());
    outside.join();
    assert_eq!(OUTSIDE.load(Ordering::Acquire), 1);
    summary!("ok: waitgroup: wait returned after the 5 routines in the group, while the one outside it was still blocked");
}

/// `call_once` runs its function once, however many routines call it.
fn once() {
    static ONCE: Once = Once::new();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let callers: Vec<_> = (0..8)
        .map(|_| {
            go(|| {
                ONCE.call_once(|| {
                    sleep(ms(1));
                    RUNS.fetch_add(1, Ordering::Relaxed);
                });
                assert_eq!(RUNS.load(Ordering::Relaxed), 1, "call_once returned before the call finished");
            })
        })
        .collect();
    callers.into_iter().for_each(JoinHandle::join);
    summary!("ok: once: 8 callers, {} run", RUNS.load(Ordering::Relaxed));
}

/// `after` fires once after its delay; `tick` fires periodically.
fn timers() {
    let start = now();
    after(ms(3)).recv();
    let waited = now() - start;
    assert!(waited >= ms(3), "after(3 ms) fired after {waited:?}");
    let ticker = tick(ms(2));
    let ticks: Vec<u64> = (0..3).map(|_| ticker.recv().unwrap()).collect();
    // A tick that finds the last one still unread is dropped, as Go's
    // ticker does: a core stalled by the host past a period skips one.
    assert!(ticks[0] == 1 && ticks.windows(2).all(|w| w[0] < w[1]), "ticks {ticks:?}");
    let timeout = after(ms(1));
    let (_tx, never) = chan::<u32>(0);
    let timed_out = select! {
        recv(never) -> _v => false,
        recv(timeout) -> _v => true,
    };
    assert!(timed_out);
    summary!("ok: timers: after(3 ms) waited {} us; tick gave {ticks:?}; a select timed out", waited.as_micros());
}
