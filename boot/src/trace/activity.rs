//! What the cores did, derived from their events: routine runs, idle
//! stretches and routines moving between cores.
//!
//! The Chrome export, the SVG timeline and the statistics all read the trace
//! through these, so they agree on what a run is. A run or idle stretch that
//! is still open when a core's events end ends at that core's last event:
//! the `End` event, when the run ended (main returned, a failure, the host
//! stopped it); or, when the core's buffer filled, its last recorded event,
//! since what came after is unknown. Events of kinds this runner does not
//! know are skipped. Every stretch ends no earlier than it starts, even if
//! a core's clock went backwards.

use spindle_shared::trace::{Event, Kind, StopReason, WAIT_REASONS};

use super::decode::{CoreTrace, Trace};
use super::states::{Cause, Waiting, waits};

/// A routine's stretch on one core, from `RunStart` to `RunStop`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub cpu: u32,
    pub routine: u32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub end: RunEnd,
}

impl Run {
    pub fn length_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    Yield,
    /// Blocked, waiting for what `WAIT_REASONS` names.
    Block {
        wait: &'static str,
    },
    Preempted,
    Exited,
    /// A stop reason code this runner does not know.
    Other(u8),
    /// No `RunStop` was recorded: the core's events end (or the next run
    /// starts) while it runs.
    Unfinished,
}

impl RunEnd {
    fn of(stop: &Event) -> RunEnd {
        match StopReason::from_u8(stop.flag) {
            Some(StopReason::Yield) => RunEnd::Yield,
            Some(StopReason::Block) => {
                RunEnd::Block { wait: WAIT_REASONS.get(stop.b as usize).copied().unwrap_or(WAIT_REASONS[0]) }
            }
            Some(StopReason::Preempted) => RunEnd::Preempted,
            Some(StopReason::Exited) => RunEnd::Exited,
            None => RunEnd::Other(stop.flag),
        }
    }

    /// How a person would say it.
    pub fn name(self) -> &'static str {
        match self {
            RunEnd::Yield => StopReason::Yield.name(),
            RunEnd::Block { .. } => StopReason::Block.name(),
            RunEnd::Preempted => StopReason::Preempted.name(),
            RunEnd::Exited => StopReason::Exited.name(),
            RunEnd::Other(_) => "unknown stop reason",
            RunEnd::Unfinished => "still running when the core's events end",
        }
    }
}

/// A stretch of time with a start and an end, on one core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stretch {
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Stretch {
    pub fn length_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// One core's runs and idle stretches, each in time order.
#[derive(Clone, Debug, Default)]
pub struct CoreActivity {
    pub runs: Vec<Run>,
    pub idle: Vec<Stretch>,
}

/// Runs and idle stretches of one core.
pub fn core_activity(core: &CoreTrace) -> CoreActivity {
    let run = |(routine, start_ns): (u32, u64), end_ns: u64, end: RunEnd| Run {
        cpu: core.cpu,
        routine,
        start_ns,
        end_ns: end_ns.max(start_ns),
        end,
    };
    let stretch = |start_ns: u64, end_ns: u64| Stretch { start_ns, end_ns: end_ns.max(start_ns) };
    let mut activity = CoreActivity::default();
    let mut running: Option<(u32, u64)> = None;
    let mut idle_since: Option<u64> = None;
    for event in &core.events {
        let t = event.time_ns;
        match Kind::from_u8(event.kind) {
            Some(Kind::RunStart) => {
                if let Some(open) = running.replace((event.a, t)) {
                    activity.runs.push(run(open, t, RunEnd::Unfinished));
                }
            }
            Some(Kind::RunStop) => {
                if let Some(open) = running.take() {
                    activity.runs.push(run(open, t, RunEnd::of(event)));
                }
            }
            Some(Kind::Idle) => {
                if let Some(start_ns) = idle_since.replace(t) {
                    activity.idle.push(stretch(start_ns, t));
                }
            }
            Some(Kind::IdleEnd) => {
                if let Some(start_ns) = idle_since.take() {
                    activity.idle.push(stretch(start_ns, t));
                }
            }
            _ => {}
        }
    }
    let last = match core.dropped {
        0 => core.events.last(),
        _ => core.events.iter().rev().find(|e| e.kind != Kind::End as u8),
    };
    let last_ns = last.map_or(0, |e| e.time_ns);
    if let Some(open) = running {
        activity.runs.push(run(open, last_ns, RunEnd::Unfinished));
    }
    if let Some(start_ns) = idle_since {
        activity.idle.push(stretch(start_ns, last_ns));
    }
    activity
}

/// A line the program printed, on the console and in the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Printed {
    pub cpu: u32,
    /// 0: the kernel printed it, outside any routine.
    pub routine: u32,
    pub time_ns: u64,
    pub text: String,
    /// The trace kept all of it.
    pub whole: bool,
}

impl Printed {
    /// The text as shown: with "..." where it was cut.
    pub fn shown(&self) -> String {
        if self.whole { self.text.clone() } else { format!("{}...", self.text) }
    }

    /// Who printed it: "r5", or "the kernel".
    pub fn by(&self) -> String {
        if self.routine == 0 { "the kernel".into() } else { format!("r{}", self.routine) }
    }
}

/// The lines core `core` printed, in order.
pub fn printed(core: &CoreTrace) -> Vec<Printed> {
    core.events
        .iter()
        .filter(|e| e.kind == Kind::Print as u8)
        .map(|e| {
            let (text, whole) = core.printed(e);
            Printed { cpu: core.cpu, routine: e.a, time_ns: e.time_ns, text, whole }
        })
        .collect()
}

