//! The routine API programs are written against: what a Go program gets
//! from the language and its `sync` and `time` packages.
//!
//! | Go | Spindle |
//! |---|---|
//! | `go f()` | `go(move \|\| f())` (returns a handle; `join()` waits for the result) |
//! | `runtime.Gosched()` | `yield_now()` |
//! | `time.Sleep(d)` | `sleep(d)` |
//! | `make(chan T, n)` | `chan::<T>(n)` |
//! | `ch <- v`, `<-ch`, `close(ch)` | `tx.send(v)`, `rx.recv()`, `tx.close()` |
//! | `for v := range ch` | `for v in &rx` |
//! | `select { ... }` | `select! { ... }` |
//! | `sync.WaitGroup`, `sync.Mutex`, `sync.Once` | `WaitGroup`, `Mutex`, `Once` |
//! | `time.After(d)`, `time.Tick(d)` | `after(d)`, `tick(d)` |
//!
//! `println!` tags each line with the core and routine that printed it;
//! `summary!` prints a result line untagged (and even with `quiet`).

use core::time::Duration;

pub use crate::sched::{JoinHandle, go, yield_now};
pub use crate::sync::{Mutex, Once, Receiver, Sender, WaitGroup, chan};
pub use crate::{println, select, summary};

/// Parks the running routine for `d`.
pub fn sleep(d: Duration) {
    crate::sched::sleep_ns(d.as_nanos() as u64);
}

/// A channel that receives `()` once, after `d`.
pub fn after(d: Duration) -> Receiver<()> {
    crate::sync::after(d.as_nanos() as u64)
}

/// A channel that receives 1, 2, 3, ... every `d`.
pub fn tick(d: Duration) -> Receiver<u64> {
    crate::sync::tick(d.as_nanos() as u64)
}

/// Time since boot.
pub fn now() -> Duration {
    Duration::from_nanos(crate::time::now())
}

/// The core the calling routine runs on (it may move at any switch).
pub fn cpu() -> usize {
    crate::cpu::index()
}

/// How many cores run routines in this run (`--cpus`).
pub fn cores() -> usize {
    crate::sched::active_cores()
}

/// Milliseconds, as a `Duration`.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// How many routines are running on a core at this instant (a snapshot).
pub fn running_now() -> usize {
    crate::sched::stats::running_now().len()
}

/// The options of this run (`--n`, `--rounds`, `--seed`, ...).
pub fn options() -> &'static spindle_shared::cmdline::Options {
    crate::cmdline::options()
}

/// Returns `x` unchanged, in a way the compiler cannot see through (for
/// loops of arithmetic that must not be folded away).
#[inline(always)]
pub fn opaque(x: u64) -> u64 {
    crate::arch::cpu::opaque(x)
}
