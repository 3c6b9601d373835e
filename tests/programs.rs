//! The programs a person runs first: each shows one point of the goroutine
//! lesson, and each is checked here by what it prints.

mod common;

use common::*;

fn routine_lines(report: &Report) -> Vec<&String> {
    report.console.iter().filter(|l| l.starts_with("[cpu ")).collect()
}

#[test]
fn hello_shows_one_routine_at_a_time_on_one_core_and_several_on_four() {
    let one = boot(4, "hello cpus=1");
    expect_outcome(&one, Outcome::Success);
    expect_line(&one, "max parallel: 1");
    expect_line(&one, "wall time: ");
    let four = boot(4, "hello cpus=4");
    expect_outcome(&four, Outcome::Success);
    let parallel: u64 = four
        .console
        .iter()
        .find_map(|l| l.strip_prefix("max parallel: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("a max parallel line");
    assert!(parallel > 1, "{}", four.text());
}

#[test]
fn main_exits_abandons_its_workers_mid_way() {
    // One core: main returns before any worker can finish, since a worker
    // needs 8 ms of sleeps and main, runnable, gets the core as soon as the
    // workers park.
    let report = boot(1, "main-exits");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "exit: main returned; routines spawned 4, finished 1, abandoned 3 (");
    assert!(!report.console.iter().any(|l| l.contains(": finished")), "{}", report.text());
    // The breakdown accounts for each of the three: blocked, runnable or running.
    let summary = exit_summary(&report);
    assert_eq!(abandoned_split(summary).iter().sum::<u64>(), 3, "{summary}");

    // Four cores: the workers run beside main. A host that stalls main's
    // core for 8 ms between its first `go` and its return lets a worker
    // finish (nothing in Go forbids it either); the summary must agree
    // with what the workers printed.
    let report = boot(4, "main-exits");
    expect_outcome(&report, Outcome::Success);
    let finished = report.console.iter().filter(|l| l.contains(": finished")).count();
    let summary = exit_summary(&report);
    let counts =
        format!("exit: main returned; routines spawned 4, finished {}, abandoned {}", 1 + finished, 3 - finished);
    assert!(summary.starts_with(&counts), "{summary}, with {finished} workers finished; console:\n{}", report.text());
    if finished < 3 {
        assert_eq!(abandoned_split(summary).iter().sum::<u64>(), 3 - finished as u64, "{summary}");
    }
}

#[test]
fn waitgroup_and_channel_fixes_let_every_worker_finish() {
    for program in ["waitgroup", "channel-wait"] {
        let report = boot(4, program);
        expect_outcome(&report, Outcome::Success);
        for worker in 1..=3 {
            expect_line(&report, &format!("worker {worker}: finished"));
        }
        expect_line(&report, "main: every worker is done");
        // Every worker's wait is over, so none can be abandoned blocked. One
        // may still be on its way out (it woke main and had yet to return),
        // on another core or preempted: Go makes no promise about that either.
        let summary = exit_summary(&report);
        assert!(summary.starts_with("exit: main returned; routines spawned 4, "), "{program}: {summary}");
        assert!(summary.ends_with("abandoned 0") || abandoned_split(summary)[0] == 0, "{program}: {summary}");
    }
}

#[test]
fn blocking_calls_and_preemption_hand_the_core_over() {
    let report = boot(2, "blocking cpus=1");
    expect_outcome(&report, Outcome::Success);
    let lines: Vec<String> = routine_lines(&report).iter().map(|l| l.to_string()).collect();
    let at =
        |text: &str| lines.iter().position(|l| l.contains(text)).unwrap_or_else(|| panic!("no {text:?} in {lines:#?}"));
    // The line right after a routine blocks comes from another routine.
    let slept = at("sleeper: going to sleep");
    assert!(!lines[slept + 1].contains("sleeper"), "{lines:#?}");
    let waited = at("waiter: waiting for a value");
    assert!(!lines[waited + 1].contains("waiter"), "{lines:#?}");
    assert!(at("counter: step 1") < at("waiter: received 42"));
    // The busy loop was cut off by preemption before it finished.
    assert!(at("polite: got the core") < at("busy: done"), "{lines:#?}");
}

#[test]
fn status_check_reports_every_link_every_round() {
    let report = boot(4, "status-check rounds=3 seed=11");
    expect_outcome(&report, Outcome::Success);
    let links = ["golang.org", "rust-lang.org", "stackoverflow.com", "example.com", "spindle.local"];
    for round in 1..=3 {
        for link in links {
            let reports =
                report.console.iter().filter(|l| l.contains(&format!("round {round}: http://{link} is "))).count();
            assert_eq!(reports, 1, "{link} in round {round}:\n{}", report.text());
        }
    }
    expect_line(&report, "status-check: 5 links x 3 rounds: ");
}

#[test]
fn sieve_prints_the_right_primes() {
    let report = boot(4, "sieve");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]");
    expect_line(&report, "[467, 479, 487, 491, 499, 503, 509, 521, 523, 541]");
    expect_line(&report, "sieve: prime number 100 is 541");
    let thousand = boot(4, "sieve n=1000");
    expect_outcome(&thousand, Outcome::Success);
    expect_line(&thousand, "sieve: prime number 1000 is 7919");
}

