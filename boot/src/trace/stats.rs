//! The trace summed up as plain text: how busy each core was and what it
//! did, which routines ran longest, and whether events were dropped.
//!
//! One meaning for each word, the same as the kernel's `stats:` lines:
//! - a core's time splits into *busy* (running routines), *scheduler* (the
//!   scheduler's own work: finding work, spinning, switching) and *idle*
//!   (halted with nothing to run), as shares of the whole trace (first to
//!   last event over all cores), so that cores are compared over the same
//!   stretch of time; a core whose buffer filled is measured up to its
//!   last recorded event, and marked;
//! - *steals* are the times a core took routines from another core's run
//!   queue, *stole* the routines it took;
//! - a routine's *wait* is how long it was runnable before it ran (its
//!   scheduling latency; see `states` and `latency`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use spindle_shared::trace::Kind;

use super::activity::{CoreActivity, RunEnd, Stretch, core_activity, time_span};
use super::decode::{CoreTrace, Trace, ending};
use super::dropped_report;
use super::latency::{Latencies, per_routine, write_summary};
use super::states::{Wait, waits};
use super::units::format_duration;

/// Routines listed by name; the rest are counted.
const TOP_ROUTINES: usize = 20;

/// One routine's share of the run.
#[derive(Default)]
struct RoutineTotals {
    run_ns: u64,
    runs: u64,
    preemptions: u64,
    cores: BTreeSet<u32>,
}

/// The plain-text summary of `trace`.
pub fn stats(trace: &Trace) -> String {
    let mut out = String::new();
    let Some(span) = time_span(trace) else {
        writeln!(out, "trace: {} cores, no events", trace.cores.len()).unwrap();
        write_completeness(&mut out, trace);
        return out;
    };
    let span_ns = span.length_ns();
    writeln!(
        out,
        "trace: {} cores, {} events over {} (from {} to {} after kernel entry)",
        trace.cores.len(),
        trace.event_count(),
        format_duration(span_ns),
        format_duration(span.start_ns),
        format_duration(span.end_ns),
    )
    .unwrap();
    write_completeness(&mut out, trace);

    let activities: Vec<CoreActivity> = trace.cores.iter().map(core_activity).collect();
    write_cores(&mut out, trace, &activities, span);
    let waits = waits(trace);
    write_routines(&mut out, &activities, &waits);
    write_summary(&mut out, &waits);
    out.push('\n');
    match dropped_report(trace) {
        Some(report) => writeln!(out, "{report}").unwrap(),
        None => writeln!(out, "events dropped: none").unwrap(),
    }
    out
}

/// The per-core table: busy, scheduler and idle shares, switches,
/// preemptions, steals and the routines stolen.
fn write_cores(out: &mut String, trace: &Trace, activities: &[CoreActivity], span: Stretch) {
    out.push('\n');
    writeln!(
        out,
        "{:>4} {:>7} {:>10} {:>7} {:>9} {:>12} {:>7} {:>7}",
        "cpu", "busy", "scheduler", "idle", "switches", "preemptions", "steals", "stole"
    )
    .unwrap();
    let mut partial = false;
    for (core, activity) in trace.cores.iter().zip(activities) {
        let busy_ns: u64 = activity.runs.iter().map(|run| run.length_ns()).sum();
        let idle_ns: u64 = activity.idle.iter().map(|idle| idle.length_ns()).sum();
        // A full buffer: measured up to its last recorded event.
        let covered_ns = match core.dropped {
            0 => span.length_ns(),
            _ => activity_end(core).saturating_sub(span.start_ns),
        };
        partial |= core.dropped > 0;
        let scheduler_ns = covered_ns.saturating_sub(busy_ns + idle_ns);
        let steals = core.events.iter().filter(|e| e.kind == Kind::Steal as u8);
        let stole: u64 = steals.clone().map(|e| u64::from(e.b)).sum();
        let preemptions = activity.runs.iter().filter(|run| run.end == RunEnd::Preempted).count();
        writeln!(
            out,
            "{:>4} {:>6.1}% {:>9.1}% {:>6.1}% {:>9} {:>12} {:>7} {:>7}{}",
            core.cpu,
            percent(busy_ns, covered_ns),
            percent(scheduler_ns, covered_ns),
            percent(idle_ns, covered_ns),
            activity.runs.len(),
            preemptions,
            steals.count(),
            stole,
            if core.dropped > 0 {
                format!("  * over its first {}", format_duration(covered_ns))
            } else {
                String::new()
            },
        )
        .unwrap();
    }
    writeln!(
        out,
        "busy: running routines; scheduler: finding work, spinning, switching; idle: halted with nothing to \
         run; as shares of the {} the trace spans{}",
        format_duration(span.length_ns()),
        if partial { " (* a core whose buffer filled: of the part it recorded)" } else { "" }
    )
    .unwrap();
    writeln!(
        out,
        "switches: runs started; steals: times the core took routines from another core's run queue; \
         stole: the routines it took"
    )
    .unwrap();
}

/// When a core's recorded events end (its `End` event aside).
fn activity_end(core: &CoreTrace) -> u64 {
    core.events.iter().rev().find(|e| e.kind != Kind::End as u8).map_or(0, |e| e.time_ns)
}

