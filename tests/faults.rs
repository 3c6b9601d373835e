//! Failures are reported, never hidden: every kind of fault in routine code
//! names the routine and the core, stops the machine and fails the run; bad
//! command lines are refused by the kernel itself; the runner leaves no
//! QEMU behind however it is stopped.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use spindle_boot::RunnerExit;

fn expect_fault(kind: &str, message: &str) -> Report {
    let report = boot(2, &format!("fault kind={kind}"));
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, message);
    report
}

#[test]
fn a_stack_overflow_hits_the_guard_page_and_names_the_routine() {
    expect_fault("stack-overflow", "fatal error: stack overflow in routine 2 on cpu ");
}

#[test]
fn a_page_fault_reports_routine_core_address_and_ip() {
    let report = expect_fault("page-fault", "fatal error: page fault [routine 2 on cpu ");
    expect_line(&report, "address 0xdead0000");
    expect_line(&report, "]: ip 0x");
}

#[test]
fn a_general_protection_fault_reports_routine_core_and_ip() {
    expect_fault("gp-fault", "fatal error: general protection fault [routine 2 on cpu ");
}

#[test]
fn an_invalid_opcode_reports_routine_core_and_ip() {
    expect_fault("invalid-opcode", "fatal error: invalid opcode [routine 2 on cpu ");
}

#[test]
fn a_double_fault_lands_on_its_own_stack_and_is_reported() {
    expect_fault("double-fault", "fatal error: double fault [routine 2 on cpu ");
}

