//! The scheduler trace recorder (`trace` on the command line).
//!
//! Each core records into its own buffer, with interrupts off, so recording
//! takes no lock: a clock read and four 8-byte stores. When tracing is off
//! every recording point costs one load of [`ENABLED`] and a branch.
//!
//! To keep it cheap (the aim: `pingpong` slows by a tenth at most; see
//! docs/benchmarks.md), the recording path stores raw facts and leaves the
//! interpreting to [`dump`], which runs once, at the end:
//! - a switch is one stored event, with the wake noted on the routine that
//!   starts (who woke it, on which core: [`pack_wake`]) stored as it is;
//! - times are raw TSC values, and the core number is left out;
//! - a switch stores its routine's wait reason whatever the reason it
//!   stopped for (only a `Block` keeps it on the wire).
//!
//! The dump turns a switch whose routine was woken into a `Wake` event (at
//! the switch: the moment the woken routine got the core, marked cross-core
//! if it was woken on another core) followed by the `Switch`, except for a
//! same-core hand-off (ping-pong: the routine that stopped had woken the
//! one that starts, here), which stays one `Switch` with its hand-off bit
//! set. So the trace shows who woke whom, and where, when the wake took
//! effect; the cost of a wake (its latency) is measured by `bench` instead.
//! A full buffer keeps its first events and counts the rest as dropped
//! (a switch counts once, with its wake); the count goes to the host with
//! the events, which reports it.
//!
//! When the run ends (success, deadlock, panic, fault) and the other cores
//! are stopped, [`dump`] sends every core's buffer to the host on COM2 in
//! the format of `spindle_shared::trace` (if the machine has a COM2).

use alloc::vec::Vec;
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

use spindle_shared::trace::{self, Kind, SWITCH_HANDOFF, StopReason};

use crate::arch::serial::Uart;
use crate::{cpu, time};

/// Whether the scheduler records events.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Set once the trace has been sent, so that a failure while sending does
/// not send it again.
static DUMPED: AtomicBool = AtomicBool::new(false);

/// An event as stored: the 24 wire-format bytes as three little-endian
/// words, except that the first holds a TSC value and the core number is
/// missing until the dump; then a switch's wake note ([`pack_wake`]), 0 if
/// none, and 0 for other events.
type Slot = [u64; 4];

/// One core's events. Only that core writes it, with interrupts off.
pub struct TraceBuffer {
    start: Cell<*mut Slot>,
    next: Cell<*mut Slot>,
    end: Cell<*mut Slot>,
    dropped: Cell<u64>,
}

impl TraceBuffer {
    pub const fn new() -> TraceBuffer {
        let null = core::ptr::null_mut();
        TraceBuffer {
            start: Cell::new(null),
            next: Cell::new(null),
            end: Cell::new(null),
            dropped: Cell::new(0),
        }
    }

    /// The events recorded so far.
    fn recorded(&self) -> &[Slot] {
        let start = self.start.get();
        if start.is_null() {
            return &[];
        }
        // SAFETY: `start..next` lies in the buffer and holds written events.
        unsafe { core::slice::from_raw_parts(start, self.next.get().offset_from(start) as usize) }
    }
}

/// Allocates `events_per_core` events for each of the first `cores` cores
/// and starts recording.
pub fn start(cores: usize, events_per_core: usize) {
    for core in cpu::all().take(cores) {
        let buffer: &'static mut [Slot] = Vec::leak(alloc::vec![[0u64; 4]; events_per_core]);
        let range = buffer.as_mut_ptr_range();
        // Recording has not started: nobody else touches the buffers.
        core.trace.start.set(range.start);
        core.trace.next.set(range.start);
        core.trace.end.set(range.end);
    }
    ENABLED.store(true, Ordering::Release);
}

/// Stops or resumes recording without touching the buffers (the trace
/// overhead benchmark compares the same work with and without it).
pub fn set_recording(on: bool) {
    ENABLED.store(on, Ordering::Release);
}

/// Whether events are being recorded.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}


