//! The trace as Chrome trace-event JSON (the "JSON Object Format"), which
//! Perfetto (ui.perfetto.dev) and chrome://tracing open.
//!
//! Two processes, as `go tool trace` shows both the processors and the
//! goroutines:
//! - "Spindle" (pid 0), one thread track per core (tid = cpu, named "cpu
//!   N"). On each: every routine run as a complete slice named `r<id>` with
//!   how it stopped, idle stretches as slices named "idle", preemptions,
//!   ticks, spawns and printed lines as instants (a line's text is its
//!   name, shortened, and its `text` argument), and steals and cross-core
//!   wakes as flow arrows from the core the routine left to the one it
//!   went to;
//! - "Routines" (pid 1), one thread track per routine (tid = its id, named
//!   `r<id>`), with what it did between its spawn and the end: "running"
//!   (on which core), "runnable" (waiting for a core, and why: its
//!   scheduling latency) and "blocked" (on what), and the lines it printed.
//!
//! Times are microseconds since kernel entry, as the format wants.

use serde_json::{Value, json};
use spindle_shared::trace::{Kind, StopReason};

use super::activity::{Printed, Run, RunEnd, core_activity, moves, printed};
use super::decode::{CoreTrace, Trace};
use super::states::{Wait, Waiting, waits};
use super::units::format_duration;

/// The process of the per-core tracks, and of the per-routine ones.
const CORES_PID: u32 = 0;
const ROUTINES_PID: u32 = 1;
/// Characters of a printed line in its instant's name (all of it is in
/// its `text` argument).
const PRINT_NAME_CHARS: usize = 60;

/// The Chrome trace-event JSON of `trace`.
pub fn chrome_json(trace: &Trace) -> String {
    let mut timed: Vec<(u64, Value)> = Vec::new();
    let mut routines = std::collections::BTreeSet::new();
    for core in &trace.cores {
        let activity = core_activity(core);
        timed.extend(activity.runs.iter().map(|run| (run.start_ns, run_slice(run))));
        timed.extend(activity.runs.iter().map(|run| (run.start_ns, routine_run_slice(run))));
        routines.extend(activity.runs.iter().map(|run| run.routine));
        timed.extend(
            activity
                .idle
                .iter()
                .map(|idle| (idle.start_ns, slice("idle", "idle", core.cpu, idle.start_ns, idle.end_ns, json!({})))),
        );
        timed.extend(instants(core));
        for line in printed(core) {
            timed.push((line.time_ns, print_instant(&line, CORES_PID, core.cpu)));
            if line.routine != 0 {
                routines.insert(line.routine);
                timed.push((line.time_ns, print_instant(&line, ROUTINES_PID, line.routine)));
            }
        }
    }
    for (id, m) in moves(trace).iter().enumerate() {
        let args = json!({ "routine": format!("r{}", m.routine), "routines": m.routines });
        let common = json!({ "name": m.kind.name(), "cat": m.kind.name(), "id": id, "pid": CORES_PID });
        let start = json!({ "ph": "s", "tid": m.from_cpu, "ts": micros(m.from_ns), "args": args });
        timed.push((m.from_ns, with(&common, start)));
        timed.push((
            m.time_ns,
            with(&common, json!({ "ph": "f", "bp": "e", "tid": m.to_cpu, "ts": micros(m.time_ns) })),
        ));
    }
    for wait in waits(trace) {
        routines.insert(wait.routine);
        timed.push((wait.start_ns, wait_slice(&wait)));
    }
    timed.sort_by_key(|(time_ns, _)| *time_ns);

    let mut events = vec![metadata("process_name", CORES_PID, 0, json!({ "name": "Spindle" }))];
    for core in &trace.cores {
        events.push(metadata("thread_name", CORES_PID, core.cpu, json!({ "name": format!("cpu {}", core.cpu) })));
        events.push(metadata("thread_sort_index", CORES_PID, core.cpu, json!({ "sort_index": core.cpu })));
    }
    if !routines.is_empty() {
        events.push(metadata("process_name", ROUTINES_PID, 0, json!({ "name": "Routines" })));
        events.push(metadata("process_sort_index", ROUTINES_PID, 0, json!({ "sort_index": 1 })));
    }
    for &routine in &routines {
        events.push(metadata("thread_name", ROUTINES_PID, routine, json!({ "name": format!("r{routine}") })));
        events.push(metadata("thread_sort_index", ROUTINES_PID, routine, json!({ "sort_index": routine })));
    }
    events.extend(timed.into_iter().map(|(_, event)| event));
    let other = json!({ "complete": trace.complete, "events_dropped": trace.dropped() });
    json!({ "traceEvents": events, "displayTimeUnit": "ns", "otherData": other }).to_string()
}

