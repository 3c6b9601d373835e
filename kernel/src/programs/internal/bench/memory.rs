//! Memory per parked routine: how many routines can be alive, parked on a
//! channel, at once, and what each costs in physical memory.

use super::figures::Figures;
use crate::api::*;
use crate::mem::{PAGE_SIZE, frames};

/// Frames left free when the benchmark stops spawning (16 MiB), so the
/// kernel itself never runs out.
const RESERVE_FRAMES: u64 = 4096;
/// Routines spawned between two looks at free memory.
const BATCH: u64 = 1000;

fn free_frames() -> u64 {
    let (total, used) = frames::usage();
    total - used
}

pub fn parked_routines() {
    let (total, used_before) = frames::usage();
    let (tx, rx) = chan::<()>(0);
    let mut alive = 0u64;
    while free_frames() > RESERVE_FRAMES + 2 * BATCH {
        for _ in 0..BATCH {
            let rx = rx.clone();
            go(move || {
                rx.recv();
            });
        }
        alive += BATCH;
        // Let them all run up to their receive and park.
        while rx_waiting(&rx) < alive {
            yield_now();
        }
    }
    let (_, used_after) = frames::usage();
    let bytes = (used_after - used_before) * PAGE_SIZE / alive.max(1);
    let memory_mib = (total * PAGE_SIZE) >> 20;
    Figures { name: "parked-bytes", unit: "bytes/routine", samples: [bytes as f64].into() }.print();
    summary!("bench: {:<18} {:>12} routines alive at once in {} MiB of usable memory", "parked-alive", alive, memory_mib);
    // Leave them parked until the run ends (they are counted as abandoned)
    // rather than spend seconds waking each one: the channel is never
    // closed (dropping its sender does not close it).
    drop(tx);
}

/// How many routines are parked receiving on `rx`.
fn rx_waiting(rx: &Receiver<()>) -> u64 {
    rx.waiting_receivers() as u64
}
