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
    Run::new(machine(firmware, smp, cmdline), timeout).start().expect("QEMU starts")
}

/// The machine `boot` would run, for tests that set more of it.
pub fn machine(firmware: Firmware, smp: u32, cmdline: &str) -> Machine {
    let (_, image) = spindle_boot::prepare(firmware).expect("kernel and image build");
    let mut machine = Machine::new(image, firmware);
    machine.smp = smp;
    machine.cmdline = cmdline.to_string();
    machine
}

/// Boots `cmdline` with the scheduler trace on and returns the report and
/// the decoded trace.
pub fn boot_traced(smp: u32, cmdline: &str) -> (Report, spindle_boot::trace::Trace) {
    let raw = std::env::temp_dir().join(format!(
        "spindle-test-trace-{}-{}.bin",
        std::process::id(),
        TRACE_FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut m = machine(Firmware::Bios, smp, &format!("{cmdline} trace"));
    m.data_file = Some(raw.clone());
    let report = Run::new(m, TEST_TIMEOUT).start().expect("QEMU starts");
    let bytes = std::fs::read(&raw).expect("QEMU wrote the trace file");
    let _ = std::fs::remove_file(&raw);
    let trace = spindle_boot::trace::decode(&bytes).unwrap_or_else(|e| panic!("{e}; console:\n{}", report.text()));
    (report, trace)
}

static TRACE_FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

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
