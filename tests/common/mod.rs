//! Shared by the integration tests: boot the kernel in QEMU with a command
//! line and get back what it printed and how it ended.
#![allow(dead_code)] // each test binary uses its own subset

use std::time::Duration;

pub use spindle_boot::run::Report;
pub use spindle_boot::{Firmware, Machine, Outcome, Run};

/// Deadline for one boot in a test. Only a hung guest ever waits for it, so
/// it is long: a passing boot takes seconds, but on a 2-core host shared
/// with other QEMUs and builds, a boot of 8 vCPUs can take minutes, and a
/// test must not fail for that.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Boots `cmdline` (as the kernel reads it, unchecked by the host) on `smp`
/// processors with BIOS firmware.
#[track_caller]
pub fn boot(smp: u32, cmdline: &str) -> Report {
    boot_with(Firmware::Bios, smp, cmdline, TEST_TIMEOUT)
}

#[track_caller]
pub fn boot_with(firmware: Firmware, smp: u32, cmdline: &str, timeout: Duration) -> Report {
    start(Run::new(machine(firmware, smp, cmdline), timeout))
}

/// Starts `run` and waits for it; a QEMU that cannot start fails the test
/// with the runner's own message (what to install, which path is wrong).
#[track_caller]
pub fn start(run: Run) -> Report {
    run.start().unwrap_or_else(|e| panic!("{e}"))
}

/// The kernel ELF and the image for `firmware`, built once per test binary:
/// the kernel with its debug assertions on (`kernel-checked`), so that every
/// boot of the tests also checks the kernel's invariants.
#[track_caller]
pub fn prepared(firmware: Firmware) -> (std::path::PathBuf, std::path::PathBuf) {
    spindle_boot::kernel::check_invariants();
    spindle_boot::prepare(firmware, spindle_boot::Progress::Quiet)
        .unwrap_or_else(|e| panic!("building the kernel and its {firmware:?} image: {e}"))
}

/// The machine `boot` would run, for tests that set more of it.
#[track_caller]
pub fn machine(firmware: Firmware, smp: u32, cmdline: &str) -> Machine {
    let (_, image) = prepared(firmware);
    let mut machine = Machine::new(image, firmware);
    machine.smp = smp;
    machine.cmdline = cmdline.to_string();
    machine
}

/// Boots `cmdline` in the reproducible mode (`--smp 1 --icount`): one core
/// under QEMU's `-icount shift=0,sleep=off`, where guest time is the count
/// of guest instructions, so everything the kernel prints, its times
/// included, repeats exactly whatever the host is doing.
#[track_caller]
pub fn boot_repeatable(cmdline: &str) -> Report {
    let mut machine = machine(Firmware::Bios, 1, cmdline);
    machine.icount = true;
    start(Run::new(machine, TEST_TIMEOUT))
}

/// Boots `cmdline` on `smp` processors in the replay mode (`--replay`):
/// under icount, with the cores starting one by one and then taking turns
/// in an order drawn from the seed, so that the whole console repeats
/// exactly at any number of cores.
#[track_caller]
pub fn boot_replay(smp: u32, cmdline: &str) -> Report {
    let mut machine = machine(Firmware::Bios, smp, &format!("{cmdline} icount replay"));
    machine.icount = true;
    start(Run::new(machine, TEST_TIMEOUT))
}

/// Boots `cmdline` with the scheduler trace on and returns the report and
/// the decoded trace.
#[track_caller]
pub fn boot_traced(smp: u32, cmdline: &str) -> (Report, spindle_boot::trace::Trace) {
    start_traced(Run::new(machine(Firmware::Bios, smp, &format!("{cmdline} trace")), TEST_TIMEOUT))
}

/// Starts `run`, whose kernel command line asks for the trace, with its
/// trace sent to a file; returns the report and the decoded trace.
#[track_caller]
pub fn start_traced(mut run: Run) -> (Report, spindle_boot::trace::Trace) {
    let raw = std::env::temp_dir().join(format!(
        "spindle-test-trace-{}-{}.bin",
        std::process::id(),
        TRACE_FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    run.machine.data_file = Some(raw.clone());
    let report = start(run);
    let bytes = std::fs::read(&raw).expect("QEMU wrote the trace file");
    let _ = std::fs::remove_file(&raw);
    let trace = spindle_boot::trace::decode(&bytes).unwrap_or_else(|e| panic!("{e}; console:\n{}", report.text()));
    (report, trace)
}

static TRACE_FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Asserts the run ended with `outcome`, showing the console if not.
#[track_caller]
pub fn expect_outcome(report: &Report, outcome: Outcome) {
    assert_eq!(report.outcome, outcome, "console:\n{}", report.full_text());
}

/// Asserts some console line contains `needle`.
#[track_caller]
pub fn expect_line(report: &Report, needle: &str) {
    assert!(
        report.console.iter().any(|l| l.contains(needle)),
        "no line contains {needle:?}; console:\n{}",
        report.full_text()
    );
}

/// Whether process `pid` exists (as anything but a zombie).
pub fn process_exists(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// The exit summary line ("exit: main returned; ...").
#[track_caller]
pub fn exit_summary(report: &Report) -> &str {
    report
        .console
        .iter()
        .find(|l| l.starts_with("exit: main returned; "))
        .unwrap_or_else(|| panic!("no exit summary; console:\n{}", report.text()))
}

/// Where the abandoned routines were, from a summary that names them:
/// "... abandoned 3 (1 blocked, 2 runnable, 0 running)" gives [1, 2, 0],
/// whatever follows the split (a note on routines on their way out).
#[track_caller]
pub fn abandoned_split(summary: &str) -> [u64; 3] {
    let counts: Vec<u64> = summary
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list)
        .map(|list| list.split(", ").filter_map(|part| part.split(' ').next()?.parse().ok()).collect())
        .unwrap_or_default();
    counts.try_into().unwrap_or_else(|_| panic!("no blocked/runnable/running split in {summary:?}"))
}

/// The `spindle` runner with `args`, as a shell starts a job: in its own
/// process group, so that a test can signal it as Ctrl-C in a terminal
/// signals the foreground job, and with SIGINT not ignored (a suite started
/// in the background by a non-interactive shell, as CI may be, inherits
/// SIGINT ignored, and the runner with it).
pub fn runner_job(args: &[&str]) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_spindle"));
    command.args(args).process_group(0);
    // SAFETY: `signal` is async-signal-safe, as `pre_exec` requires.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    command
}

/// Sends SIGINT to the process group `job` leads, as Ctrl-C in a terminal does.
pub fn ctrl_c(job: &std::process::Child) {
    // SAFETY: signalling the group of a child we started.
    unsafe { libc::kill(-(job.id() as i32), libc::SIGINT) };
}

/// The files the runner `pid` keeps for a run (its raw trace, QEMU's
/// control socket) that are still there.
pub fn runner_files_left(pid: u32) -> Vec<std::path::PathBuf> {
    let prefixes = [format!("trace-{pid}."), format!("qmp-{pid}-")];
    let Ok(entries) = std::fs::read_dir(spindle_boot::runs_dir()) else { return Vec::new() };
    entries
        .flatten()
        .filter(|entry| prefixes.iter().any(|p| entry.file_name().to_string_lossy().starts_with(p.as_str())))
        .map(|entry| entry.path())
        .collect()
}