#[inline(always)]
fn write(core: &cpu::Cpu, tsc: u64, kind: Kind, flag: u8, a: u64, b: u64, c: u64, wake: u64) {
    let buffer = &core.trace;
    let slot = buffer.next.get();
    if slot == buffer.end.get() {
        buffer.dropped.set(buffer.dropped.get().wrapping_add(1));
        return;
    }
    // The core number (bits 16-31) is filled in by the dump.
    let word1 = kind as u64 | (flag as u64) << 8 | (a & 0xFFFF_FFFF) << 32;
    let word2 = (b & 0xFFFF_FFFF) | c << 32;
    // SAFETY: `slot` is below `end`, in this core's buffer, which only this
    // core writes, with interrupts off.
    unsafe {
        slot.write([tsc, word1.to_le(), word2.to_le(), wake.to_le()]);
        buffer.next.set(slot.add(1));
    }
}

/// Records an event on the running core now. Interrupts off.
#[inline]
pub fn record(kind: Kind, flag: u8, a: u64, b: u64, c: u64) {
    if enabled() {
        write(cpu::current(), time::read_tsc(), kind, flag, a, b, c, 0);
    }
}

/// A wake noted on the woken routine: its waker (0: none) and the core.
#[inline(always)]
pub fn pack_wake(waker: u64, cpu: u32) -> u64 {
    // The low bit keeps a wake by "nobody" (an interrupt) from reading as
    // no wake at all.
    (waker << 17) | ((cpu as u64) << 1) | 1
}

/// Records a switch on this core (`core`) from routine `prev` to `next`
/// (0: the idle loop), with `flag` as in `spindle_shared::trace` (the
/// hand-off bit is the dump's to set), the wait reason of `prev`
/// (`waits_for`, kept by the dump only if `prev` blocked) and the wake
/// noted on `next` (`woken_by`, 0 if none). Interrupts off.
#[inline(always)]
pub fn switch(core: &cpu::Cpu, prev: u64, next: u64, flag: u8, waits_for: u64, woken_by: u64) {
    write(core, time::read_tsc(), Kind::Switch, flag, prev, next, waits_for, woken_by);
}

/// The wire events (three little-endian words each) that one stored
/// event of core `here` stands for, passed to `emit`: a switch's wake
/// becomes a `Wake` event before it unless it is a same-core hand-off,
/// which becomes the switch's hand-off bit (see the module's comment).
fn wire_events(here: u64, slot: &Slot, mut emit: impl FnMut([u64; 3])) {
    let [tsc, word1, word2, woken_by] = slot.map(u64::from_le);
    let time = time::tsc_to_ns_since_boot(tsc);
    let cpu = (here & 0xFFFF) << 16;
    let (mut word1, mut word2) = (word1 | cpu, word2);
    if word1 as u8 == Kind::Switch as u8 {
        let (flag, prev, next) = ((word1 >> 8) as u8, word1 >> 32, word2 & 0xFFFF_FFFF);
        if flag & 0x0F != StopReason::Block as u8 {
            word2 = next; // only a Block has a wait reason
        }
        if woken_by != 0 {
            let (waker, woken_on) = ((woken_by >> 17) & 0xFFFF_FFFF, (woken_by >> 1) & 0xFFFF);
            if prev != 0 && waker == prev && woken_on == here {
                word1 |= (SWITCH_HANDOFF as u64) << 8;
            } else {
                let cross = (woken_on != here) as u64;
                emit([time, Kind::Wake as u64 | cross << 8 | cpu | waker << 32, next | woken_on << 32]);
            }
        }
    }
    emit([time, word1, word2]);
}

/// Sends every core's events to the host on COM2. Call once the other
/// cores are stopped; does nothing if tracing is off or already sent.
pub fn dump() {
    if !enabled() || DUMPED.swap(true, Ordering::AcqRel) {
        return;
    }
    ENABLED.store(false, Ordering::Release);
    // SAFETY: the run is ending and this is the only user of COM2.
    let Some(mut port) = (unsafe { Uart::data() }) else {
        // Nobody listens (the trace was only recorded to measure its cost).
        return;
    };
    let cores: Vec<&cpu::Cpu> = cpu::all().filter(|c| !c.trace.start.get().is_null()).collect();
    port.write_raw(&trace::header(cores.len() as u32));
    for core in cores {
        // The other cores are stopped: their buffers are no longer written.
        let events = core.trace.recorded();
        let here = core.index as u64;
        let mut count = 0;
        events.iter().for_each(|event| wire_events(here, event, |_| count += 1));
        port.write_raw(&trace::core_header(here as u32, count, core.trace.dropped.get()));
        for event in events {
            wire_events(here, event, |words| words.iter().for_each(|w| port.write_raw(&w.to_le_bytes())));
        }
    }
    port.write_raw(trace::TRAILER);
}
