//! What each routine was doing between its runs: waiting, runnable, for a
//! core (and since when, and why), or blocked (and on what). Go's trace
//! calls the first its scheduling latency.
//!
//! A routine becomes runnable when it is spawned (`Spawn`), woken
//! (`Wake`, recorded when and where the wake happened), preempted or
//! yields (its `RunStop`), and stops waiting at its next `RunStart`, on
//! whichever core. It is blocked from a `RunStop` that blocked to the
//! `Wake` that ends it. Events of all cores are read in time order (a core's
//! own in the order it recorded them). A wait still open when the trace
//! ends is kept, marked unfinished: in a hung run, the routines runnable
//! for ever and the ones blocked for ever are what to look at.

use std::collections::HashMap;

use spindle_shared::trace::{Event, Kind, StopReason, WAIT_REASONS};

use super::decode::Trace;

/// Why a routine became runnable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Spawned by routine `by` (0: the kernel) on core `on_cpu`.
    Spawned { by: u32, on_cpu: u32 },
    /// Woken by routine `by` (0: a timer or the kernel) on core `on_cpu`.
    Woken { by: u32, on_cpu: u32 },
    /// Its time slice ran out.
    Preempted,
    /// It yielded.
    Yielded,
}

impl Cause {
    /// A word for the kind of cause, to group waits by.
    pub fn kind(self) -> &'static str {
        match self {
            Cause::Spawned { .. } => "spawned",
            Cause::Woken { .. } => "woken",
            Cause::Preempted => "preempted",
            Cause::Yielded => "yielded",
        }
    }

    /// How a person would say it: "woken by r4 on cpu 1".
    pub fn describe(self) -> String {
        let by = |routine: u32| if routine == 0 { "the kernel".to_string() } else { format!("r{routine}") };
        match self {
            Cause::Spawned { by: parent, on_cpu } => format!("spawned by {} on cpu {on_cpu}", by(parent)),
            Cause::Woken { by: 0, on_cpu } => format!("woken by a timer or the kernel on cpu {on_cpu}"),
            Cause::Woken { by: waker, on_cpu } => format!("woken by {} on cpu {on_cpu}", by(waker)),
            Cause::Preempted => "preempted".into(),
            Cause::Yielded => "yielded".into(),
        }
    }
}

/// What a waiting routine waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Runnable, waiting for a core.
    Runnable(Cause),
    /// Blocked until something wakes it (a `WAIT_REASONS` entry).
    Blocked(&'static str),
}

/// One routine's stretch between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    pub routine: u32,
    pub waiting: Waiting,
    pub start_ns: u64,
    pub end_ns: u64,
    /// A runnable wait: the core it ran on; `None` for a block.
    pub ran_on: Option<u32>,
    /// The trace ended first (then `end_ns` is its end).
    pub unfinished: bool,
}

impl Wait {
    pub fn length_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// How long a routine waited for a core: runnable, and then it ran.
    pub fn latency_ns(&self) -> Option<u64> {
        (matches!(self.waiting, Waiting::Runnable(_)) && !self.unfinished).then(|| self.length_ns())
    }
}

