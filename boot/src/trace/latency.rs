//! Scheduling latency in the summary: how long routines waited, runnable,
//! for a core (from `states`), over the whole trace and by why they became
//! runnable, and what was still waiting when the trace ended (in a hung
//! run: the routines that never got a core, and the ones never woken).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use super::states::{Wait, Waiting, percentile};
use super::units::{format_duration, plural};

/// The latencies of one set of waits, sorted.
pub struct Latencies(Vec<u64>);

impl Latencies {
    fn of<'a>(waits: impl Iterator<Item = &'a Wait>) -> Latencies {
        let mut ns: Vec<u64> = waits.filter_map(Wait::latency_ns).collect();
        ns.sort_unstable();
        Latencies(ns)
    }

    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// The median, p99 and max; `None` without waits.
    pub fn summary(&self) -> Option<(u64, u64, u64)> {
        let max = *self.0.last()?;
        Some((percentile(&self.0, 50), percentile(&self.0, 99), max))
    }
}

/// Each routine's latencies (the waits that ended with it running).
pub fn per_routine(waits: &[Wait]) -> HashMap<u32, Latencies> {
    let mut by_routine: HashMap<u32, Vec<&Wait>> = HashMap::new();
    for wait in waits {
        by_routine.entry(wait.routine).or_default().push(wait);
    }
    by_routine.into_iter().map(|(routine, waits)| (routine, Latencies::of(waits.into_iter()))).collect()
}

/// The latency lines of the summary.
pub fn write_summary(out: &mut String, waits: &[Wait]) {
    out.push('\n');
    let all = Latencies::of(waits.iter());
    let Some((median, p99, max)) = all.summary() else {
        writeln!(out, "scheduling latency: no routine was seen to wait for a core").unwrap();
        return write_unfinished(out, waits);
    };
    let longest = waits.iter().filter(|w| w.latency_ns() == Some(max)).min_by_key(|w| w.start_ns);
    let which = longest.map_or(String::new(), |w| {
        let cause = match w.waiting {
            Waiting::Runnable(cause) => cause.describe(),
            Waiting::Blocked(_) => unreachable!("a latency is a runnable wait"),
        };
        format!(" (r{}, {cause} at {})", w.routine, format_duration(w.start_ns))
    });
    writeln!(
        out,
        "scheduling latency (runnable until running), {} waits: median {}, p99 {}, max {}{which}",
        all.count(),
        format_duration(median),
        format_duration(p99),
        format_duration(max),
    )
    .unwrap();
    let mut by_cause: BTreeMap<&str, Vec<&Wait>> = BTreeMap::new();
    for wait in waits {
        if let Waiting::Runnable(cause) = wait.waiting {
            by_cause.entry(cause.kind()).or_default().push(wait);
        }
    }
    for (cause, waits) in by_cause {
        let latencies = Latencies::of(waits.into_iter());
        if let Some((median, p99, max)) = latencies.summary() {
            writeln!(
                out,
                "  {cause:<10} {:>7} waits: median {}, p99 {}, max {}",
                latencies.count(),
                format_duration(median),
                format_duration(p99),
                format_duration(max)
            )
            .unwrap();
        }
    }
    write_unfinished(out, waits);
}

/// The routines still runnable, and still blocked, when the trace ended.
fn write_unfinished(out: &mut String, waits: &[Wait]) {
    let unfinished = waits.iter().filter(|w| w.unfinished);
    let runnable: Vec<&Wait> = unfinished.clone().filter(|w| matches!(w.waiting, Waiting::Runnable(_))).collect();
    if let Some(longest) = runnable.iter().min_by_key(|w| (w.start_ns, w.routine)) {
        let Waiting::Runnable(cause) = longest.waiting else { unreachable!("filtered") };
        writeln!(
            out,
            "still runnable when the trace ended: {}; the longest waiting r{}, for {} ({cause} at {})",
            plural(runnable.len(), "routine"),
            longest.routine,
            format_duration(longest.length_ns()),
            format_duration(longest.start_ns),
            cause = cause.describe(),
        )
        .unwrap();
    }
    let mut blocked: BTreeMap<&str, usize> = BTreeMap::new();
    for wait in unfinished {
        if let Waiting::Blocked(on) = wait.waiting {
            *blocked.entry(on).or_default() += 1;
        }
    }
    if !blocked.is_empty() {
        let total: usize = blocked.values().sum();
        let mut on: Vec<(&str, usize)> = blocked.into_iter().collect();
        on.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let on: Vec<String> = on.into_iter().map(|(what, n)| format!("{n} {what}")).collect();
        writeln!(out, "still blocked when the trace ended: {} ({})", plural(total, "routine"), on.join(", ")).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::fixture::sample_trace;
    use crate::trace::states::waits;

    #[test]
    fn the_summary_gives_median_p99_and_max_overall_and_by_cause_and_what_still_waits() {
        let mut out = String::new();
        write_summary(&mut out, &waits(&sample_trace()));
        // Ran after waiting: 1.0, 4.1 (spawned), 2.1 (preempted), 0.6 us (woken).
        assert!(
            out.contains(
                "scheduling latency (runnable until running), 4 waits: median 1.000 us, p99 4.100 us, max 4.100 us \
                 (r2, spawned by the kernel on cpu 0 at 1.000 us)"
            ),
            "{out}"
        );
        assert!(out.contains("  preempted        1 waits: median 2.100 us"), "{out}");
        assert!(out.contains("  spawned          2 waits: median 1.000 us, p99 4.100 us"), "{out}");
        assert!(out.contains("  woken            1 waits: median 600 ns"), "{out}");
        assert!(
            out.contains(
                "still runnable when the trace ended: 2 routines; the longest waiting r4, for 1.900 us \
                 (woken by r3 on cpu 1 at 7.600 us)"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_routine_never_woken_is_still_blocked_at_the_end_and_a_woken_one_is_not() {
        let mut out = String::new();
        write_summary(&mut out, &waits(&sample_trace()));
        assert!(!out.contains("still blocked"), "r2 was woken: {out}");
        let mut trace = sample_trace();
        // Nobody wakes r2, which then never runs again.
        trace.cores[0].events.retain(|e| e.kind != spindle_shared::trace::Kind::Wake as u8);
        trace.cores[1].events.retain(|e| e.time_ns < 8_100);
        let mut out = String::new();
        write_summary(&mut out, &waits(&trace));
        assert!(out.contains("still blocked when the trace ended: 1 routine (1 chan receive)"), "{out}");
    }

    #[test]
    fn each_routine_has_its_own_latencies() {
        let latencies = per_routine(&waits(&sample_trace()));
        assert_eq!(latencies[&1].summary(), Some((1_000, 2_100, 2_100)));
        assert_eq!(latencies[&2].summary(), Some((600, 4_100, 4_100)));
        assert_eq!(latencies[&4].summary(), None, "r4 never ran");
    }
}