/// Each hand-off wakes the other player next in line on the waker's core,
/// so the pair stays together: another core takes one of them only now and
/// then (an idle core stealing a player whose core looked busy).
#[test]
fn the_pingpong_pair_stays_on_one_core_but_for_rare_moves() {
    let report = boot(4, "pingpong n=2000 quiet");
    expect_outcome(&report, Outcome::Success);
    let line = report.console.iter().find(|l| l.starts_with("pingpong: 2000 round trips")).expect("the summary");
    let changes: u64 = line
        .rsplit("changed cores ")
        .next()
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no change count in {line:?}"));
    // 4000 hits; a move of the pair costs each player one change.
    assert!(changes <= 200, "the players changed cores {changes} times in 4000 hits: {line}");
}

/// hello's routines call themselves by the id their lines are tagged with.
#[test]
fn hello_names_its_routines_as_their_tags_do() {
    let report = boot(4, "hello");
    expect_outcome(&report, Outcome::Success);
    let mut seen = 0;
    let lines = report.console.iter().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
    for line in lines.filter(|l| l.contains("] routine ")) {
        let tag = line.split(']').next().unwrap().rsplit(" r").next().unwrap();
        let named = line.split("] routine ").nth(1).unwrap().split(':').next().unwrap().trim();
        assert_eq!(tag, named, "{line}");
        seen += 1;
    }
    assert_eq!(seen, 16, "4 routines x (3 steps + done):\n{}", report.text());
}

#[test]
fn pingpong_and_fanout_complete() {
    let ping = boot(4, "pingpong n=2000");
    expect_outcome(&ping, Outcome::Success);
    expect_line(&ping, "pingpong: 2000 round trips in ");
    let fan = boot(4, "fanout n=3");
    expect_outcome(&fan, Outcome::Success);
    expect_line(&fan, "fanout: 40 jobs over 3 workers, jobs per worker ");
}

#[test]
fn parallel_sum_is_right_at_every_core_count() {
    for cpus in [1, 2, 4] {
        let report = boot(4, &format!("parallel-sum cpus={cpus} n=20000000"));
        expect_outcome(&report, Outcome::Success);
        expect_line(&report, &format!("parallel-sum: sum of 1..=20000000 = 200000010000000 (correct) on {cpus} cores"));
        expect_line(&report, "speedup over 1 core: ");
    }
}

/// The reproducible mode (`--smp 1 --icount`): the whole console, times
/// and preemptions included, is the same from run to run. `blocking`
/// preempts a busy loop, and `hello`'s routines run long enough to be
/// preempted: under icount the timer fires at the same instruction.
#[test]
fn one_core_under_icount_gives_the_same_transcript_every_time() {
    for program in ["hello", "blocking", "sieve", "fanout"] {
        let cmdline = format!("{program} seed=5");
        let first = boot_repeatable(&cmdline);
        let second = boot_repeatable(&cmdline);
        expect_outcome(&first, Outcome::Success);
        assert!(routine_lines(&first).len() > 5, "{program} printed:\n{}", first.text());
        assert_eq!(first.console, second.console, "{program} differed between runs");
    }
}

#[test]
fn quiet_keeps_only_the_programs_summary() {
    let report = boot(2, "hello quiet");
    expect_outcome(&report, Outcome::Success);
    assert!(routine_lines(&report).is_empty(), "{}", report.text());
    expect_line(&report, "max parallel: ");
    assert!(!report.console.iter().any(|l| l.contains("cores online")), "{}", report.text());
}

#[test]
fn fan_in_merges_every_value_and_closes() {
    for cpus in [1, 4] {
        let report = boot(4, &format!("fan-in cpus={cpus}"));
        expect_outcome(&report, Outcome::Success);
        expect_line(&report, "fan-in: received 40 values from 4 producers, sum 820 (correct)");
    }
}

#[test]
fn worker_pool_runs_no_more_jobs_at_once_than_workers() {
    let report = boot(4, "worker-pool cpus=4");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "worker-pool: 24 jobs, results checked; at most ");
    let most: usize = report
        .console
        .iter()
        .find_map(|l| l.split_once("at most ").and_then(|(_, r)| r.split(' ').next()?.parse().ok()))
        .expect("an `at most` figure");
    assert!((1..=3).contains(&most), "{most} jobs at once with 3 workers:\n{}", report.text());
}

#[test]
fn main_waits_for_every_worker() {
    let report = boot(4, "main-waits");
    expect_outcome(&report, Outcome::Success);
    for worker in 1..=3 {
        expect_line(&report, &format!("worker {worker}: finished"));
    }
    expect_line(&report, "main: all 3 workers reported");
}
