//! Synthetic traces for the tests: a small two-core run with one of every
//! interesting event, a very long busy one, and the encoder that turns
//! either into the stream the kernel would send.

use spindle_shared::trace::{Event, Kind, PRINT_CUT, StopReason, TRAILER, WAIT_REASONS, core_header, header};

use super::decode::{CoreTrace, Trace};

pub fn event(time_ns: u64, kind: Kind, flag: u8, cpu: u16, a: u32, b: u32, c: u32) -> Event {
    Event { time_ns, kind: kind as u8, flag, cpu, a, b, c }
}

/// The stream the kernel would send for `cores`, with or without its trailer.
pub fn encode(cores: &[CoreTrace], trailer: bool) -> Vec<u8> {
    let mut stream = header(cores.len() as u32).to_vec();
    for core in cores {
        stream.extend(core_header(core.cpu, core.events.len() as u32, core.text.len() as u32, core.dropped));
        for event in &core.events {
            stream.extend(event.encode());
        }
        stream.extend(&core.text);
    }
    if trailer {
        stream.extend(TRAILER);
    }
    stream
}

/// Two cores. cpu 0 runs r1 (preempted by a tick), r2 (blocks on a channel
/// receive), then r1 again, which wakes r2, until its events end. cpu 1
/// idles, steals r3 from cpu 0, r3 prints two lines, wakes r4 (which never
/// runs), exits; r2, woken on cpu 0, runs here and yields; cpu 1 idles to
/// its end.
pub fn sample_cores() -> Vec<CoreTrace> {
    use Kind::*;
    let cpu0 = vec![
        event(1_000, Spawn, 0, 0, 0, 1, 0),
        event(1_000, Spawn, 0, 0, 0, 2, 0),
        event(2_000, RunStart, 0, 0, 1, 0, 0),
        event(3_000, Tick, 0, 0, 0, 0, 0),
        event(5_000, Tick, 1, 0, 0, 0, 0),
        event(5_000, RunStop, StopReason::Preempted as u8, 0, 1, 0, 0),
        event(5_100, RunStart, 0, 0, 2, 0, 0),
        event(
            7_000,
            RunStop,
            StopReason::Block as u8,
            0,
            2,
            WAIT_REASONS.iter().position(|r| *r == "chan receive").unwrap() as u32,
            0,
        ),
        event(7_100, RunStart, 0, 0, 1, 0, 0),
        event(7_500, Wake, 0, 0, 1, 2, 0),
        event(9_000, Tick, 0, 0, 0, 0, 0),
    ];
    let cpu1 = vec![
        event(1_500, Idle, 0, 1, 0, 0, 0),
        event(5_200, IdleEnd, 0, 1, 0, 0, 0),
        event(5_200, Steal, 0, 1, 0, 1, 3),
        event(5_300, RunStart, 0, 1, 3, 0, 0),
        event(6_000, Print, 0, 1, 3, 0, 16),
        event(6_002, Print, PRINT_CUT, 1, 3, 16, 6),
        event(7_600, Wake, 0, 1, 3, 4, 0),
        event(8_000, RunStop, StopReason::Exited as u8, 1, 3, 0, 0),
        event(8_100, RunStart, 0, 1, 2, 0, 0),
        event(8_800, RunStop, StopReason::Yield as u8, 1, 2, 0, 0),
        event(8_900, Idle, 0, 1, 0, 0, 0),
        event(9_500, Tick, 0, 1, 0, 0, 0),
    ];
    vec![
        CoreTrace { cpu: 0, events: cpu0, ..Default::default() },
        CoreTrace { cpu: 1, events: cpu1, text: SAMPLE_TEXT.to_vec(), ..Default::default() },
    ]
}

/// What cpu 1 printed in the sample: "r3: <a & b> done", then a line cut
/// after "second".
pub const SAMPLE_TEXT: &[u8] = b"r3: <a & b> donesecond";

pub fn sample_trace() -> Trace {
    Trace { cores: sample_cores(), complete: true }
}

/// `runs` short runs spread evenly over `span_ns` on `cores` cores, with
/// routine ids cycling through 1..=50; every 3rd run is preempted, every
/// 7th starts with a steal and every 11th wakes the next routine, which
/// then runs on the next core.
pub fn busy_trace(core_count: u32, runs: usize, span_ns: u64) -> Trace {
    use Kind::*;
    let per_core = runs / core_count as usize;
    let period = span_ns / per_core as u64;
    let cores = (0..core_count)
        .map(|cpu| {
            let mut events = Vec::with_capacity(per_core * 3);
            for i in 0..per_core {
                let start = i as u64 * period;
                let routine = (i % 50) as u32 + 1;
                let (c, next_cpu) = (cpu as u16, (cpu + 1) % core_count);
                if i % 7 == 0 {
                    events.push(event(start, Steal, 0, c, next_cpu, 1, routine));
                }
                events.push(event(start, RunStart, 0, c, routine, 0, 0));
                if i % 11 == 0 {
                    events.push(event(start + period / 4, Wake, 0, c, routine, routine + 1, 0));
                }
                let reason = if i % 3 == 0 { StopReason::Preempted } else { StopReason::Yield };
                events.push(event(start + period * 3 / 4, RunStop, reason as u8, c, routine, 0, 0));
            }
            CoreTrace { cpu, events, ..Default::default() }
        })
        .collect();
    Trace { cores, complete: true }
}