/// A metadata event naming or ordering a process or a track.
fn metadata(name: &str, pid: u32, tid: u32, args: Value) -> Value {
    json!({ "name": name, "ph": "M", "pid": pid, "tid": tid, "args": args })
}

fn run_slice(run: &Run) -> Value {
    let mut args = json!({ "routine": run.routine, "stop": run.end.name() });
    match run.end {
        RunEnd::Block { wait } => args["wait"] = json!(wait),
        RunEnd::Other(code) => args["stop_code"] = json!(code),
        _ => {}
    }
    slice(&format!("r{}", run.routine), "run", run.cpu, run.start_ns, run.end_ns, args)
}

fn slice(name: &str, category: &str, cpu: u32, start_ns: u64, end_ns: u64, args: Value) -> Value {
    json!({
        "name": name, "cat": category, "ph": "X", "pid": CORES_PID, "tid": cpu,
        "ts": micros(start_ns), "dur": micros(end_ns.saturating_sub(start_ns)), "args": args,
    })
}

/// A run on its routine's track: "running", on which core.
fn routine_run_slice(run: &Run) -> Value {
    let args = json!({ "cpu": run.cpu, "stop": run.end.name() });
    routine_slice("running", "running", run.routine, run.start_ns, run.end_ns, args)
}

/// A stretch between runs on its routine's track: "runnable" (and why, and
/// for how long) or "blocked" (and on what).
fn wait_slice(wait: &Wait) -> Value {
    let mut args = json!({ "for": format_duration(wait.length_ns()) });
    if wait.unfinished {
        args["until"] = json!("the end of the trace");
    }
    let (name, category) = match wait.waiting {
        Waiting::Runnable(cause) => {
            args["became runnable"] = json!(cause.describe());
            if let Some(cpu) = wait.ran_on {
                args["ran on"] = json!(format!("cpu {cpu}"));
            }
            ("runnable".to_string(), "runnable")
        }
        Waiting::Blocked(on) => (format!("blocked: {on}"), "blocked"),
    };
    routine_slice(&name, category, wait.routine, wait.start_ns, wait.end_ns, args)
}

fn routine_slice(name: &str, category: &str, routine: u32, start_ns: u64, end_ns: u64, args: Value) -> Value {
    json!({
        "name": name, "cat": category, "ph": "X", "pid": ROUTINES_PID, "tid": routine,
        "ts": micros(start_ns), "dur": micros(end_ns.saturating_sub(start_ns)), "args": args,
    })
}

/// Preemptions, ticks and spawns on `core`, as thread-scoped instants.
fn instants(core: &CoreTrace) -> impl Iterator<Item = (u64, Value)> + '_ {
    core.events.iter().filter_map(|event| {
        let (name, category, args) = match Kind::from_u8(event.kind)? {
            Kind::RunStop if event.flag == StopReason::Preempted as u8 => {
                (format!("preempt r{}", event.a), "preempt", json!({ "routine": event.a }))
            }
            Kind::Tick => ("tick".to_string(), "tick", json!({ "preempted": event.flag == 1 })),
            Kind::Spawn => (format!("spawn r{}", event.b), "spawn", json!({ "parent": event.a, "child": event.b })),
            _ => return None,
        };
        let instant = json!({
            "name": name, "cat": category, "ph": "i", "s": "t", "pid": CORES_PID, "tid": core.cpu,
            "ts": micros(event.time_ns), "args": args,
        });
        Some((event.time_ns, instant))
    })
}

