//! The trace as Chrome trace-event JSON (the "JSON Object Format"), which
//! Perfetto (ui.perfetto.dev) and chrome://tracing open.
//!
//! One process, "Spindle" (pid 0), with one thread track per core (tid = cpu,
//! named "cpu N"). On each track: every routine run as a complete slice
//! named `r<id>` with how it stopped, idle stretches as slices named "idle",
//! preemptions, ticks and spawns as instants, and steals and cross-core
//! wakes as flow arrows from the core the routine left to the one it went to.
//! Times are microseconds since kernel entry, as the format wants.

use serde_json::{Value, json};
use spindle_shared::trace::{Kind, StopReason};

use super::activity::{Run, RunEnd, core_activity, moves};
use super::decode::{CoreTrace, Trace};

/// The Chrome trace-event JSON of `trace`.
pub fn chrome_json(trace: &Trace) -> String {
    let mut timed: Vec<(u64, Value)> = Vec::new();
    for core in &trace.cores {
        let activity = core_activity(core);
        timed.extend(activity.runs.iter().map(|run| (run.start_ns, run_slice(run))));
        timed.extend(
            activity
                .idle
                .iter()
                .map(|idle| (idle.start_ns, slice("idle", "idle", core.cpu, idle.start_ns, idle.end_ns, json!({})))),
        );
        timed.extend(instants(core));
    }
    for (id, m) in moves(trace).iter().enumerate() {
        let args = json!({ "routine": format!("r{}", m.routine), "routines": m.routines });
        let common = json!({
            "name": m.kind.name(), "cat": m.kind.name(), "id": id, "pid": 0, "ts": micros(m.time_ns),
        });
        timed.push((m.time_ns, with(&common, json!({ "ph": "s", "tid": m.from_cpu, "args": args }))));
        timed.push((m.time_ns, with(&common, json!({ "ph": "f", "bp": "e", "tid": m.to_cpu }))));
    }
    timed.sort_by_key(|(time_ns, _)| *time_ns);

    let mut events = vec![metadata("process_name", 0, json!({ "name": "Spindle" }))];
    for core in &trace.cores {
        events.push(metadata("thread_name", core.cpu, json!({ "name": format!("cpu {}", core.cpu) })));
        events.push(metadata("thread_sort_index", core.cpu, json!({ "sort_index": core.cpu })));
    }
    events.extend(timed.into_iter().map(|(_, event)| event));
    let other = json!({ "complete": trace.complete, "events_dropped": trace.dropped() });
    json!({ "traceEvents": events, "displayTimeUnit": "ns", "otherData": other }).to_string()
}

/// A metadata event naming or ordering the process or a track.
fn metadata(name: &str, tid: u32, args: Value) -> Value {
    json!({ "name": name, "ph": "M", "pid": 0, "tid": tid, "args": args })
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
        "name": name, "cat": category, "ph": "X", "pid": 0, "tid": cpu,
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
            "name": name, "cat": category, "ph": "i", "s": "t", "pid": 0, "tid": core.cpu,
            "ts": micros(event.time_ns), "args": args,
        });
        Some((event.time_ns, instant))
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
            .filter(|e| e["name"] == "thread_name")
            .map(|e| (e["tid"].as_u64().unwrap(), e["args"]["name"].as_str().unwrap()))
            .collect();
        assert_eq!(names, [(0, "cpu 0"), (1, "cpu 1")]);
        let process = events.iter().find(|e| e["name"] == "process_name").unwrap();
        assert_eq!((process["pid"].as_u64(), process["args"]["name"].as_str()), (Some(0), Some("Spindle")));
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
    fn slices_on_each_track_start_in_time_order() {
        let events = events_of(&busy_trace(4, 2_000, 10_000_000));
        for cpu in 0..4 {
            let starts: Vec<f64> = with_phase(&events, "X")
                .iter()
                .filter(|e| e["tid"] == cpu)
                .map(|e| e["ts"].as_f64().unwrap())
                .collect();
            assert_eq!(starts.len(), 500);
            assert!(starts.windows(2).all(|pair| pair[0] <= pair[1]), "cpu {cpu}");
        }
    }
}
