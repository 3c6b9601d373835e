//! Running the kernel's own unit tests (the `ktest` program, see
//! `kernel/src/ktest.rs`) to the end, whatever fails on the way.
//!
//! One boot runs the tests one after another and prints a line per test,
//! as `cargo test` does. A failing test ends its boot (`test NAME ...
//! FAILED`, then the panic, fault or deadlock report); [`run_all`] then
//! boots again from the test after it (`n=K`), until a boot reaches
//! `test result:`. So one failure hides none of the other tests, and a run
//! with no failure is one boot.

use crate::Outcome;
use crate::run::Report;

/// How one test ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// It needed more cores than the run had (the kernel's reason).
    Ignored(String),
    /// It failed; the console lines after its `FAILED` line (the report).
    Failed(Vec<String>),
}

/// The tests of all the boots, in the order they ran.
#[derive(Debug, Default)]
pub struct Results {
    /// Each test's name (`sched::timers::tests::NAME`) and verdict.
    pub tests: Vec<(String, Verdict)>,
    /// The per-test lines the kernel printed, from every boot, in order.
    pub lines: Vec<String>,
    pub boots: usize,
}

impl Results {
    /// The names of the tests that failed.
    pub fn failed(&self) -> Vec<&str> {
        self.tests.iter().filter(|(_, v)| matches!(v, Verdict::Failed(_))).map(|(n, _)| n.as_str()).collect()
    }

    /// How many tests ended with `verdict`'s kind.
    pub fn count(&self, kind: fn(&Verdict) -> bool) -> usize {
        self.tests.iter().filter(|(_, v)| kind(v)).count()
    }

    /// The line `cargo test` ends with, for all the boots together.
    pub fn summary(&self) -> String {
        let failed = self.failed();
        format!(
            "kernel test result: {}. {} passed; {} failed; {} ignored; {} boot{}",
            if failed.is_empty() { "ok" } else { "FAILED" },
            self.count(|v| *v == Verdict::Ok),
            failed.len(),
            self.count(|v| matches!(v, Verdict::Ignored(_))),
            self.boots,
            if self.boots == 1 { "" } else { "s" }
        )
    }
}

/// What one boot's console says.
#[derive(Debug, Default, PartialEq, Eq)]
struct Boot {
    /// Tests in the whole list (from the `running` line).
    total: Option<usize>,
    tests: Vec<(String, Verdict)>,
    lines: Vec<String>,
    /// The boot printed `test result:`: it ran to the end of the list.
    finished: bool,
}

/// Reads one boot's console.
fn parse(console: &[String]) -> Boot {
    let mut boot = Boot::default();
    for (i, line) in console.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("running ") {
            // running N tests (from test F of T; ...)
            boot.total = rest.split_once(" of ").and_then(|(_, t)| t.split(';').next()).and_then(|t| t.parse().ok());
            boot.lines.push(line.clone());
        } else if line.starts_with("test result:") {
            boot.finished = true;
            boot.lines.push(line.clone());
        } else if let Some(rest) = line.strip_prefix("test ")
            && let Some((name, verdict)) = rest.split_once(" ... ")
        {
            let verdict = match verdict {
                "ok" => Verdict::Ok,
                "FAILED" => Verdict::Failed(console[i + 1..].to_vec()),
                other => match other.strip_prefix("ignored") {
                    Some(why) => Verdict::Ignored(why.trim_start_matches(", ").to_string()),
                    None => continue,
                },
            };
            boot.lines.push(line.clone());
            let failed = matches!(verdict, Verdict::Failed(_));
            boot.tests.push((name.to_string(), verdict));
            if failed {
                boot.lines.extend(console[i + 1..].iter().cloned());
                break;
            }
        }
    }
    boot
}

/// Runs every test of `ktest kind=KIND`, booting with `boot(cmdline)` as
/// often as failures need. `Err` if a boot could not start, or ended
/// without finishing the list or naming the test that failed (a hang, a
/// failure between tests), with its console.
pub fn run_all(kind: &str, mut boot: impl FnMut(&str) -> Result<Report, String>) -> Result<Results, String> {
    let mut results = Results::default();
    let mut from = 1;
    loop {
        let report = boot(&format!("ktest kind={kind} n={from}"))?;
        results.boots += 1;
        let this = parse(&report.console);
        let ran = this.tests.len();
        let last_failed = matches!(this.tests.last(), Some((_, Verdict::Failed(_))));
        results.tests.extend(this.tests);
        results.lines.extend(this.lines);
        match (this.finished, &report.outcome) {
            (true, Outcome::Success) => return Ok(results),
            _ if last_failed => {
                from += ran;
                if this.total.is_some_and(|total| from > total) {
                    return Ok(results);
                }
            }
            (_, outcome) => {
                return Err(format!(
                    "boot {} (`ktest kind={kind} n={from}`) ended {outcome:?} without finishing the tests or naming \
                     one that failed; console:\n{}",
                    results.boots,
                    report.full_text()
                ));
            }
        }
    }
}

/// Builds the kernel with its debug assertions on (as the integration
/// tests do) and runs every test of `ktest kind=KIND` in BIOS boots of
/// `smp` processors.
pub fn run_in_qemu(kind: &str, smp: u32) -> Result<Results, String> {
    /// Deadline of one boot: only a hung one waits for it (as tests/common).
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
    crate::kernel::check_invariants();
    let (_, image) = crate::prepare(crate::Firmware::Bios, crate::Progress::Quiet)?;
    run_all(kind, |cmdline| {
        let mut machine = crate::Machine::new(image.clone(), crate::Firmware::Bios);
        machine.smp = smp;
        machine.cmdline = cmdline.to_string();
        crate::Run::new(machine, TIMEOUT).start().map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    #[test]
    fn a_finished_boot_gives_each_test_its_verdict() {
        let boot = parse(&lines(
            "spindle 0.1.0: kernel entered\nrunning 3 tests (from test 1 of 3; 4 cores, the most any test needs: 4)\n\
             test a::tests::one ... ok\n[cpu 1 r3]     noise\ntest b::tests::two ... ignored, needs 8 cores\n\
             test c::tests::three ... ok\ntest result: ok. 2 passed; 0 failed; 1 ignored; finished in 0.10s\n\
             main returned",
        ));
        assert_eq!(boot.total, Some(3));
        assert!(boot.finished);
        assert_eq!(
            boot.tests,
            [
                ("a::tests::one".to_string(), Verdict::Ok),
                ("b::tests::two".to_string(), Verdict::Ignored("needs 8 cores".to_string())),
                ("c::tests::three".to_string(), Verdict::Ok),
            ]
        );
        assert_eq!(boot.lines.len(), 5, "the noise and the kernel's own lines are left out: {:?}", boot.lines);
    }

    #[test]
    fn a_failed_test_keeps_the_report_after_it() {
        let boot = parse(&lines(
            "running 5 tests (from test 2 of 6; 4 cores, the most any test needs: 1)\ntest a::t::one ... ok\n\
             test a::t::two ... FAILED\npanic: boom [routine 7 on cpu 0] at kernel/src/a.rs:3",
        ));
        assert_eq!(boot.total, Some(6));
        assert!(!boot.finished);
        assert_eq!(
            boot.tests[1],
            ("a::t::two".to_string(), Verdict::Failed(lines("panic: boom [routine 7 on cpu 0] at kernel/src/a.rs:3")))
        );
    }
}
