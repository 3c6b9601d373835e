//! Properties of a run, checked over its decoded scheduler trace (and, where
//! a property needs what the program meant, its console).
//!
//! Safety properties (no routine on two cores at once, each routine starts
//! and exits once, no sleeper wakes early, a bound that was exceeded) say a
//! correct kernel can never violate them, whatever the machine's load: a
//! failure is a bug, and the grader never retries one. Times come from the
//! guest's TSC, which QEMU keeps in step across cores.

use std::collections::{BTreeMap, BTreeSet};

use spindle_boot::trace::Trace;
use spindle_shared::trace::{Event, Kind, StopReason, WAIT_REASONS};

/// What a property looks at.
pub struct Evidence<'a> {
    pub console: &'a [String],
    pub trace: Option<&'a Trace>,
    /// Cores that ran routines (`--cpus`).
    pub cpus: u32,
    /// The time slice in ns.
    pub slice_ns: u64,
}

impl Evidence<'_> {
    fn trace(&self) -> Result<&Trace, String> {
        let trace = self.trace.ok_or("the run recorded no trace")?;
        if trace.dropped() > 0 {
            return Err(format!("the trace dropped {} events: its buffers were too small to judge", trace.dropped()));
        }
        Ok(trace)
    }

    /// The number after `prefix` on the first console line that has it.
    pub fn number_after(&self, prefix: &str) -> Result<u64, String> {
        let line = self
            .console
            .iter()
            .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest))
            .ok_or_else(|| format!("no console line says {prefix:?}"))?;
        let digits: String = line.trim_start().chars().take_while(char::is_ascii_digit).collect();
        digits.parse().map_err(|_| format!("no number after {prefix:?} in {line:?}"))
    }
}

/// A property: its name (for the report) and its check.
pub type Property = (&'static str, fn(&Evidence) -> Result<(), String>);

/// A routine's stretch on a core.
#[derive(Clone, Debug)]
pub struct Run {
    pub cpu: u32,
    pub routine: u32,
    pub start: u64,
    pub end: u64,
    pub inherited: bool,
    /// How it ended: `None` if the core's events end while it runs.
    pub stop: Option<Event>,
}

impl Run {
    fn ended(&self, reason: StopReason) -> bool {
        self.stop.is_some_and(|e| e.flag == reason as u8)
    }
}

/// Every run of every core, each core's in time order.
pub fn runs(trace: &Trace) -> Vec<Run> {
    let mut runs = Vec::new();
    for core in &trace.cores {
        let mut open: Option<Run> = None;
        for e in &core.events {
            match Kind::from_u8(e.kind) {
                Some(Kind::RunStart) => {
                    if let Some(mut run) = open.take() {
                        run.end = e.time_ns;
                        runs.push(run);
                    }
                    open = Some(Run {
                        cpu: core.cpu,
                        routine: e.a,
                        start: e.time_ns,
                        end: e.time_ns,
                        inherited: e.flag == 1,
                        stop: None,
                    });
                }
                Some(Kind::RunStop) => {
                    if let Some(mut run) = open.take() {
                        run.end = e.time_ns;
                        run.stop = Some(*e);
                        runs.push(run);
                    }
                }
                _ => {}
            }
        }
        if let Some(mut run) = open {
            run.end = core.events.last().map_or(run.start, |e| e.time_ns);
            runs.push(run);
        }
    }
    runs
}

fn by_routine(runs: &[Run]) -> BTreeMap<u32, Vec<&Run>> {
    let mut map: BTreeMap<u32, Vec<&Run>> = BTreeMap::new();
    for run in runs {
        map.entry(run.routine).or_default().push(run);
    }
    map.values_mut().for_each(|v| v.sort_by_key(|r| (r.start, r.end)));
    map
}

/// No routine runs on two cores at once: each of its runs starts after the
/// one before it ended.
pub fn no_routine_on_two_cores(ev: &Evidence) -> Result<(), String> {
    let runs = runs(ev.trace()?);
    for (routine, runs) in by_routine(&runs) {
        for pair in runs.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b.start < a.end {
                return Err(format!(
                    "routine {routine} ran on cpu {} from {} ns and on cpu {} from {} ns, before its run on cpu {} ended at {} ns",
                    a.cpu, a.start, b.cpu, b.start, a.cpu, a.end
                ));
            }
        }
    }
    Ok(())
}

