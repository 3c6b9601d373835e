//! The labs and their checks: the one table `lab list`, `lab start` and
//! `lab grade` read. A lab's regions are marked in the kernel's source
//! (see [`crate::markers`]); its handout is `labs/NAME/README.md`; exact
//! transcripts it compares against are in `labs/NAME/expected/` (or, when
//! several labs share one, `labs/expected/`).
//!
//! Each check is one of three kinds: host tests of `kernel/shared` (the
//! run queue and channel logic, with their loom model where there is one);
//! a boot whose console must show given lines, or match an exact
//! transcript (only at one core, with a seed, under icount and a long slice,
//! where a run repeats exactly); and a boot whose scheduler trace must have
//! properties ([`crate::props`]) that hold on any number of cores.

use crate::props::{self, Property};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Difficulty {
    Easy,
    Moderate,
    Hard,
}

impl Difficulty {
    pub fn name(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Moderate => "moderate",
            Difficulty::Hard => "hard",
        }
    }
}

pub struct Lab {
    pub name: &'static str,
    pub difficulty: Difficulty,
    /// One line: what the student writes.
    pub summary: &'static str,
    pub checks: &'static [Check],
}

pub struct Check {
    /// Short name, unique in the lab (files under `target/lab/LAB/` use it).
    pub name: &'static str,
    pub points: u32,
    /// What it checks, in a few words.
    pub what: &'static str,
    pub how: How,
}

pub enum How {
    /// `cargo test -p spindle-shared --lib` on `filter`, skipping tests
    /// whose names contain `skip`; with `loom`, the model checks (built
    /// with `--cfg loom`, in release, in their own target directory).
    /// At least `tests` tests must run.
    Host { filter: &'static str, skip: Option<&'static str>, loom: bool, tests: usize },
    /// A boot of the kernel.
    Boot(Boot),
}

/// How a run must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ends {
    Success,
    /// The kernel reports failure (the check is about how it reports it).
    Failure,
}

pub struct Boot {
    pub program: &'static str,
    pub kind: Option<&'static str>,
    pub smp: u32,
    pub cpus: u32,
    pub seed: u64,
    /// `--seeds N` adds runs with other seeds.
    pub seeded: bool,
    pub slice_ms: Option<u32>,
    pub n: Option<u64>,
    /// Run under `-icount shift=0,sleep=off` (one core only: a run then
    /// repeats exactly, and guest time is instruction counts).
    pub icount: bool,
    /// Record the scheduler trace (with this many events per core).
    pub trace_buf: Option<u32>,
    /// Timeout, in calibration boots (never less than the floor).
    pub budget: u32,
    pub ends: Ends,
    /// Lines that must appear on the console (substrings).
    pub lines: &'static [&'static str],
    /// The exact transcript to match: a file under `labs/` (`expected/` for
    /// those several labs share, `LAB/expected/` for a lab's own).
    pub transcript: Option<&'static str>,
    pub properties: &'static [Property],
}

/// Defaults for a boot check (four processors, all of them running routines).
pub const BOOT: Boot = Boot {
    program: "hello",
    kind: None,
    smp: 4,
    cpus: 4,
    seed: 1,
    seeded: false,
    slice_ms: None,
    n: None,
    icount: false,
    trace_buf: None,
    budget: 20,
    ends: Ends::Success,
    lines: &[],
    transcript: None,
    properties: &[],
};

/// Defaults for a deterministic one-core run: one processor, a seed,
/// icount, and a slice long enough that no routine is preempted.
pub const ONE_CORE: Boot = Boot { smp: 1, cpus: 1, seed: 7, icount: true, slice_ms: Some(1000), budget: 30, ..BOOT };

/// A trace big enough for every run here not to drop events.
const BIG_TRACE: Option<u32> = Some(1 << 20);

