//! `hello`: main starts four routines; each prints its steps with some work
//! in between. On one core (`--cpus 1`) they take turns; on four
//! (`--cpus 4`) they run at the same time. At the end: the most routines
//! seen running at the same instant, and the wall time.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::api::*;

const ROUTINES: usize = 4;
const STEPS: usize = 3;
/// Work between two steps: enough that routines on different cores overlap.
const WORK_ITERATIONS: u64 = 2_000_000;

/// Most routines seen running at once.
static MAX_PARALLEL: AtomicUsize = AtomicUsize::new(0);

/// Busy work that also notes how many routines are running right now.
fn work() {
    let mut x = 0u64;
    for i in 0..WORK_ITERATIONS {
        x = x.wrapping_mul(31).wrapping_add(i);
        if i % 100_000 == 0 {
            MAX_PARALLEL.fetch_max(running_now(), Ordering::Relaxed);
        }
    }
    core::hint::black_box(x);
}

pub fn main() {
    let start = now();
    println!("main: starting {ROUTINES} routines");
    let wg = WaitGroup::new();
    for _ in 0..ROUTINES {
        wg.add(1);
        let wg = wg.clone();
        go(move || {
            // The id in this routine's `[cpu C rN]` tag, and on the timeline.
            let me = routine_id();
            for step in 1..=STEPS {
                println!("routine {me}: step {step}");
                work();
                yield_now();
            }
            println!("routine {me}: done");
            wg.done();
        });
    }
    wg.wait();
    summary!("max parallel: {}", MAX_PARALLEL.load(Ordering::Relaxed));
    summary!("wall time: {} ms", (now() - start).as_millis());
}