fn write_completeness(out: &mut String, trace: &Trace) {
    if let Some(exit) = trace.ended() {
        writeln!(out, "ended: {}", ending(exit)).unwrap();
    }
    if !trace.complete {
        writeln!(out, "the stream was cut short (no trailer): the guest stopped before sending all of it").unwrap();
    }
}

/// The routines that ran longest: run time, runs, preemptions, how long
/// they waited for a core (median and max), and where they ran.
fn write_routines(out: &mut String, activities: &[CoreActivity], waits: &[Wait]) {
    let latencies = per_routine(waits);
    let mut routines: BTreeMap<u32, RoutineTotals> = BTreeMap::new();
    for run in activities.iter().flat_map(|activity| &activity.runs) {
        let totals = routines.entry(run.routine).or_default();
        totals.run_ns += run.length_ns();
        totals.runs += 1;
        totals.preemptions += u64::from(run.end == RunEnd::Preempted);
        totals.cores.insert(run.cpu);
    }
    let mut ranked: Vec<(u32, RoutineTotals)> = routines.into_iter().collect();
    ranked.sort_by(|(a_id, a), (b_id, b)| b.run_ns.cmp(&a.run_ns).then(a_id.cmp(b_id)));

    out.push('\n');
    writeln!(
        out,
        "{:>8} {:>12} {:>7} {:>12} {:>12} {:>12}  cores",
        "routine", "run time", "runs", "preemptions", "wait median", "wait max"
    )
    .unwrap();
    for (id, totals) in ranked.iter().take(TOP_ROUTINES) {
        let cores: Vec<String> = totals.cores.iter().map(u32::to_string).collect();
        let waited = latencies.get(id).and_then(Latencies::summary);
        let (median, max) =
            waited.map_or(("-".into(), "-".into()), |(median, _, max)| (format_duration(median), format_duration(max)));
        writeln!(
            out,
            "{:>8} {:>12} {:>7} {:>12} {median:>12} {max:>12}  {}",
            format!("r{id}"),
            format_duration(totals.run_ns),
            totals.runs,
            totals.preemptions,
            cores.join(","),
        )
        .unwrap();
    }
    if ranked.len() > TOP_ROUTINES {
        writeln!(out, "... and {} more routines", ranked.len() - TOP_ROUTINES).unwrap();
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::fixture::{busy_trace, sample_trace};

    /// The whitespace-separated fields of the line whose first field is `first`.
    fn row(text: &str, first: &str) -> Vec<String> {
        let line = text.lines().find(|line| line.split_whitespace().next() == Some(first));
        line.unwrap_or_else(|| panic!("no line starts with {first} in:\n{text}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    #[test]
    fn each_core_splits_its_time_and_shows_switches_preemptions_and_steals() {
        let text = stats(&sample_trace());
        // The trace spans 1.0 to 9.5 us; cpu 0 runs 3.0 + 1.9 + 1.9 us of
        // it and never halts; cpu 1 runs 2.7 + 0.7 us and halts 3.7 + 0.6.
        assert_eq!(row(&text, "0"), ["0", "80.0%", "20.0%", "0.0%", "3", "1", "0", "0"]);
        assert_eq!(row(&text, "1"), ["1", "40.0%", "9.4%", "50.6%", "2", "0", "1", "1"]);
    }

    #[test]
    fn a_core_whose_buffer_filled_is_measured_over_what_it_recorded() {
        let mut trace = sample_trace();
        trace.cores[0].dropped = 5;
        let text = stats(&trace);
        // cpu 0's events stop at 9.0 us: 8.0 us recorded, 6.8 of them busy.
        assert_eq!(row(&text, "0")[..3], ["0", "85.0%", "15.0%"]);
        assert!(text.contains("* over its first 8.000 us"), "{text}");
        assert!(text.contains("(* a core whose buffer filled: of the part it recorded)"), "{text}");
    }

    #[test]
    fn routines_are_ranked_by_run_time_with_runs_preemptions_waits_and_cores() {
        let text = stats(&sample_trace());
        let routines: Vec<Vec<String>> = ["r1", "r2", "r3"].iter().map(|r| row(&text, r)).collect();
        assert_eq!(routines[0], ["r1", "4.900", "us", "2", "1", "1.000", "us", "2.100", "us", "0"]);
        assert_eq!(routines[1], ["r2", "2.600", "us", "2", "0", "600", "ns", "4.100", "us", "0,1"]);
        assert_eq!(routines[2], ["r3", "2.700", "us", "1", "0", "-", "-", "1"]);
        let order: Vec<usize> = ["r1", "r3", "r2"].iter().map(|r| text.find(&format!("  {r} ")).unwrap()).collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
    }

    #[test]
    fn only_the_top_twenty_routines_are_listed() {
        let text = stats(&busy_trace(2, 2_000, 1_000_000));
        assert!(text.contains("... and 30 more routines"), "{text}");
    }

    #[test]
    fn dropped_events_are_always_reported() {
        let mut trace = sample_trace();
        assert!(stats(&trace).contains("events dropped: none"));
        trace.cores[1].dropped = 7;
        assert!(stats(&trace).contains("events dropped: 7 (cpu 1: 7)"), "{}", stats(&trace));
    }

    #[test]
    fn a_cut_stream_is_said_to_be_cut() {
        let mut trace = sample_trace();
        trace.complete = false;
        assert!(stats(&trace).contains("cut short"));
    }
}
