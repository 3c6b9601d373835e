//! The scheduler trace: the right events for known programs, times that
//! make sense, and the files the runner writes from it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use spindle_boot::HostStop;
use spindle_shared::exit::GuestExit;
use spindle_shared::trace::{Event, Kind, StopReason, WAIT_REASONS};

/// Every core's events, core by core.
fn all_events(trace: &spindle_boot::trace::Trace) -> impl Iterator<Item = &Event> {
    trace.cores.iter().flat_map(|c| &c.events)
}

fn events_of(trace: &spindle_boot::trace::Trace, kind: Kind) -> usize {
    all_events(trace).filter(|e| e.kind == kind as u8).count()
}

#[test]
fn a_tight_loop_on_one_core_shows_a_preemption() {
    let (report, trace) = boot_traced(2, "selfcheck kind=preempt cpus=1");
    expect_outcome(&report, Outcome::Success);
    assert!(trace.complete);
    let preempted =
        all_events(&trace).filter(|e| e.kind == Kind::RunStop as u8 && e.flag == StopReason::Preempted as u8).count();
    assert!(preempted >= 1, "no preemption in the trace");
    assert_eq!(trace.cores.len(), 1, "one core ran routines");
}

#[test]
fn one_core_spawning_work_for_four_shows_steals() {
    let (report, trace) = boot_traced(4, "selfcheck kind=steal");
    expect_outcome(&report, Outcome::Success);
    assert_eq!(trace.cores.len(), 4);
    assert!(events_of(&trace, Kind::Steal) >= 1, "no steal in the trace");
    assert!(events_of(&trace, Kind::Spawn) >= 64);
}

#[test]
fn timestamps_never_go_back_on_a_core() {
    let (report, trace) = boot_traced(4, "synccheck kind=all");
    expect_outcome(&report, Outcome::Success);
    for core in &trace.cores {
        assert!(!core.events.is_empty());
        for pair in core.events.windows(2) {
            assert!(pair[0].time_ns <= pair[1].time_ns, "cpu {}: {:?} then {:?}", core.cpu, pair[0], pair[1]);
        }
        assert!(core.events.iter().all(|e| e.cpu as u32 == core.cpu));
    }
}

#[test]
fn a_tiny_buffer_reports_dropped_events() {
    let (report, trace) = boot_traced(2, "pingpong n=2000 trace-buf=16");
    expect_outcome(&report, Outcome::Success);
    assert!(trace.dropped() > 0);
    let message = spindle_boot::trace::dropped_report(&trace).expect("a drop report");
    assert!(message.contains("events dropped:"), "{message}");
    // 16 recorded events per core; a switch reads as up to two events, and
    // the `End` comes on top.
    assert!(trace.cores.iter().all(|c| c.events.len() <= 2 * 16 + 1));
}

