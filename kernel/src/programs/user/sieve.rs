//! `sieve`: the concurrent prime sieve from Go's early days. A generator
//! routine sends 2, 3, 4, ... down an unbuffered channel; each prime found
//! starts a filter routine that passes on only the numbers it does not
//! divide, so the chain of routines grows by one per prime.
//!
//! Main prints the first `--n` primes (default 100) and returns, abandoning
//! the generator and the filters, which would run for ever.

use alloc::vec::Vec;

use crate::api::*;

const DEFAULT_PRIMES: u64 = 100;
const PER_LINE: usize = 10;

fn generate(out: Sender<u64>) {
    let mut n = 2;
    loop {
        out.send(n);
        n += 1;
    }
}

fn filter(input: Receiver<u64>, out: Sender<u64>, prime: u64) {
    for n in &input {
        if n % prime != 0 {
            out.send(n);
        }
    }
}

pub fn main() {
    let count = options().n.unwrap_or(DEFAULT_PRIMES);
    let (tx, mut numbers) = chan::<u64>(0);
    go(move || generate(tx));
    let mut line = Vec::with_capacity(PER_LINE);
    let mut last = 0;
    for _ in 0..count {
        let prime = numbers.recv().expect("the generator never stops");
        last = prime;
        line.push(prime);
        if line.len() == PER_LINE {
            println!("{line:?}");
            line.clear();
        }
        let (tx, rx) = chan::<u64>(0);
        go(move || filter(numbers, tx, prime));
        numbers = rx;
    }
    if !line.is_empty() {
        println!("{line:?}");
    }
    summary!("sieve: prime number {count} is {last}");
}