const NO_OVERLAP: Property = ("no routine runs on two cores at once", props::no_routine_on_two_cores);
const START_EXIT: Property =
    ("every spawned routine starts, and exits exactly once", props::spawned_routines_start_once_and_exit_once);
const STOLEN: Property = ("routines were stolen and ran on several cores", props::routines_were_stolen);
const PARALLEL: Property = ("routines ran on several cores at the same instant", props::routines_ran_in_parallel);

const fn host(filter: &'static str, tests: usize) -> How {
    How::Host { filter, skip: None, loom: false, tests }
}

const INTERLEAVE: Check = Check {
    name: "interleave",
    points: 3,
    what: "one core: three yielding routines take turns in round-robin order (exact transcript)",
    how: How::Boot(Boot {
        program: "selfcheck",
        kind: Some("interleave"),
        transcript: Some("expected/interleave.txt"),
        ..ONE_CORE
    }),
};

const SPAWN_TRACED: Check = Check {
    name: "spawn-10000",
    points: 3,
    what: "10000 routines on 4 cores: each starts once, exits once, never on two cores at once",
    how: How::Boot(Boot {
        program: "selfcheck",
        kind: Some("spawn"),
        seeded: true,
        trace_buf: BIG_TRACE,
        lines: &["spawn: 10000 routines spawned and joined, sum 50005000 (expected 50005000)"],
        properties: &[NO_OVERLAP, START_EXIT],
        ..BOOT
    }),
};

const STEAL: Check = Check {
    name: "steal",
    points: 3,
    what: "routines spawned on one core are stolen and run on other cores",
    how: How::Boot(Boot {
        program: "selfcheck",
        kind: Some("steal"),
        seeded: true,
        trace_buf: BIG_TRACE,
        lines: &["steal: 64 routines spawned on one core ran on "],
        properties: &[STOLEN, NO_OVERLAP],
        ..BOOT
    }),
};

const FANOUT_TRACED: Check = Check {
    name: "fanout",
    points: 3,
    what: "fanout on 4 cores: results all arrive; the trace shows no routine on two cores, each exits once",
    how: How::Boot(Boot {
        program: "fanout",
        n: Some(8),
        seeded: true,
        trace_buf: BIG_TRACE,
        lines: &["fanout: 40 jobs over 8 workers, jobs per worker "],
        properties: &[NO_OVERLAP, START_EXIT],
        ..BOOT
    }),
};

const PREEMPT: Check = Check {
    name: "preempt",
    points: 3,
    what: "one core: a routine that never yields is preempted, and the others finish",
    how: How::Boot(Boot {
        program: "selfcheck",
        kind: Some("preempt"),
        smp: 2,
        cpus: 1,
        lines: &["all 3 others finished"],
        ..BOOT
    }),
};

const STRESS: Check = Check {
    name: "stress",
    points: 3,
    what: "a random mix of channels, select, sleeps, mutexes and spawns on 4 cores loses no wake-up",
    how: How::Boot(Boot { program: "stress", n: Some(500), seeded: true, budget: 40, lines: &["stress: ok"], ..BOOT }),
};

const SYNCCHECK: Check = Check {
    name: "synccheck",
    points: 3,
    what: "channels, select, WaitGroup, Mutex, Once and timers behave as Go's, on 4 cores",
    how: How::Boot(Boot {
        program: "synccheck",
        kind: Some("all"),
        seeded: true,
        lines: &[
            "ok: rendezvous",
            "ok: handoff",
            "ok: buffered",
            "ok: close",
            "ok: select",
            "ok: mutex",
            "ok: waitgroup",
            "ok: timers",
        ],
        ..BOOT
    }),
};

const CHANCHECK: Check = Check {
    name: "chancheck",
    points: 2,
    what: "Go's channel semantics: nil channels, len/cap, same-channel and wide selects, on 4 cores",
    how: How::Boot(Boot {
        program: "chancheck",
        kind: Some("all"),
        seeded: true,
        lines: &["ok: nil cases", "ok: len and cap", "ok: wide select", "ok: dynamic select", "ok: memory figures"],
        ..BOOT
    }),
};

