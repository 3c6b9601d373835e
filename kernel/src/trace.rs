//! The scheduler trace recorder (`trace` on the command line).
//!
//! Each core records into its own buffer, with interrupts off, so recording
//! takes no lock: a timestamp and a 24-byte store. When tracing is off every
//! recording point costs one load of [`ENABLED`] and a branch. A full buffer
//! keeps its first events and counts the rest as dropped; the count goes to
//! the host with the events, which reports it.
//!
//! When the run ends (success, deadlock, panic, fault) and the other cores
//! are stopped, [`dump`] sends every core's buffer to the host on COM2 in
//! the format of `spindle_shared::trace`.

use alloc::vec::Vec;
use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{AtomicBool, Ordering};

use spindle_shared::trace::{self, Event, Kind};

use crate::arch::serial::Uart;
use crate::{cpu, time};

/// Whether the scheduler records events.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Set once the trace has been sent, so that a failure while sending does
/// not send it again.
static DUMPED: AtomicBool = AtomicBool::new(false);

/// One core's events. Only that core writes it, with interrupts off.
pub struct TraceBuffer {
    events: UnsafeCell<Vec<Event>>,
    dropped: Cell<u64>,
}

impl TraceBuffer {
    pub const fn new() -> TraceBuffer {
        TraceBuffer { events: UnsafeCell::new(Vec::new()), dropped: Cell::new(0) }
    }
}

/// Allocates `events_per_core` events for each of the first `cores` cores
/// and starts recording.
pub fn start(cores: usize, events_per_core: usize) {
    for core in cpu::all().take(cores) {
        // SAFETY: recording has not started: nobody else touches the buffers.
        unsafe { *core.trace.events.get() = Vec::with_capacity(events_per_core) };
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

/// Records an event on the running core at time `time_ns`. Interrupts off.
#[inline]
pub fn record_at(time_ns: u64, kind: Kind, flag: u8, a: u64, b: u64, c: u64) {
    if !enabled() {
        return;
    }
    let core = cpu::current();
    // SAFETY: only this core writes its buffer, and interrupts are off.
    let events = unsafe { &mut *core.trace.events.get() };
    if events.len() == events.capacity() {
        core.trace.dropped.set(core.trace.dropped.get() + 1);
        return;
    }
    events.push(Event { time_ns, kind: kind as u8, flag, cpu: core.index as u16, a: a as u32, b: b as u32, c: c as u32 });
}

/// Records an event on the running core now. Interrupts off.
#[inline]
pub fn record(kind: Kind, flag: u8, a: u64, b: u64, c: u64) {
    if enabled() {
        record_at(time::now(), kind, flag, a, b, c);
    }
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
    let cores: Vec<&cpu::Cpu> = cpu::all().filter(|c| {
        // SAFETY: the other cores are stopped; the buffers are no longer written.
        unsafe { (*c.trace.events.get()).capacity() > 0 }
    }).collect();
    port.write_raw(&trace::header(cores.len() as u32));
    for core in cores {
        // SAFETY: as above.
        let events = unsafe { &*core.trace.events.get() };
        port.write_raw(&trace::core_header(core.index as u32, events.len() as u32, core.trace.dropped.get()));
        for event in events {
            port.write_raw(&event.encode());
        }
    }
    port.write_raw(trace::TRAILER);
}
