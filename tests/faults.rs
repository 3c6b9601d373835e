//! Failures are reported, never hidden: every kind of fault in routine code
//! names the routine and the core, stops the machine and fails the run; bad
//! command lines are refused by the kernel itself; the runner leaves no
//! QEMU behind however it is stopped.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

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
        ("hello cpus=0", "error: cpus=0 is out of range; valid: 1 to 64"),
        ("hello cpus=5", "error: cpus=5 is more than the 4 cores online; valid: 1 to 4"),
        ("hello slice=0", "error: slice=0 is out of range; valid: 1 to 1000"),
        ("nosuchprogram", "error: unknown program 'nosuchprogram'; valid programs: hello,"),
    ] {
        let report = boot(4, cmdline);
        expect_outcome(&report, Outcome::Failure);
        expect_line(&report, message);
    }
}

/// The QEMU started by the `spindle` process `runner`, once it is running.
fn qemu_of(runner: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(60);
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

/// Starts `spindle fault --kind hang` in its own process group (like a
/// shell job) and returns it with its QEMU's pid.
fn hanging_runner() -> (std::process::Child, u32) {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_spindle"));
    command
        .args(["fault", "--kind", "hang", "--smp", "1", "--timeout", "300"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    // As in a terminal's foreground job, Ctrl-C must not be ignored: a
    // suite started in the background by a non-interactive shell (as CI
    // may be) inherits SIGINT ignored, and the runner and QEMU with it.
    // SAFETY: `signal` is async-signal-safe, as `pre_exec` requires.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    let qemu = qemu_of(child.id());
    (child, qemu)
}

#[test]
fn killing_the_runner_kills_its_qemu() {
    let (mut runner, qemu) = hanging_runner();
    // SAFETY: sending a signal to a child we started.
    unsafe { libc::kill(runner.id() as i32, libc::SIGKILL) };
    let _ = runner.wait();
    assert!(gone_within(qemu, Duration::from_secs(10)), "QEMU {qemu} outlived its killed runner");
}

#[test]
fn ctrl_c_stops_runner_and_qemu() {
    let (mut runner, qemu) = hanging_runner();
    // Ctrl-C in a terminal signals the whole foreground process group.
    // SAFETY: signalling the group of a child we started.
    unsafe { libc::kill(-(runner.id() as i32), libc::SIGINT) };
    let status = runner.wait().unwrap();
    assert!(!status.success());
    assert!(gone_within(qemu, Duration::from_secs(10)), "QEMU {qemu} outlived Ctrl-C");
}

#[test]
fn a_failure_while_the_run_ends_is_reported_and_ends_the_run() {
    let report = boot(2, "fault kind=panic-in-report");
    expect_outcome(&report, Outcome::Failure);
    expect_line(
        &report,
        "fatal error while ending the run [routine 1 on cpu ",
    );
    expect_line(&report, "]: panic: the report's own message failed (program fault, kind=panic-in-report) at kernel/src/programs/internal/fault.rs:");
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
