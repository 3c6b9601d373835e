//! Every processor comes online: the MADT is read, each application
//! processor is started through the trampoline and runs code of its own, and
//! a panic on any core stops the machine.

mod common;

use common::*;

/// Asserts that exactly `n` cores came online and each ran its own code.
fn expect_cores_online(report: &Report, n: usize) {
    expect_outcome(report, Outcome::Success);
    for index in 0..n {
        expect_line(report, &format!("cpu {index} online (apic "));
    }
    let online_lines = report.console.iter().filter(|l| l.starts_with("cpu ") && l.contains(" online (apic ")).count();
    assert_eq!(online_lines, n, "console:\n{}", report.text());
    let cores = if n == 1 { "0".to_string() } else { format!("0-{}", n - 1) };
    expect_line(report, &format!("smp: {n} cores online, "));
    assert!(
        report.console.iter().any(|l| l.ends_with(&format!("cores that ran their own code: {cores}"))),
        "expected every core 0 to {} to have run its own code; console:\n{}",
        n - 1,
        report.text()
    );
}

#[test]
fn one_core_boots_alone() {
    expect_cores_online(&boot(1, "hello"), 1);
}

#[test]
fn two_cores_come_online() {
    expect_cores_online(&boot(2, "hello"), 2);
}

#[test]
fn four_cores_come_online() {
    expect_cores_online(&boot(4, "hello"), 4);
}

#[test]
fn eight_cores_come_online() {
    expect_cores_online(&boot(8, "hello"), 8);
}

#[test]
fn sixteen_cores_come_online() {
    expect_cores_online(&boot(16, "hello"), 16);
}

#[test]
fn four_cores_come_online_under_uefi() {
    let report = boot_with(Firmware::Uefi, 4, "hello", TEST_TIMEOUT);
    expect_cores_online(&report, 4);
}

#[test]
fn panic_on_an_application_processor_stops_the_machine_and_names_the_core() {
    let report = boot(4, "fault kind=ap-panic");
    expect_outcome(&report, Outcome::Failure);
    expect_line(
        &report,
        "panic: deliberate panic on an application processor (program fault, kind=ap-panic) [cpu 3] at kernel/src/programs/internal/fault.rs:",
    );
    let panics = report.console.iter().filter(|l| l.starts_with("panic:")).count();
    assert_eq!(panics, 1, "one report only; console:\n{}", report.text());
}
