//! Instruction budgets for the scheduler's hot paths: the one performance
//! check that may fail on a number.
//!
//! Under QEMU's `-icount shift=0,sleep=off` guest time advances one
//! nanosecond per guest instruction, so at one core `bench`'s figures are
//! instruction counts, and they repeat to the digit from run to run on any
//! host (a wall-clock figure never does, which is why no other test here
//! asserts on speed). This test boots `bench --only hot` that way, with the
//! workloads scaled down (`--n`), and fails if yield, a ping-pong round
//! trip, or a spawn and its join takes more instructions than its budget:
//! if a change makes a hot path longer, this is where it shows. A second
//! test does the same for the sieve, whose count is every hot path at
//! once, and checks that its runs in one boot cost the same.
//!
//! It boots the kernel `bench` boots (profile `kernel-bench`: optimised, one
//! codegen unit, so an edit elsewhere cannot move the hot paths' code), not
//! the tests' `kernel-checked`, whose debug assertions would count too.
//!
//! Updating a budget: when a change makes a path shorter (or longer, for a
//! reason worth its cost), run
//!
//! ```text
//! cargo run -- bench --smp 1 --icount --only hot --n 10
//! cargo run -- bench --smp 1 --icount --only sieve
//! ```
//!
//! and set the budget to the new figure plus about 2%, so that a change of
//! the compiler's code layout by a few instructions does not fail the test
//! while a real addition to the path does. Say in the commit what moved it.

use spindle_boot::run::Report;
use spindle_boot::{Firmware, Machine, Outcome, Progress, Run};
use std::time::Duration;

/// The workload divisor: 10,000 routines per spawn batch, 100,000 round
/// trips, 100,000 yields per routine. The figures are per operation, so
/// the size changes them only by what the set-up and the first operations
/// cost, spread over fewer of them.
const SCALE: u64 = 10;

/// (benchmark, unit, most instructions per operation). Measured at the
/// commit that set each budget (see the module docs for how).
const BUDGETS: [(&str, &str, f64); 4] = [
    ("spawn-first", "instr/routine", 356.0),
    ("spawn", "instr/routine", 344.0),
    ("pingpong", "instr/round-trip", 306.0),
    ("yield", "instr/yield", 90.0),
];

/// The sieve at full size (1000 primes, as Go's): (unit, most instructions
/// for the median run), and how far its slowest run may be above its
/// fastest (all of them run the same workload).
const SIEVE_BUDGET: (&str, f64) = ("Minstr", 82.1);
const SIEVE_SPREAD: f64 = 1.05;

/// A boot takes about 40 s under icount on a quiet host; the deadline is
/// only for a hung guest.
const TIMEOUT: Duration = Duration::from_secs(600);

/// A `bench: ` row: name, median, unit, min, max.
struct Row {
    name: String,
    median: f64,
    unit: String,
    min: f64,
    max: f64,
}

/// The figures `bench` printed, one per `bench: ` row that has them.
fn figures(console: &[String]) -> Vec<Row> {
    console
        .iter()
        .filter_map(|line| {
            let mut words = line.strip_prefix("bench: ")?.split_whitespace();
            let name = words.next()?.to_string();
            let median = words.next()?.parse().ok()?;
            let unit = words.next()?.to_string();
            let (_, min, _, max) =
                (words.next()?, words.next()?.parse().ok()?, words.next()?, words.next()?.parse().ok()?);
            Some(Row { name, median, unit, min, max })
        })
        .collect()
}

/// Boots `bench kind=KIND` at one core under icount (the kernel `bench`
/// boots) and returns its console and rows.
fn bench_icount(kind: &str, scale: u64) -> (Report, Vec<Row>) {
    spindle_boot::kernel::for_benchmarks();
    let (_, image) = spindle_boot::prepare(Firmware::Bios, Progress::Quiet)
        .unwrap_or_else(|e| panic!("building the kernel and its BIOS image: {e}"));
    let mut machine = Machine::new(image, Firmware::Bios);
    machine.smp = 1;
    machine.icount = true;
    machine.cmdline = format!("bench kind={kind} n={scale} icount");
    let report = Run::new(machine, TIMEOUT).start().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.outcome, Outcome::Success, "console:\n{}", report.full_text());
    let rows = figures(&report.console);
    (report, rows)
}

#[test]
fn hot_paths_stay_within_their_instruction_budgets() {
    let (report, printed) = bench_icount("hot", SCALE);
    let mut over = Vec::new();
    for (name, unit, budget) in BUDGETS {
        let Some(Row { median: count, unit: printed_unit, .. }) = printed.iter().find(|row| row.name == name) else {
            panic!("bench printed no {name} row; console:\n{}", report.full_text());
        };
        assert_eq!(printed_unit, unit, "{name} is not counted in instructions; console:\n{}", report.full_text());
        println!("{name:<12} {count:>8.1} {unit} (budget {budget})");
        if *count > budget {
            over.push(format!("{name}: {count:.1} {unit}, budget {budget}"));
        }
    }
    assert!(
        over.is_empty(),
        "over budget (see tests/budget.rs for how to update a budget):\n  {}\nconsole:\n{}",
        over.join("\n  "),
        report.full_text()
    );
}

/// The sieve's instruction count stays within its budget, and its runs in
/// one boot agree: a run that left work behind for the next one (its chain
/// still running) doubled every run after the first.
#[test]
fn the_sieve_stays_within_its_budget_and_its_runs_agree() {
    let (report, printed) = bench_icount("sieve", 1);
    let Some(row) = printed.iter().find(|row| row.name == "sieve") else {
        panic!("bench printed no sieve row; console:\n{}", report.full_text());
    };
    let (unit, budget) = SIEVE_BUDGET;
    assert_eq!(row.unit, unit, "the sieve is not counted in instructions; console:\n{}", report.full_text());
    println!("sieve {:.1} {unit} (budget {budget}), runs from {:.1} to {:.1}", row.median, row.min, row.max);
    assert!(
        row.max <= row.min * SIEVE_SPREAD,
        "the sieve's runs differ: {:.1} to {:.1} {unit}, more than {SIEVE_SPREAD}x; console:\n{}",
        row.min,
        row.max,
        report.full_text()
    );
    assert!(
        row.median <= budget,
        "the sieve is over budget: {:.1} {unit}, budget {budget} (see tests/budget.rs for how to update it); console:\n{}",
        row.median,
        report.full_text()
    );
}
