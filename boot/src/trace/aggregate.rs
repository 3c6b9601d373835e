//! Keeping the timeline drawable for any length of run.
//!
//! A ten-second trace can hold millions of runs; a lane is about a thousand
//! pixels wide. So runs narrower than a threshold are merged with their
//! neighbours into one "merged" bar (unless an idle gap wider than the
//! threshold separates them), preemption marks closer than a threshold
//! become one mark with a count, and the thresholds double until the whole
//! picture fits its element budget. Arrows are thinned to every k-th.

use std::collections::HashMap;

use super::activity::Run;

/// What one bar on a lane stands for.
#[derive(Debug)]
pub enum Bar<'a> {
    /// One run, drawn as it is.
    Run(&'a Run),
    /// Consecutive runs too narrow to draw one by one.
    Merged(Merged),
}

/// Several consecutive runs on one core, drawn as one bar.
#[derive(Debug, Default)]
pub struct Merged {
    pub start_ns: u64,
    pub end_ns: u64,
    pub runs: usize,
    /// Time spent running, out of `end_ns - start_ns`.
    pub busy_ns: u64,
    /// The routine that ran longest in it, and for how long.
    pub dominant: u32,
    pub dominant_ns: u64,
}

/// Builds the picture's parts with a threshold of `start_px`, doubling it
/// until the parts (summed over lanes) fit in `budget` or the threshold
/// spans the whole `width_px`. Returns the parts and the threshold used.
pub fn fit<T>(start_px: f64, width_px: f64, budget: usize, build: impl Fn(f64) -> Vec<Vec<T>>) -> (Vec<Vec<T>>, f64) {
    let mut threshold_px = start_px;
    loop {
        let parts = build(threshold_px);
        if parts.iter().map(Vec::len).sum::<usize>() <= budget || threshold_px >= width_px {
            return (parts, threshold_px);
        }
        threshold_px *= 2.0;
    }
}

/// The bars of one lane: runs at least `min_ns` long as they are, shorter
/// ones merged with the runs next to them unless a gap over `min_ns` lies between.
pub fn lane_bars(runs: &[Run], min_ns: f64) -> Vec<Bar<'_>> {
    let mut bars = Vec::new();
    let mut group: Vec<&Run> = Vec::new();
    for run in runs {
        let gap_ns = group.last().map_or(0, |last| run.start_ns.saturating_sub(last.end_ns));
        if gap_ns as f64 > min_ns {
            flush(&mut group, &mut bars);
        }
        if run.length_ns() as f64 >= min_ns {
            flush(&mut group, &mut bars);
            bars.push(Bar::Run(run));
        } else {
            group.push(run);
        }
    }
    flush(&mut group, &mut bars);
    bars
}

fn flush<'a>(group: &mut Vec<&'a Run>, bars: &mut Vec<Bar<'a>>) {
    match group.as_slice() {
        [] => {}
        [run] => bars.push(Bar::Run(run)),
        runs => {
            let mut per_routine: HashMap<u32, u64> = HashMap::new();
            for run in runs {
                *per_routine.entry(run.routine).or_default() += run.length_ns();
            }
            let (dominant, dominant_ns) = per_routine
                .into_iter()
                .max_by_key(|&(routine, ns)| (ns, std::cmp::Reverse(routine)))
                .unwrap_or_default();
            bars.push(Bar::Merged(Merged {
                start_ns: runs[0].start_ns,
                end_ns: runs.iter().map(|run| run.end_ns).max().unwrap_or(runs[0].end_ns),
                runs: runs.len(),
                busy_ns: runs.iter().map(|run| run.length_ns()).sum(),
                dominant,
                dominant_ns,
            }));
        }
    }
    group.clear();
}

/// Moments on one lane, gathered: each cluster starts at a moment and holds
/// the ones less than `window_ns` after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub time_ns: u64,
    pub count: usize,
}

/// `times` (in order) gathered into clusters `window_ns` wide.
pub fn clusters(times: &[u64], window_ns: f64) -> Vec<Cluster> {
    let mut clusters: Vec<Cluster> = Vec::new();
    for &time_ns in times {
        match clusters.last_mut() {
            Some(cluster) if (time_ns.saturating_sub(cluster.time_ns) as f64) < window_ns => cluster.count += 1,
            _ => clusters.push(Cluster { time_ns, count: 1 }),
        }
    }
    clusters
}

/// Every k-th of `items`, with k the smallest that keeps at most `budget`
/// of them. Returns the kept items and k.
pub fn every_kth<T>(items: Vec<T>, budget: usize) -> (Vec<T>, usize) {
    let k = items.len().div_ceil(budget.max(1)).max(1);
    (items.into_iter().step_by(k).collect(), k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::activity::RunEnd;

    fn run(routine: u32, start_ns: u64, end_ns: u64) -> Run {
        Run { cpu: 0, routine, start_ns, end_ns, end: RunEnd::Yield }
    }

    #[test]
    fn wide_runs_stay_single_bars() {
        let runs = [run(1, 0, 100), run(2, 100, 300)];
        let bars = lane_bars(&runs, 50.0);
        assert!(matches!(bars[..], [Bar::Run(a), Bar::Run(b)] if a.routine == 1 && b.routine == 2));
    }

    #[test]
    fn narrow_neighbours_merge_into_one_bar_led_by_the_longest_running_routine() {
        let runs = [run(1, 0, 10), run(2, 12, 30), run(1, 31, 40), run(3, 40, 200)];
        let bars = lane_bars(&runs, 50.0);
        match &bars[..] {
            [Bar::Merged(merged), Bar::Run(wide)] => {
                assert_eq!((merged.start_ns, merged.end_ns, merged.runs, merged.busy_ns), (0, 40, 3, 37));
                assert_eq!((merged.dominant, merged.dominant_ns), (1, 19));
                assert_eq!(wide.routine, 3);
            }
            other => panic!("expected a merged bar then a run, got {other:?}"),
        }
    }

    #[test]
    fn a_gap_wider_than_the_threshold_separates_merged_bars() {
        let runs = [run(1, 0, 10), run(2, 10, 20), run(1, 100, 110), run(2, 110, 120)];
        assert_eq!(lane_bars(&runs, 50.0).len(), 2);
    }

    #[test]
    fn the_threshold_doubles_until_the_parts_fit_the_budget() {
        // 166 runs 3 px wide with 3 px gaps on a 1,000 px lane of 10 ms.
        let runs: Vec<Run> = (0..166).map(|i| run(i, i as u64 * 60_000, i as u64 * 60_000 + 30_000)).collect();
        let ns_per_px = 10_000.0;
        let (lanes, threshold_px) = fit(2.0, 1_000.0, 50, |px| vec![lane_bars(&runs, px * ns_per_px)]);
        assert_eq!((lanes[0].len(), threshold_px), (1, 4.0));
    }

    #[test]
    fn close_moments_cluster_and_far_ones_do_not() {
        let found = clusters(&[0, 3, 5, 20, 21, 40], 10.0);
        assert_eq!(
            found,
            [Cluster { time_ns: 0, count: 3 }, Cluster { time_ns: 20, count: 2 }, Cluster { time_ns: 40, count: 1 }]
        );
    }

    #[test]
    fn thinning_keeps_every_kth_within_the_budget() {
        let (kept, k) = every_kth((0..2_500).collect::<Vec<u32>>(), 1_000);
        assert_eq!((kept.len(), k, kept[1]), (834, 3, 3));
        assert_eq!(every_kth(vec![1, 2], 1_000), (vec![1, 2], 1));
    }
}
