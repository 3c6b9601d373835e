//! `chancheck`: Go's channel semantics where they are easy to get subtly
//! wrong, checked inside the kernel: the random choice among select cases
//! on one channel, nil channels, `len`/`cap`, wide and dynamic selects,
//! evaluation order and temporaries in cases, and the memory figures.
//! (Where `default` may go, labeled `break`/`continue` in arms and dropped
//! senders are the kernel's own tests now: `sync::select_macro`,
//! `sync::chan`, run by `ktest`.)
//! `kind=all` runs every check and prints one `ok:` line each (a failed
//! check panics); the other kinds block or misuse something on purpose and
//! must fail the run as Go's runtime would.

use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::api::*;

/// Rounds of each same-channel check, and the fewest times each of the two
/// cases must win: Go's `TestPseudoRandomSend` fails at `n / 10` or fewer.
const ROUNDS: usize = 100;
const FEWEST_WINS: usize = ROUNDS / 10 + 1;

pub fn main() {
    match options().kind {
        "all" => {
            for cap in [0, 1] {
                same_channel_receives(cap);
                same_channel_sends(cap);
            }
            nil_cases();
            len_and_cap();
            wide_select();
            dynamic_select();
            evaluation_order_and_temporaries();
            memory_figures();
        }
        "nil-send" => {
            let nil: Option<Sender<u32>> = None;
            nil.send(1);
        }
        "nil-recv" => {
            let blocked = go(|| None::<Receiver<u32>>.recv());
            blocked.join();
        }
        "nil-select" => {
            let (off_rx, off_tx): (Option<Receiver<u32>>, Option<&Sender<u32>>) = (None, None);
            select! {
                recv(off_rx) -> _v => {},
                send(off_tx, 1) => {},
            }
        }
        "close-nil" => None::<Sender<u32>>.close(),
        "dropped-sender" => {
            // Go: nobody can send any more, but the channel is not closed,
            // so the receive waits for ever: a deadlock.
            let (tx, rx) = chan::<u32>(0);
            drop(tx);
            rx.recv();
        }
        other => unreachable!("kind {other} is not in the chancheck table"),
    }
}

/// Two receive cases on one channel, the select parked before the value
/// comes: the sender must be equally likely to complete either case. (A
/// select that queued its cases in source order would always pick case 0.)
fn same_channel_receives(cap: usize) {
    let (tx, rx) = chan::<usize>(cap);
    let sender = go(move || {
        for round in 0..ROUNDS {
            while tx.waiting_receivers() < 2 {
                yield_now(); // until both cases are queued
            }
            tx.send(round);
        }
    });
    let mut wins = [0usize; 2];
    for round in 0..ROUNDS {
        let (case, got) = select! {
            recv(rx) -> v => (0, v),
            recv(rx) -> v => (1, v),
        };
        assert_eq!(got, Some(round), "values arrive in order");
        wins[case] += 1;
    }
    sender.join();
    check_both_won("receive", cap, wins);
}

/// Two send cases on one channel (0 and 1), the select parked before the
/// receiver comes: either must be equally likely to be taken. Buffered, the
/// buffer is filled first so that the select has to wait.
fn same_channel_sends(cap: usize) {
    const FILL: usize = 9;
    let (tx, rx) = chan::<usize>(cap);
    let receiver = go(move || {
        let mut got = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            while rx.waiting_senders() < 2 {
                yield_now(); // until both cases are queued
            }
            if cap > 0 {
                assert_eq!(rx.recv(), Some(FILL)); // frees the slot the select waits for
            }
            got.push(rx.recv().unwrap());
        }
        got
    });
    let mut chosen = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        if cap > 0 {
            tx.send(FILL);
        }
        chosen.push(select! {
            send(tx, 0) => 0,
            send(tx, 1) => 1,
        });
    }
    let got = receiver.join();
    assert_eq!(got, chosen, "each value received is the one its case sent");
    let ones = chosen.iter().sum::<usize>();
    check_both_won("send", cap, [ROUNDS - ones, ones]);
}

