//! `parallel-sum`: the same CPU-bound work (summing 1..=N) done by one
//! routine, then split into one part per core (`--cpus`), each part in its
//! own routine. With several cores the parts run in parallel: the speedup
//! is the one-core time over the split time.

use alloc::vec::Vec;

use crate::api::*;

/// Numbers summed (`--n` overrides).
const DEFAULT_N: u64 = 200_000_000;

/// Sums `from..=to` the slow way: one addition per number.
fn sum_range(from: u64, to: u64) -> u64 {
    let mut sum = 0u64;
    for i in from..=to {
        sum = sum.wrapping_add(core::hint::black_box(i));
    }
    sum
}

pub fn main() {
    let n = options().n.unwrap_or(DEFAULT_N);
    let expected = n.wrapping_mul(n + 1) / 2;

    let start = now();
    let one = go(move || sum_range(1, n)).join();
    let one_time = now() - start;
    println!("one routine: sum {one} in {} ms", one_time.as_millis());

    let parts = cores() as u64;
    let start = now();
    let handles: Vec<_> = (0..parts)
        .map(|p| {
            let (from, to) = (p * n / parts + 1, (p + 1) * n / parts);
            go(move || sum_range(from, to))
        })
        .collect();
    let split: u64 = handles.into_iter().map(JoinHandle::join).fold(0, u64::wrapping_add);
    let split_time = now() - start;
    println!("{parts} routines: sum {split} in {} ms", split_time.as_millis());

    assert_eq!((one, split), (expected, expected), "wrong sum");
    let speedup_x100 = one_time.as_nanos() * 100 / split_time.as_nanos().max(1);
    summary!("parallel-sum: sum of 1..={n} = {expected} (correct) on {parts} cores");
    summary!("speedup over 1 core: {}.{:02}x", speedup_x100 / 100, speedup_x100 % 100);
}
