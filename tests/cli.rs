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
fn missing_qemu_is_explained_with_the_install_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_spindle"))
        .env("SPINDLE_QEMU", "/nonexistent/qemu-system-x86_64")
        .output()
        .expect("spindle runs");
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(err.contains("is not installed"), "{err}");
    assert!(err.contains("apt-get install qemu-system-x86"), "{err}");
}

#[test]
fn successful_run_exits_zero_and_streams_the_console() {
    let out = spindle(&["hello", "--smp", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("max parallel: "));
}

#[test]
fn kernel_failure_exits_one_with_a_reason() {
    let out = spindle(&["fault", "--smp", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the kernel reported failure"), "{}", stderr(&out));
}