/// Why routines went from one core to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveKind {
    /// `to_cpu` took routines from `from_cpu`'s run queue.
    Steal,
    /// A routine woken on `from_cpu` next ran on `to_cpu`.
    Wake,
}

impl MoveKind {
    pub fn name(self) -> &'static str {
        match self {
            MoveKind::Steal => "steal",
            MoveKind::Wake => "wake",
        }
    }
}

/// Routines moving from one core to another: a steal at one moment, a
/// wake from the wake to the woken routine's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub kind: MoveKind,
    /// When the routine left `from_cpu` (a steal: `time_ns`; a wake: the wake).
    pub from_ns: u64,
    /// When it arrived on `to_cpu`.
    pub time_ns: u64,
    pub from_cpu: u32,
    pub to_cpu: u32,
    /// The routine stolen first, or the one woken.
    pub routine: u32,
    /// How many routines moved (1 for a wake).
    pub routines: u32,
}

/// Every steal and cross-core wake, in the order they arrived.
pub fn moves(trace: &Trace) -> Vec<Move> {
    let steals = trace.cores.iter().flat_map(|core| {
        core.events.iter().filter(|e| e.kind == Kind::Steal as u8).map(move |e| Move {
            kind: MoveKind::Steal,
            from_ns: e.time_ns,
            time_ns: e.time_ns,
            from_cpu: e.a,
            to_cpu: core.cpu,
            routine: e.c,
            routines: e.b,
        })
    });
    let wakes = waits(trace).into_iter().filter_map(|wait| match (wait.waiting, wait.ran_on) {
        (Waiting::Runnable(Cause::Woken { on_cpu, .. }), Some(ran_on)) if on_cpu != ran_on => Some(Move {
            kind: MoveKind::Wake,
            from_ns: wait.start_ns,
            time_ns: wait.end_ns,
            from_cpu: on_cpu,
            to_cpu: ran_on,
            routine: wait.routine,
            routines: 1,
        }),
        _ => None,
    });
    let mut moves: Vec<Move> = steals.chain(wakes).collect();
    moves.sort_by_key(|m| (m.time_ns, m.from_ns));
    moves
}

/// The first and last event time over all cores; `None` for a trace without events.
pub fn time_span(trace: &Trace) -> Option<Stretch> {
    let firsts = trace.cores.iter().filter_map(|core| core.events.first()).map(|e| e.time_ns);
    let lasts = trace.cores.iter().filter_map(|core| core.events.last()).map(|e| e.time_ns);
    let start_ns = firsts.min()?;
    Some(Stretch { start_ns, end_ns: lasts.max()?.max(start_ns) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::fixture::{event, sample_trace};

    #[test]
    fn runs_pair_each_start_with_the_next_stop_and_keep_its_reason() {
        let trace = sample_trace();
        let cpu0 = core_activity(&trace.cores[0]);
        let ends: Vec<(u32, RunEnd)> = cpu0.runs.iter().map(|r| (r.routine, r.end)).collect();
        assert_eq!(
            ends,
            [(1, RunEnd::Preempted), (2, RunEnd::Block { wait: "chan receive" }), (1, RunEnd::Unfinished)]
        );
    }

    #[test]
    fn a_run_still_open_ends_at_the_cores_last_event() {
        let trace = sample_trace();
        let cpu0 = core_activity(&trace.cores[0]);
        let last = trace.cores[0].events.last().unwrap().time_ns;
        assert_eq!(cpu0.runs.last().unwrap().end_ns, last);
    }

    #[test]
    fn a_run_open_at_the_end_lasts_to_the_end_event_unless_the_buffer_filled() {
        let mut trace = sample_trace();
        let ended = spindle_shared::trace::end_event(9_800, 0, spindle_shared::exit::GuestExit::Stopped);
        trace.cores[0].events.push(ended);
        assert_eq!(core_activity(&trace.cores[0]).runs.last().unwrap().end_ns, 9_800);
        // What came after the buffer filled is unknown: the run ends where
        // its events do.
        trace.cores[0].dropped = 3;
        assert_eq!(core_activity(&trace.cores[0]).runs.last().unwrap().end_ns, 9_000);
    }

    #[test]
    fn a_block_with_an_unknown_wait_code_waits_for_other() {
        let stop = event(5, Kind::RunStop, StopReason::Block as u8, 0, 1, 999, 0);
        assert_eq!(RunEnd::of(&stop), RunEnd::Block { wait: "other" });
    }

    #[test]
    fn printed_lines_come_with_their_text_and_say_when_it_was_cut() {
        let lines = printed(&sample_trace().cores[1]);
        let shown: Vec<(u32, u64, String)> = lines.iter().map(|p| (p.routine, p.time_ns, p.shown())).collect();
        assert_eq!(shown, [(3, 6_000, "r3: <a & b> done".into()), (3, 6_002, "second...".into())]);
        let mut trace = sample_trace();
        trace.cores[1].text.truncate(20);
        assert_eq!(printed(&trace.cores[1])[1].shown(), "seco...", "the stream was cut in the text");
    }

    #[test]
    fn steals_and_only_cross_core_wakes_are_moves() {
        let moves = moves(&sample_trace());
        let summary: Vec<(MoveKind, u32, u32)> = moves.iter().map(|m| (m.kind, m.from_cpu, m.to_cpu)).collect();
        assert_eq!(summary, [(MoveKind::Steal, 0, 1), (MoveKind::Wake, 0, 1)]);
    }
}