fn check_both_won(direction: &str, cap: usize, wins: [usize; 2]) {
    let kind = if cap == 0 { "unbuffered" } else { "buffered" };
    assert!(
        wins.iter().all(|&w| w >= FEWEST_WINS),
        "same-channel {direction} cases ({kind}) are not chosen at random: {wins:?} of {ROUNDS}"
    );
    summary!("ok: same-channel {direction} cases, {kind}: case 0 won {}, case 1 won {} of {ROUNDS}", wins[0], wins[1]);
}

/// A case whose channel is `None` never fires, whether the select polls or
/// waits; setting a case's channel to `None` switches it off (Go's merge of
/// two channels until both are closed).
fn nil_cases() {
    let (tx, rx) = chan::<u32>(1);
    let nil_rx: Option<&Receiver<u32>> = None;
    let nil_tx: Option<Sender<u32>> = None;
    for round in 0..1000 {
        tx.send(round);
        let got = select! {
            recv(nil_rx) -> _v => unreachable!("a nil receive case fired"),
            send(nil_tx, 0) => unreachable!("a nil send case fired"),
            recv(Some(&rx)) -> v => v,
        };
        assert_eq!(got, Some(round));
    }
    let only_nil = select! {
        recv(nil_rx) -> _v => false,
        default => true,
    };
    assert!(only_nil, "a select of nil cases runs its default");

    let (tx_b, rx_b) = chan::<u32>(0);
    let late = go(move || {
        sleep(ms(1));
        tx_b.send(7);
        tx_b.close();
    });
    let got = select! {
        recv(nil_rx) -> _v => unreachable!("a nil case fired while the select waited"),
        recv(rx_b) -> v => v,
    };
    assert_eq!(got, Some(7));
    late.join();

    let (a_tx, a_rx) = chan::<u32>(0);
    let (b_tx, b_rx) = chan::<u32>(0);
    let feeders = [(a_tx, 1..=10), (b_tx, 11..=30)].map(|(tx, values)| {
        go(move || {
            values.for_each(|v| tx.send(v));
            tx.close();
        })
    });
    let (mut a, mut b) = (Some(a_rx), Some(b_rx));
    let (mut sum, mut selects) = (0, 0);
    while a.is_some() || b.is_some() {
        selects += 1;
        select! {
            recv(a) -> v => match v {
                Some(v) => sum += v,
                None => a = None,
            },
            recv(b) -> v => match v {
                Some(v) => sum += v,
                None => b = None,
            },
        }
    }
    feeders.into_iter().for_each(JoinHandle::join);
    assert_eq!((sum, selects), ((1..=30).sum(), 32));
    summary!("ok: nil cases: never fired in 1000 polls or while waiting; merged two channels to their close, switching each off with None (sum {sum})");
}

/// `len` and `cap` on both ends, and on nil channels.
fn len_and_cap() {
    let (tx, rx) = chan::<u32>(3);
    tx.send(1);
    tx.send(2);
    assert_eq!((tx.len(), tx.cap(), rx.len(), rx.cap()), (2, 3, 2, 3));
    rx.recv();
    assert_eq!((tx.len(), rx.len()), (1, 1));
    let (utx, urx) = chan::<u32>(0);
    assert_eq!((utx.len(), utx.cap(), urx.len(), urx.cap()), (0, 0, 0, 0));
    let (nil_tx, nil_rx): (Option<Sender<u32>>, Option<&Receiver<u32>>) = (None, None);
    assert_eq!((nil_tx.len(), nil_tx.cap(), nil_rx.len(), nil_rx.cap()), (0, 0, 0, 0));
    let some = Some(&tx);
    assert_eq!((some.len(), some.cap()), (1, 3));
    summary!("ok: len and cap: both ends agree (2 of 3, then 1), unbuffered 0 of 0, nil 0 of 0");
}

