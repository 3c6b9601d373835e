//! Shared by the integration tests: boot the kernel in QEMU with a command
//! line and get back what it printed and how it ended.
#![allow(dead_code)] // each test binary uses its own subset

use std::time::Duration;

pub use spindle_boot::run::Report;
pub use spindle_boot::{Firmware, Machine, Outcome, Run};

/// Deadline for one boot in a test: generous for a loaded 2-core machine,
/// short enough that a hung guest fails the test quickly.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Boots `cmdline` (as the kernel reads it, unchecked by the host) on `smp`
/// processors with BIOS firmware.
pub fn boot(smp: u32, cmdline: &str) -> Report {
    boot_with(Firmware::Bios, smp, cmdline, TEST_TIMEOUT)
}

pub fn boot_with(firmware: Firmware, smp: u32, cmdline: &str, timeout: Duration) -> Report {
    let (_, image) = spindle_boot::prepare(firmware).expect("kernel and image build");
    let mut machine = Machine::new(image, firmware);
    machine.smp = smp;
    machine.cmdline = cmdline.to_string();
    Run::new(machine, timeout).start().expect("QEMU starts")
}

/// Asserts the run ended with `outcome`, showing the console if not.
pub fn expect_outcome(report: &Report, outcome: Outcome) {
    assert_eq!(report.outcome, outcome, "console:\n{}", report.text());
}

/// Asserts some console line contains `needle`.
pub fn expect_line(report: &Report, needle: &str) {
    assert!(
        report.console.iter().any(|l| l.contains(needle)),
        "no line contains {needle:?}; console:\n{}",
        report.text()
    );
}

/// Whether process `pid` exists (as anything but a zombie).
pub fn process_exists(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}
