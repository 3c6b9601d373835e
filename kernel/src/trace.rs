//! The scheduler trace recorder (`trace` on the command line).
//!
//! Each core records into its own buffer, with interrupts off, so recording
//! takes no lock: a clock read and three 8-byte stores. When tracing is off
//! every recording point costs one load of [`ENABLED`] and a branch.
//!
//! To keep it cheap (the aim: `pingpong` slows by a tenth at most; see
//! docs/benchmarks.md), the recording path stores raw facts and leaves the
//! interpreting to [`dump`], which runs once, at the end:
//! - a switch is one stored event, with the wake noted on the routine that
//!   starts (who woke it, on which core: [`pack_wake`]) stored as it is,
//!   in bits the wire format fills in later;
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
//! When the run ends (success, deadlock, panic, fault, or the host asked
//! for it) and the other cores are stopped, [`dump`] sends every core's
//! buffer to the host on COM2 in the format of `spindle_shared::trace` (if
//! the machine has a COM2), each followed by an `End` event that says when
//! and how the run ended.

use alloc::vec::Vec;
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

use spindle_shared::cmdline::MAX_CPUS;
use spindle_shared::exit::GuestExit;
use spindle_shared::trace::{self, EVENT_SIZE, Kind, SWITCH_HANDOFF, StopReason};

use crate::arch::interrupts::debug_assert_interrupts_off;
use crate::arch::serial::Uart;
use crate::{cpu, time};

/// Whether the scheduler records events.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Set once the trace has been sent, so that a failure while sending does
/// not send it again.
static DUMPED: AtomicBool = AtomicBool::new(false);

/// An event as stored: the 24 wire-format bytes as three little-endian
/// words, except that the first holds a TSC value and the core number is
/// missing until the dump. A switch keeps the wake noted on the routine
/// that starts (40 bits, [`pack_wake`]) in bits the dump fills in: the low
/// 16 where the core number goes, the high 24 above its 8-bit wait reason.
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
        TraceBuffer { start: Cell::new(null), next: Cell::new(null), end: Cell::new(null), dropped: Cell::new(0) }
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
/// overhead benchmark compares the same work with and without it). A wake
/// noted while recording and not yet recorded when it stops stays noted on
/// its routine, and shows up at that routine's first switch-in once
/// recording resumes; the benchmark stops only where none is pending.
pub fn set_recording(on: bool) {
    ENABLED.store(on, Ordering::Release);
}

/// Whether events are being recorded.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Stores an event's three words in this core's buffer, or counts it as
/// dropped if the buffer is full. Interrupts off.
#[inline(always)]
fn store(core: &cpu::Cpu, words: Slot) {
    debug_assert_interrupts_off();
    let buffer = &core.trace;
    let slot = buffer.next.get();
    if slot == buffer.end.get() {
        buffer.dropped.set(buffer.dropped.get().wrapping_add(1));
        return;
    }
    // SAFETY: `slot` is below `end`, in this core's buffer, which only this
    // core writes, with interrupts off.
    unsafe {
        slot.write(words.map(u64::to_le));
        buffer.next.set(slot.add(1));
    }
}

/// The first word after the time: kind, flag and `a` (the core number,
/// bits 16-31, is filled in by the dump).
#[inline(always)]
fn kind_flag_a(kind: Kind, flag: u8, a: u64) -> u64 {
    kind as u64 | (flag as u64) << 8 | (a & 0xFFFF_FFFF) << 32
}

/// Records an event on the running core now. Interrupts off.
#[inline]
pub fn record(kind: Kind, flag: u8, a: u64, b: u64, c: u64) {
    if enabled() {
        let words = [time::read_tsc(), kind_flag_a(kind, flag, a), (b & 0xFFFF_FFFF) | c << 32];
        store(cpu::current(), words);
    }
}

/// A wake noted on the woken routine: its waker (0: an interrupt or the
/// kernel) and the core it was woken on, in 40 bits; never 0, which means
/// no wake.
#[inline(always)]
pub fn pack_wake(waker: u64, cpu: u32) -> u64 {
    const _: () = assert!(MAX_CPUS < 255, "the core, plus one, takes 8 bits");
    (waker & 0xFFFF_FFFF) << 8 | (cpu as u64 + 1)
}

/// The waker and the core of a wake note made by [`pack_wake`].
fn unpack_wake(note: u64) -> (u64, u64) {
    (note >> 8, (note & 0xFF) - 1)
}

