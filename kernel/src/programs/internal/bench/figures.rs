//! How a benchmark measures and prints: repetitions, medians, one row per
//! benchmark.

use alloc::vec::Vec;

use crate::api::*;

/// Repetitions of each benchmark (at least).
pub const REPS: usize = 5;

/// One benchmark's samples and how to print them.
pub struct Figures {
    pub name: &'static str,
    pub unit: &'static str,
    pub samples: Vec<f64>,
}

/// Sorts `samples` (so that the first is the least and the last the
/// greatest) and returns their median. At least one sample.
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let n = samples.len();
    if n % 2 == 1 { samples[n / 2] } else { (samples[n / 2 - 1] + samples[n / 2]) / 2.0 }
}

impl Figures {
    pub fn print(mut self) {
        let n = self.samples.len();
        if n == 0 {
            summary!("bench: {:<18} n/a {}", self.name, self.unit);
            return;
        }
        let median = median(&mut self.samples);
        summary!(
            "bench: {:<18} {:>12.1} {:<14} min {:>12.1}  max {:>12.1}  runs {}",
            self.name,
            median,
            self.unit,
            self.samples[0],
            self.samples[n - 1],
            n
        );
    }
}

/// The unit of a time figure as printed: as given (`ns`, `us`, `ms`, or
/// `ns/...`), or, when the host runs the guest under `--icount` (one guest
/// instruction per virtual nanosecond), the same count of instructions:
/// `instr`, `kinstr`, `Minstr`, `instr/...`.
pub fn time_unit(unit: &'static str) -> &'static str {
    if !options().icount {
        return unit;
    }
    match unit {
        "ns" => "instr",
        "us" => "kinstr",
        "ms" => "Minstr",
        "ns/routine" => "instr/routine",
        "ns/round-trip" => "instr/round-trip",
        "ns/yield" => "instr/yield",
        other => panic!("bench: no instruction-count unit for the time unit {other}"),
    }
}

/// Runs `f` [`REPS`] times and collects what it returns.
pub fn repeat(mut f: impl FnMut() -> f64) -> Vec<f64> {
    (0..REPS).map(|_| f()).collect()
}

/// A workload size divided by `n=` (at least 1).
pub fn scaled(count: u64) -> u64 {
    (count / options().n.unwrap_or(1)).max(1)
}

/// Nanoseconds `f` takes.
pub fn time_ns(f: impl FnOnce()) -> f64 {
    let start = now();
    f();
    (now() - start).as_nanos() as f64
}
