//! The scheduler trace: what each core did, when, as fixed-size binary
//! records. The kernel records into per-core buffers and sends them to the
//! host on COM2 when the run ends; the host decodes them into Chrome trace
//! JSON, an SVG timeline and statistics.
//!
//! # Stream layout (all integers little-endian)
//!
//! ```text
//! stream  := header block* trailer
//! header  := "SPNDLTRC" version:u32 cores:u32                   (16 bytes)
//! block   := "CORE" cpu:u32 count:u32 text_len:u32 dropped:u64  (24 bytes)
//!            event*count                                        (24 bytes each)
//!            text                                               (text_len bytes)
//! trailer := "TRCEND!!"                                         (8 bytes)
//! event   := time_ns:u64 kind:u8 flag:u8 cpu:u16 a:u32 b:u32 c:u32
//! ```
//!
//! `text` holds the text of the lines the core printed while it was traced
//! (UTF-8, without their `[cpu C rN]` tag and newline), one after another;
//! each line's `Print` event says where its text is. At most
//! [`MAX_PRINT_TEXT`] bytes of a line are kept, and a core keeps
//! [`TEXT_BYTES_PER_EVENT`] bytes of text per event its buffer holds: the
//! rest is cut, which the event's flag says.
//!
//! `dropped` counts events that did not fit in that core's buffer (the
//! buffer keeps the first ones). Times are nanoseconds since kernel entry,
//! from the TSC, comparable across cores, non-decreasing within a core.
//! Each block ends with an `End` event at the moment the run ended (the
//! kernel adds it as it sends the trace, so it is there even when the
//! buffer was full). A stream cut short (the guest was killed) has no
//! trailer.
//!
//! # Events
//!
//! | kind | a | b | c | flag |
//! |---|---|---|---|---|
//! | `RunStart` | routine | | | 1 if it inherited the time slice |
//! | `RunStop` | routine | wait reason of a `Block` (index in [`WAIT_REASONS`]) | | [`StopReason`] |
//! | `Spawn` | parent routine (0: kernel) | child | | |
//! | `Wake` | waker routine (0: timer/kernel) | woken | | |
//! | `Steal` | victim core | routines taken | first routine run | |
//! | `GlobalTake` | routines taken | first routine | | |
//! | `Idle` | | | | |
//! | `IdleEnd` | | | | |
//! | `IpiSend` | target core | | | |
//! | `IpiReceive` | | | | |
//! | `Tick` | | | | 1 if the tick preempted the running routine |
//! | `Print` | routine that printed (0: the kernel) | where its text starts in the block's `text` | its length in bytes | 1 if the line was cut ([`MAX_PRINT_TEXT`], or the core's text was full) |
//! | `End` | how the run ended: a [`GuestExit`] value (0x10 main returned, 0x11 failure, 0x12 the host stopped it) | | | |
//! | `Switch` | routine that stopped (0: the core was idle) | routine that starts (0: the core goes idle) | a `Block`'s wait reason (index in [`WAIT_REASONS`]) | bits 0-3 [`StopReason`]; bit 4 the next routine inherits the slice |
//!
//! Each event is recorded on the core where it happened, when it happened:
//! a `Wake` on the core that made the routine runnable (where it then
//! starts, and when, is its next `RunStart`; the time between is how long
//! it waited for a core), a `Spawn` on the parent's core.
//!
//! Tracing must cost little, so the kernel folds events: a switch is one
//! `Switch` event (one clock read, one record). Readers see it through
//! [`expand`]: the `RunStop` of the routine that left and the `RunStart`
//! of the one that came.

use crate::exit::GuestExit;

/// Stream magic and version.
pub const MAGIC: &[u8; 8] = b"SPNDLTRC";
pub const VERSION: u32 = 2;
pub const CORE_MAGIC: &[u8; 4] = b"CORE";
pub const TRAILER: &[u8; 8] = b"TRCEND!!";
/// Bytes per encoded event.
pub const EVENT_SIZE: usize = 24;
/// Bytes of the stream header and of each core block header.
pub const HEADER_SIZE: usize = 16;
pub const CORE_HEADER_SIZE: usize = 24;
/// Events per core when `trace-buf=` is not given, up to 64 cores.
pub const DEFAULT_BUFFER_EVENTS: usize = 1 << 16;
/// Most memory the trace's buffers take when `trace-buf=` is not given,
/// over all cores: past 64 cores each gets fewer than
/// [`DEFAULT_BUFFER_EVENTS`], so that 255 cores' buffers (16,448 events,
/// 386 KiB each) fit the default 512 MiB beside everything else.
pub const DEFAULT_BUFFER_BYTES: usize = 96 << 20;

