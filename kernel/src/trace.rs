//! The scheduler trace recorder (`trace` on the command line).
//!
//! Each core records into its own buffer, with interrupts off, so recording
//! takes no lock: a clock read and three 8-byte stores, already in the wire
//! format of `spindle_shared::trace` (so the dump is a copy). When tracing
//! is off every recording point costs one load of [`ENABLED`] and a branch.
//!
//! To keep it cheap (the aim: `pingpong` slows by a tenth at most; see
//! docs/benchmarks.md), a switch is one event; times are raw TSC values and
//! the core number is left out, both filled in at the dump; and a wake is
//! only noted on the woken routine ([`pack_wake`]) and recorded when that
//! routine gets a core ([`switch`]): as a bit of the switch when its waker
//! hands it the core on the same core (ping-pong), else as a `Wake` event
//! at that moment, marked cross-core if it runs on another core than the
//! one it was woken on. So the trace shows who woke whom, and where, when
//! the wake took effect; the cost of a wake (its latency) is measured by
//! `bench` instead.
//! A full buffer keeps its first events and counts the rest as dropped; the
//! count goes to the host with the events, which reports it.
//!
//! When the run ends (success, deadlock, panic, fault) and the other cores
//! are stopped, [`dump`] sends every core's buffer to the host on COM2 in
//! the format of `spindle_shared::trace` (if the machine has a COM2).

use alloc::vec::Vec;
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

use spindle_shared::trace::{self, EVENT_SIZE, Kind, SWITCH_HANDOFF};

use crate::arch::serial::Uart;
use crate::{cpu, time};

/// Whether the scheduler records events.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Set once the trace has been sent, so that a failure while sending does
/// not send it again.
static DUMPED: AtomicBool = AtomicBool::new(false);

/// An event as stored: the 24 wire-format bytes as three little-endian
/// words, except that the first holds a TSC value and the core number is
/// missing until the dump.
type Slot = [u64; 3];
const _: () = assert!(core::mem::size_of::<Slot>() == EVENT_SIZE);

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
        let buffer: &'static mut [Slot] = Vec::leak(alloc::vec![[0u64; 3]; events_per_core]);
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
fn write(core: &cpu::Cpu, tsc: u64, kind: Kind, flag: u8, a: u64, b: u64, c: u64) {
    let buffer = &core.trace;
    let slot = buffer.next.get();
    if slot == buffer.end.get() {
        buffer.dropped.set(buffer.dropped.get() + 1);
        return;
    }
    // The core number (bits 16-31) is filled in by the dump.
    let word1 = kind as u64 | (flag as u64) << 8 | (a & 0xFFFF_FFFF) << 32;
    let word2 = (b & 0xFFFF_FFFF) | c << 32;
    // SAFETY: `slot` is below `end`, in this core's buffer, which only this
    // core writes, with interrupts off.
    unsafe {
        slot.write([tsc, word1.to_le(), word2.to_le()]);
        buffer.next.set(slot.add(1));
    }
}

/// Records an event on the running core now. Interrupts off.
#[inline]
pub fn record(kind: Kind, flag: u8, a: u64, b: u64, c: u64) {
    if enabled() {
        write(cpu::current(), time::read_tsc(), kind, flag, a, b, c);
    }
}

/// A wake noted on the woken routine: its waker (0: none) and the core.
#[inline(always)]
pub fn pack_wake(waker: u64, cpu: u32) -> u64 {
    // The low bit keeps a wake by "nobody" (an interrupt) from reading as
    // no wake at all.
    (waker << 17) | ((cpu as u64) << 1) | 1
}

/// Records a switch on this core from routine `prev` to `next` (0: the
/// idle loop), with `flag` as in `spindle_shared::trace` (the hand-off bit
/// is this function's to set) and the wait reason `waits_for`; `woken_by`
/// is the wake noted on `next` ([`pack_wake`]), 0 if none. Interrupts off.
#[inline(always)]
pub fn switch(prev: u64, next: u64, mut flag: u8, waits_for: u64, woken_by: u64) {
    let core = cpu::current();
    let now = time::read_tsc();
    if woken_by != 0 {
        let waker = woken_by >> 17;
        let woken_on = (woken_by >> 1) & 0xFFFF;
        let here = core.index as u64;
        if waker == prev && prev != 0 && woken_on == here {
            flag |= SWITCH_HANDOFF;
        } else {
            write(core, now, Kind::Wake, (woken_on != here) as u8, waker, next, woken_on);
        }
    }
    write(core, now, Kind::Switch, flag, prev, next, waits_for);
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
        port.write_raw(&trace::core_header(core.index as u32, events.len() as u32, core.trace.dropped.get()));
        let cpu = (core.index as u64 & 0xFFFF) << 16;
        for event in events {
            port.write_raw(&time::tsc_to_ns_since_boot(event[0]).to_le_bytes());
            port.write_raw(&(u64::from_le(event[1]) | cpu).to_le_bytes());
            port.write_raw(&u64::from_le(event[2]).to_le_bytes());
        }
    }
    port.write_raw(trace::TRAILER);
}