/// Every routine that ran was spawned; every spawned routine starts; none
/// exits twice or runs after it exited; and none was left blocked when the
/// run ended (the programs that use this wait for all of their routines'
/// work, so a routine still waiting then is one the program lost).
///
/// A routine may be on its way out when main returns: its work done and
/// main woken (the last `done`, the `close` main waited for), but not yet
/// switched away for the last time. On a loaded host that window is wide
/// enough to be hit, and the exit summary says so ("had just woken main").
/// Such a routine is running or runnable at the end, never blocked, so it
/// is not counted as lost.
pub fn spawned_routines_start_once_and_exit_once(ev: &Evidence) -> Result<(), String> {
    let trace = ev.trace()?;
    let spawned: BTreeSet<u32> =
        trace.cores.iter().flat_map(|c| &c.events).filter(|e| e.kind == Kind::Spawn as u8).map(|e| e.b).collect();
    let runs = runs(trace);
    let by = by_routine(&runs);
    for (routine, runs) in &by {
        if !spawned.contains(routine) {
            return Err(format!("routine {routine} ran on cpu {} but was never spawned", runs[0].cpu));
        }
        let exits: Vec<&&Run> = runs.iter().filter(|r| r.ended(StopReason::Exited)).collect();
        if exits.len() > 1 {
            return Err(format!(
                "routine {routine} exited {} times (on cpus {} and {})",
                exits.len(),
                exits[0].cpu,
                exits[1].cpu
            ));
        }
        if let Some(exit) = exits.first()
            && let Some(after) = runs.iter().find(|r| r.start >= exit.end && !std::ptr::eq(**r, **exit))
        {
            return Err(format!(
                "routine {routine} exited on cpu {} at {} ns and ran again on cpu {} at {} ns",
                exit.cpu, exit.end, after.cpu, after.start
            ));
        }
    }
    let main = 1;
    let never: Vec<u32> = spawned.iter().copied().filter(|r| !by.contains_key(r)).take(5).collect();
    if !never.is_empty() {
        return Err(format!("spawned routines never ran: {never:?} (first few)"));
    }
    let woken_after = |routine: u32, time: u64| {
        trace
            .cores
            .iter()
            .flat_map(|c| &c.events)
            .any(|e| e.kind == Kind::Wake as u8 && e.b == routine && e.time_ns >= time)
    };
    let left_blocked: Vec<u32> = spawned
        .iter()
        .copied()
        .filter(|r| *r != main)
        .filter(|r| by[r].last().is_some_and(|last| last.ended(StopReason::Block) && !woken_after(*r, last.end)))
        .take(5)
        .collect();
    if !left_blocked.is_empty() {
        return Err(format!(
            "spawned routines were still blocked when the run ended, although the program waits for all of them: \
             {left_blocked:?} (first few)"
        ));
    }
    Ok(())
}

/// Every core that runs routines ran at least one.
pub fn every_core_ran_work(ev: &Evidence) -> Result<(), String> {
    let runs = runs(ev.trace()?);
    let ran: BTreeSet<u32> = runs.iter().map(|r| r.cpu).collect();
    let idle: Vec<u32> = (0..ev.cpus).filter(|c| !ran.contains(c)).collect();
    if idle.is_empty() { Ok(()) } else { Err(format!("cpus {idle:?} never ran a routine (of {} cores)", ev.cpus)) }
}

