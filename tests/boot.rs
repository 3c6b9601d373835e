//! The boot foundation: the kernel boots under BIOS and UEFI, reads its
//! command line, refuses bad ones, and every way a run can end is reported.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn bios_boot_greets_and_succeeds() {
    let report = boot(1, "hello");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "spindle 0.1.0: kernel entered");
    expect_line(&report, "max parallel: ");
}

#[test]
fn uefi_boot_greets_and_succeeds() {
    let report = boot_with(Firmware::Uefi, 1, "hello", TEST_TIMEOUT);
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "max parallel: ");
}

#[test]
fn kernel_echoes_the_command_line_it_received() {
    let report = boot(2, "hello seed=77 slice=3 stats");
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "options: hello seed=77 slice=3 stats");
}

#[test]
fn deliberate_panic_prints_message_and_location_and_fails() {
    let report = boot(1, "fault kind=panic");
    expect_outcome(&report, Outcome::Failure);
    expect_line(
        &report,
        "panic: deliberate panic (program fault, kind=panic) [routine 1 on cpu 0] at kernel/src/programs/internal/fault.rs:",
    );
}

#[test]
fn unknown_program_is_refused_by_the_kernel() {
    let report = boot(1, "nosuchprogram");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "error: unknown program 'nosuchprogram'; valid programs: hello, ");
}

#[test]
fn malformed_option_is_refused_by_the_kernel() {
    let report = boot(1, "hello cpus=two");
    expect_outcome(&report, Outcome::Failure);
    expect_line(&report, "error: malformed value 'two' for cpus");
}

#[test]
fn hung_guest_times_out_and_leaves_no_qemu_behind() {
    let report = boot_with(Firmware::Bios, 1, "fault kind=hang", Duration::from_secs(8));
    expect_outcome(&report, Outcome::Timeout(Duration::from_secs(8)));
    expect_line(&report, "kernel entered");
    assert!(report.elapsed < Duration::from_secs(20), "took {:?}", report.elapsed);
    assert!(!process_exists(report.qemu_pid), "QEMU {} still runs", report.qemu_pid);
}