/// A `select!` of 20 cases: each fires when its channel alone is ready,
/// also after waiting; with 12 ready at once, each gets chosen.
fn wide_select() {
    const WIDE: usize = 20;
    let channels: Vec<(Sender<usize>, Receiver<usize>)> = (0..WIDE).map(|_| chan(1)).collect();
    let r: Vec<&Receiver<usize>> = channels.iter().map(|(_, rx)| rx).collect();
    let wide = || {
        select! {
            recv(r[0]) -> v => v, recv(r[1]) -> v => v, recv(r[2]) -> v => v, recv(r[3]) -> v => v,
            recv(r[4]) -> v => v, recv(r[5]) -> v => v, recv(r[6]) -> v => v, recv(r[7]) -> v => v,
            recv(r[8]) -> v => v, recv(r[9]) -> v => v, recv(r[10]) -> v => v, recv(r[11]) -> v => v,
            recv(r[12]) -> v => v, recv(r[13]) -> v => v, recv(r[14]) -> v => v, recv(r[15]) -> v => v,
            recv(r[16]) -> v => v, recv(r[17]) -> v => v, recv(r[18]) -> v => v, recv(r[19]) -> v => v,
        }
    };
    for (i, (tx, _)) in channels.iter().enumerate() {
        tx.send(i);
        assert_eq!(wide(), Some(i));
    }
    let (late_tx, senders) = chan::<Sender<usize>>(1);
    late_tx.send(channels[17].0.clone());
    let late = go(move || {
        let tx = senders.recv().unwrap();
        while tx.waiting_receivers() == 0 {
            yield_now(); // until the select waits
        }
        tx.send(1717);
    });
    assert_eq!(wide(), Some(1717), "a wide select that waited got the late value");
    late.join();
    const READY: usize = 12;
    let mut wins = [0usize; READY];
    for _ in 0..100 * READY {
        for (tx, rx) in &channels[..READY] {
            if rx.len() == 0 {
                tx.send(0); // refill the one the last select emptied
            }
        }
        wide();
        let emptied = channels[..READY].iter().position(|(_, rx)| rx.len() == 0);
        wins[emptied.expect("the select received from a ready channel")] += 1;
    }
    assert!(wins.iter().all(|&w| w > 0), "some ready case of 12 never won: {wins:?}");
    summary!("ok: wide select: 20 cases, each fired alone and after waiting; 12 ready at once won {wins:?}");
}

/// `select_cases` (Go's `reflect.Select`): receives from a run-time list of
/// channels until each is closed, switching closed ones off with `Nil`;
/// runs a send case and the default.
fn dynamic_select() {
    const CHANNELS: usize = 10;
    const EACH: u64 = 20;
    let (txs, rxs): (Vec<Sender<u64>>, Vec<Receiver<u64>>) = (0..CHANNELS).map(|_| chan(0)).unzip();
    let producers: Vec<JoinHandle<()>> = txs
        .into_iter()
        .enumerate()
        .map(|(c, tx)| {
            go(move || {
                (0..EACH).for_each(|i| tx.send(c as u64 * 1000 + i));
                tx.close();
            })
        })
        .collect();
    let mut cases: Vec<SelectCase<'_, u64>> = rxs.iter().map(SelectCase::recv).collect();
    let (mut open, mut received, mut sum) = (CHANNELS, 0u64, 0u64);
    while open > 0 {
        match select_cases(&mut cases) {
            (_, Some(v)) => {
                received += 1;
                sum += v;
            }
            (closed, None) => {
                cases[closed] = SelectCase::Nil;
                open -= 1;
            }
        }
    }
    producers.into_iter().for_each(JoinHandle::join);
    let expected: u64 = (0..CHANNELS as u64).map(|c| (0..EACH).map(|i| c * 1000 + i).sum::<u64>()).sum();
    assert_eq!((received, sum), (CHANNELS as u64 * EACH, expected));

    let (tx, rx) = chan::<u64>(1);
    let mut cases = vec![SelectCase::Default, SelectCase::recv(&rx), SelectCase::send(&tx, 42)];
    assert_eq!(select_cases(&mut cases), (2, None), "the send case is the only one that can go");
    assert_eq!(select_cases(&mut cases[..2]), (1, Some(42)));
    assert_eq!(select_cases(&mut cases[..2]), (0, None), "nothing ready: the default");
    summary!("ok: dynamic select: {received} values from {CHANNELS} channels until each closed (checksum {sum}); send and default cases");
}

