//! `bench`: Spindle's scheduling costs, measured inside the guest with the
//! TSC. The first five workloads are the same as `../shared/bench` (Go) so
//! the figures line up; the rest are Spindle's own (wake-up and preemption
//! latency, memory per parked routine, boot, trace overhead).
//!
//! Each benchmark runs at least [`REPS`] times and prints one table row:
//!
//! ```text
//! bench: NAME  MEDIAN UNIT  min MIN  max MAX  runs N
//! ```
//!
//! `kind=` runs one benchmark (`--only` on the host), or `hot`, the three
//! per-operation figures of the scheduler's hot paths (spawn, pingpong,
//! yield: what tests/budget.rs holds to instruction budgets); `n=` scales the
//! workloads down (for tests): every count is divided by it. `kind=micro`
//! (not part of `all`) times the machine's primitives instead: what a
//! clock read, an interrupt-flag change or an atomic costs here.

mod figures;
mod latency;
mod memory;
mod micro;
mod workloads;

use crate::api::*;

/// The benchmarks `kind=hot` runs: one figure per hot path of the scheduler.
const HOT_PATHS: [&str; 3] = ["spawn", "pingpong", "yield"];

pub fn main() {
    let only = options().kind;
    let wants = |name: &str| only == "all" || only == name || (only == "hot" && HOT_PATHS.contains(&name));
    let clock = if options().icount { "; times in guest instructions (icount: one per virtual ns)" } else { "" };
    summary!("bench: {} cores, {} ms slice; median, min and max over the runs{clock}", cores(), options().slice_ms);
    summary!("bench: {:<18} {:>12} {:<14} {:>16}  {:>17}", "benchmark", "median", "unit", "min", "max");
    if only == "micro" {
        return micro::primitives();
    }
    if wants("boot") {
        latency::boot();
    }
    if wants("spawn") {
        workloads::spawn();
    }
    if wants("pingpong") {
        workloads::pingpong();
    }
    if wants("yield") {
        workloads::yields();
    }
    if wants("sieve") {
        workloads::sieve();
    }
    if wants("cpu") {
        workloads::cpu();
    }
    if wants("wake") {
        latency::wake();
    }
    if wants("steal") {
        latency::failed_steal();
    }
    if wants("preempt") {
        latency::preempt();
    }
    if wants("trace") {
        latency::trace_overhead();
    }
    // Last: it fills memory with parked routines.
    if wants("memory") {
        memory::parked_routines();
    }
}
