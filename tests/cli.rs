//! The `spindle` command as a person meets it: listing, refusing bad
//! arguments before booting, and saying what to install when QEMU is missing.

use std::process::{Command, Output};

fn spindle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spindle")).args(args).output().expect("spindle runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn list_names_every_program_with_a_description() {
    let out = spindle(&["--list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for program in spindle_shared::programs::PROGRAMS {
        let line = text.lines().find(|l| l.starts_with(program.name)).expect(program.name);
        assert!(line.contains(program.about), "{line}");
    }
}

#[test]
fn list_shows_the_kinds_each_program_takes() {
    let out = spindle(&["--list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    for program in spindle_shared::programs::PROGRAMS.iter().filter(|p| !p.kinds.is_empty()) {
        let at = lines.iter().position(|l| l.starts_with(program.name)).expect(program.name);
        let kinds = lines[at + 1].trim();
        assert_eq!(kinds, format!("--kind: {}", program.kinds.join(", ")), "{text}");
    }
    assert!(text.contains("--kind: panic, ap-panic, stack-overflow, page-fault"), "{text}");
}

/// Runs spindle with a cargo that cannot start: a refusal that comes
/// before the build exits with its own status, one after it with 5.
fn spindle_without_building(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spindle"))
        .args(args)
        .env("CARGO", "/nonexistent/cargo")
        .output()
        .expect("spindle runs")
}

#[test]
fn a_mistyped_program_gets_the_nearest_name() {
    let out = spindle_without_building(&["helo"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown program 'helo' (did you mean 'hello'?); valid programs: hello, "), "{err}");
    let out = spindle_without_building(&["fault", "--kind", "pnic"]);
    let err = stderr(&out);
    assert!(
        err.contains("unknown kind 'pnic' for program fault (did you mean 'panic'?); valid kinds: panic, "),
        "{err}"
    );
}

#[test]
fn out_of_range_values_are_named_in_the_commands_own_syntax() {
    for (args, message) in [
        (&["hello", "--n", "0"][..], "--n 0 is out of range; valid: 1 to 100000000"),
        (&["hello", "--slice", "0"][..], "--slice 0 is out of range; valid: 1 to 1000"),
        (&["hello", "--trace-buf", "8"][..], "--trace-buf 8 is out of range; valid: 16 to "),
        (&["hello", "--kind", "x"][..], "program hello takes no --kind, but got --kind x"),
    ] {
        let out = spindle_without_building(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains('='), "kernel syntax in {err}");
    }
}

#[test]
fn an_unwritable_trace_or_timeline_path_is_refused_before_booting() {
    for flag in ["--trace", "--timeline"] {
        let out = spindle_without_building(&["hello", flag, "/nonexistent/t.json"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("{flag} /nonexistent/t.json: directory /nonexistent does not exist")), "{err}");
    }
    let dir = std::env::temp_dir();
    let out = spindle_without_building(&["hello", "--trace", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
}

#[test]
fn too_little_memory_is_refused_with_the_least_that_boots() {
    let out = spindle_without_building(&["hello", "--memory", "16"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "--memory 16 is too little to boot: with BIOS firmware and --smp 4 the machine needs at least 34 MiB"
        ),
        "{}",
        stderr(&out)
    );
    let out = spindle_without_building(&["hello", "--memory", "48", "--uefi"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("with UEFI firmware and --smp 4 the machine needs at least 66 MiB"),
        "{}",
        stderr(&out)
    );
    // Each processor brings its own stacks.
    let out = spindle_without_building(&["hello", "--smp", "255", "--memory", "64"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("with BIOS firmware and --smp 255 the machine needs at least 128 MiB"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_program_is_refused_naming_it_and_the_valid_ones() {
    let out = spindle(&["nosuchprogram"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown program 'nosuchprogram'"), "{err}");
    assert!(err.contains("hello"), "{err}");
}

#[test]
fn zero_cpus_is_refused() {
    let out = spindle(&["--cpus", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--cpus 0 is out of range; valid: 1 to 4"), "{}", stderr(&out));
}

#[test]
fn more_processors_than_an_xapic_machine_has_are_refused() {
    let out = spindle(&["--smp", "256"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--smp 256 is out of range; valid: 1 to 255"), "{}", stderr(&out));
}

#[test]
fn more_cpus_than_processors_is_refused() {
    let out = spindle(&["--smp", "2", "--cpus", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--cpus 3 is out of range; valid: 1 to 2"), "{}", stderr(&out));
}

#[test]
fn malformed_number_is_refused_by_the_argument_parser() {
    let out = spindle(&["--smp", "many"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("'many'"), "{}", stderr(&out));
}

#[test]
fn unknown_kind_is_refused_with_the_valid_kinds() {
    let out = spindle(&["fault", "--kind", "explode"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown kind 'explode'") && err.contains("panic"), "{err}");
}

#[test]
fn missing_qemu_is_explained_with_the_install_command_before_building() {
    let empty = std::env::temp_dir().join(format!("spindle-empty-path-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_spindle"))
        .env("PATH", &empty)
        .env_remove("SPINDLE_QEMU")
        // A runner that built first would fail to start cargo: exit 5, not 4.
        .env("CARGO", "/nonexistent/cargo")
        .output()
        .expect("spindle runs");
    let _ = std::fs::remove_dir(&empty);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("qemu-system-x86_64 is not installed (not found on PATH)"), "{err}");
    assert!(err.contains("apt-get install qemu-system-x86"), "{err}");
}

#[test]
fn a_spindle_qemu_path_that_does_not_exist_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_spindle"))
        .env("SPINDLE_QEMU", "/nonexistent/qemu-system-x86_64")
        .env("CARGO", "/nonexistent/cargo")
        .env("PATH", "/nonexistent")
        .output()
        .expect("spindle runs");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("SPINDLE_QEMU=/nonexistent/qemu-system-x86_64: no such file"), "{err}");
    assert!(!err.contains("is not installed"), "{err}");
}

#[test]
fn missing_uefi_firmware_is_reported_before_building() {
    let out = Command::new(env!("CARGO_BIN_EXE_spindle"))
        .args(["--uefi"])
        .env("SPINDLE_OVMF", "/nonexistent/OVMF_CODE.fd")
        .env("CARGO", "/nonexistent/cargo")
        .output()
        .expect("spindle runs");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("SPINDLE_OVMF=/nonexistent/OVMF_CODE.fd: no such file"), "{err}");
}

#[test]
fn successful_run_exits_zero_and_streams_the_console() {
    let out = spindle(&["hello", "--smp", "1", "--timeout", "300"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("max parallel: "));
}

#[test]
fn quiet_shows_only_the_programs_summary_not_even_the_kernels_first_line() {
    let out = spindle(&["hello", "--smp", "1", "--quiet", "--timeout", "300"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", stderr(&out));
    assert!(stdout.contains("max parallel: 1"), "{stdout}");
    assert!(!stdout.contains("kernel entered"), "{stdout}");
    assert!(stdout.lines().all(|l| !l.starts_with("[cpu ")), "{stdout}");
}

#[test]
fn kernel_failure_exits_one_with_a_reason() {
    let out = spindle(&["fault", "--smp", "1", "--timeout", "300"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the kernel reported failure"), "{}", stderr(&out));
}

#[test]
fn icount_given_twice_is_refused_before_the_build() {
    let out = spindle_without_building(&["hello", "--icount", "--qemu-arg=-icount", "--qemu-arg=shift=0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--icount and --qemu-arg=-icount both set QEMU's icount; give only --icount"), "{err}");
}

#[test]
fn replay_with_kvm_or_with_icount_given_by_hand_is_refused_before_the_build() {
    let out = spindle_without_building(&["fanout", "--replay", "--accel", "kvm"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--replay cannot run with --accel kvm: it counts guest instructions (QEMU's -icount)"),
        "{err}"
    );
    let out = spindle_without_building(&["fanout", "--replay", "--qemu-arg=-icount", "--qemu-arg=shift=0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--replay and --qemu-arg=-icount both set QEMU's icount; give only --replay"), "{err}");
    let out = spindle_without_building(&["hello", "--icount", "--accel", "kvm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--icount cannot run with --accel kvm"), "{}", stderr(&out));
}
