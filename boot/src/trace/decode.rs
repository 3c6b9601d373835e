//! Reading the kernel's binary trace stream (layout in `spindle_shared::trace`).
//!
//! The stream arrives over a serial port from a guest that may have been
//! killed half-way, so a stream that simply stops is normal: whatever is
//! whole (blocks and events) is kept and the trace is marked incomplete.
//! Bytes that cannot be a trace (wrong magic, another version, a block
//! where none belongs) are refused with the byte offset and what was expected.
//! Event kinds this runner does not know are kept as they are. A `Switch`
//! event is read as the `RunStop` and `RunStart` it stands for.

use spindle_shared::exit::GuestExit;
use spindle_shared::trace::{
    self, CORE_HEADER_SIZE, CORE_MAGIC, EVENT_SIZE, Event, HEADER_SIZE, Kind, MAGIC, PRINT_CUT, TRAILER, VERSION,
};

/// A decoded trace: one entry per core block, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub cores: Vec<CoreTrace>,
    /// The stream ended with its trailer: nothing was cut off.
    pub complete: bool,
}

/// What one core recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreTrace {
    pub cpu: u32,
    /// In recording order (non-decreasing time).
    pub events: Vec<Event>,
    /// Events the core's buffer had no room for; it kept the first ones.
    pub dropped: u64,
    /// The text of the lines it printed, which its `Print` events point into.
    pub text: Vec<u8>,
}

impl CoreTrace {
    /// The text of the `Print` event `print` of this core, and whether all
    /// of it is there (the kernel cut it, or the stream was cut short).
    pub fn printed(&self, print: &Event) -> (String, bool) {
        let (start, length) = (print.b as usize, print.c as usize);
        let end = (start + length).min(self.text.len());
        let text = self.text.get(start.min(end)..end).unwrap_or_default();
        let whole = end - start.min(end) == length && print.flag & PRINT_CUT == 0;
        (String::from_utf8_lossy(text).into_owned(), whole)
    }
}

impl Trace {
    /// Events kept, over all cores.
    pub fn event_count(&self) -> usize {
        self.cores.iter().map(|core| core.events.len()).sum()
    }

    /// Events dropped, over all cores.
    pub fn dropped(&self) -> u64 {
        self.cores.iter().map(|core| core.dropped).sum()
    }

    /// How the run ended, from the `End` events (`None` if the stream was
    /// cut before any).
    pub fn ended(&self) -> Option<GuestExit> {
        let end = self.cores.iter().flat_map(|core| core.events.last()).find(|e| e.kind == Kind::End as u8)?;
        [GuestExit::Success, GuestExit::Failure, GuestExit::Stopped].into_iter().find(|exit| *exit as u32 == end.a)
    }
}

/// How a run that ended as `exit` says ended, in a few words.
pub fn ending(exit: GuestExit) -> &'static str {
    match exit {
        GuestExit::Success => "main returned",
        GuestExit::Failure => "the run failed",
        GuestExit::Stopped => "the host stopped the run (its time limit passed, or Ctrl-C)",
    }
}

/// Decodes a whole stream, or what arrived of it.
pub fn decode(stream: &[u8]) -> Result<Trace, String> {
    let mut trace = Trace { cores: Vec::new(), complete: false };
    if !expect_magic(stream, 0, MAGIC, "the stream magic")? || stream.len() < HEADER_SIZE {
        return Ok(trace);
    }
    let version = u32_at(stream, 8);
    if version != VERSION {
        return Err(format!(
            "trace stream: version {version} at byte 8, but this runner reads version {VERSION} \
             (build the runner and the kernel from the same tree)"
        ));
    }
    let announced = u32_at(stream, 12);

    let mut offset = HEADER_SIZE;
    loop {
        let rest = &stream[offset..];
        if rest.is_empty() || (rest.len() < TRAILER.len() && TRAILER.starts_with(rest)) {
            return Ok(trace);
        }
        if rest.starts_with(TRAILER) {
            return finish(trace, offset, announced, stream.len());
        }
        if !expect_magic(stream, offset, CORE_MAGIC, "a core block (\"CORE\") or the trailer (\"TRCEND!!\")")? {
            return Ok(trace);
        }
        if trace.cores.len() as u64 >= u64::from(announced) {
            return Err(format!(
                "trace stream: core block at byte {offset} is one more than the {announced} \
                 the header announced"
            ));
        }
        if rest.len() < CORE_HEADER_SIZE {
            return Ok(trace);
        }
        let (core, size, whole) = read_block(stream, offset);
        trace.cores.push(core);
        if !whole {
            return Ok(trace);
        }
        offset += size;
    }
}

