//! The programs Spindle can run, selected by name on the command line.
//!
//! The kernel matches on [`Program`] exhaustively, so a program listed here
//! without an implementation does not compile. `kinds` lists the values the
//! `kind=` option accepts for that program (empty: the program takes none).

/// A runnable program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    Hello,
    MainExits,
    Waitgroup,
    ChannelWait,
    Blocking,
    StatusCheck,
    Sieve,
    Pingpong,
    Fanout,
    ParallelSum,
    Fault,
    Selfcheck,
    Synccheck,
    Bench,
    Stress,
}

/// One row of the program table: what `--list` prints and the parser accepts.
#[derive(Debug)]
pub struct ProgramInfo {
    pub program: Program,
    pub name: &'static str,
    pub about: &'static str,
    /// Values accepted by `kind=`; the first is the default.
    pub kinds: &'static [&'static str],
}

const fn row(program: Program, name: &'static str, about: &'static str) -> ProgramInfo {
    ProgramInfo { program, name, about, kinds: &[] }
}

/// Every program, in the order `--list` shows them.
pub const PROGRAMS: &[ProgramInfo] = &[
    row(Program::Hello, "hello", "the default: 4 routines take turns (--cpus 1) or run at once (--cpus 4)"),
    row(Program::MainExits, "main-exits", "main returns without waiting: its routines are cut off"),
    row(Program::Waitgroup, "waitgroup", "main-exits fixed with a WaitGroup"),
    row(Program::ChannelWait, "channel-wait", "main-exits fixed with a channel"),
    row(Program::Blocking, "blocking", "on one core: sleeping or waiting lets others run; a busy loop is preempted"),
    row(Program::StatusCheck, "status-check", "check links concurrently, report over a channel, re-check (--rounds N)"),
    row(Program::Sieve, "sieve", "concurrent prime sieve: a chain of filter routines (--n primes, default 100)"),
    row(Program::Pingpong, "pingpong", "two routines bounce a ball over unbuffered channels (--n round trips)"),
    row(Program::Fanout, "fanout", "one producer, --n workers, results gathered"),
    row(Program::ParallelSum, "parallel-sum", "the same sum on one core, then split over --cpus cores: the speedup"),
    ProgramInfo {
        program: Program::Bench,
        name: "bench",
        about: "scheduling costs: spawn, pingpong, yield, sieve, cpu, wake, preempt, memory (--only NAME)",
        kinds: &["all", "micro", "boot", "spawn", "pingpong", "yield", "sieve", "cpu", "wake", "preempt", "trace", "memory"],
    },
    row(Program::Stress, "stress", "a random mix of everything over 1000+ routines, checked (--seed, --n ms)"),
    ProgramInfo {
        program: Program::Fault,
        name: "fault",
        about: "fail on purpose, to show how each failure is reported (one per --kind)",
        kinds: &[
            "panic",
            "ap-panic",
            "stack-overflow",
            "page-fault",
            "gp-fault",
            "invalid-opcode",
            "double-fault",
            "oom",
            "hang",
        ],
    },
    ProgramInfo {
        program: Program::Selfcheck,
        name: "selfcheck",
        about: "scheduler checks the tests run, one per kind (interleave, parallel, preempt, ...)",
        kinds: &["interleave", "parallel", "preempt", "steal", "spawn", "abandon", "deadlock", "panic"],
    },
    ProgramInfo {
        program: Program::Synccheck,
        name: "synccheck",
        about: "channel, select, WaitGroup, Mutex, Once and timer checks (kind=all, or a misuse)",
        kinds: &["all", "send-closed", "close-twice", "waitgroup-negative", "deadlock"],
    },
];

/// The program `cargo run` starts when none is named.
pub const DEFAULT_PROGRAM: Program = Program::Hello;

impl Program {
    /// The program called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Program> {
        PROGRAMS.iter().find(|p| p.name == name).map(|p| p.program)
    }

    /// This program's row in [`PROGRAMS`].
    pub fn info(self) -> &'static ProgramInfo {
        PROGRAMS
            .iter()
            .find(|p| p.program == self)
            .expect("every Program has a row in PROGRAMS")
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_has_exactly_one_row() {
        for row in PROGRAMS {
            let same = PROGRAMS.iter().filter(|p| p.program == row.program).count();
            assert_eq!(same, 1, "{} listed {same} times", row.name);
            assert_eq!(Program::from_name(row.name), Some(row.program));
        }
    }

    #[test]
    fn names_are_single_lowercase_tokens() {
        for row in PROGRAMS {
            assert!(!row.name.is_empty());
            assert!(
                row.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{:?} is not a plain name",
                row.name
            );
        }
    }
}