/// Where a stored switch keeps its wake note: the low bits where the dump
/// puts the core number (bits 16-31 of the first word after the time), the
/// rest above the 8-bit wait reason (bits 40-63 of the second).
const NOTE_LOW_BITS: u32 = 16;
const NOTE_LOW_AT: u32 = 16;
const NOTE_HIGH_AT: u32 = 40;
const NOTE_LOW_MASK: u64 = (1 << NOTE_LOW_BITS) - 1;

/// Records a switch on this core (`core`) from routine `prev` to `next`
/// (0: the idle loop), with `flag` as in `spindle_shared::trace` (the
/// hand-off bit is the dump's to set), the wait reason of `prev`
/// (`waits_for`, kept by the dump only if `prev` blocked) and the wake
/// noted on `next` (`woken_by`, 0 if none). Interrupts off.
#[inline(always)]
pub fn switch(core: &cpu::Cpu, prev: u64, next: u64, flag: u8, waits_for: u64, woken_by: u64) {
    let word1 = kind_flag_a(Kind::Switch, flag, prev) | (woken_by & NOTE_LOW_MASK) << NOTE_LOW_AT;
    let word2 = (next & 0xFFFF_FFFF) | (waits_for & 0xFF) << 32 | (woken_by >> NOTE_LOW_BITS) << NOTE_HIGH_AT;
    store(core, [time::read_tsc(), word1, word2]);
}

/// The wire events (three words each) that one stored event of core
/// `here` stands for, passed to `emit`: a switch's wake becomes a `Wake`
/// event before it unless it is a same-core hand-off, which becomes the
/// switch's hand-off bit (see the module's comment).
fn wire_events(here: u64, slot: &Slot, mut emit: impl FnMut([u64; 3])) {
    let [tsc, word1, word2] = slot.map(u64::from_le);
    let time = time::tsc_to_ns_since_boot(tsc);
    let cpu_field = (here & 0xFFFF) << 16;
    if word1 as u8 != Kind::Switch as u8 {
        return emit([time, word1 | cpu_field, word2]);
    }
    let woken_by = (word1 >> NOTE_LOW_AT) & NOTE_LOW_MASK | (word2 >> NOTE_HIGH_AT) << NOTE_LOW_BITS;
    let (flag, prev, next) = ((word1 >> 8) as u8, word1 >> 32, word2 & 0xFFFF_FFFF);
    let mut switch = word1 & !(NOTE_LOW_MASK << NOTE_LOW_AT) | cpu_field;
    // Only a Block has a wait reason.
    let waits_for = if flag & 0x0F == StopReason::Block as u8 { (word2 >> 32) & 0xFF } else { 0 };
    if woken_by != 0 {
        let (waker, woken_on) = unpack_wake(woken_by);
        if prev != 0 && waker == prev && woken_on == here {
            switch |= (SWITCH_HANDOFF as u64) << 8;
        } else {
            let cross = (woken_on != here) as u64;
            emit([time, kind_flag_a(Kind::Wake, cross as u8, waker) | cpu_field, next | woken_on << 32]);
        }
    }
    emit([time, switch, next | waits_for << 32]);
}

/// Sends every core's events to the host on COM2, each core's ending with
/// the `End` event of a run that ended as `exit` says. Call once the other
/// cores are stopped; does nothing if tracing is off or already sent.
pub fn dump(exit: GuestExit) {
    if !enabled() || DUMPED.swap(true, Ordering::AcqRel) {
        return;
    }
    ENABLED.store(false, Ordering::Release);
    let ended_ns = time::now();
    // SAFETY: the run is ending and this is the only user of COM2.
    let Some(mut port) = (unsafe { Uart::data() }) else {
        // Nobody listens (the trace was only recorded to measure its cost).
        return;
    };
    // On the stop path: no allocation (see `crate::panic`), so the cores
    // are walked twice rather than collected.
    let traced = || cpu::all().filter(|c| !c.trace.start.get().is_null());
    port.write_raw(&trace::header(traced().count() as u32));
    for core in traced() {
        // The other cores are stopped: their buffers are no longer written.
        let events = core.trace.recorded();
        let here = core.index() as u64;
        let mut count = 1; // the `End` event
        events.iter().for_each(|event| wire_events(here, event, |_| count += 1));
        port.write_raw(&trace::core_header(here as u32, count, core.trace.dropped.get()));
        for event in events {
            wire_events(here, event, |words| words.iter().for_each(|w| port.write_raw(&w.to_le_bytes())));
        }
        port.write_raw(&trace::end_event(ended_ns, here as u16, exit).encode());
    }
    port.write_raw(trace::TRAILER);
}