/// Every routine's waits, in the order they ended (unfinished ones last,
/// ending when the trace does).
pub fn waits(trace: &Trace) -> Vec<Wait> {
    let mut timed: Vec<(u64, u32, usize, &Event)> = trace
        .cores
        .iter()
        .flat_map(|core| core.events.iter().enumerate().map(move |(i, e)| (e.time_ns, core.cpu, i, e)))
        .collect();
    timed.sort_by_key(|&(time_ns, cpu, index, _)| (time_ns, cpu, index));
    let end_ns = timed.last().map_or(0, |&(time_ns, ..)| time_ns);

    let mut open: HashMap<u32, (Waiting, u64)> = HashMap::new();
    let mut waits = Vec::new();
    for (time_ns, cpu, _, event) in timed {
        match Kind::from_u8(event.kind) {
            Some(Kind::Spawn) => {
                let spawned = Waiting::Runnable(Cause::Spawned { by: event.a, on_cpu: cpu });
                open.insert(event.b, (spawned, time_ns));
            }
            Some(Kind::Wake) => {
                // A wake ends a block (if the trace saw it start).
                if let Some((waiting @ Waiting::Blocked(_), start_ns)) = open.remove(&event.b) {
                    waits.push(Wait {
                        routine: event.b,
                        waiting,
                        start_ns,
                        end_ns: time_ns,
                        ran_on: None,
                        unfinished: false,
                    });
                }
                let woken = Waiting::Runnable(Cause::Woken { by: event.a, on_cpu: cpu });
                open.insert(event.b, (woken, time_ns));
            }
            Some(Kind::RunStart) => {
                if let Some((waiting, start_ns)) = open.remove(&event.a) {
                    waits.push(Wait {
                        routine: event.a,
                        waiting,
                        start_ns,
                        end_ns: time_ns,
                        ran_on: Some(cpu),
                        unfinished: false,
                    });
                }
            }
            Some(Kind::RunStop) => {
                // Whatever was open for a routine that ran is stale.
                open.remove(&event.a);
                let waiting = match StopReason::from_u8(event.flag) {
                    Some(StopReason::Preempted) => Waiting::Runnable(Cause::Preempted),
                    Some(StopReason::Yield) => Waiting::Runnable(Cause::Yielded),
                    Some(StopReason::Block) => {
                        Waiting::Blocked(WAIT_REASONS.get(event.b as usize).copied().unwrap_or(WAIT_REASONS[0]))
                    }
                    Some(StopReason::Exited) | None => continue,
                };
                open.insert(event.a, (waiting, time_ns));
            }
            _ => {}
        }
    }
    let mut unfinished: Vec<Wait> = open
        .into_iter()
        .map(|(routine, (waiting, start_ns))| Wait {
            routine,
            waiting,
            start_ns,
            end_ns,
            ran_on: None,
            unfinished: true,
        })
        .collect();
    unfinished.sort_by_key(|w| (w.start_ns, w.routine));
    waits.extend(unfinished);
    waits
}

/// The value at percentile `p` (0 to 100) of `sorted`, which is in
/// increasing order and not empty: the smallest value at least `p`% of
/// the values are at or below (nearest rank).
pub fn percentile(sorted: &[u64], p: u64) -> u64 {
    let rank = (sorted.len() as u64 * p).div_ceil(100).max(1) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::decode::CoreTrace;
    use crate::trace::fixture::{event, sample_trace};

    #[test]
    fn each_way_of_becoming_runnable_waits_until_the_next_start_on_any_core() {
        let waits = waits(&sample_trace());
        let finished: Vec<(u32, Waiting, u64, Option<u32>, bool)> =
            waits.iter().map(|w| (w.routine, w.waiting, w.length_ns(), w.ran_on, w.unfinished)).collect();
        assert_eq!(
            finished,
            [
                // Spawned at 1.0 us on cpu 0 by the kernel, started at 2.0 and 5.1.
                (1, Waiting::Runnable(Cause::Spawned { by: 0, on_cpu: 0 }), 1_000, Some(0), false),
                (2, Waiting::Runnable(Cause::Spawned { by: 0, on_cpu: 0 }), 4_100, Some(0), false),
                // Preempted at 5.0, back at 7.1.
                (1, Waiting::Runnable(Cause::Preempted), 2_100, Some(0), false),
                // Blocked at 7.0, woken by r1 on cpu 0 at 7.5, ran on cpu 1 at 8.1.
                (2, Waiting::Blocked("chan receive"), 500, None, false),
                (2, Waiting::Runnable(Cause::Woken { by: 1, on_cpu: 0 }), 600, Some(1), false),
                // r2 yielded at 8.8 and r4 was woken at 7.6: neither ran again.
                (4, Waiting::Runnable(Cause::Woken { by: 3, on_cpu: 1 }), 1_900, None, true),
                (2, Waiting::Runnable(Cause::Yielded), 700, None, true),
            ]
        );
    }

    #[test]
    fn a_start_without_a_recorded_cause_is_no_wait() {
        let trace = Trace {
            cores: vec![CoreTrace {
                cpu: 0,
                events: vec![event(10, Kind::RunStart, 0, 0, 1, 0, 0)],
                ..Default::default()
            }],
            complete: true,
        };
        assert!(waits(&trace).is_empty());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!((percentile(&values, 50), percentile(&values, 99), percentile(&values, 100)), (50, 99, 100));
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[1, 2], 50), 1);
    }
}
