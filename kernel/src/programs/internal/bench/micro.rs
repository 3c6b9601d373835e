//! The cost of the primitives the scheduler is built from, on this machine:
//! under QEMU's TCG some instructions (`sti`, `pushf`, `rdtsc`, locked
//! operations) cost far more than on hardware, and this shows how much.
//! Each figure is the mean over ten million iterations of a loop that calls
//! the primitive through a function pointer; the `empty` row is that loop
//! alone, to subtract.

use core::sync::atomic::{AtomicU64, Ordering};

use super::figures::{time_ns, time_unit};
use crate::api::*;
use crate::arch::interrupts::{disable_interrupts, disable_interrupts_unchecked, enable_interrupts, restore_interrupts};
use crate::{cpu, time};

const ITERATIONS: u64 = 10_000_000;

fn row(name: &str, f: &dyn Fn()) {
    let ns = time_ns(|| (0..ITERATIONS).for_each(|_| f())) / ITERATIONS as f64;
    summary!("bench: micro {name:<24} {ns:>8.1} {} per call", time_unit("ns"));
}

pub fn primitives() {
    static CELL: AtomicU64 = AtomicU64::new(0);
    row("empty", &|| {
        opaque(1);
    });
    row("rdtsc", &|| {
        opaque(time::read_tsc());
    });
    row("clock read (ns)", &|| {
        opaque(time::now());
    });
    row("pause (spin-loop hint)", &core::hint::spin_loop);
    row("pushf+cli, sti", &|| restore_interrupts(disable_interrupts()));
    row("cli, sti", &|| {
        disable_interrupts_unchecked();
        enable_interrupts();
    });
    row("compare-and-swap", &|| {
        let v = CELL.load(Ordering::Relaxed);
        let _ = CELL.compare_exchange(v, v + 1, Ordering::AcqRel, Ordering::Relaxed);
    });
    row("load + store", &|| CELL.store(opaque(CELL.load(Ordering::Relaxed)) + 1, Ordering::Release));
    row("fetch_add", &|| {
        CELL.fetch_add(1, Ordering::Relaxed);
    });
    row("per-core data (GS)", &|| {
        opaque(cpu::index() as u64);
    });
}
