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
fn the_least_memory_the_runner_accepts_boots_under_bios_and_uefi() {
    use spindle_boot::qemu::least_memory_mib;
    for firmware in [Firmware::Bios, Firmware::Uefi] {
        let mut machine = machine(firmware, 4, "hello quiet");
        machine.memory_mib = least_memory_mib(firmware, 4);
        let report = start(Run::new(machine, TEST_TIMEOUT));
        expect_outcome(&report, Outcome::Success);
        expect_line(&report, "max parallel: ");
    }
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
    // The 8 s count from the kernel's first line, so a host that boots
    // slowly under load cannot use them up before the kernel even runs.
    let hang = Duration::from_secs(8);
    let mut run = Run::new(machine(Firmware::Bios, 1, "fault kind=hang"), hang);
    run.boot_timeout = Some(TEST_TIMEOUT);
    let report = start(run);
    expect_outcome(&report, Outcome::Timeout(hang));
    // Asked before it was stopped, the kernel said what it was doing.
    assert_eq!(report.stop, Some(spindle_boot::HostStop::Answered), "{}", report.text());
    expect_line(&report, "stop: running: cpu 0 routine 1");
    let entered = report.arrival_of("kernel entered").expect("the kernel started");
    assert!(report.elapsed >= entered + hang, "stopped after {:?}, kernel entered at {entered:?}", report.elapsed);
    assert!(!process_exists(report.qemu_pid), "QEMU {} still runs", report.qemu_pid);
}

#[test]
fn uefi_boot_succeeds_with_the_firmwares_output_kept_apart_from_the_console() {
    let report = boot_with(Firmware::Uefi, 1, "hello", TEST_TIMEOUT);
    expect_outcome(&report, Outcome::Success);
    expect_line(&report, "max parallel: ");
    assert!(report.console[0].starts_with("spindle 0.1.0: kernel entered"), "{}", report.full_text());
    let everything = report.full_text();
    assert!(!everything.contains('\x1b'), "a control sequence got through: {everything:?}");
    assert!(!report.text().contains("BdsDxe"), "{everything}");
    // OVMF does print (it clears the screen and names the boot devices it
    // tried), and that is kept for whoever debugs a boot.
    assert!(report.firmware.iter().any(|l| l.starts_with("BdsDxe: ")), "{everything}");
}