pub const LABS: &[Lab] = &[
    Lab {
        name: "programs",
        difficulty: Difficulty::Easy,
        summary: "the lesson from the user's side: a fan-in, a bounded worker pool, a main that waits",
        checks: &[
            Check {
                name: "fan-in",
                points: 2,
                what: "fan-in on one core: every value from every producer arrives once, the channel is closed",
                how: How::Boot(Boot {
                    program: "fan-in",
                    lines: &["fan-in: received 40 values from 4 producers, sum 820 (correct)"],
                    ..ONE_CORE
                }),
            },
            Check {
                name: "fan-in-parallel",
                points: 2,
                what: "fan-in on 4 cores: producers run in parallel; each routine starts and exits once",
                how: How::Boot(Boot {
                    program: "fan-in",
                    seeded: true,
                    trace_buf: BIG_TRACE,
                    lines: &["fan-in: received 40 values from 4 producers, sum 820 (correct)"],
                    properties: &[NO_OVERLAP, START_EXIT, PARALLEL],
                    ..BOOT
                }),
            },
            Check {
                name: "pool-bounded",
                points: 3,
                what: "worker pool on 4 cores: right results, never more jobs at once than workers, workers in parallel",
                how: How::Boot(Boot {
                    program: "worker-pool",
                    seeded: true,
                    trace_buf: BIG_TRACE,
                    lines: &["worker-pool: 24 jobs, results checked"],
                    properties: &[
                        (
                            "at most `workers` jobs at once, and more than one on several cores",
                            props::pool_parallelism_is_bounded,
                        ),
                        ("only the workers are spawned", props::pool_spawns_only_its_workers),
                        NO_OVERLAP,
                    ],
                    ..BOOT
                }),
            },
            Check {
                name: "pool-one-core",
                points: 1,
                what: "worker pool on one core: right results",
                how: How::Boot(Boot {
                    program: "worker-pool",
                    lines: &["worker-pool: 24 jobs, results checked"],
                    ..ONE_CORE
                }),
            },
            Check {
                name: "main-waits",
                points: 2,
                what: "main waits: every worker finishes before the run ends, on 1 and 4 cores",
                how: How::Boot(Boot {
                    program: "main-waits",
                    seeded: true,
                    lines: &[
                        "worker 1: finished",
                        "worker 2: finished",
                        "worker 3: finished",
                        "main: all 3 workers reported",
                    ],
                    ..BOOT
                }),
            },
            Check {
                name: "main-waits-one-core",
                points: 1,
                what: "main waits, on one core",
                how: How::Boot(Boot {
                    program: "main-waits",
                    lines: &[
                        "worker 1: finished",
                        "worker 2: finished",
                        "worker 3: finished",
                        "main: all 3 workers reported",
                    ],
                    ..ONE_CORE
                }),
            },
        ],
    },
    Lab {
        name: "switch",
        difficulty: Difficulty::Hard,
        summary: "the context switch, a new routine's first stack frame, and the work done after a switch",
        checks: &[
            INTERLEAVE,
            Check {
                name: "first-frame",
                points: 2,
                what: "new routines start with their argument and a 16-byte aligned stack, on 4 cores",
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("first-frame"),
                    lines: &["first-frame: 64 routines started with their argument and an aligned stack"],
                    ..BOOT
                }),
            },
            PREEMPT,
            Check {
                name: "recycle",
                points: 2,
                what: "an exited routine's stack is reused (the post-switch action releases it)",
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("recycle"),
                    properties: &[("stacks are recycled", props::stacks_are_recycled)],
                    ..ONE_CORE
                }),
            },
            FANOUT_TRACED,
            STRESS,
        ],
    },
    Lab {
        name: "runqueue",
        difficulty: Difficulty::Moderate,
        summary: "a core's lock-free ring with runnext: push, pop, overflow to the global queue, steal half",
        checks: &[
            Check {
                name: "host-sequential",
                points: 3,
                what: "host: FIFO order, runnext, overflow of half, stealing half, wrap-around",
                how: How::Host { filter: "runq::tests::sequential", skip: Some("concurrent"), loom: false, tests: 8 },
            },
            Check {
                name: "host-threads",
                points: 2,
                what: "host: an owner and three thieves on real threads lose and duplicate nothing",
                how: host("runq::tests::sequential::concurrent", 1),
            },
            Check {
                name: "loom",
                points: 3,
                what: "host: every interleaving of pop, overflow and two thieves (loom model)",
                how: How::Host { filter: "runq::tests::model", skip: None, loom: true, tests: 3 },
            },
            INTERLEAVE,
            SPAWN_TRACED,
            STEAL,
        ],
    },
    Lab {
        name: "findwork",
        difficulty: Difficulty::Hard,
        summary: "finding work: local then global every 61st, stealing from random victims, halting and waking cores",
        checks: &[
            INTERLEAVE,
            Check {
                name: "global-fair",
                points: 3,
                what: "one core, icount: a preempted routine comes back from the global queue within 61 decisions",
                // Under icount: with the host's clock, a stall of the vCPU
                // past the 2 ms slice preempts a yielder too, and a spinner
                // second in the global queue rightly waits 122 decisions.
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("global-fair"),
                    smp: 1,
                    cpus: 1,
                    icount: true,
                    budget: 30,
                    slice_ms: Some(2),
                    trace_buf: BIG_TRACE,
                    lines: &["global-fair: the spinner was preempted "],
                    properties: &[(
                        "a preempted routine runs again within 62 decisions",
                        props::preempted_routines_return_within_62_decisions,
                    )],
                    ..BOOT
                }),
            },
            STEAL,
            Check {
                name: "balance",
                points: 2,
                what: "work spawned on one core spreads until every core has run some of it",
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("balance"),
                    seeded: true,
                    trace_buf: BIG_TRACE,
                    lines: &["balance: 64 routines spawned on one core ran on "],
                    properties: &[("every core ran routines", props::every_core_ran_work), NO_OVERLAP],
                    ..BOOT
                }),
            },
            Check {
                name: "wake-idle",
                points: 3,
                what: "halted cores are woken for new work: 4 routines run at the same instant on 4 cores",
                how: How::Boot(Boot {
                    program: "selfcheck",
                    kind: Some("parallel"),
                    lines: &["parallel: 4 routines running at the same instant on 4 cores"],
                    ..BOOT
                }),
            },
            Check {
                name: "halt",
                points: 2,
                what: "cores with nothing to run halt rather than spin",
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("all-asleep"),
                    trace_buf: BIG_TRACE,
                    lines: &["all-asleep: 20 rounds"],
                    properties: &[("every idle core halts", props::idle_cores_halt)],
                    ..BOOT
                }),
            },
            FANOUT_TRACED,
        ],
    },
    Lab {
        name: "preempt",
        difficulty: Difficulty::Moderate,
        summary: "the time slice, the timer tick, and sleeping on a timer without busy-waiting",
        checks: &[
            PREEMPT,
            Check {
                name: "slices",
                points: 3,
                what: "one core, icount: every preempted run used up its whole slice, and not much more",
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("slices"),
                    slice_ms: Some(5),
                    trace_buf: BIG_TRACE,
                    lines: &["slices: 3 spinners done"],
                    properties: &[("preempted runs used their slice", props::preempted_runs_used_their_slice)],
                    ..ONE_CORE
                }),
            },
            Check {
                name: "sleepers",
                points: 3,
                what: "one core, icount: sleepers park, wake in deadline order and never before their time",
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("sleepers"),
                    trace_buf: BIG_TRACE,
                    transcript: Some("preempt/expected/sleepers.txt"),
                    properties: &[("no sleeper runs before its deadline", props::sleepers_wake_no_earlier_than_asked)],
                    ..ONE_CORE
                }),
            },
            Check {
                name: "timers",
                points: 2,
                what: "timer channels (after, tick) and sleeps on 4 cores",
                how: How::Boot(Boot { program: "synccheck", kind: Some("all"), lines: &["ok: timers"], ..BOOT }),
            },
            Check {
                name: "blocking",
                points: 2,
                what: "one core: sleeping and waiting hand the core over; a busy loop is preempted",
                how: How::Boot(Boot {
                    program: "blocking",
                    smp: 2,
                    cpus: 1,
                    lines: &["sleeper: awake again", "waiter: received 42", "polite: got the core", "busy: done"],
                    ..BOOT
                }),
            },
            STRESS,
        ],
    },
    Lab {
        name: "channels",
        difficulty: Difficulty::Moderate,
        summary: "send, receive and close, with direct hand-off to a parked routine and no lost wake-up",
        checks: &[
            Check {
                name: "host-chan",
                points: 4,
                what: "host: hand-off, FIFO order, blocking points, close",
                how: host("chan::tests", 14),
            },
            Check {
                name: "sieve",
                points: 2,
                what: "one core: the concurrent prime sieve (exact transcript)",
                how: How::Boot(Boot {
                    program: "sieve",
                    n: Some(30),
                    transcript: Some("channels/expected/sieve.txt"),
                    ..ONE_CORE
                }),
            },
            Check {
                name: "pingpong",
                points: 2,
                what: "ping-pong on 4 cores: 2000 round trips, no routine on two cores at once",
                how: How::Boot(Boot {
                    program: "pingpong",
                    n: Some(2000),
                    trace_buf: BIG_TRACE,
                    lines: &["pingpong: 2000 round trips in "],
                    properties: &[NO_OVERLAP, START_EXIT],
                    ..BOOT
                }),
            },
            SYNCCHECK,
            CHANCHECK,
            STRESS,
        ],
    },
    Lab {
        name: "select",
        difficulty: Difficulty::Hard,
        summary: "select with a fair random choice, plus WaitGroup and Mutex",
        checks: &[
            Check {
                name: "select-fair",
                points: 3,
                what: "of three ready cases each is chosen a third of the time (6 standard deviations)",
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("select-fair"),
                    properties: &[("select's choice is fair", props::select_choices_are_fair)],
                    ..ONE_CORE
                }),
            },
            Check {
                name: "mutex-order",
                points: 2,
                what: "one core: a Mutex is handed to its waiters in arrival order; a WaitGroup wakes its waiters (exact transcript)",
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("mutex-order"),
                    transcript: Some("select/expected/mutex-order.txt"),
                    ..ONE_CORE
                }),
            },
            SYNCCHECK,
            CHANCHECK,
            Check {
                name: "waitgroup-negative",
                points: 1,
                what: "a WaitGroup counter below zero panics, as Go's does",
                how: How::Boot(Boot {
                    program: "synccheck",
                    kind: Some("waitgroup-negative"),
                    smp: 2,
                    cpus: 2,
                    ends: Ends::Failure,
                    lines: &["panic: sync: negative WaitGroup counter"],
                    ..BOOT
                }),
            },
            STRESS,
        ],
    },
    Lab {
        name: "deadlock",
        difficulty: Difficulty::Moderate,
        summary: "the deadlock detector: report when nothing can ever run, never while a timer is pending",
        checks: &[
            Check {
                name: "join-cycle",
                points: 3,
                what: "two routines joining each other and a parked main: the report names all three",
                how: How::Boot(Boot {
                    program: "selfcheck",
                    kind: Some("deadlock"),
                    smp: 2,
                    cpus: 2,
                    ends: Ends::Failure,
                    lines: &[
                        "fatal error: all routines are asleep - deadlock!",
                        "  routine 1 [a signal nobody sends]",
                        "  routine 2 [join]",
                        "  routine 3 [join]",
                    ],
                    ..BOOT
                }),
            },
            Check {
                name: "channel",
                points: 2,
                what: "a receive nobody sends to is reported",
                how: How::Boot(Boot {
                    program: "synccheck",
                    kind: Some("deadlock"),
                    ends: Ends::Failure,
                    lines: &["fatal error: all routines are asleep - deadlock!", "  routine 1 [chan receive]"],
                    ..BOOT
                }),
            },
            Check {
                name: "nil-channel",
                points: 1,
                what: "a receive on a nil channel is reported",
                how: How::Boot(Boot {
                    program: "chancheck",
                    kind: Some("nil-recv"),
                    smp: 2,
                    cpus: 2,
                    ends: Ends::Failure,
                    lines: &["fatal error: all routines are asleep - deadlock!", "[chan receive (nil chan)]"],
                    ..BOOT
                }),
            },
            Check {
                name: "timers-pending",
                points: 3,
                what: "every routine asleep on 4 cores, 20 times: no false report while timers are pending",
                how: How::Boot(Boot {
                    program: "labcheck",
                    kind: Some("all-asleep"),
                    seeded: true,
                    lines: &["all-asleep: 20 rounds"],
                    ..BOOT
                }),
            },
            Check {
                name: "sleep-forever",
                points: 2,
                what: "a routine that sleeps for ever is a pending timer, not a deadlock",
                how: How::Boot(Boot {
                    program: "selfcheck",
                    kind: Some("sleep-forever"),
                    smp: 2,
                    cpus: 2,
                    lines: &[
                        "exit: main returned; routines spawned 3, finished 1, abandoned 2 (2 blocked, 0 runnable, 0 running)",
                    ],
                    ..BOOT
                }),
            },
        ],
    },
];

