//! `lab grade NAME`: runs a lab's checks against a project tree and scores them.
//!
//! - One line per check: OK or FAIL, points, time taken; then `Score: X/Y`.
//! - A failed check keeps its console (and its trace and timeline, if it
//!   recorded one) under `target/lab/NAME/` and prints the exact command
//!   that reproduces it.
//! - Timeouts are generous and scale with a calibration boot made first
//!   (the time a boot takes to reach the scheduler on this machine, now),
//!   so a loaded machine gets proportionally more time. A run that timed
//!   out is run once more with twice the time (a liveness check only
//!   ever fails for lack of time that way); a property that a run
//!   violated is a bug, and is never retried.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spindle_boot::run::Report;
use spindle_boot::{Firmware, Machine, Outcome, Run};

use crate::catalog::{Boot, Check, Ends, How, Lab};
use crate::props::Evidence;

/// Shortest timeout of a boot check, whatever the calibration says.
const FLOOR: Duration = Duration::from_secs(60);
/// What a boot takes to reach the scheduler if calibration could not tell.
const DEFAULT_BOOT: Duration = Duration::from_secs(5);
/// Timeout of a host check (it compiles first, maybe from scratch).
const HOST_TIMEOUT: Duration = Duration::from_secs(3600);
/// The console line every boot prints once every core is up, before any
/// routine runs: calibration times the boot up to it.
const UP_LINE: &str = "smp: ";

/// What to grade and how.
pub struct Options {
    /// The project tree to grade.
    pub tree: PathBuf,
    /// Where to build what the grader builds for the tree; `None`: cargo's default.
    pub target_dir: Option<PathBuf>,
    /// Seeds to add to each check that runs on several cores.
    pub extra_seeds: Vec<u64>,
    /// Where to write the results as JSON.
    pub json: Option<PathBuf>,
    /// Only the check of this name.
    pub only: Option<String>,
    /// Whether `tree` is the tree this grader was built from (then `cargo run` there reproduces a failure as printed).
    pub own_tree: bool,
}

/// One check's result.
pub struct CheckResult {
    pub name: &'static str,
    pub points: u32,
    pub score: u32,
    pub seconds: f64,
    /// Why it failed, one line each (empty if it passed).
    pub reasons: Vec<String>,
    /// Notes printed even when it passed (retries, blessed transcripts).
    pub notes: Vec<String>,
    pub reproduce: Vec<String>,
    pub artifacts: Vec<PathBuf>,
}

/// Grades `lab`; prints as it goes; returns the results.
pub fn grade(lab: &'static Lab, options: &Options) -> Result<Vec<CheckResult>, String> {
    let checks: Vec<&Check> =
        lab.checks.iter().filter(|c| options.only.as_deref().is_none_or(|o| o == c.name)).collect();
    if checks.is_empty() {
        let names: Vec<&str> = lab.checks.iter().map(|c| c.name).collect();
        return Err(format!(
            "lab {} has no check {:?}; its checks are: {}",
            lab.name,
            options.only.as_deref().unwrap_or(""),
            names.join(", ")
        ));
    }
    let max: u32 = checks.iter().map(|c| c.points).sum();
    println!("lab {}: {} checks, {max} points, tree {}", lab.name, checks.len(), options.tree.display());
    if !options.extra_seeds.is_empty() {
        let seeds: Vec<String> = options.extra_seeds.iter().map(u64::to_string).collect();
        println!("extra seeds for the multi-core checks: {}", seeds.join(" "));
    }
    let artifacts = options.tree.join("target/lab").join(lab.name);
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).map_err(|e| format!("creating {}: {e}", artifacts.display()))?;

    let mut image = None;
    let mut calibration = None;
    let mut results = Vec::new();
    for check in checks {
        let started = Instant::now();
        let mut result = CheckResult {
            name: check.name,
            points: check.points,
            score: 0,
            seconds: 0.0,
            reasons: Vec::new(),
            notes: Vec::new(),
            reproduce: Vec::new(),
            artifacts: Vec::new(),
        };
        match &check.how {
            How::Host { filter, skip, loom, tests } => {
                host_check(options, filter, *skip, *loom, *tests, &artifacts, check, &mut result)
            }
            How::Boot(boot) => {
                if image.is_none() {
                    image = Some(build_image(options));
                    if let Some(Ok(image)) = &image {
                        calibration = Some(calibrate(image));
                    }
                }
                match image.as_ref().expect("built above") {
                    Ok(image) => {
                        let boot_time = calibration.expect("calibrated with the image");
                        boot_check(check, boot, image, boot_time, options, &artifacts, &mut result)
                    }
                    Err(e) => result.reasons.push(format!("the kernel did not build: {e}")),
                }
            }
        }
        if result.reasons.is_empty() {
            result.score = result.points;
        }
        result.seconds = started.elapsed().as_secs_f64();
        print_result(&result);
        results.push(result);
    }
    let score: u32 = results.iter().map(|r| r.score).sum();
    println!("Score: {score}/{max}");
    if let Some(path) = &options.json {
        write_json(path, lab, options, &results)?;
    }
    Ok(results)
}