/// Channel and value expressions are evaluated once each, in source order,
/// before the select; temporaries (a channel received from a channel,
/// `after(d)`) live through it.
fn evaluation_order_and_temporaries() {
    let order = RefCell::new(Vec::new());
    let note = |what: &'static str| order.borrow_mut().push(what);
    let (tx_a, rx_a) = chan::<u32>(1);
    let (tx_b, _rx_b) = chan::<u32>(0);
    tx_a.send(1);
    let got = select! {
        recv({ note("channel a"); &rx_a }) -> v => v,
        send({ note("channel b"); &tx_b }, { note("value b"); 2 }) => None,
        default => { note("default"); None },
    };
    assert_eq!(got, Some(1));
    assert_eq!(*order.borrow(), ["channel a", "channel b", "value b"]);

    let (cc_tx, cc_rx) = chan::<Sender<u32>>(1);
    let (tx, rx) = chan::<u32>(1);
    cc_tx.send(tx);
    select! {
        send(cc_rx.recv().unwrap(), 2) => {},
    }
    let timed_out = select! {
        recv(after(ms(1))) -> _v => true,
        recv(rx_a) -> _v => false,
    };
    assert_eq!((rx.recv(), timed_out), (Some(2), true));
    summary!("ok: evaluation order: {:?}; a channel received in the case and after(d) worked as temporaries", order.borrow());
}

/// The memory figures move as they should: a heap allocation shows in the
/// heap, parked routines in `routines()`, and every figure is consistent.
fn memory_figures() {
    const ALLOCATED: usize = 1 << 20;
    const PARKED: u64 = 200;
    // The figures are the whole heap's, and routines of the earlier checks
    // may still be on their way out on other cores, freeing as they go. A
    // try counts only if nothing else allocated or freed meanwhile (one
    // allocation, one object more, then one fewer); until one does, the
    // block must at least show (and if none ever does, that is all that
    // is checked).
    const TRIES: usize = 100;
    let mut undisturbed = None;
    let mut last = None;
    for _ in 0..TRIES {
        let before = mem_stats();
        let block: Vec<u8> = vec![1; ALLOCATED];
        let during = mem_stats();
        assert!(during.heap_bytes >= ALLOCATED as u64 && during.allocations > before.allocations);
        assert!(during.heap_mapped_bytes >= during.heap_bytes && during.memory_used_bytes <= during.memory_total_bytes);
        drop(block);
        let after_free = mem_stats();
        let alone = during.allocations == before.allocations + 1
            && during.heap_objects == before.heap_objects + 1
            && after_free.allocations == during.allocations
            && after_free.heap_objects == before.heap_objects;
        if alone {
            assert!(during.heap_bytes >= before.heap_bytes + ALLOCATED as u64, "{before:?} -> {during:?}");
            assert!(after_free.heap_bytes + ALLOCATED as u64 <= during.heap_bytes, "{during:?} -> {after_free:?}");
            undisturbed = Some((before, during));
            break;
        }
        last = Some((before, during));
        sleep(ms(1));
    }
    let (before, during) = undisturbed.or(last).expect("at least one try");

    // Routines of earlier checks may still exit meanwhile (nothing else
    // spawns): the counts can only fall by more than the parked ones.
    let live = routines();
    let (tx, rx) = chan::<()>(0);
    let parked: Vec<JoinHandle<()>> = (0..PARKED)
        .map(|_| {
            let rx = rx.clone();
            go(move || {
                rx.recv();
            })
        })
        .collect();
    while rx.waiting_receivers() < PARKED as usize {
        yield_now();
    }
    let with_parked = (routines(), mem_stats());
    tx.close();
    parked.into_iter().for_each(JoinHandle::join);
    let after = routines();
    assert!(
        with_parked.0 <= live + PARKED && with_parked.0 >= after + PARKED && after <= live,
        "routines: {live}, with {PARKED} parked {}, after {after}",
        with_parked.0
    );
    let kib = |b: u64| b >> 10;
    summary!(
        "ok: memory figures: a 1 MiB Vec raised the heap by {} KiB; {PARKED} parked routines counted ({} live, then {live}); stacks mapped {} KiB, memory used {} of {} MiB",
        kib(during.heap_bytes.saturating_sub(before.heap_bytes)),
        with_parked.0,
        kib(with_parked.1.stack_mapped_bytes),
        with_parked.1.memory_used_bytes >> 20,
        with_parked.1.memory_total_bytes >> 20,
    );
}