#[test]
fn the_runner_writes_chrome_json_and_an_svg_timeline_with_one_track_per_core() {
    let dir = std::env::temp_dir().join(format!("spindle-trace-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, svg) = (dir.join("run.json"), dir.join("run.svg"));
    let out = Command::new(env!("CARGO_BIN_EXE_spindle"))
        .args(["hello", "--smp", "4", "--timeout", "300", "--stats", "--trace"])
        .arg(&json)
        .arg("--timeline")
        .arg(&svg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("routine") && stdout.contains("busy"), "trace stats missing:\n{stdout}");

    let parsed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let tracks = parsed["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == 0)
        .count();
    assert_eq!(tracks, 4, "one track per core");
    // What the program printed is there too, where it printed it.
    let printed: Vec<&str> = parsed["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "print" && e["pid"] == 0)
        .map(|e| e["args"]["text"].as_str().unwrap())
        .collect();
    for step in 1..=3 {
        let lines = printed.iter().filter(|t| t.starts_with("routine ") && t.ends_with(&format!(": step {step}")));
        assert_eq!(lines.count(), 4, "the 4 routines' step {step} in {printed:?}");
    }
    assert!(printed.contains(&"main: starting 4 routines"), "{printed:?}");

    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let lanes = doc.descendants().filter(|n| n.attribute("class") == Some("lane")).count();
    assert_eq!(lanes, 4, "one lane per core");
    let marks: Vec<String> = doc
        .descendants()
        .filter(|n| {
            n.attribute("class") == Some("print") && !n.ancestors().any(|a| a.attribute("class") == Some("legend"))
        })
        .filter_map(|n| n.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text()).map(String::from))
        .collect();
    assert!(marks.iter().any(|t| t.contains("main: starting 4 routines")), "{marks:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The wakes in a trace: (waker, woken, the core the wake happened on).
fn wakes(trace: &spindle_boot::trace::Trace) -> Vec<(u32, u32, u32)> {
    trace
        .cores
        .iter()
        .flat_map(|core| core.events.iter().filter(|e| e.kind == Kind::Wake as u8).map(|e| (e.a, e.b, core.cpu)))
        .collect()
}

#[test]
fn the_trace_says_who_woke_whom_and_how_long_the_woken_waited() {
    // Ping-pong on one core: every hit is a hand-off, the sender waking the
    // receiver, which then gets the core from it.
    let hits: usize = 300;
    let (report, trace) = boot_traced(2, &format!("pingpong n={hits} cpus=1"));
    expect_outcome(&report, Outcome::Success);
    // A tick that preempts a player between its wake and its park (a host
    // that stalls the vCPU past the slice makes one anywhere) turns a
    // hand-off or two into a send that finds the other side runnable, not
    // parked: each preemption may cost two of the counts below.
    let preempted = trace
        .cores
        .iter()
        .flat_map(|core| &core.events)
        .filter(|e| e.kind == Kind::RunStop as u8 && e.flag == StopReason::Preempted as u8)
        .count();
    let least = (2 * hits - 2).saturating_sub(2 * preempted);
    let pingpong_wakes = wakes(&trace);
    let players: std::collections::BTreeSet<u32> = pingpong_wakes.iter().flat_map(|w| [w.0, w.1]).collect();
    let between_players = pingpong_wakes.iter().filter(|w| w.0 != 0 && w.1 != 0 && w.0 != w.1).count();
    assert!(
        between_players >= least,
        "{between_players} wakes between players for {hits} round trips, {preempted} preemptions"
    );
    assert!(players.len() <= 3, "wakes name more routines than main, pong and the kernel: {players:?}");
    // A hand-off reads as the wake, when the waker made the other
    // runnable, then (maybe after a line it printed, or a tick) the waker's
    // stop and, at that instant, the woken routine's start: it waited for
    // the core from the wake to its start.
    let events = &trace.cores[0].events;
    let mut woken: Option<(u32, u32, u64)> = None;
    let mut handoffs: Vec<u64> = Vec::new();
    for pair in events.windows(2) {
        let (e, next) = (pair[0], pair[1]);
        if e.kind == Kind::Wake as u8 {
            woken = Some((e.a, e.b, e.time_ns));
        }
        if let Some((waker, woken_id, at)) = woken
            && e.kind == Kind::RunStop as u8
            && e.a == waker
        {
            if next.kind == Kind::RunStart as u8 && next.a == woken_id && next.time_ns == e.time_ns {
                handoffs.push(next.time_ns - at);
            }
            woken = None;
        }
    }
    assert!(handoffs.len() >= least, "{} hand-offs for {hits} round trips, {preempted} preemptions", handoffs.len());
    assert!(handoffs.iter().all(|&waited| waited > 0), "a wake comes before the switch it leads to");
    let stats = spindle_boot::trace::stats(&trace);
    assert!(stats.contains("scheduling latency (runnable until running), "), "{stats}");

    // A sleeper is woken by the timer, not by a routine: neither in a quiet
    // program, where the core is idle when the timer fires, nor in a busy
    // one, where the timer interrupts some other routine.
    for program in ["blocking cpus=1", "stress n=300 seed=1 cpus=1"] {
        let (report, trace) = boot_traced(2, program);
        expect_outcome(&report, Outcome::Success);
        let woken = sleepers_woken_by_the_timer(&trace);
        assert!(woken >= 1, "{program}: no sleeper woken in {:?}", wakes(&trace));
    }
}

/// Checks that every wake of a routine whose last block was a sleep names
/// no waker (the timer); returns how many such wakes there were.
fn sleepers_woken_by_the_timer(trace: &spindle_boot::trace::Trace) -> usize {
    let sleep = WAIT_REASONS.iter().position(|r| *r == "sleep").unwrap() as u32;
    let mut last_wait = std::collections::HashMap::new();
    let mut woken = 0;
    for e in all_events(trace) {
        if e.kind == Kind::RunStop as u8 && e.flag == StopReason::Block as u8 {
            last_wait.insert(e.a, e.b);
        }
        if e.kind == Kind::Wake as u8 && last_wait.get(&e.b) == Some(&sleep) {
            assert_eq!(e.a, 0, "routine {} woke sleeping routine {}", e.a, e.b);
            woken += 1;
        }
    }
    woken
}

#[test]
fn wakes_name_their_wakers_past_the_first_256_routines() {
    // The stress program at one core spawns thousands of routines that
    // wake each other over channels, mutexes and joins. Ids above 255 use
    // every bit of the note a switch keeps of its wake. (Joins alone do
    // not do: main may find every child finished and never be woken.)
    let (report, trace) = boot_traced(1, "stress n=300 seed=1 cpus=1 trace-buf=1000000");
    expect_outcome(&report, Outcome::Success);
    assert_eq!(trace.dropped(), 0);
    let ran: std::collections::BTreeSet<u32> =
        all_events(&trace).filter(|e| e.kind == Kind::RunStart as u8).map(|e| e.a).collect();
    let wakers: Vec<u32> = all_events(&trace).filter(|e| e.kind == Kind::Wake as u8).map(|e| e.a).collect();
    assert!(wakers.iter().any(|&w| w > 0xFF), "no waker above 255 among {} wakes", wakers.len());
    for waker in wakers {
        assert!(waker == 0 || ran.contains(&waker), "waker {waker} never ran");
    }
}

/// A run that would go on for ten minutes, stopped at its deadline: the
/// runner asks the kernel for its trace before it stops the guest, and the
/// kernel sends it, with the scheduler's events up to that moment, and says
/// where the routines were.
#[test]
fn a_run_past_its_deadline_still_sends_its_trace() {
    // The 10 s count from the kernel's first line, so a host that boots
    // slowly under load cannot use them up before the kernel even runs.
    let limit = Duration::from_secs(10);
    let mut run = Run::new(machine(Firmware::Bios, 2, "stress n=600000 seed=1 trace"), limit);
    run.boot_timeout = Some(TEST_TIMEOUT);
    let (report, trace) = start_traced(run);
    expect_outcome(&report, Outcome::Timeout(limit));
    assert_eq!(report.stop, Some(HostStop::Answered), "console:\n{}", report.text());
    expect_line(&report, "stop: the host ended the run ");
    expect_line(&report, "stop: running: cpu 0 ");
    assert!(trace.complete, "the stream is whole");
    assert_eq!(trace.ended(), Some(GuestExit::Stopped));
    for core in &trace.cores {
        assert_eq!(core.events.last().map(|e| e.kind), Some(Kind::End as u8), "cpu {} has no End", core.cpu);
    }
    let ran: std::collections::BTreeSet<u32> =
        all_events(&trace).filter(|e| e.kind == Kind::RunStart as u8).map(|e| e.a).collect();
    assert!(ran.len() >= 100, "only {} routines ran in the trace", ran.len());
}

/// Ctrl-C in the middle of a run: the runner stops the guest, asking it
/// for its trace first, writes the timeline and the trace up to that
/// moment, says how the run ended, and leaves none of its files behind.
#[test]
fn ctrl_c_stops_the_run_and_writes_the_trace_up_to_that_moment() {
    use std::io::{BufRead, BufReader, Read};
    let dir = std::env::temp_dir().join(format!("spindle-trace-ctrl-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, svg) = (dir.join("run.json"), dir.join("run.svg"));
    let (json_arg, svg_arg) = (json.to_string_lossy().into_owned(), svg.to_string_lossy().into_owned());
    // Each round checks five links and prints a line per link: it goes on
    // for hours.
    let mut runner = runner_job(&["status-check", "--rounds", "1000000", "--smp", "2", "--timeout", "3000"])
        .args(["--stats", "--trace", &json_arg, "--timeline", &svg_arg])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = runner.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut stdout = BufReader::new(runner.stdout.take().unwrap()).lines();
    let mut printed: Vec<String> = Vec::new();
    for line in stdout.by_ref() {
        let line = line.unwrap();
        let third_round = line.contains("round 3: ");
        printed.push(line);
        if third_round {
            break;
        }
    }
    ctrl_c(&runner);
    printed.extend(stdout.map(Result::unwrap));
    let status = runner.wait().unwrap();
    let said = said.join().unwrap();
    let printed = printed.join("\n");
    assert_eq!(status.code(), Some(130), "{printed}\n{said}");
    assert!(
        said.contains(&format!(
            "interrupted (Ctrl-C): the guest was stopped; the trace up to that moment is in {json_arg} and {svg_arg}"
        )),
        "{said}"
    );
    assert!(printed.contains("stop: the host ended the run "), "{printed}");
    assert!(printed.contains("ended: the host stopped the run"), "the trace summary says so:\n{printed}");

    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let runs = doc.descendants().filter(|n| n.attribute("class") == Some("run") && n.has_tag_name("rect")).count();
    assert!(runs > 5, "{runs} run bars");
    let parsed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let events = parsed["traceEvents"].as_array().unwrap();
    assert!(events.iter().filter(|e| e["cat"] == "run").count() > 5);
    // The lines printed before Ctrl-C, as they were printed.
    let rounds: Vec<&str> = events
        .iter()
        .filter(|e| e["cat"] == "print" && e["pid"] == 0)
        .filter_map(|e| e["args"]["text"].as_str())
        .filter(|t| t.starts_with("round "))
        .collect();
    for line in printed.lines().filter(|l| l.contains("round 1: ")) {
        let text = line.split_once("]").map_or(line, |(_, text)| text.trim_start());
        assert!(rounds.contains(&text), "{text:?} not in {rounds:?}");
    }
    assert_eq!(runner_files_left(runner.id()), Vec::<std::path::PathBuf>::new());
    let _ = std::fs::remove_dir_all(&dir);
}