/// Events per core when `trace-buf=` is not given and `cores` cores run.
pub fn default_buffer_events(cores: usize) -> usize {
    DEFAULT_BUFFER_EVENTS.min(DEFAULT_BUFFER_BYTES / EVENT_SIZE / cores.max(1))
}

/// Bytes of printed text a core keeps per event of its buffer: a sixth of
/// the memory of the events, room for a line of 40 characters every ten
/// events (a program that prints much more is mostly printing).
pub const TEXT_BYTES_PER_EVENT: usize = 4;
/// The most bytes of one printed line the trace keeps.
pub const MAX_PRINT_TEXT: usize = 200;
/// Flag of a `Print` event: the line's text was cut.
pub const PRINT_CUT: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    RunStart = 1,
    RunStop = 2,
    Spawn = 3,
    Wake = 4,
    Steal = 5,
    GlobalTake = 6,
    Idle = 7,
    IdleEnd = 8,
    IpiSend = 9,
    IpiReceive = 10,
    Tick = 11,
    Switch = 12,
    End = 13,
    Print = 14,
}

impl Kind {
    pub fn from_u8(v: u8) -> Option<Kind> {
        use Kind::*;
        [
            RunStart, RunStop, Spawn, Wake, Steal, GlobalTake, Idle, IdleEnd, IpiSend, IpiReceive, Tick, Switch, End,
            Print,
        ]
        .into_iter()
        .find(|k| *k as u8 == v)
    }
}

/// Why a routine stopped running (the `flag` of `RunStop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StopReason {
    Yield = 0,
    Block = 1,
    Preempted = 2,
    Exited = 3,
}

impl StopReason {
    pub fn from_u8(v: u8) -> Option<StopReason> {
        use StopReason::*;
        [Yield, Block, Preempted, Exited].into_iter().find(|k| *k as u8 == v)
    }

    pub fn name(self) -> &'static str {
        match self {
            StopReason::Yield => "yield",
            StopReason::Block => "block",
            StopReason::Preempted => "preempted",
            StopReason::Exited => "exited",
        }
    }
}

/// Bit of a `Switch` event's flag: the routine that starts inherits the slice.
pub const SWITCH_INHERITS: u8 = 1 << 4;

/// A `Switch` event as the events it stands for: the `RunStop` and the
/// `RunStart` (either missing when that side is the idle loop); any other
/// event as itself.
pub fn expand(event: Event) -> impl Iterator<Item = Event> {
    if event.kind != Kind::Switch as u8 {
        return [Some(event), None].into_iter().flatten();
    }
    let stop = Event { kind: Kind::RunStop as u8, flag: event.flag & 0x0F, a: event.a, b: event.c, c: 0, ..event };
    let inherits = (event.flag & SWITCH_INHERITS != 0) as u8;
    let start = Event { kind: Kind::RunStart as u8, flag: inherits, a: event.b, b: 0, c: 0, ..event };
    [(event.a != 0).then_some(stop), (event.b != 0).then_some(start)].into_iter().flatten()
}

/// Flag of a stored `Wake` (see [`Stored`]): a timer woke the routine, so
/// no routine is its waker. Not on the wire, where such a wake's `a` is 0.
pub const STORED_WAKE_BY_TIMER: u8 = 1;

/// The kernel's side of the wire format: it stores events in nearly the
/// wire layout, but leaves out what the order of a core's own events
/// already says, so that recording writes less. `Stored` turns one
/// core's stored events, read in the order they were recorded from the
/// first, into wire events (`time_ns` and `cpu` are the caller's to fill
/// in). In a stored event:
/// - a `Switch` has no `a`: the routine that stops is the one that the
///   core's previous `Switch` started (none before the first). The byte
///   that will hold the core number holds 1 if the next routine inherits
///   the slice ([`SWITCH_INHERITS`] on the wire), and `c` means something
///   only if the routine blocked;
/// - a `Wake` has no `a` either: its waker is the routine running on the
///   core, the one its previous `Switch` started, unless the flag is
///   [`STORED_WAKE_BY_TIMER`];
/// - every other kind is stored as it goes on the wire.
///
/// This holds only if the core's buffer has every switch from the first
/// routine on, which it has: tracing starts before the scheduler does, and
/// a full buffer keeps its first events.
#[derive(Default)]
pub struct Stored {
    /// The routine the core's last `Switch` started (0: the idle loop).
    running: u32,
}