/// Routines were stolen: the trace has a steal, and routines ran on two
/// cores or more. (Not that every core ran one: the stealing program stops
/// once its work has spread, which on a loaded host may leave a core out.)
pub fn routines_were_stolen(ev: &Evidence) -> Result<(), String> {
    let trace = ev.trace()?;
    let steals = trace.cores.iter().flat_map(|c| &c.events).filter(|e| e.kind == Kind::Steal as u8).count();
    let cores: BTreeSet<u32> = runs(trace).iter().map(|r| r.cpu).collect();
    if steals == 0 {
        return Err("no routine was stolen".into());
    }
    if cores.len() < 2 {
        return Err(format!("routines ran only on cpu {cores:?}"));
    }
    Ok(())
}

/// At some instant, routines ran on two cores or more.
pub fn routines_ran_in_parallel(ev: &Evidence) -> Result<(), String> {
    let runs = runs(ev.trace()?);
    let mut edges: Vec<(u64, i32)> =
        runs.iter().filter(|r| r.end > r.start).flat_map(|r| [(r.start, 1), (r.end, -1)]).collect();
    edges.sort();
    let (mut now, mut most) = (0, 0);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    if most >= 2 { Ok(()) } else { Err(format!("at most {most} routine ran at any instant: nothing ran in parallel")) }
}

/// A preempted routine (which goes to the global queue) runs again within
/// 62 scheduling decisions of its core: the global queue is looked at every
/// 61st.
pub fn preempted_routines_return_within_62_decisions(ev: &Evidence) -> Result<(), String> {
    const BOUND: usize = 62;
    let trace = ev.trace()?;
    let all_starts: Vec<&Event> =
        trace.cores.iter().flat_map(|c| &c.events).filter(|e| e.kind == Kind::RunStart as u8).collect();
    for core in &trace.cores {
        let stops =
            core.events.iter().filter(|e| e.kind == Kind::RunStop as u8 && e.flag == StopReason::Preempted as u8);
        for stop in stops {
            // It may run again anywhere (the global queue is every core's).
            let back =
                all_starts.iter().filter(|s| s.a == stop.a && s.time_ns >= stop.time_ns).map(|s| s.time_ns).min();
            let waited = core
                .events
                .iter()
                .filter(|e| {
                    e.kind == Kind::RunStart as u8 && e.time_ns >= stop.time_ns && back.is_none_or(|b| e.time_ns < b)
                })
                .count();
            if waited >= BOUND {
                let when = match back {
                    Some(b) => format!("ran again only at {b} ns"),
                    None => "never ran again".to_string(),
                };
                return Err(format!(
                    "routine {} was preempted on cpu {} at {} ns and {when}: cpu {} made {waited} other runs meanwhile (at most {} allowed)",
                    stop.a,
                    core.cpu,
                    stop.time_ns,
                    core.cpu,
                    BOUND - 1
                ));
            }
        }
    }
    Ok(())
}

/// Preemption happened, and every preempted run had used up a whole slice
/// (and, on one core under icount, not much more).
pub fn preempted_runs_used_their_slice(ev: &Evidence) -> Result<(), String> {
    /// Time between the slice's start and the recorded start of the run.
    const EARLY_NS: u64 = 200_000;
    /// How late a preemption may come under icount (no host load there).
    const LATE_NS: u64 = 2_000_000;
    let runs = runs(ev.trace()?);
    let preempted: Vec<&Run> = runs.iter().filter(|r| r.ended(StopReason::Preempted)).collect();
    if preempted.is_empty() {
        return Err("no routine was preempted".into());
    }
    for run in preempted.iter().filter(|r| !r.inherited) {
        let len = run.end - run.start;
        if len + EARLY_NS < ev.slice_ns {
            return Err(format!(
                "routine {} was preempted on cpu {} after {} us, before its {} us slice was up",
                run.routine,
                run.cpu,
                len / 1000,
                ev.slice_ns / 1000
            ));
        }
        if len > ev.slice_ns + LATE_NS {
            return Err(format!(
                "routine {} ran {} us on cpu {} before it was preempted: its slice is {} us",
                run.routine,
                len / 1000,
                run.cpu,
                ev.slice_ns / 1000
            ));
        }
    }
    Ok(())
}