#[test]
fn running_out_of_memory_says_so_with_the_live_routines() {
    let report = expect_fault("oom", "fatal error: out of memory [routine 2 on cpu ");
    let line = report.console.iter().find(|l| l.contains("out of memory")).unwrap();
    let live: u64 = line.split("]: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(live > 10_000, "only {live} routines before running out: {line}");
}

#[test]
fn the_kernel_refuses_bad_command_lines() {
    for (cmdline, message) in [
        ("hello cpus=0", "error: cpus=0 is out of range; valid: 1 to 255"),
        ("hello cpus=5", "error: cpus=5 is more than the 4 cores online; valid: 1 to 4"),
        ("hello slice=0", "error: slice=0 is out of range; valid: 1 to 1000"),
        ("nosuchprogram", "error: unknown program 'nosuchprogram'; valid programs: hello,"),
    ] {
        let report = boot(4, cmdline);
        expect_outcome(&report, Outcome::Failure);
        expect_line(&report, message);
    }
}

/// How long a process may take to go after what should end it. Only a
/// failing test waits this long; a loaded host can be slow to tear down a
/// QEMU with 512 MiB of guest memory.
const PROCESS_EXIT_LIMIT: Duration = Duration::from_secs(60);

/// The QEMU started by the `spindle` process `runner`, once it is running
/// (the runner first runs cargo to see that the kernel is up to date: on a
/// loaded host that alone can take a while).
fn qemu_of(runner: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
            let Some((comm, rest)) = stat.split_once(") ") else { continue };
            if comm.contains("qemu-system") && rest.split_whitespace().nth(1) == Some(&runner.to_string()) {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("spindle {runner} started no QEMU");
}

fn gone_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if !process_exists(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Starts `spindle fault --kind hang` (and `more` options) as a shell job
/// (`runner_job`), its output going to `output`, and returns it with its
/// QEMU's pid.
fn hanging_runner(more: &[&str], output: Stdio) -> (std::process::Child, u32) {
    let mut command = runner_job(&["fault", "--kind", "hang", "--smp", "1", "--timeout", "300"]);
    let child = command.args(more).stdout(output).stderr(Stdio::piped()).spawn().unwrap();
    let qemu = qemu_of(child.id());
    (child, qemu)
}

/// Waits for the first line of `from` that contains `needle`; panics if the
/// stream ends first.
fn wait_for_line(from: &mut impl BufRead, needle: &str) {
    let mut line = String::new();
    while from.read_line(&mut line).unwrap() > 0 {
        if line.contains(needle) {
            return;
        }
        line.clear();
    }
    panic!("the runner's output ended without a line containing {needle:?}");
}

/// QEMU `qemu`'s QMP socket, from its command line (`-qmp unix:PATH,...`).
fn control_socket_of(qemu: u32) -> std::path::PathBuf {
    let cmdline = std::fs::read(format!("/proc/{qemu}/cmdline")).unwrap();
    let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let at = args.iter().position(|a| a == "-qmp").expect("QEMU has a QMP socket");
    let spec = args[at + 1].strip_prefix("unix:").expect("a Unix socket");
    spec.split(',').next().unwrap().into()
}

/// A hanging guest whose kernel is up, then frozen (every vCPU paused
/// through QEMU's monitor): it cannot answer the runner's request for its
/// trace. Returns the runner, its QEMU and the runner's stderr.
fn frozen_runner() -> (std::process::Child, u32, BufReader<std::process::ChildStderr>) {
    let (mut runner, qemu) = hanging_runner(&["--stats"], Stdio::piped());
    let mut stdout = BufReader::new(runner.stdout.take().unwrap());
    wait_for_line(&mut stdout, "kernel entered");
    // Keep reading the console, so that QEMU never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    spindle_boot::qmp::execute(&control_socket_of(qemu), &["stop"], Duration::from_secs(60)).unwrap();
    let stderr = BufReader::new(runner.stderr.take().unwrap());
    (runner, qemu, stderr)
}

#[test]
fn killing_the_runner_kills_its_qemu() {
    let (mut runner, qemu) = hanging_runner(&[], Stdio::null());
    // SAFETY: sending a signal to a child we started.
    unsafe { libc::kill(runner.id() as i32, libc::SIGKILL) };
    let _ = runner.wait();
    assert!(gone_within(qemu, PROCESS_EXIT_LIMIT), "QEMU {qemu} outlived its killed runner");
}

#[test]
fn ctrl_c_stops_runner_and_qemu_and_leaves_no_trace_file() {
    let (mut runner, qemu) = hanging_runner(&["--stats"], Stdio::null());
    // QEMU opens the file the raw trace goes to as it starts.
    let raw_trace = spindle_boot::raw_trace_file(runner.id());
    let deadline = Instant::now() + PROCESS_EXIT_LIMIT;
    while !raw_trace.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(raw_trace.exists(), "no {}", raw_trace.display());
    ctrl_c(&runner);
    let status = runner.wait().unwrap();
    assert!(!status.success());
    assert!(gone_within(qemu, PROCESS_EXIT_LIMIT), "QEMU {qemu} outlived Ctrl-C");
    assert!(!raw_trace.exists(), "Ctrl-C left {} behind", raw_trace.display());
    assert_eq!(runner_files_left(runner.id()), Vec::<std::path::PathBuf>::new());
}

#[test]
fn ctrl_c_ends_a_run_whose_kernel_does_not_answer() {
    let (mut runner, qemu, mut stderr) = frozen_runner();
    ctrl_c(&runner);
    let mut said = String::new();
    stderr.read_to_string(&mut said).unwrap();
    let status = runner.wait().unwrap();
    assert_eq!(status.code(), Some(RunnerExit::Interrupted as i32), "{said}");
    assert!(
        said.contains("interrupted (Ctrl-C): the guest was stopped; asked for its trace, the kernel did not answer"),
        "{said}"
    );
    assert!(gone_within(qemu, PROCESS_EXIT_LIMIT), "QEMU {qemu} outlived the run");
    assert_eq!(runner_files_left(runner.id()), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_second_ctrl_c_ends_the_runner_at_once() {
    use std::os::unix::process::ExitStatusExt;
    let (mut runner, qemu, mut stderr) = frozen_runner();
    ctrl_c(&runner);
    wait_for_line(&mut stderr, "Ctrl-C again to quit at once");
    ctrl_c(&runner);
    let status = runner.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}: the runner did not end from the second Ctrl-C");
    assert!(gone_within(qemu, PROCESS_EXIT_LIMIT), "QEMU {qemu} outlived its runner");
    assert_eq!(runner_files_left(runner.id()), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_fault_report_names_the_source_line_of_its_ip() {
    let out = Command::new(env!("CARGO_BIN_EXE_spindle"))
        .args(["fault", "--kind", "page-fault", "--smp", "1", "--timeout", "300"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let report = lines.iter().position(|l| l.starts_with("fatal error: page fault")).expect("a fault report");
    let frames: Vec<&str> = lines[report + 1..].iter().take_while(|l| l.starts_with("  ")).copied().collect();
    assert!(frames.first().is_some_and(|f| f.starts_with("  at ")), "{stdout}");
    // Somewhere in the chain of inlined calls: the kernel function that
    // faulted, at a line of a kernel source file that exists.
    let own = frames.iter().find(|f| f.contains(" kernel/src/")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(own.contains("page_fault)"), "{own}");
    let (file, line) = own.split_whitespace().nth(2).and_then(|at| at.rsplit_once(':')).unwrap();
    let source = std::fs::read_to_string(spindle_boot::workspace_root().join(file)).unwrap();
    let line: usize = line.parse().unwrap();
    assert!((1..=source.lines().count()).contains(&line), "{own}");
}

#[test]
fn a_failure_while_the_run_ends_is_reported_and_ends_the_run() {
    let report = boot(2, "fault kind=panic-in-report");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "fatal error while ending the run [routine 1 on cpu ");
    expect_line(
        &report,
        "]: panic: the report's own message failed (program fault, kind=panic-in-report) at kernel/src/programs/internal/fault.rs:",
    );
}

/// A core stopped in the middle of a line keeps the console for good: the
/// core ending the run takes it back after a bounded wait in guest time,
/// says so, and prints its report whole. Under icount guest time is the
/// instruction count, so the wait is exact: 10 ms. It used to be 10 million
/// attempts, 4.0 to 4.7 s of a quiet host, and past the runner's 5 s for an
/// answer on a loaded one (a Ctrl-C test then failed under load).
#[test]
fn a_core_stopped_mid_line_gives_up_the_console_after_a_bounded_wait() {
    let mut machine = machine(Firmware::Bios, 2, "fault kind=stopped-mid-line");
    machine.icount = true;
    let report = start(Run::new(machine, TEST_TIMEOUT));
    expect_outcome(&report, Outcome::Failure);
    let at = |needle: &str| report.console.iter().position(|l| l.starts_with(needle));
    let cut = at("half a line, and then this c");
    let taken = at("[console: cpu ");
    let panic = at(
        "panic: deliberate panic while another core holds the console (program fault, kind=stopped-mid-line) [routine 1 on cpu ",
    );
    assert!(
        cut.is_some() && taken.is_some() && panic.is_some() && cut < taken && taken < panic,
        "the cut line, then the console's note, then the report; console:\n{}",
        report.full_text()
    );
    let note = &report.console[taken.unwrap()];
    let waited_us: u64 = note
        .strip_suffix(" us]")
        .and_then(|n| n.rsplit_once(" after "))
        .and_then(|(what, us)| what.ends_with("was stopped in the middle of a line; taken from it").then_some(us))
        .and_then(|us| us.parse().ok())
        .unwrap_or_else(|| panic!("no wait in {note:?}"));
    assert!((10_000..10_100).contains(&waited_us), "waited {waited_us} us of guest time, not 10 ms: {note}");
}

/// The run ends (main returns, or panics) while every other core allocates
/// and frees as fast as it can, with the trace on: the exit summary, the
/// report and the trace dump must not wait for a heap lock a stopped core
/// holds (this hung about every other run before).
#[test]
fn the_run_ends_cleanly_while_every_other_core_is_allocating() {
    for _ in 0..2 {
        let (report, trace) = boot_traced(4, "selfcheck kind=exit-while-allocating");
        expect_outcome(&report, Outcome::Success);
        expect_line(&report, "exit: main returned; routines spawned 4, finished 1, abandoned 3");
        assert!(trace.complete && trace.cores.len() == 4, "console:\n{}", report.text());

        let (report, trace) = boot_traced(4, "selfcheck kind=panic-while-allocating");
        expect_outcome(&report, Outcome::Failure);
        expect_line(&report, "panic: deliberate panic while 3 routines allocate [routine 1 on cpu ");
        assert!(trace.complete && trace.cores.len() == 4, "console:\n{}", report.text());
    }
}