impl Stored {
    pub fn new() -> Stored {
        Stored::default()
    }

    /// The wire event that stored event `raw` (decoded as it lies in the
    /// buffer) stands for.
    pub fn to_wire(&mut self, raw: Event) -> Event {
        match Kind::from_u8(raw.kind) {
            Some(Kind::Switch) => {
                let reason = raw.flag & 0x0F;
                let inherits = if raw.cpu as u8 != 0 { SWITCH_INHERITS } else { 0 };
                let blocked = reason == StopReason::Block as u8;
                let prev = core::mem::replace(&mut self.running, raw.b);
                Event { flag: reason | inherits, cpu: 0, a: prev, c: if blocked { raw.c } else { 0 }, ..raw }
            }
            Some(Kind::Wake) => {
                let waker = if raw.flag & STORED_WAKE_BY_TIMER != 0 { 0 } else { self.running };
                Event { flag: 0, cpu: 0, a: waker, c: 0, ..raw }
            }
            _ => Event { cpu: 0, ..raw },
        }
    }
}

/// The `End` event of core `cpu`'s block: the run ended at `time_ns`, as `exit` says.
pub fn end_event(time_ns: u64, cpu: u16, exit: GuestExit) -> Event {
    Event { time_ns, kind: Kind::End as u8, flag: 0, cpu, a: exit as u32, b: 0, c: 0 }
}

/// What a blocked routine waits for (the `b` of a `Block` `RunStop`).
pub const WAIT_REASONS: &[&str] =
    &["other", "chan receive", "chan send", "select", "sleep", "join", "mutex", "waitgroup", "once"];

/// One event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub time_ns: u64,
    pub kind: u8,
    pub flag: u8,
    pub cpu: u16,
    pub a: u32,
    pub b: u32,
    pub c: u32,
}

impl Event {
    pub fn encode(&self) -> [u8; EVENT_SIZE] {
        let mut out = [0u8; EVENT_SIZE];
        out[0..8].copy_from_slice(&self.time_ns.to_le_bytes());
        out[8] = self.kind;
        out[9] = self.flag;
        out[10..12].copy_from_slice(&self.cpu.to_le_bytes());
        out[12..16].copy_from_slice(&self.a.to_le_bytes());
        out[16..20].copy_from_slice(&self.b.to_le_bytes());
        out[20..24].copy_from_slice(&self.c.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8; EVENT_SIZE]) -> Event {
        let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        Event {
            time_ns: u64::from_le_bytes(bytes[0..8].try_into().expect("8 bytes")),
            kind: bytes[8],
            flag: bytes[9],
            cpu: u16::from_le_bytes([bytes[10], bytes[11]]),
            a: u32_at(12),
            b: u32_at(16),
            c: u32_at(20),
        }
    }
}

/// The stream header for `cores` cores.
pub fn header(cores: u32) -> [u8; HEADER_SIZE] {
    let mut out = [0u8; HEADER_SIZE];
    out[0..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    out[12..16].copy_from_slice(&cores.to_le_bytes());
    out
}

/// The header of core `cpu`'s block: `count` events, then `text_len`
/// bytes of text.
pub fn core_header(cpu: u32, count: u32, text_len: u32, dropped: u64) -> [u8; CORE_HEADER_SIZE] {
    let mut out = [0u8; CORE_HEADER_SIZE];
    out[0..4].copy_from_slice(CORE_MAGIC);
    out[4..8].copy_from_slice(&cpu.to_le_bytes());
    out[8..12].copy_from_slice(&count.to_le_bytes());
    out[12..16].copy_from_slice(&text_len.to_le_bytes());
    out[16..24].copy_from_slice(&dropped.to_le_bytes());
    out
}

#[cfg(test)]
mod tests;
