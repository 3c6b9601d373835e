//! Latencies and overheads Go's benchmark set does not have: boot, waking a
//! parked routine (same core and across cores), a steal attempt that finds
//! nothing, preemption, and the cost of recording the scheduler trace.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use super::workloads::BareRally;
use crate::programs::user::pingpong;
use super::figures::{Figures, REPS, median, scaled, time_ns, time_unit};
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
/// The trace overhead on the `pingpong` program: round trips per run, and
/// pairs of runs (off, on).
const PROGRAM_ROUND_TRIPS: u64 = 2_000;
const PROGRAM_PAIRS: usize = 51;
/// The trace overhead on the bare hand-off loop: round trips per block, and
/// pairs of blocks (off, on), all in one rally.
const BLOCK_ROUND_TRIPS: u64 = 50;
const BLOCK_PAIRS: usize = 2_000;

pub fn boot() {
    let ms = smp::all_online_ns() as f64 / 1e6;
    Figures { name: "boot-all-online", unit: time_unit("ms"), samples: [ms].into() }.print();
}

/// Failed steal attempts timed, while every other core is idle (main runs
/// alone): what a core looking for work pays per attempt when there is none.
const FAILED_STEALS: u64 = 200;

/// What one steal attempt that finds nothing costs (all passes over the
/// other cores); grows with the number of cores.
pub fn failed_steal() {
    if cores() < 2 {
        summary!("bench: {:<18} n/a (one core)", "steal-fail");
        return;
    }
    let samples = (0..scaled(FAILED_STEALS)).filter_map(|_| sched::stats::failed_steal_ns()).map(|ns| ns as f64).collect();
    Figures { name: "steal-fail", unit: "ns", samples }.print();
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
                crate::time::delay_us(WAKER_BUSY.as_micros() as u64);
            }
            back_rx.recv().expect("the receiver answers")
        })
        .collect();
    tx.close();
    receiver.join();
    samples
}

pub fn wake() {
    let local: Vec<f64> = (0..REPS).flat_map(|_| wake_samples(false)).map(|(ns, _)| ns).collect();
    Figures { name: "wake-same-core", unit: time_unit("ns"), samples: local }.print();
    if cores() < 2 {
        summary!("bench: {:<18} n/a (one core)", "wake-cross-core");
        return;
    }
    let cross: Vec<f64> = (0..REPS)
        .flat_map(|_| wake_samples(true))
        .filter(|&(_, elsewhere)| elsewhere)
        .map(|(ns, _)| ns)
        .collect();
    Figures { name: "wake-cross-core", unit: time_unit("ns"), samples: cross }.print();
}

/// Two busy routines per core for a while with a 1 ms slice; the scheduler
/// records how long past each slice's end the core was taken back.
pub fn preempt() {
    let slice = sched::slice_ns();
    sched::set_slice_ns(PREEMPT_SLICE_NS);
    let (_, before) = sched::stats::preemption_lateness();
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
    let (mut late, after) = sched::stats::preemption_lateness();
    late.sort_unstable();
    if late.is_empty() {
        summary!("bench: {:<18} n/a (no preemption happened)", "preempt-late");
        return;
    }
    let at = |p: usize| late[(late.len() - 1) * p / 100] as f64 / 1000.0;
    summary!(
        "bench: {:<18} p50 {:.1} {us}  p99 {:.1} {us}  max {:.1} {us}  ({} preemptions of {} {us} slices)",
        "preempt-late",
        at(50),
        at(99),
        at(100),
        after - before,
        PREEMPT_SLICE_NS / 1000,
        us = time_unit("us"),
    );
}

/// The cost of recording the trace, on two ping-pongs: the `pingpong`
/// program's own rally (what the trace issue sets its bound on), and the
/// bare hand-off loop of the `pingpong` benchmark, whose round trip is
/// nothing but two channel hand-offs, which shows the cost per switch at
/// its plainest. Each is timed with the trace off and on, close together
/// so that the host's load shifts both alike; the overhead is the median
/// of the ratios of the pairs.
pub fn trace_overhead() {
    let program_trips = scaled(PROGRAM_ROUND_TRIPS);
    let block_trips = scaled(BLOCK_ROUND_TRIPS);
    if trace::enabled() {
        // Its buffer, sized for the whole run, would fill and the traced
        // side would measure the cheaper path that only counts drops.
        summary!("bench: {:<18} n/a (this run is traced: measure it without --trace, --timeline or --stats)", "trace-overhead");
        return;
    }
    // Room for every event of the traced runs: a round trip stores two
    // wakes and two switches, and now and then a timer tick.
    let events = 5 * (PROGRAM_PAIRS as u64 * program_trips + BLOCK_PAIRS as u64 * block_trips) as usize;
    trace::start(cores(), events);
    trace::set_recording(false);

    // The program: a whole rally per run.
    overhead("trace-program", "the pingpong program", PROGRAM_PAIRS, || {
        let elapsed = pingpong::rally(program_trips, 0).elapsed;
        elapsed.as_nanos() as f64 / program_trips as f64
    });

    // The bare loop: one rally, the trace switched on and off between
    // blocks of round trips (always while main runs, so that a block's
    // switches are all traced or all not).
    let rally = BareRally::start();
    rally.hit(block_trips); // warm up
    overhead("trace-bare", "the bare ping-pong", BLOCK_PAIRS, || time_ns(|| rally.hit(block_trips)) / block_trips as f64);
    rally.end();
}

/// Measures `ns_per_round_trip` in `pairs` pairs, with the trace off and
/// on, and prints the overhead: the median of the pairs' ratios, their
/// range, and the median of each side. The order within a pair alternates,
/// so that neither side always runs first.
fn overhead(name: &str, on_what: &str, pairs: usize, mut ns_per_round_trip: impl FnMut() -> f64) {
    let mut run = |traced: bool| {
        trace::set_recording(traced);
        let ns = ns_per_round_trip();
        trace::set_recording(false);
        ns
    };
    let (mut off, mut on, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..pairs {
        let (untraced, traced) = if pair % 2 == 0 {
            let untraced = run(false);
            (untraced, run(true))
        } else {
            let traced = run(true);
            (run(false), traced)
        };
        off.push(untraced);
        on.push(traced);
        ratios.push(traced / untraced);
    }
    let overhead = (median(&mut ratios) - 1.0) * 100.0;
    summary!(
        "bench: {:<18} {:>12.1} %  trace overhead on {on_what}: median of {pairs} pairs (off, on), range {:.1} to {:.1} %; {:.0} {} per round trip untraced, {:.0} traced",
        name,
        overhead,
        (ratios[0] - 1.0) * 100.0,
        (ratios[ratios.len() - 1] - 1.0) * 100.0,
        median(&mut off),
        time_unit("ns"),
        median(&mut on)
    );
}
