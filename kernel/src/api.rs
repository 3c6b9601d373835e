//! The routine API programs are written against: what a Go program gets
//! from the language and its `sync`, `time` and `runtime` packages.
//!
//! | Go | Spindle |
//! |---|---|
//! | `go f()` | `go(move \|\| f())` (returns a handle; `join()` waits for the result) |
//! | `runtime.Gosched()` | `yield_now()` |
//! | `runtime.GOMAXPROCS(0)` | `cores()` |
//! | `runtime.NumGoroutine()` | `routines()` |
//! | `runtime.ReadMemStats(&m)` | `mem_stats()` (heap, stacks, physical memory; see [`MemStats`]) |
//! | `time.Sleep(d)`, `time.Since(t)` | `sleep(d)`, `now() - t` |
//! | `make(chan T, n)` | `chan::<T>(n)`: a `(Sender<T>, Receiver<T>)` pair |
//! | `ch <- v`, `<-ch`, `v, ok := <-ch` | `tx.send(v)`, `rx.recv()`, `let v = rx.recv()` (`None`: closed and drained) |
//! | `close(ch)`, `defer close(ch)` | `tx.close()`, `tx.close()` as the routine's last statement. Dropping every `Sender` does **not** close the channel, as in Go (see [`crate::sync::chan`]) |
//! | `len(ch)`, `cap(ch)` | `tx.len()`, `tx.cap()`, `rx.len()`, `rx.cap()` |
//! | `var ch chan T` (nil), `ch = nil` | `let ch: Option<Sender<T>> = None`, `ch = None` (or `Option<Receiver<T>>`, or of references). `ch.send(v)`/`ch.recv()` on `None` block for ever ([`SendChan`], [`RecvChan`]) |
//! | `for v := range ch` | `for v in &rx` |
//! | `select { case v := <-a: ...; case b <- x: ...; default: ... }` | `select! { recv(a) -> v => ..., send(b, x) => ..., default => ... }`: any number of cases, `default` anywhere, channel and value expressions evaluated once in source order (temporaries such as `recv(after(d))` work) |
//! | a select case on a nil channel (never fires) | a case whose channel is `None`: `recv(opt) -> v`, `send(opt, x)` |
//! | `select {}` | `select! {}` (blocks for ever) |
//! | `break` inside a select case (leaves the select) | refused unlabeled (E0695): end the arm instead; `break 'outer` leaves a labeled loop |
//! | `continue` inside a select case | `continue 'outer` (an unlabeled one is refused, like `break`) |
//! | `reflect.Select(cases)` | `select_cases(&mut cases)` with `SelectCase::recv(&rx)`, `SelectCase::send(&tx, v)`, `SelectCase::Default`, `SelectCase::Nil` |
//! | `sync.WaitGroup`, `sync.Mutex`, `sync.Once` | `WaitGroup`, `Mutex` (holds its data, as Rust's does), `Once` |
//! | `time.After(d)`, `time.Tick(d)` | `after(d)`, `tick(d)` |
//! | `panic(v)` | `panic!(...)`: ends the **whole run** (every routine, exit status 1) with `panic: ... [routine R on cpu C] at file:line` |
//! | `recover()` | none: a panic cannot be caught. Tests check must-panic behaviour from the host: they boot a program (a `kind=` of `synccheck` or `chancheck`) that misuses something on purpose and assert on the console's `panic:` line and the failing exit status (`tests/sync.rs`, `tests/chan.rs`) |
//!
//! Misuses the compiler can catch (sharing what is not thread-safe, an
//! unlabeled `break` in a select arm) are checked not to compile by
//! `tests/compile_fail.rs` (`kernel/src/misuse.rs`).
//!
//! `println!` tags each line with the core and routine that printed it;
//! `summary!` prints a result line untagged (and even with `quiet`).

#![forbid(unsafe_code)]

use core::time::Duration;

pub use crate::sched::{JoinHandle, go, yield_now};
pub use crate::sync::{Mutex, Once, Receiver, RecvChan, SelectCase, SendChan, Sender, WaitGroup, chan, select_cases};
pub use crate::{println, select, summary};

/// Parks the running routine for `d`.
pub fn sleep(d: Duration) {
    crate::sched::sleep_ns(crate::time::duration_ns(d));
}

/// A channel that receives `()` once, after `d`.
pub fn after(d: Duration) -> Receiver<()> {
    crate::sync::after(crate::time::duration_ns(d))
}

/// A channel that receives 1, 2, 3, ... every `d`.
pub fn tick(d: Duration) -> Receiver<u64> {
    crate::sync::tick(crate::time::duration_ns(d))
}

/// Time since boot.
pub fn now() -> Duration {
    Duration::from_nanos(crate::time::now())
}

/// The calling routine's id: the `N` of the `[cpu C rN]` tag its lines are
/// printed with (main is 1, then in spawn order). Go has no such id; this
/// one is Spindle's, for matching a program's output with its tags and its
/// timeline.
pub fn routine_id() -> u64 {
    crate::sched::current_id().map_or(0, |(id, _)| id)
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
    crate::arch::opaque(x)
}

/// Routines started and not yet finished, main included (Go's
/// `runtime.NumGoroutine`). A routine counts as finished once its function
/// has returned. The counts are summed core by core while routines run,
/// so a routine spawned on a core already read and finished on one read
/// later may be counted finished only: the difference saturates at 0.
pub fn routines() -> u64 {
    let totals = crate::sched::stats::totals();
    totals.spawned.saturating_sub(totals.finished)
}

/// Memory figures of the whole machine, at the moment of the call (the
/// parts of Go's `runtime.MemStats` Spindle has). Differences between two
/// calls show what something cost: a routine's stack, a leak.
#[derive(Clone, Copy, Debug)]
pub struct MemStats {
    /// Bytes allocated on the heap and not yet freed (Go's `HeapAlloc`).
    pub heap_bytes: u64,
    /// Heap allocations not yet freed (Go's `HeapObjects`).
    pub heap_objects: u64,
    /// Heap allocations since boot (Go's `Mallocs`; `Frees` is this minus
    /// `heap_objects`).
    pub allocations: u64,
    /// Bytes of memory mapped for the heap (Go's `HeapSys`).
    pub heap_mapped_bytes: u64,
    /// Bytes of memory mapped for stacks: every page a routine's stack has
    /// touched, and the kernel's own stacks (Go's `StackSys`). Stacks are
    /// recycled, never unmapped, so this only grows.
    pub stack_mapped_bytes: u64,
    /// Physical memory in use, for everything (heap, stacks, page tables).
    pub memory_used_bytes: u64,
    /// Physical memory the kernel can use in all.
    pub memory_total_bytes: u64,
}

/// Reads the memory figures (takes the heap's and the frame allocator's
/// locks briefly).
pub fn mem_stats() -> MemStats {
    let heap = crate::mem::heap::usage();
    let (frames_total, frames_used) = crate::mem::frames::usage();
    MemStats {
        heap_bytes: heap.allocated,
        heap_objects: heap.objects,
        allocations: heap.allocations,
        heap_mapped_bytes: heap.mapped,
        stack_mapped_bytes: crate::mem::stack::mapped_bytes(),
        memory_used_bytes: frames_used * crate::mem::PAGE_SIZE,
        memory_total_bytes: frames_total * crate::mem::PAGE_SIZE,
    }
}