/// A printed line as an instant on track `tid` of process `pid`.
fn print_instant(line: &Printed, pid: u32, tid: u32) -> Value {
    let text = line.shown();
    let mut name: String = text.chars().take(PRINT_NAME_CHARS).collect();
    if name.len() < text.len() {
        name.push_str("...");
    }
    json!({
        "name": name, "cat": "print", "ph": "i", "s": "t", "pid": pid, "tid": tid, "ts": micros(line.time_ns),
        "args": { "text": text, "by": line.by(), "cpu": line.cpu },
    })
}

/// `base` with the fields of `extra` added.
fn with(base: &Value, extra: Value) -> Value {
    let mut merged = base.clone();
    if let (Value::Object(into), Value::Object(from)) = (&mut merged, extra) {
        into.extend(from);
    }
    merged
}

fn micros(ns: u64) -> f64 {
    ns as f64 / 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::fixture::{busy_trace, sample_trace};

    fn events_of(trace: &Trace) -> Vec<Value> {
        let parsed: Value = serde_json::from_str(&chrome_json(trace)).expect("chrome_json writes valid JSON");
        assert_eq!(parsed["displayTimeUnit"], "ns");
        parsed["traceEvents"].as_array().expect("traceEvents is an array").clone()
    }

    fn with_phase<'a>(events: &'a [Value], ph: &str) -> Vec<&'a Value> {
        events.iter().filter(|e| e["ph"] == ph).collect()
    }

    #[test]
    fn each_core_has_exactly_one_named_track() {
        let events = events_of(&sample_trace());
        let names: Vec<(u64, &str)> = events
            .iter()
            .filter(|e| e["name"] == "thread_name" && e["pid"] == CORES_PID)
            .map(|e| (e["tid"].as_u64().unwrap(), e["args"]["name"].as_str().unwrap()))
            .collect();
        assert_eq!(names, [(0, "cpu 0"), (1, "cpu 1")]);
        let process = events.iter().find(|e| e["name"] == "process_name").unwrap();
        assert_eq!((process["pid"].as_u64(), process["args"]["name"].as_str()), (Some(0), Some("Spindle")));
    }

    #[test]
    fn each_routine_has_its_own_track_of_running_runnable_and_blocked() {
        let events = events_of(&sample_trace());
        let tracks: Vec<&str> = events
            .iter()
            .filter(|e| e["name"] == "thread_name" && e["pid"] == ROUTINES_PID)
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(tracks, ["r1", "r2", "r3", "r4"]);
        let nanos = |v: &Value| (v.as_f64().unwrap() * 1_000.0).round() as u64;
        let r2: Vec<(&str, u64, u64)> = with_phase(&events, "X")
            .into_iter()
            .filter(|e| e["pid"] == ROUTINES_PID && e["tid"] == 2)
            .map(|e| (e["name"].as_str().unwrap(), nanos(&e["ts"]), nanos(&e["dur"])))
            .collect();
        assert_eq!(
            r2,
            [
                ("runnable", 1_000, 4_100),
                ("running", 5_100, 1_900),
                ("blocked: chan receive", 7_000, 500),
                ("runnable", 7_500, 600),
                ("running", 8_100, 700),
                ("runnable", 8_800, 700),
            ]
        );
        let woken = with_phase(&events, "X").into_iter().find(|e| e["tid"] == 2 && e["ts"] == 7.5).unwrap();
        assert_eq!(woken["args"]["became runnable"], "woken by r1 on cpu 0");
        assert_eq!(woken["args"]["ran on"], "cpu 1");
    }

    #[test]
    fn every_run_is_a_slice_with_its_stop_and_wait_reason() {
        let events = events_of(&sample_trace());
        let nanos = |v: &Value| (v.as_f64().unwrap() * 1_000.0).round() as u64;
        let runs: Vec<(u64, &str, u64, u64, &str)> = with_phase(&events, "X")
            .into_iter()
            .filter(|e| e["cat"] == "run")
            .map(|e| {
                let (tid, name, stop) = (e["tid"].as_u64().unwrap(), e["name"].as_str().unwrap(), &e["args"]["stop"]);
                (tid, name, nanos(&e["ts"]), nanos(&e["dur"]), stop.as_str().unwrap())
            })
            .collect();
        assert_eq!(
            runs,
            [
                (0, "r1", 2_000, 3_000, "preempted"),
                (0, "r2", 5_100, 1_900, "block"),
                (1, "r3", 5_300, 2_700, "exited"),
                (0, "r1", 7_100, 1_900, "still running when the core's events end"),
                (1, "r2", 8_100, 700, "yield"),
            ]
        );
        let block = with_phase(&events, "X").into_iter().find(|e| e["args"]["stop"] == "block").unwrap();
        assert_eq!(block["args"]["wait"], "chan receive");
    }

    #[test]
    fn idle_stretches_are_slices_named_idle() {
        let events = events_of(&sample_trace());
        let idle: Vec<(u64, f64)> = with_phase(&events, "X")
            .into_iter()
            .filter(|e| e["name"] == "idle")
            .map(|e| (e["tid"].as_u64().unwrap(), e["ts"].as_f64().unwrap()))
            .collect();
        assert_eq!(idle, [(1, 1.5), (1, 8.9)]);
    }

    #[test]
    fn steals_and_cross_core_wakes_are_flows_with_matching_ids() {
        let events = events_of(&sample_trace());
        let starts = with_phase(&events, "s");
        let finishes = with_phase(&events, "f");
        assert_eq!(starts.len(), 2);
        assert_eq!(finishes.len(), 2);
        for start in starts {
            let finish = finishes.iter().find(|f| f["id"] == start["id"]).expect("every flow start has its finish");
            assert_eq!(finish["cat"], start["cat"]);
            assert_eq!(finish["bp"], "e");
            assert_eq!((start["tid"].as_u64(), finish["tid"].as_u64()), (Some(0), Some(1)));
        }
        let categories: Vec<&str> = with_phase(&events, "s").iter().map(|s| s["cat"].as_str().unwrap()).collect();
        assert_eq!(categories, ["steal", "wake"]);
    }

    #[test]
    fn preemptions_ticks_and_spawns_are_thread_instants() {
        let events = events_of(&sample_trace());
        let instants = with_phase(&events, "i");
        assert!(instants.iter().all(|e| e["s"] == "t"));
        let count = |category: &str| instants.iter().filter(|e| e["cat"] == category).count();
        assert_eq!((count("preempt"), count("tick"), count("spawn")), (1, 4, 2));
    }

    #[test]
    fn printed_lines_are_instants_on_the_core_and_on_the_routine_with_their_text() {
        let events = events_of(&sample_trace());
        let prints: Vec<(u64, u64, &str, &str)> = with_phase(&events, "i")
            .into_iter()
            .filter(|e| e["cat"] == "print")
            .map(|e| {
                (
                    e["pid"].as_u64().unwrap(),
                    e["tid"].as_u64().unwrap(),
                    e["name"].as_str().unwrap(),
                    e["args"]["text"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            prints,
            [
                (0, 1, "r3: <a & b> done", "r3: <a & b> done"),
                (1, 3, "r3: <a & b> done", "r3: <a & b> done"),
                (0, 1, "second...", "second..."),
                (1, 3, "second...", "second..."),
            ]
        );
        let mut trace = sample_trace();
        trace.cores[1].text = [b"x".repeat(70).as_slice(), b"second"].concat();
        trace.cores[1].events.iter_mut().filter(|e| e.kind == Kind::Print as u8).for_each(|e| (e.b, e.c) = (0, 70));
        let events = events_of(&trace);
        let long = with_phase(&events, "i").into_iter().find(|e| e["cat"] == "print").unwrap();
        assert_eq!(long["name"], format!("{}...", "x".repeat(60)));
        assert_eq!(long["args"]["text"], "x".repeat(70));
    }

    #[test]
    fn slices_on_each_track_start_in_time_order() {
        let events = events_of(&busy_trace(4, 2_000, 10_000_000));
        for cpu in 0..4 {
            let starts: Vec<f64> = with_phase(&events, "X")
                .iter()
                .filter(|e| e["tid"] == cpu && e["pid"] == CORES_PID)
                .map(|e| e["ts"].as_f64().unwrap())
                .collect();
            assert_eq!(starts.len(), 500);
            assert!(starts.windows(2).all(|pair| pair[0] <= pair[1]), "cpu {cpu}");
        }
    }
}
