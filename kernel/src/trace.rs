//! The scheduler trace recorder (`trace` on the command line).
//!
//! Each core records into its own buffer, with interrupts off, so recording
//! takes no lock: a clock read and a few stores. When tracing is off
//! every recording point costs one load of [`ENABLED`] and a branch.
//!
//! To keep it cheap (the aim: `pingpong` slows by a tenth at most; see
//! docs/benchmarks.md), the recording path stores raw facts and leaves the
//! interpreting to [`dump`], which runs once, at the end:
//! - a switch is one stored event: the routine that starts, why the other
//!   stopped, and its wait reason if it blocked. Which routine stopped is
//!   left out: it is the one the core's previous switch started;
//! - a wake is one stored event, at the moment of the wake, on the core
//!   that woke the routine: whom it woke and whether a timer did. Who
//!   else woke it is left out: the routine running there, as the core's
//!   last switch says. The time from the wake to the woken routine's next
//!   switch-in is how long that routine waited, runnable, for a core (its
//!   scheduling latency);
//! - times are raw TSC values, and the core number is left out.
//!
//! A full buffer keeps its first events and counts the rest as dropped; the
//! count goes to the host with the events, which reports it.
//!
//! The lines the console prints go in too (the console hands their text
//! to [`line_text`] and [`line_end`], registered by [`start`]): each line's
//! text is copied to its core's text area, and a `Print` event says who
//! printed it, when, and where its text is. An area that fills keeps its
//! first lines whole and cuts the rest (their events say so).
//!
//! When the run ends (success, deadlock, panic, fault, or the host asked
//! for it) and the other cores are stopped, [`dump`] sends every core's
//! buffer to the host on COM2 in the format of `spindle_shared::trace` (if
//! the machine has a COM2), each followed by an `End` event that says when
//! and how the run ended.

use alloc::vec::Vec;
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

use spindle_shared::exit::GuestExit;
use spindle_shared::trace::{
    self, EVENT_SIZE, Event, Kind, MAX_PRINT_TEXT, PRINT_CUT, STORED_WAKE_BY_TIMER, StopReason, TEXT_BYTES_PER_EVENT,
};

use crate::arch::interrupts::debug_assert_interrupts_off;
use crate::arch::serial::Uart;
use crate::{console, cpu, time};

/// Whether the scheduler records events.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Set once the trace has been sent, so that a failure while sending does
/// not send it again.
static DUMPED: AtomicBool = AtomicBool::new(false);

/// An event as stored: the 24 wire-format bytes as three little-endian
/// words, except that the first holds a TSC value, the core number is
/// missing until the dump, and a switch or a wake leaves out what the
/// dump can tell from the order of the core's events
/// (`spindle_shared::trace::Stored`).
type Slot = [u64; 3];
const _: () = assert!(core::mem::size_of::<Slot>() == EVENT_SIZE);

/// One core's events, and the text of the lines it printed. Only that core
/// writes it, with interrupts off.
pub struct TraceBuffer {
    start: Cell<*mut Slot>,
    next: Cell<*mut Slot>,
    end: Cell<*mut Slot>,
    dropped: Cell<u64>,
    text: TextArea,
}

/// Where a core's printed lines go: `start..next` is written, and the line
/// being printed began at `line`.
struct TextArea {
    start: Cell<*mut u8>,
    next: Cell<*mut u8>,
    end: Cell<*mut u8>,
    line: Cell<*mut u8>,
    /// Part of the line being printed did not fit.
    cut: Cell<bool>,
}

impl TraceBuffer {
    pub const fn new() -> TraceBuffer {
        let null = core::ptr::null_mut();
        TraceBuffer {
            start: Cell::new(null),
            next: Cell::new(null),
            end: Cell::new(null),
            dropped: Cell::new(0),
            text: TextArea {
                start: Cell::new(core::ptr::null_mut()),
                next: Cell::new(core::ptr::null_mut()),
                end: Cell::new(core::ptr::null_mut()),
                line: Cell::new(core::ptr::null_mut()),
                cut: Cell::new(false),
            },
        }
    }