/// Reads the core block at `offset` (its header is whole). Returns the block
/// with the events that are whole and the text that arrived, the block's
/// size in the stream, and whether all of it arrived.
fn read_block(stream: &[u8], offset: usize) -> (CoreTrace, usize, bool) {
    let cpu = u32_at(stream, offset + 4);
    let count = u32_at(stream, offset + 8) as usize;
    let text_len = u32_at(stream, offset + 12) as usize;
    let dropped = u64::from_le_bytes(stream[offset + 16..offset + 24].try_into().expect("8 bytes"));
    let first_event = offset + CORE_HEADER_SIZE;
    let whole = count.min((stream.len() - first_event) / EVENT_SIZE);
    let (chunks, _) = stream[first_event..first_event + whole * EVENT_SIZE].as_chunks::<EVENT_SIZE>();
    let events = chunks.iter().map(Event::decode).flat_map(trace::expand).collect();
    let text_start = first_event + whole * EVENT_SIZE;
    let text = if whole == count { &stream[text_start..stream.len().min(text_start + text_len)] } else { &[] };
    let size = CORE_HEADER_SIZE + EVENT_SIZE * count + text_len;
    let arrived = whole == count && text.len() == text_len;
    (CoreTrace { cpu, events, dropped, text: text.to_vec() }, size, arrived)
}

/// The trailer is at `offset`: the stream is complete if every announced
/// block came before it and nothing follows it.
fn finish(mut trace: Trace, offset: usize, announced: u32, len: usize) -> Result<Trace, String> {
    if trace.cores.len() as u64 != u64::from(announced) {
        return Err(format!(
            "trace stream: trailer at byte {offset} after {} core blocks, \
             but the header announced {announced}",
            trace.cores.len()
        ));
    }
    let end = offset + TRAILER.len();
    if end != len {
        return Err(format!(
            "trace stream: {} unexpected bytes after the trailer (which ends at byte {end})",
            len - end
        ));
    }
    trace.complete = true;
    Ok(trace)
}

/// Checks that the bytes at `offset` are `magic`. `Ok(false)`: the stream
/// ends inside it (a matching prefix), so it is cut short rather than wrong.
fn expect_magic(stream: &[u8], offset: usize, magic: &[u8], what: &str) -> Result<bool, String> {
    let present = &stream[offset..stream.len().min(offset + magic.len())];
    if !magic.starts_with(present) {
        return Err(format!(
            "trace stream: expected {what} at byte {offset}, found \"{}\"; is this a Spindle trace?",
            present.escape_ascii()
        ));
    }
    Ok(present.len() == magic.len())
}