/// A sleeper blocks (it does not spin or yield) and runs again no earlier
/// than the time it asked for. The program says what it asks for: lines
/// `sleeper K: sleeping D us` printed by the routine that sleeps.
pub fn sleepers_wake_no_earlier_than_asked(ev: &Evidence) -> Result<(), String> {
    /// The deadline is taken a few instructions before the switch is recorded.
    const SLACK_NS: u64 = 100_000;
    let sleep = WAIT_REASONS.iter().position(|r| *r == "sleep").expect("sleep is a wait reason") as u32;
    let mut asked: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for line in ev.console {
        let Some((tag, text)) = line.split_once(']') else { continue };
        let Some(routine) = tag.rsplit_once(" r").and_then(|(_, r)| r.parse::<u32>().ok()) else { continue };
        if let Some(us) =
            text.split_once(": sleeping ").and_then(|(_, r)| r.split_whitespace().next()?.parse::<u64>().ok())
        {
            asked.entry(routine).or_default().push(us * 1000);
        }
    }
    if asked.is_empty() {
        return Err("the program printed no `sleeping D us` lines".into());
    }
    let runs = runs(ev.trace()?);
    let by = by_routine(&runs);
    for (routine, durations) in &asked {
        let runs = by.get(routine).ok_or_else(|| format!("sleeper routine {routine} never ran"))?;
        let sleeps: Vec<usize> = (0..runs.len())
            .filter(|&i| runs[i].stop.is_some_and(|e| e.flag == StopReason::Block as u8 && e.b == sleep))
            .collect();
        if sleeps.len() < durations.len() {
            let other = runs
                .iter()
                .filter_map(|r| r.stop)
                .map(|e| StopReason::from_u8(e.flag).map_or("?", |s| s.name()))
                .collect::<Vec<_>>();
            return Err(format!(
                "routine {routine} asked for {} sleeps but blocked to sleep {} times (its runs ended: {other:?}): a sleeper must park, not spin or yield",
                durations.len(),
                sleeps.len()
            ));
        }
        for (&i, &d) in sleeps.iter().zip(durations) {
            let Some(next) = runs.get(i + 1) else { continue };
            let slept = next.start.saturating_sub(runs[i].end);
            if slept + SLACK_NS < d {
                return Err(format!(
                    "routine {routine} asked to sleep {} us but ran again after {} us",
                    d / 1000,
                    slept / 1000
                ));
            }
        }
    }
    Ok(())
}

/// Every core that runs routines halted at least once (it does not spin
/// when there is nothing to do).
pub fn idle_cores_halt(ev: &Evidence) -> Result<(), String> {
    let trace = ev.trace()?;
    let halted: BTreeSet<u32> =
        trace.cores.iter().filter(|c| c.events.iter().any(|e| e.kind == Kind::Idle as u8)).map(|c| c.cpu).collect();
    let never: Vec<u32> = (0..ev.cpus).filter(|c| !halted.contains(c)).collect();
    if never.is_empty() {
        Ok(())
    } else {
        Err(format!("cpus {never:?} never halted, though the program leaves them nothing to do"))
    }
}

/// Counts printed as `select-fair: counts A B C of N` are each within six
/// standard deviations of N/k (a fair choice fails this about once in 10^8 runs).
pub fn select_choices_are_fair(ev: &Evidence) -> Result<(), String> {
    let line = ev
        .console
        .iter()
        .find_map(|l| l.split_once("select-fair: counts ").map(|(_, r)| r.to_string()))
        .ok_or("no `select-fair: counts` line")?;
    let (counts, total) = line.split_once(" of ").ok_or_else(|| format!("cannot read {line:?}"))?;
    let counts: Vec<f64> = counts.split_whitespace().filter_map(|c| c.parse().ok()).collect();
    let total: f64 = total.trim().parse().map_err(|_| format!("cannot read {line:?}"))?;
    let k = counts.len() as f64;
    let (mean, sd) = (total / k, (total * (1.0 / k) * (1.0 - 1.0 / k)).sqrt());
    for (case, &c) in counts.iter().enumerate() {
        if (c - mean).abs() > 6.0 * sd {
            return Err(format!(
                "case {case} was chosen {c} times of {total}; a fair choice gives {mean:.0} +- {:.0} (6 sd)",
                6.0 * sd
            ));
        }
    }
    Ok(())
}

