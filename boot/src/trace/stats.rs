//! The trace summed up as plain text: how busy each core was and what it
//! did, which routines ran longest, and whether events were dropped.
//!
//! Busy time is measured against the whole trace (first to last event over
//! all cores), so cores are compared over the same stretch of time.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use spindle_shared::trace::Kind;

use super::activity::{CoreActivity, RunEnd, core_activity, time_span};
use super::decode::{Trace, ending};
use super::dropped_report;
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
    write_cores(&mut out, trace, &activities, span_ns);
    write_routines(&mut out, &activities);
    out.push('\n');
    match dropped_report(trace) {
        Some(report) => writeln!(out, "{report}").unwrap(),
        None => writeln!(out, "events dropped: none").unwrap(),
    }
    out
}

/// The per-core table: busy share, switches, preemptions, steals, idle time.
fn write_cores(out: &mut String, trace: &Trace, activities: &[CoreActivity], span_ns: u64) {
    out.push('\n');
    writeln!(
        out,
        "{:>4} {:>7} {:>9} {:>12} {:>7} {:>7} {:>12}",
        "cpu", "busy", "switches", "preemptions", "steals", "stolen", "idle"
    )
    .unwrap();
    for (core, activity) in trace.cores.iter().zip(activities) {
        let busy_ns: u64 = activity.runs.iter().map(|run| run.length_ns()).sum();
        let idle_ns: u64 = activity.idle.iter().map(|idle| idle.length_ns()).sum();
        let steals = core.events.iter().filter(|e| e.kind == Kind::Steal as u8);
        let stolen: u64 = steals.clone().map(|e| u64::from(e.b)).sum();
        let preemptions = activity.runs.iter().filter(|run| run.end == RunEnd::Preempted).count();
        writeln!(
            out,
            "{:>4} {:>6.1}% {:>9} {:>12} {:>7} {:>7} {:>12}",
            core.cpu,
            percent(busy_ns, span_ns),
            activity.runs.len(),
            preemptions,
            steals.count(),
            stolen,
            format_duration(idle_ns),
        )
        .unwrap();
    }
    writeln!(
        out,
        "busy: time running routines over the whole trace ({}); switches: runs started",
        format_duration(span_ns)
    )
    .unwrap();
}

fn write_completeness(out: &mut String, trace: &Trace) {
    if let Some(exit) = trace.ended() {
        writeln!(out, "ended: {}", ending(exit)).unwrap();
    }
    if !trace.complete {
        writeln!(out, "the stream was cut short (no trailer): the guest stopped before sending all of it").unwrap();
    }
}

fn write_routines(out: &mut String, activities: &[CoreActivity]) {
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
    writeln!(out, "{:>8} {:>12} {:>7} {:>12}  cores", "routine", "run time", "runs", "preemptions").unwrap();
    for (id, totals) in ranked.iter().take(TOP_ROUTINES) {
        let cores: Vec<String> = totals.cores.iter().map(u32::to_string).collect();
        writeln!(
            out,
            "{:>8} {:>12} {:>7} {:>12}  {}",
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
    fn each_core_shows_busy_share_switches_preemptions_steals_and_idle() {
        let text = stats(&sample_trace());
        // The trace spans 1.0 to 9.5 us; cpu 0 runs 3.0 + 1.9 + 1.9 us of it.
        assert_eq!(row(&text, "0"), ["0", "80.0%", "3", "1", "0", "0", "0", "ns"]);
        assert_eq!(row(&text, "1"), ["1", "40.0%", "2", "0", "1", "1", "4.300", "us"]);
    }

    #[test]
    fn routines_are_ranked_by_run_time_with_runs_preemptions_and_cores() {
        let text = stats(&sample_trace());
        let routines: Vec<Vec<String>> = ["r1", "r2", "r3"].iter().map(|r| row(&text, r)).collect();
        assert_eq!(routines[0], ["r1", "4.900", "us", "2", "1", "0"]);
        assert_eq!(routines[1], ["r2", "2.600", "us", "2", "0", "0,1"]);
        assert_eq!(routines[2], ["r3", "2.700", "us", "1", "0", "1"]);
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
