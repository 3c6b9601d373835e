//! The trace format on the host: events, headers, the switch's expansion
//! and how stored events get back what the kernel left out.

use super::*;

#[test]
fn the_default_trace_buffers_fit_255_cores_in_96_mib() {
    assert_eq!(default_buffer_events(1), DEFAULT_BUFFER_EVENTS);
    assert_eq!(default_buffer_events(64), DEFAULT_BUFFER_EVENTS);
    assert_eq!(default_buffer_events(255), 16448);
    assert!(255 * default_buffer_events(255) * EVENT_SIZE <= DEFAULT_BUFFER_BYTES);
}

#[test]
fn events_round_trip() {
    let e = Event { time_ns: 1 << 40, kind: Kind::Steal as u8, flag: 1, cpu: 7, a: 3, b: 9, c: u32::MAX };
    assert_eq!(Event::decode(&e.encode()), e);
}

#[test]
fn kinds_and_reasons_round_trip() {
    for v in 0..=255u8 {
        if let Some(k) = Kind::from_u8(v) {
            assert_eq!(k as u8, v);
        }
        if let Some(r) = StopReason::from_u8(v) {
            assert_eq!(r as u8, v);
        }
    }
    assert_eq!(WAIT_REASONS[0], "other", "code 0 is the catch-all");
}

#[test]
fn a_switch_reads_as_the_stop_of_one_routine_and_the_start_of_the_next() {
    let switch = Event {
        time_ns: 500,
        kind: Kind::Switch as u8,
        flag: StopReason::Block as u8 | SWITCH_INHERITS,
        cpu: 2,
        a: 7,
        b: 9,
        c: 3,
    };
    let events: std::vec::Vec<Event> = expand(switch).collect();
    assert_eq!(events.len(), 2);
    assert_eq!((events[0].kind, events[0].flag, events[0].a, events[0].b), (Kind::RunStop as u8, 1, 7, 3));
    assert_eq!((events[1].kind, events[1].flag, events[1].a), (Kind::RunStart as u8, 1, 9));
    assert!(events.iter().all(|e| e.time_ns == 500 && e.cpu == 2));
    let from_idle = Event { a: 0, flag: 0, ..switch };
    assert_eq!(expand(from_idle).map(|e| e.kind).collect::<std::vec::Vec<_>>(), [Kind::RunStart as u8]);
    let to_idle = Event { b: 0, ..switch };
    assert_eq!(expand(to_idle).map(|e| e.kind).collect::<std::vec::Vec<_>>(), [Kind::RunStop as u8]);
}

#[test]
fn stored_events_get_back_what_their_order_says() {
    let stored = |kind: Kind, flag: u8, inherit: u16, b: u32, c: u32| Event {
        time_ns: 0,
        kind: kind as u8,
        flag,
        cpu: inherit,
        a: 0,
        b,
        c,
    };
    let mut reader = Stored::new();
    let wire: std::vec::Vec<(u8, u8, u32, u32, u32)> = [
        // The kernel wakes main (no routine runs yet), the idle loop starts it.
        stored(Kind::Wake, 0, 0, 1, 0),
        stored(Kind::Switch, StopReason::Yield as u8, 0, 1, 0),
        // Main wakes 2, then blocks on a channel and hands 2 its slice.
        stored(Kind::Wake, 0, 0, 2, 0),
        stored(Kind::Switch, StopReason::Block as u8, 1, 2, 1),
        // A timer wakes 1 while 2 runs; 2 is preempted (its wait reason is stale).
        stored(Kind::Wake, STORED_WAKE_BY_TIMER, 0, 1, 0),
        stored(Kind::Switch, StopReason::Preempted as u8, 0, 1, 5),
        // Other kinds pass as they are.
        stored(Kind::Steal, 0, 0, 3, 4),
        // 1 exits, the core goes idle.
        stored(Kind::Switch, StopReason::Exited as u8, 0, 0, 0),
        stored(Kind::Wake, 0, 0, 2, 0),
    ]
    .into_iter()
    .map(|raw| {
        let e = reader.to_wire(raw);
        assert_eq!(e.cpu, 0, "the core number is the caller's to fill in");
        (e.kind, e.flag, e.a, e.b, e.c)
    })
    .collect();
    let (wake, switch, block, yielded) = (Kind::Wake as u8, Kind::Switch as u8, StopReason::Block as u8, 0);
    assert_eq!(
        wire,
        [
            (wake, 0, 0, 1, 0),
            (switch, yielded, 0, 1, 0),
            (wake, 0, 1, 2, 0),
            (switch, block | SWITCH_INHERITS, 1, 2, 1),
            (wake, 0, 0, 1, 0),
            (switch, StopReason::Preempted as u8, 2, 1, 0),
            (Kind::Steal as u8, 0, 0, 3, 4),
            (switch, StopReason::Exited as u8, 1, 0, 0),
            (wake, 0, 0, 2, 0),
        ]
    );
}

#[test]
fn headers_have_their_magic() {
    assert_eq!(&header(4)[0..8], MAGIC);
    assert_eq!(&core_header(2, 10, 7, 5)[0..4], CORE_MAGIC);
}