/// `recycle: N routines one after another mapped K KiB of new stack`: stacks are reused.
pub fn stacks_are_recycled(ev: &Evidence) -> Result<(), String> {
    const MOST_KIB: u64 = 1024;
    let kib = ev.number_after("one after another mapped ")?;
    if kib <= MOST_KIB {
        Ok(())
    } else {
        Err(format!(
            "routines run one after another mapped {kib} KiB of new stack: exited routines' stacks are not reused (the post-switch action must release them)"
        ))
    }
}

/// `worker-pool: ... at most K jobs at once with W workers`: K <= W, and K > 1 on several cores.
pub fn pool_parallelism_is_bounded(ev: &Evidence) -> Result<(), String> {
    let most = ev.number_after("at most ")?;
    let workers = ev.number_after("jobs at once with ")?;
    if most > workers {
        return Err(format!("{most} jobs ran at once with {workers} workers: the pool must bound parallelism"));
    }
    if ev.cpus > 1 && most < 2 {
        return Err(format!("only {most} job ran at a time on {} cores: the workers never ran in parallel", ev.cpus));
    }
    Ok(())
}

/// The program spawned no more routines than `worker-pool` allows (workers, plus one).
pub fn pool_spawns_only_its_workers(ev: &Evidence) -> Result<(), String> {
    let workers = ev.number_after("jobs at once with ")?;
    let trace = ev.trace()?;
    let spawns =
        trace.cores.iter().flat_map(|c| &c.events).filter(|e| e.kind == Kind::Spawn as u8 && e.a != 0).count() as u64;
    if spawns <= workers + 1 {
        Ok(())
    } else {
        Err(format!("{spawns} routines spawned for a pool of {workers} workers: one routine per job is not a pool"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_boot::trace::CoreTrace;

    fn ev(kind: Kind, t: u64, flag: u8, a: u32, b: u32) -> Event {
        Event { time_ns: t, kind: kind as u8, flag, cpu: 0, a, b, c: 0 }
    }

    fn trace(cores: Vec<Vec<Event>>) -> Trace {
        Trace {
            cores: cores
                .into_iter()
                .enumerate()
                .map(|(cpu, events)| CoreTrace { cpu: cpu as u32, events, ..Default::default() })
                .collect(),
            complete: true,
        }
    }

    fn check(f: fn(&Evidence) -> Result<(), String>, t: &Trace) -> Result<(), String> {
        f(&Evidence { console: &[], trace: Some(t), cpus: t.cores.len() as u32, slice_ns: 10_000_000 })
    }

    #[test]
    fn a_routine_running_on_two_cores_at_once_is_caught() {
        let both = trace(vec![
            vec![ev(Kind::RunStart, 10, 0, 5, 0), ev(Kind::RunStop, 50, 0, 5, 0)],
            vec![ev(Kind::RunStart, 40, 0, 5, 0), ev(Kind::RunStop, 60, 0, 5, 0)],
        ]);
        assert!(check(no_routine_on_two_cores, &both).unwrap_err().contains("routine 5"));
        let after = trace(vec![
            vec![ev(Kind::RunStart, 10, 0, 5, 0), ev(Kind::RunStop, 50, 0, 5, 0)],
            vec![ev(Kind::RunStart, 50, 0, 5, 0)],
        ]);
        assert!(check(no_routine_on_two_cores, &after).is_ok());
    }

    #[test]
    fn a_routine_exiting_twice_or_never_running_is_caught() {
        let exited = StopReason::Exited as u8;
        let twice = trace(vec![vec![
            ev(Kind::Spawn, 1, 0, 0, 1),
            ev(Kind::Spawn, 2, 0, 1, 2),
            ev(Kind::RunStart, 3, 0, 2, 0),
            ev(Kind::RunStop, 4, exited, 2, 0),
            ev(Kind::RunStart, 5, 0, 2, 0),
            ev(Kind::RunStop, 6, exited, 2, 0),
        ]]);
        assert!(check(spawned_routines_start_once_and_exit_once, &twice).unwrap_err().contains("exited 2 times"));
        let never =
            trace(vec![vec![ev(Kind::Spawn, 1, 0, 0, 1), ev(Kind::Spawn, 2, 0, 1, 2), ev(Kind::RunStart, 3, 0, 1, 0)]]);
        assert!(check(spawned_routines_start_once_and_exit_once, &never).unwrap_err().contains("never ran"));
    }

    #[test]
    fn a_routine_left_blocked_is_caught_but_one_on_its_way_out_is_not() {
        let (block, exited) = (StopReason::Block as u8, StopReason::Exited as u8);
        let spawns = [
            ev(Kind::Spawn, 1, 0, 0, 1),
            ev(Kind::RunStart, 1, 0, 1, 0),
            ev(Kind::Spawn, 2, 0, 1, 2),
            ev(Kind::Spawn, 3, 0, 1, 3),
            ev(Kind::RunStop, 3, StopReason::Block as u8, 1, 0),
        ];
        let with = |tail: &[Event]| trace(vec![spawns.iter().chain(tail).copied().collect()]);
        // Routine 2 exits; routine 3 is still running when the trace ends
        // (it had woken main and not yet switched away): fine.
        let on_its_way =
            with(&[ev(Kind::RunStart, 4, 0, 2, 0), ev(Kind::RunStop, 5, exited, 2, 0), ev(Kind::RunStart, 6, 0, 3, 0)]);
        assert_eq!(check(spawned_routines_start_once_and_exit_once, &on_its_way), Ok(()));
        // Routine 3 blocked and nobody woke it: lost.
        let lost = with(&[
            ev(Kind::RunStart, 4, 0, 2, 0),
            ev(Kind::RunStop, 5, exited, 2, 0),
            ev(Kind::RunStart, 6, 0, 3, 0),
            ev(Kind::RunStop, 7, block, 3, 0),
        ]);
        let error = check(spawned_routines_start_once_and_exit_once, &lost).unwrap_err();
        assert!(error.contains("still blocked") && error.contains("[3]"), "{error}");
        // Woken after it blocked (runnable at the end): fine.
        let mut woken = lost.clone();
        woken.cores[0].events.push(ev(Kind::Wake, 8, 0, 2, 3));
        assert_eq!(check(spawned_routines_start_once_and_exit_once, &woken), Ok(()));
    }

    #[test]
    fn a_preempted_routine_kept_waiting_too_long_is_caught() {
        let mut events = vec![ev(Kind::RunStart, 0, 0, 9, 0), ev(Kind::RunStop, 1, StopReason::Preempted as u8, 9, 0)];
        for k in 0..70 {
            events.push(ev(Kind::RunStart, 2 + 2 * k, 0, 10 + (k as u32 % 3), 0));
            events.push(ev(Kind::RunStop, 3 + 2 * k, 0, 10 + (k as u32 % 3), 0));
        }
        let t = trace(vec![events.clone()]);
        assert!(check(preempted_routines_return_within_62_decisions, &t).is_err());
        events.insert(40, ev(Kind::RunStart, 40, 0, 9, 0));
        events.insert(41, ev(Kind::RunStop, 40, 0, 9, 0));
        let t = trace(vec![events]);
        assert!(check(preempted_routines_return_within_62_decisions, &t).is_ok());
    }

    #[test]
    fn unfair_counts_are_caught_and_fair_ones_pass() {
        let lines = |s: &str| vec![s.to_string()];
        let fair = lines("select-fair: counts 1013 987 1000 of 3000");
        let unfair = lines("select-fair: counts 3000 0 0 of 3000");
        let ev = |console: &[String]| select_choices_are_fair(&Evidence { console, trace: None, cpus: 1, slice_ns: 0 });
        assert!(ev(&fair).is_ok());
        assert!(ev(&unfair).unwrap_err().contains("case 0"));
    }
}