    /// The text of the lines printed so far.
    fn printed(&self) -> &[u8] {
        let start = self.text.start.get();
        if start.is_null() {
            return &[];
        }
        // SAFETY: `start..next` lies in the text area and was written.
        unsafe { core::slice::from_raw_parts(start, self.text.next.get().offset_from(start) as usize) }
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

/// Allocates `events_per_core` events (and the text area that goes with
/// them) for each of the first `cores` cores and starts recording.
pub fn start(cores: usize, events_per_core: usize) {
    for core in cpu::all().take(cores) {
        let buffer: &'static mut [Slot] = Vec::leak(alloc::vec![[0u64; 3]; events_per_core]);
        let range = buffer.as_mut_ptr_range();
        let text: &'static mut [u8] = Vec::leak(alloc::vec![0u8; events_per_core * TEXT_BYTES_PER_EVENT]);
        let text_range = text.as_mut_ptr_range();
        // Recording has not started: nobody else touches the buffers.
        core.trace.start.set(range.start);
        core.trace.next.set(range.start);
        core.trace.end.set(range.end);
        core.trace.text.start.set(text_range.start);
        core.trace.text.next.set(text_range.start);
        core.trace.text.line.set(text_range.start);
        core.trace.text.end.set(text_range.end);
    }
    console::record_lines_with(console::LineRecorder { text: line_text, end: line_end });
    ENABLED.store(true, Ordering::Release);
}

/// Stops or resumes recording without touching the buffers (the trace
/// overhead benchmark compares the same work with and without it). A trace
/// recorded with gaps is not fit to send: the dump takes the routine that
/// stops at a switch, and a wake's waker, from the core's previous switch,
/// which a gap may have left out (`spindle_shared::trace::Stored`). The
/// benchmark's trace is never sent.
pub fn set_recording(on: bool) {
    ENABLED.store(on, Ordering::Release);
}

/// Whether events are being recorded.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// This core's next free slot, or `None` (the event counted as dropped)
/// if the buffer is full; [`advance`] then makes it taken. Interrupts off.
#[inline(always)]
fn next_slot(buffer: &TraceBuffer) -> Option<*mut Slot> {
    debug_assert_interrupts_off();
    let slot = buffer.next.get();
    if slot == buffer.end.get() {
        buffer.dropped.set(buffer.dropped.get().wrapping_add(1));
        return None;
    }
    Some(slot)
}

/// The slot [`next_slot`] gave is written: the next event goes after it.
#[inline(always)]
fn advance(buffer: &TraceBuffer, slot: *mut Slot) {
    // SAFETY: `slot` is below `end` (see `next_slot`), so one past it is
    // at most `end`.
    buffer.next.set(unsafe { slot.add(1) });
}

/// Stores an event's three words in this core's buffer, or counts it as
/// dropped if the buffer is full. Interrupts off.
#[inline(always)]
fn store(core: &cpu::Cpu, words: Slot) {
    let Some(slot) = next_slot(&core.trace) else { return };
    // SAFETY: `slot` is a free slot of this core's buffer, which only this
    // core writes, with interrupts off.
    unsafe { slot.write(words.map(u64::to_le)) };
    advance(&core.trace, slot);
}

/// Writes `value` at byte `offset` of `slot`, as a little-endian `T` (an
/// integer of 1, 2 or 4 bytes, at an offset it is aligned to). The two
/// hot events are written field by field this way: a store per field,
/// where packing the fields into words would take shifts and masks.
///
/// # Safety
/// `slot` is a free slot of this core's buffer, interrupts off.
#[inline(always)]
unsafe fn put<T>(slot: *mut Slot, offset: usize, value: T) {
    debug_assert!(offset.is_multiple_of(core::mem::size_of::<T>()) && offset + core::mem::size_of::<T>() <= EVENT_SIZE);
    // SAFETY: the caller's slot is 8-aligned, and the field lies inside it
    // at an offset aligned for `T` (x86_64 is little-endian, as the wire).
    unsafe { slot.cast::<u8>().add(offset).cast::<T>().write(value) }
}

/// Writes the TSC now as a slot's first word: the two halves `rdtsc`
/// gives, each stored as it is (no shift and `or` to join them).
///
/// # Safety
/// As for [`put`].
#[inline(always)]
unsafe fn put_time(slot: *mut Slot) {
    let (low, high) = crate::arch::tsc::read_halves();
    // SAFETY: the caller's.
    unsafe {
        put::<u32>(slot, 0, low);
        put::<u32>(slot, 4, high);
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

/// Records, on this core (`core`), that routine `woken` was made runnable,
/// by a timer (`by_timer`) or else by the routine running here (0 when
/// the core is idle: the kernel). The waker is not stored: the dump knows
/// it from the core's last switch (`spindle_shared::trace::Stored`). Only
/// called while tracing (the caller checks, see `switch`). Interrupts off.
#[inline(always)]
pub fn wake(core: &cpu::Cpu, by_timer: bool, woken: u64) {
    let Some(slot) = next_slot(&core.trace) else { return };
    // SAFETY: a free slot of this core's buffer, interrupts off. The
    // fields left unwritten (`a`, `c`, the core) are the dump's to fill.
    unsafe {
        put_time(slot);
        put::<u8>(slot, 8, Kind::Wake as u8);
        put::<u8>(slot, 9, by_timer as u8 * STORED_WAKE_BY_TIMER);
        put::<u32>(slot, 16, woken as u32);
    }
    advance(&core.trace, slot);
}

/// Records a switch on this core (`core`) to routine `next` (0: the idle
/// loop) for `reason`; `inherits`: `next` keeps the slice. `waits_for` is
/// the wait reason of the routine that stops, if it blocked. The routine
/// that stops is not stored: it is the one the core's previous switch
/// started (see `spindle_shared::trace::Stored`). Only called while
/// tracing: the caller checks [`enabled`], so that the untraced path pays
/// one load and a branch. Interrupts off.
#[inline(always)]
pub fn switch(core: &cpu::Cpu, next: u64, reason: StopReason, inherits: bool, waits_for: Option<u32>) {
    let Some(slot) = next_slot(&core.trace) else { return };
    // SAFETY: a free slot of this core's buffer, interrupts off. The
    // fields left unwritten (`a`, and `c` unless the routine blocked) are
    // the dump's to fill.
    unsafe {
        put_time(slot);
        put::<u16>(slot, 8, Kind::Switch as u16 | (reason as u16) << 8);
        put::<u8>(slot, 10, inherits as u8);
        put::<u32>(slot, 16, next as u32);
        if let Some(code) = waits_for {
            put::<u32>(slot, 20, code);
        }
    }
    advance(&core.trace, slot);
}

/// This core's buffer, while tracing, if this core has one.
fn traced_here() -> Option<&'static TraceBuffer> {
    if !enabled() || !cpu::entered() {
        return None;
    }
    let buffer = &cpu::current().trace;
    (!buffer.text.start.get().is_null()).then_some(buffer)
}

/// A piece of the line being printed on this core (the console calls it,
/// holding its lock: interrupts are off). Copies what fits: up to
/// `MAX_PRINT_TEXT` bytes of a line, while the area has room and the
/// events have room for the line's event.
fn line_text(bytes: &[u8]) {
    let Some(buffer) = traced_here() else { return };
    if buffer.next.get() == buffer.end.get() {
        return;
    }
    let text = &buffer.text;
    let (line, next) = (text.line.get(), text.next.get());
    // SAFETY: `line <= next <= end` all lie in this core's text area.
    let (in_line, room) = unsafe { (next.offset_from(line) as usize, text.end.get().offset_from(next) as usize) };
    let kept = bytes.len().min(MAX_PRINT_TEXT.saturating_sub(in_line)).min(room);
    // SAFETY: `next..next + kept` is inside the area (`kept <= room`), which
    // only this core writes, with interrupts off; `bytes` is elsewhere.
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), next, kept);
        text.next.set(next.add(kept));
    }
    if kept < bytes.len() {
        text.cut.set(true);
    }
}