fn u32_at(stream: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(stream[offset..offset + 4].try_into().expect("4 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::fixture::{encode, sample_cores};

    #[test]
    fn switch_events_expand_and_the_next_block_is_still_found() {
        use spindle_shared::trace::{Event, Kind, StopReason, expand};
        let switch =
            |t, a, b| Event { time_ns: t, kind: Kind::Switch as u8, flag: StopReason::Block as u8, cpu: 0, a, b, c: 1 };
        let raw = vec![
            CoreTrace { cpu: 0, events: vec![switch(10, 1, 2), switch(20, 2, 1)], ..Default::default() },
            CoreTrace {
                cpu: 1,
                events: vec![Event { time_ns: 15, kind: Kind::Idle as u8, flag: 0, cpu: 1, a: 0, b: 0, c: 0 }],
                ..Default::default()
            },
        ];
        let trace = decode(&encode(&raw, true)).unwrap();
        assert!(trace.complete);
        assert_eq!(trace.cores.len(), 2);
        let expanded: Vec<Event> = raw[0].events.iter().copied().flat_map(expand).collect();
        assert_eq!(expanded.len(), 4, "each switch reads as a stop and a start");
        assert_eq!(trace.cores[0].events, expanded);
        assert_eq!(trace.cores[1].events, raw[1].events);
    }

    /// Whatever a guest (or a corrupted file) sends, decoding returns a
    /// trace or an error, never a panic: random bytes after a valid header,
    /// with core blocks that claim arbitrary event counts.
    #[test]
    fn arbitrary_bytes_after_a_header_never_panic() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5_000 {
            let mut stream = spindle_shared::trace::header((next() % 4) as u32).to_vec();
            for _ in 0..(next() % 4) {
                let count = (next() % 64) as u32;
                stream.extend(spindle_shared::trace::core_header(0, count, (next() % 64) as u32, 0));
                let junk = (next() % 2000) as usize;
                stream.extend((0..junk).map(|_| next() as u8));
            }
            let _ = decode(&stream);
        }
    }

    #[test]
    fn a_whole_stream_decodes_to_what_was_encoded() {
        let cores = sample_cores();
        let trace = decode(&encode(&cores, true)).unwrap();
        assert!(trace.complete);
        assert_eq!(trace.cores, cores);
    }

    #[test]
    fn a_stream_cut_inside_an_event_keeps_the_whole_events_and_is_incomplete() {
        let cores = sample_cores();
        let stream = encode(&cores, true);
        let second_block = HEADER_SIZE + CORE_HEADER_SIZE + EVENT_SIZE * cores[0].events.len();
        let cut = second_block + CORE_HEADER_SIZE + 2 * EVENT_SIZE + 7;
        let trace = decode(&stream[..cut]).unwrap();
        assert!(!trace.complete);
        assert_eq!(trace.cores.len(), 2);
        assert_eq!(trace.cores[0], cores[0]);
        assert_eq!(trace.cores[1].events, cores[1].events[..2]);
    }

    #[test]
    fn a_stream_cut_anywhere_decodes_to_a_prefix_of_the_events() {
        let cores = sample_cores();
        let stream = encode(&cores, true);
        for cut in 0..stream.len() {
            let trace = decode(&stream[..cut]).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert!(!trace.complete, "cut at {cut}");
            for (got, whole) in trace.cores.iter().zip(&cores) {
                assert!(whole.events.starts_with(&got.events), "cut at {cut}");
            }
        }
    }

    #[test]
    fn a_stream_without_its_trailer_is_incomplete() {
        let trace = decode(&encode(&sample_cores(), false)).unwrap();
        assert!(!trace.complete);
        assert_eq!(trace.cores.len(), 2);
    }

    #[test]
    fn bad_magic_is_refused_with_its_offset() {
        let mut stream = encode(&sample_cores(), true);
        stream[3] = b'X';
        let error = decode(&stream).unwrap_err();
        assert!(error.contains("at byte 0"), "{error}");
        assert!(error.contains("SPNXLTRC"), "{error}");
    }

    #[test]
    fn another_version_is_refused_naming_both_versions() {
        let mut stream = encode(&sample_cores(), true);
        stream[8] = 9;
        let error = decode(&stream).unwrap_err();
        assert!(error.contains("version 9 at byte 8"), "{error}");
        assert!(error.contains(&format!("reads version {VERSION}")), "{error}");
    }

    #[test]
    fn garbage_where_a_block_belongs_is_refused_with_its_offset() {
        let cores = sample_cores();
        let mut stream = encode(&cores, true);
        let second_block = HEADER_SIZE + CORE_HEADER_SIZE + EVENT_SIZE * cores[0].events.len();
        stream[second_block..second_block + 4].copy_from_slice(b"JUNK");
        let error = decode(&stream).unwrap_err();
        assert!(error.contains(&format!("at byte {second_block}")), "{error}");
        assert!(error.contains("JUNK"), "{error}");
    }

    #[test]
    fn a_trailer_before_every_announced_block_is_refused() {
        let cores = sample_cores();
        let mut stream = encode(&cores, true);
        stream[12] = 3;
        let error = decode(&stream).unwrap_err();
        assert!(error.contains("after 2 core blocks, but the header announced 3"), "{error}");
    }

    #[test]
    fn unknown_event_kinds_are_kept() {
        let mut cores = sample_cores();
        cores[0].events.push(Event { time_ns: 99_000, kind: 200, flag: 0, cpu: 0, a: 1, b: 2, c: 3 });
        let trace = decode(&encode(&cores, true)).unwrap();
        assert_eq!(trace.cores[0].events.last().unwrap().kind, 200);
    }
}
