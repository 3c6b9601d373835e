//! Latencies and overheads Go's benchmark set does not have: boot, waking a
//! parked routine (same core and across cores), preemption, and the cost of
//! recording the scheduler trace.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use super::workloads::pingpong_ns;
use super::{Figures, REPS, scaled};
use crate::api::*;
use crate::{sched, smp, trace};

/// Wake-ups measured per run.
const WAKES: u64 = 200;
/// How long the waker keeps its core busy after a cross-core wake, so the
/// woken routine can only run on another core.
const WAKER_BUSY: Duration = Duration::from_micros(500);
/// Time slice while preemption is measured, and for how long.
const PREEMPT_SLICE_NS: u64 = 1_000_000;
const PREEMPT_RUN: Duration = Duration::from_millis(300);
/// Round trips per trace-overhead run, and pairs of runs (off, on).
const TRACED_ROUND_TRIPS: u64 = 5_000;
const OVERHEAD_PAIRS: usize = 15;

pub fn boot() {
    let ms = smp::all_online_ns() as f64 / 1e6;
    Figures { name: "boot-all-online", unit: "ms", samples: [ms].into() }.print();
}

fn spin_for(d: Duration) {
    let end = now() + d;
    while now() < end {
        core::hint::spin_loop();
    }
}

/// A receiver parks; a sender sends it the time of the send. `busy`: the
/// sender then keeps its core, so the receiver runs elsewhere (cross-core);
/// otherwise the sender blocks at once and the receiver runs on its core.
/// Returns (ns from send to receiver running, whether it ran on another core).
fn wake_samples(busy: bool) -> Vec<(f64, bool)> {
    let (tx, rx) = chan::<(u64, usize)>(0);
    let (back_tx, back_rx) = chan::<(f64, bool)>(1);
    let receiver = go(move || {
        for (sent, from) in &rx {
            let arrived = now().as_nanos() as u64;
            back_tx.send(((arrived - sent) as f64, cpu() != from));
        }
    });
    let samples = (0..scaled(WAKES))
        .map(|_| {
            sleep(Duration::from_micros(200)); // the receiver parks meanwhile
            tx.send((now().as_nanos() as u64, cpu()));
            if busy {
                spin_for(WAKER_BUSY);
            }
            back_rx.recv().expect("the receiver answers")
        })
        .collect();
    drop(tx);
    receiver.join();
    samples
}

pub fn wake() {
    let local: Vec<f64> = (0..REPS).flat_map(|_| wake_samples(false)).map(|(ns, _)| ns).collect();
    Figures { name: "wake-same-core", unit: "ns", samples: local }.print();
    if cores() < 2 {
        summary!("bench: {:<18} n/a (one core)", "wake-cross-core");
        return;
    }
    let cross: Vec<f64> = (0..REPS)
        .flat_map(|_| wake_samples(true))
        .filter(|&(_, elsewhere)| elsewhere)
        .map(|(ns, _)| ns)
        .collect();
    Figures { name: "wake-cross-core", unit: "ns", samples: cross }.print();
}

/// Two busy routines per core for a while with a 1 ms slice; the scheduler
/// records how long past each slice's end the core was taken back.
pub fn preempt() {
    let slice = sched::slice_ns();
    sched::set_slice_ns(PREEMPT_SLICE_NS);
    let (_, before) = sched::preemption_lateness();
    static STOP: AtomicBool = AtomicBool::new(false);
    STOP.store(false, Ordering::Relaxed);
    let spinners: Vec<_> = (0..2 * cores())
        .map(|_| {
            go(|| {
                while !STOP.load(Ordering::Relaxed) {
                    core::hint::spin_loop();
                }
            })
        })
        .collect();
    sleep(PREEMPT_RUN);
    STOP.store(true, Ordering::Relaxed);
    spinners.into_iter().for_each(JoinHandle::join);
    sched::set_slice_ns(slice);
    let (mut late, after) = sched::preemption_lateness();
    late.sort_unstable();
    if late.is_empty() {
        summary!("bench: {:<18} n/a (no preemption happened)", "preempt-late");
        return;
    }
    let at = |p: usize| late[(late.len() - 1) * p / 100] as f64 / 1000.0;
    summary!(
        "bench: {:<18} p50 {:.1} us  p99 {:.1} us  max {:.1} us  ({} preemptions of {} us slices)",
        "preempt-late",
        at(50),
        at(99),
        at(100),
        after - before,
        PREEMPT_SLICE_NS / 1000
    );
}

/// Pingpong with the trace off and on, in pairs in one boot: the overhead
/// is the median of each pair's ratio, so that a slow stretch of the host
/// (which shifts both runs of a pair) does not count as tracing's cost.
/// The order within a pair alternates, so neither side always runs first.
pub fn trace_overhead() {
    let round_trips = scaled(TRACED_ROUND_TRIPS);
    // Room for every event of the traced runs (at most 6 per round trip).
    let events = (OVERHEAD_PAIRS as u64 * round_trips * 6) as usize;
    if !trace::enabled() {
        trace::start(cores(), events);
    }
    trace::set_recording(false);
    let (mut off, mut on, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..OVERHEAD_PAIRS {
        let run = |traced: bool| {
            trace::set_recording(traced);
            let ns = pingpong_ns(0, round_trips);
            trace::set_recording(false);
            ns
        };
        let (untraced, traced) = if pair % 2 == 0 {
            let u = run(false);
            (u, run(true))
        } else {
            let t = run(true);
            (run(false), t)
        };
        off.push(untraced);
        on.push(traced);
        ratios.push(traced / untraced);
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    let overhead = (ratios[ratios.len() / 2] - 1.0) * 100.0;
    Figures { name: "pingpong-untraced", unit: "ns/round-trip", samples: off }.print();
    Figures { name: "pingpong-traced", unit: "ns/round-trip", samples: on }.print();
    summary!(
        "bench: {:<18} {:>12.1} %  (median of {} paired runs; range {:.1} to {:.1} %)",
        "trace-overhead",
        overhead,
        OVERHEAD_PAIRS,
        (ratios[0] - 1.0) * 100.0,
        (ratios[ratios.len() - 1] - 1.0) * 100.0
    );
}