/// The lab called `name`.
pub fn lab(name: &str) -> Option<&'static Lab> {
    LABS.iter().find(|l| l.name == name)
}

/// "unknown lab X; the labs are: ..." for a name that is not one.
pub fn unknown(name: &str) -> String {
    let names: Vec<&str> = LABS.iter().map(|l| l.name).collect();
    format!("unknown lab {name:?}; the labs are: {} (`cargo run -- lab list`)", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_and_check_names_are_unique_and_plain() {
        for (i, lab) in LABS.iter().enumerate() {
            assert!(LABS[..i].iter().all(|l| l.name != lab.name), "{} twice", lab.name);
            for (j, check) in lab.checks.iter().enumerate() {
                assert!(lab.checks[..j].iter().all(|c| c.name != check.name), "{}/{} twice", lab.name, check.name);
                assert!(check.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                assert!(check.points > 0);
            }
        }
    }

    #[test]
    fn transcripts_are_compared_only_on_one_core_under_icount() {
        for lab in LABS {
            for check in lab.checks {
                if let How::Boot(boot) = &check.how {
                    if boot.transcript.is_some() {
                        assert!(boot.cpus == 1 && boot.smp == 1 && boot.icount, "{}/{}", lab.name, check.name);
                    }
                    if boot.icount {
                        assert_eq!(boot.smp, 1, "{}/{}: icount repeats only at -smp 1", lab.name, check.name);
                    }
                    assert!(boot.cpus <= boot.smp);
                }
            }
        }
    }

    #[test]
    fn every_property_check_records_a_trace() {
        for lab in LABS {
            for check in lab.checks {
                if let How::Boot(boot) = &check.how {
                    let needs = boot
                        .properties
                        .iter()
                        .any(|(name, _)| !name.contains("stacks are recycled") && !name.contains("fair"));
                    assert!(
                        !needs || boot.trace_buf.is_some(),
                        "{}/{} checks the trace without recording it",
                        lab.name,
                        check.name
                    );
                }
            }
        }
    }
}
