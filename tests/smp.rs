//! Every processor comes online: the MADT is read, each application
//! processor is started through the trampoline and runs code of its own, and
//! a panic on any core stops the machine.

mod common;

use common::*;

/// Asserts that exactly `n` cores came online, each processor of the
/// machine (QEMU numbers their APIC ids 0 to n-1) once, and that each ran
/// its own code.
fn expect_cores_online(report: &Report, n: usize) {
    expect_outcome(report, Outcome::Success);
    for index in 0..n {
        expect_line(report, &format!("cpu {index} online (apic "));
    }
    let online: Vec<&String> =
        report.console.iter().filter(|l| l.starts_with("cpu ") && l.contains(" online (apic ")).collect();
    assert_eq!(online.len(), n, "console:\n{}", report.text());
    let mut apic_ids: Vec<usize> = online
        .iter()
        .map(|l| {
            let id = l.split("(apic ").nth(1).and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next());
            id.and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("no APIC id in {l:?}"))
        })
        .collect();
    apic_ids.sort_unstable();
    assert_eq!(apic_ids, (0..n).collect::<Vec<_>>(), "each processor once; console:\n{}", report.text());
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

/// More than the 64 cores one 64-bit word could hold, and affordable in the
/// default tier: about 6 s of wall time on 2 host cores.
#[test]
fn one_hundred_twenty_eight_cores_come_online() {
    expect_cores_online(&boot(128, "hello"), 128);
}

/// Every processor an xAPIC machine can address (and QEMU's `pc` machine
/// can have). 14 to 22 s of wall time on 2 host cores, more under load.
#[test]
#[ignore = "slow: 255 vCPUs on the host's cores (cargo test -- --ignored)"]
fn every_processor_an_xapic_machine_can_have_comes_online() {
    expect_cores_online(&boot(255, "hello"), 255);
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
    // The last core panics, or the one before it when main runs there (a
    // thief can take main to any core): either way a core with no routine,
    // so its report names the core alone.
    let prefix = "panic: deliberate panic on a core other than main's (program fault, kind=ap-panic) ";
    let line = report.console.iter().find(|l| l.starts_with(prefix));
    let tag = line.map(|l| &l[prefix.len()..]);
    assert!(
        tag.is_some_and(|t| {
            ["[cpu 3] at ", "[cpu 2] at "].iter().any(|c| t.starts_with(c))
                && t.contains("kernel/src/programs/internal/fault.rs:")
        }),
        "no panic report naming cpu 3 (or 2) alone, at fault.rs; console:\n{}",
        report.text()
    );
    let panics = report.console.iter().filter(|l| l.starts_with("panic:")).count();
    assert_eq!(panics, 1, "one report only; console:\n{}", report.text());
}