/// The line being printed on this core is done: records its `Print`
/// event (who printed it, where its text is) and starts the next line.
fn line_end() {
    let Some(buffer) = traced_here() else { return };
    let text = &buffer.text;
    let (start, line, next) = (text.start.get(), text.line.get(), text.next.get());
    // SAFETY: `start <= line <= next` lie in this core's text area.
    let (offset, length) = unsafe { (line.offset_from(start) as u64, next.offset_from(line) as u64) };
    let routine = crate::sched::current_id().map_or(0, |(routine, _)| routine);
    let flag = if text.cut.replace(false) { PRINT_CUT } else { 0 };
    store(cpu::current(), [time::read_tsc(), kind_flag_a(Kind::Print, flag, routine), offset | length << 32]);
    text.line.set(next);
}

/// The wire event that one stored event of core `here` stands for, read
/// in order by `stored`: its time in nanoseconds, the core filled in, and
/// what the kernel left out put back.
fn wire_event(stored: &mut trace::Stored, here: u16, slot: &Slot) -> Event {
    // The slot's bytes in memory are the stored event's (its words were
    // written little-endian, its fields in place).
    let mut bytes = [0u8; EVENT_SIZE];
    for (chunk, word) in bytes.as_chunks_mut::<8>().0.iter_mut().zip(slot) {
        *chunk = word.to_ne_bytes();
    }
    let raw = Event::decode(&bytes);
    Event { time_ns: time::tsc_to_ns_since_boot(raw.time_ns), cpu: here, ..stored.to_wire(raw) }
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
    // On the stop path: no allocation (see `crate::stop`), so the cores
    // are walked twice rather than collected.
    let traced = || cpu::all().filter(|c| !c.trace.start.get().is_null());
    port.write_raw(&trace::header(traced().count() as u32));
    for core in traced() {
        // The other cores are stopped: their buffers are no longer written.
        let events = core.trace.recorded();
        let here = core.index() as u64;
        let printed = core.trace.printed();
        let count = events.len() as u32 + 1; // and the `End` event
        port.write_raw(&trace::core_header(here as u32, count, printed.len() as u32, core.trace.dropped.get()));
        let mut stored = trace::Stored::new();
        for event in events {
            port.write_raw(&wire_event(&mut stored, here as u16, event).encode());
        }
        port.write_raw(&trace::end_event(ended_ns, here as u16, exit).encode());
        port.write_raw(printed);
    }
    port.write_raw(trace::TRAILER);
}