fn print_result(r: &CheckResult) {
    let verdict = if r.reasons.is_empty() { "OK  " } else { "FAIL" };
    println!("{verdict}  {:<20} {:>2}/{:<2} {:>7.1} s", r.name, r.score, r.points, r.seconds);
    for note in &r.notes {
        println!("      note: {note}");
    }
    for reason in r.reasons.iter().take(8) {
        println!("      {reason}");
    }
    if !r.reasons.is_empty() {
        for path in &r.artifacts {
            println!("      saved: {}", path.display());
        }
        for command in &r.reproduce {
            println!("      reproduce: {command}");
        }
    }
}

fn write_json(path: &Path, lab: &Lab, options: &Options, results: &[CheckResult]) -> Result<(), String> {
    let checks: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name,
                "points": r.points,
                "score": r.score,
                "ok": r.reasons.is_empty(),
                "seconds": (r.seconds * 10.0).round() / 10.0,
                "reasons": r.reasons,
                "notes": r.notes,
                "reproduce": r.reproduce,
                "artifacts": r.artifacts.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let json = serde_json::json!({
        "lab": lab.name,
        "tree": options.tree.display().to_string(),
        "score": results.iter().map(|r| r.score).sum::<u32>(),
        "max": results.iter().map(|r| r.points).sum::<u32>(),
        "extra_seeds": options.extra_seeds,
        "checks": checks,
    });
    std::fs::write(path, serde_json::to_string_pretty(&json).expect("JSON values serialise") + "\n")
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Builds the tree's kernel and its BIOS image.
fn build_image(options: &Options) -> Result<PathBuf, String> {
    if options.own_tree && options.target_dir.is_none() {
        return spindle_boot::prepare(Firmware::Bios, spindle_boot::Progress::Shown).map(|(_, image)| image);
    }
    let elf =
        spindle_boot::kernel::build_in(&options.tree, options.target_dir.as_deref(), spindle_boot::Progress::Shown)?;
    spindle_boot::image::create(&elf, Firmware::Bios, spindle_boot::Progress::Shown)
}

/// How long a boot takes to reach the scheduler now, on this machine.
fn calibrate(image: &Path) -> Duration {
    let mut machine = Machine::new(image.to_path_buf(), Firmware::Bios);
    machine.smp = 4;
    machine.cmdline = "hello cpus=1".into();
    let measured = Run::new(machine, Duration::from_secs(300)).start().ok().and_then(|r| r.arrival_of(UP_LINE));
    let boot = measured.unwrap_or(DEFAULT_BOOT);
    println!(
        "calibration: a boot reached the scheduler in {:.1} s{}; boot checks get that many times their budget (at least {} s)",
        boot.as_secs_f64(),
        if measured.is_none() { " (not measured: the default)" } else { "" },
        FLOOR.as_secs()
    );
    boot
}

/// The `cargo run -- ...` arguments of a boot (the kernel command line as
/// the CLI takes it).
fn cli_args(boot: &Boot, seed: u64, timeline: Option<&Path>) -> Vec<String> {
    let mut args = vec![boot.program.to_string()];
    if let Some(kind) = boot.kind {
        args.extend(["--kind".into(), kind.into()]);
    }
    args.extend([
        "--smp".into(),
        boot.smp.to_string(),
        "--cpus".into(),
        boot.cpus.to_string(),
        "--seed".into(),
        seed.to_string(),
    ]);
    if let Some(ms) = boot.slice_ms {
        args.extend(["--slice".into(), ms.to_string()]);
    }
    if let Some(n) = boot.n {
        args.extend(["--n".into(), n.to_string()]);
    }
    if let Some(events) = boot.trace_buf {
        args.extend(["--trace-buf".into(), events.to_string()]);
    }
    if boot.icount {
        args.push("--icount".into());
    }
    if let Some(path) = timeline {
        args.extend(["--timeline".into(), path.display().to_string()]);
    }
    args
}

/// The kernel command line of a boot, in the form the kernel reads.
fn kernel_cmdline(boot: &Boot, seed: u64) -> Result<String, String> {
    let mut words = vec![boot.program.to_string(), format!("cpus={}", boot.cpus), format!("seed={seed}")];
    words.extend(boot.kind.map(|k| format!("kind={k}")));
    words.extend(boot.slice_ms.map(|ms| format!("slice={ms}")));
    words.extend(boot.n.map(|n| format!("n={n}")));
    words.extend(boot.trace_buf.map(|b| format!("trace-buf={b}")));
    if boot.trace_buf.is_some() {
        words.push("trace".into());
    }
    if boot.icount {
        words.push("icount".into());
    }
    let line = words.join(" ");
    spindle_shared::cmdline::parse(line.as_bytes()).map(|o| o.to_string()).map_err(|e| format!("{line}: {e}"))
}

/// The lines of a transcript: from the first line a routine printed to the
/// end, trailing spaces trimmed.
fn transcript(console: &[String]) -> Vec<String> {
    let first = console.iter().position(|l| l.starts_with("[cpu ")).unwrap_or(console.len());
    console[first..].iter().map(|l| l.trim_end().to_string()).collect()
}

/// The line that says how the kernel failed, if it did.
fn failure_line(console: &[String]) -> Option<&String> {
    console.iter().find(|l| l.starts_with("panic: ") || l.starts_with("fatal error") || l.starts_with("error: "))
}

#[allow(clippy::too_many_arguments)]
fn boot_check(
    check: &Check,
    boot: &Boot,
    image: &Path,
    boot_time: Duration,
    options: &Options,
    dir: &Path,
    result: &mut CheckResult,
) {
    let timeout = FLOOR.max(boot_time * boot.budget);
    let mut seeds = vec![boot.seed];
    if boot.seeded {
        seeds.extend(&options.extra_seeds);
    }
    for seed in seeds {
        let label = if seed == boot.seed { check.name.to_string() } else { format!("{}-seed{seed}", check.name) };
        let before = result.reasons.len();
        let mut report = run_once(boot, seed, image, timeout, dir, &label);
        if let Ok((r, _)) = &report
            && matches!(r.outcome, Outcome::Timeout(_))
        {
            result
                .notes
                .push(format!("seed {seed}: timed out after {} s; ran again with twice the time", timeout.as_secs()));
            report = run_once(boot, seed, image, timeout * 2, dir, &label);
        }
        let (report, trace) = match report {
            Ok(found) => found,
            Err(e) => {
                result.reasons.push(format!("seed {seed}: {e}"));
                continue;
            }
        };
        judge(boot, seed, &report, trace.as_ref(), options, dir, &label, result);
        if result.reasons.len() > before {
            let console = dir.join(format!("{label}.console.txt"));
            let _ = std::fs::write(&console, report.text() + "\n");
            result.artifacts.push(console);
            if let Some(trace) = &trace {
                let svg = dir.join(format!("{label}.svg"));
                let json = dir.join(format!("{label}.trace.json"));
                let _ = std::fs::write(&svg, spindle_boot::trace::timeline_svg(trace));
                let _ = std::fs::write(&json, spindle_boot::trace::chrome_json(trace));
                result.artifacts.extend([svg, json]);
            }
            let timeline =
                boot.trace_buf.map(|_| dir.strip_prefix(&options.tree).unwrap_or(dir).join(format!("{label}.svg")));
            let mut command = format!("cargo run -- {}", cli_args(boot, seed, timeline.as_deref()).join(" "));
            if !options.own_tree {
                command = format!("cd {} && {command}", options.tree.display());
            }
            result.reproduce.push(command);
        }
    }
}

/// Boots once; returns the report and the decoded trace (if one was asked for).
fn run_once(
    boot: &Boot,
    seed: u64,
    image: &Path,
    timeout: Duration,
    dir: &Path,
    label: &str,
) -> Result<(Report, Option<spindle_boot::trace::Trace>), String> {
    let mut machine = Machine::new(image.to_path_buf(), Firmware::Bios);
    machine.smp = boot.smp;
    machine.cmdline = kernel_cmdline(boot, seed)?;
    machine.icount = boot.icount;
    let raw = dir.join(format!("{label}.trace.bin"));
    let _ = std::fs::remove_file(&raw);
    if boot.trace_buf.is_some() {
        machine.data_file = Some(raw.clone());
    }
    let report = Run::new(machine, timeout).start().map_err(|e| e.to_string())?;
    let trace = match boot.trace_buf {
        None => None,
        Some(_) => {
            let bytes = std::fs::read(&raw).unwrap_or_default();
            let _ = std::fs::remove_file(&raw);
            spindle_boot::trace::decode(&bytes).ok().filter(|t| !t.cores.is_empty())
        }
    };
    Ok((report, trace))
}

#[allow(clippy::too_many_arguments)]
fn judge(
    boot: &Boot,
    seed: u64,
    report: &Report,
    trace: Option<&spindle_boot::trace::Trace>,
    options: &Options,
    dir: &Path,
    label: &str,
    result: &mut CheckResult,
) {
    let fail = |result: &mut CheckResult, why: String| {
        result.reasons.push(if seed == boot.seed { why } else { format!("seed {seed}: {why}") })
    };
    let expected = match boot.ends {
        Ends::Success => Outcome::Success,
        Ends::Failure => Outcome::Failure,
    };
    let kernel_failed = failure_line(&report.console);
    if report.outcome != expected {
        let why = match (&report.outcome, kernel_failed) {
            (Outcome::Failure, Some(line)) => line.clone(),
            (Outcome::Timeout(_), _) => format!(
                "{} (a lost wake-up, a routine that never gets the core, or a kernel spinning?)",
                report.outcome
            ),
            (outcome, _) => outcome.to_string(),
        };
        fail(result, why);
        if expected == Outcome::Success {
            return;
        }
    }
    let missing: Vec<&&str> =
        boot.lines.iter().filter(|needle| !report.console.iter().any(|l| l.contains(**needle))).collect();
    if !missing.is_empty() {
        let also = match kernel_failed {
            Some(line) if !boot.lines.iter().any(|n| line.contains(n)) => format!(" (the run ended with: {line})"),
            _ => String::new(),
        };
        fail(result, format!("the console lacks {} expected line(s), first: {:?}{also}", missing.len(), missing[0]));
    }
    if let Some(file) = boot.transcript {
        let path = options.tree.join("labs").join(file);
        let got = transcript(&report.console);
        if std::env::var_os("SPINDLE_LAB_BLESS").is_some() && report.outcome == expected {
            let _ = std::fs::create_dir_all(path.parent().expect("a file has a parent"));
            let _ = std::fs::write(&path, got.join("\n") + "\n");
            result.notes.push(format!("SPINDLE_LAB_BLESS: wrote {}", path.display()));
        } else {
            match std::fs::read_to_string(&path) {
                Err(e) => fail(result, format!("cannot read the expected transcript {}: {e}", path.display())),
                Ok(want) => {
                    let want: Vec<&str> = want.lines().collect();
                    if let Some(at) =
                        (0..got.len().max(want.len())).find(|&i| got.get(i).map(String::as_str) != want.get(i).copied())
                    {
                        let saved = dir.join(format!("{label}.transcript.txt"));
                        let _ = std::fs::write(&saved, got.join("\n") + "\n");
                        result.artifacts.push(saved);
                        fail(
                            result,
                            format!(
                                "transcript differs from {} at its line {}: expected {:?}, got {:?}",
                                path.strip_prefix(&options.tree).unwrap_or(&path).display(),
                                at + 1,
                                want.get(at).copied().unwrap_or("(end)"),
                                got.get(at).map_or("(end)", String::as_str)
                            ),
                        );
                    }
                }
            }
        }
    }
    if !boot.properties.is_empty() {
        let evidence = Evidence {
            console: &report.console,
            trace,
            cpus: boot.cpus,
            slice_ns: u64::from(boot.slice_ms.unwrap_or(spindle_shared::cmdline::DEFAULT_SLICE_MS)) * 1_000_000,
        };
        for (name, property) in boot.properties {
            if let Err(why) = property(&evidence) {
                fail(result, format!("{name}: {why}"));
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn host_check(
    options: &Options,
    filter: &str,
    skip: Option<&str>,
    loom: bool,
    tests: usize,
    dir: &Path,
    check: &Check,
    result: &mut CheckResult,
) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = options
        .target_dir
        .clone()
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| options.tree.join("target"));
    let mut args: Vec<String> = vec!["test".into(), "-p".into(), "spindle-shared".into(), "--lib".into()];
    let mut shown = args.clone();
    let mut command = Command::new(&cargo);
    if loom {
        command.env("RUSTFLAGS", "--cfg loom");
        args.extend(["--release".into(), "--target-dir".into(), target.join("loom").display().to_string()]);
        shown.extend(["--release".into(), "--target-dir".into(), "target/loom".into()]);
    } else if options.target_dir.is_some() {
        args.extend(["--target-dir".into(), target.display().to_string()]);
    }
    let mut tail = vec!["--".to_string(), filter.to_string()];
    if let Some(skip) = skip {
        tail.extend(["--skip".into(), skip.into()]);
    }
    if loom {
        tail.push("--test-threads=1".into());
    }
    args.extend(tail.iter().cloned());
    shown.extend(tail);
    let prefix = if loom { "RUSTFLAGS=\"--cfg loom\" " } else { "" };
    let cd = if options.own_tree { String::new() } else { format!("cd {} && ", options.tree.display()) };
    result.reproduce.push(format!("{cd}{prefix}cargo {}", shown.join(" ")));

    command.current_dir(&options.tree).args(&args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let output = match run_with_timeout(command, HOST_TIMEOUT) {
        Ok(output) => output,
        Err(e) => return result.reasons.push(e),
    };
    let log = dir.join(format!("{}.log", check.name));
    let _ = std::fs::write(&log, &output);
    let passed: usize = output
        .lines()
        .filter_map(|l| l.strip_prefix("test result: "))
        .filter_map(|l| l.split_once(" passed"))
        .filter_map(|(l, _)| l.rsplit(' ').next()?.parse::<usize>().ok())
        .sum();
    let failed_line = output.lines().any(|l| l.starts_with("test result: FAILED"));
    let panics: Vec<String> = output
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0].contains("panicked at"))
        .map(|w| format!("{} {}", w[0].trim(), w[1].trim()))
        .collect();
    if output.contains("error: could not compile") || output.contains("error[E") {
        let first = output.lines().find(|l| l.starts_with("error")).unwrap_or("error").to_string();
        result.reasons.push(format!("the host tests did not compile: {first}"));
    } else if failed_line || !panics.is_empty() {
        let failed = output.lines().filter(|l| l.starts_with("test ") && l.ends_with("FAILED")).count();
        result.reasons.push(format!("{failed} host test(s) failed, {passed} passed"));
        result.reasons.extend(panics.into_iter().take(3));
    } else if passed < tests {
        result
            .reasons
            .push(format!("only {passed} host tests ran and passed; expected at least {tests} (filter {filter})"));
    }
    if !result.reasons.is_empty() {
        result.artifacts.push(log);
    }
}

/// Runs `command` to its end or the timeout; returns stdout and stderr together.
fn run_with_timeout(mut command: Command, timeout: Duration) -> Result<String, String> {
    let mut child = command.spawn().map_err(|e| format!("could not start cargo: {e}"))?;
    let (mut out, mut err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut text);
        text
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut text);
        text
    });
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the host tests did not finish within {} s", timeout.as_secs()));
            }
        }
    }
    let text = reader.join().unwrap_or_default();
    Ok(text + &errors.join().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{BOOT, ONE_CORE};

    #[test]
    fn the_kernel_command_line_and_the_reproduce_command_say_the_same() {
        let boot =
            Boot { program: "selfcheck", kind: Some("interleave"), n: Some(3), trace_buf: Some(1024), ..ONE_CORE };
        assert_eq!(
            kernel_cmdline(&boot, 9).unwrap(),
            "selfcheck seed=9 slice=1000 cpus=1 n=3 kind=interleave trace-buf=1024 trace icount"
        );
        let args = cli_args(&boot, 9, Some(Path::new("target/lab/x/y.svg"))).join(" ");
        assert_eq!(
            args,
            "selfcheck --kind interleave --smp 1 --cpus 1 --seed 9 --slice 1000 --n 3 --trace-buf 1024 \
             --icount --timeline target/lab/x/y.svg"
        );
        assert!(kernel_cmdline(&Boot { program: "nope", ..BOOT }, 1).unwrap_err().contains("nope"));
    }

    #[test]
    fn a_transcript_starts_at_the_first_routine_line() {
        let console: Vec<String> = ["smp: 1 cores online, 5 us", "[cpu 0 r2]  a  ", "exit: main returned"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(transcript(&console), ["[cpu 0 r2]  a", "exit: main returned"]);
    }
}
