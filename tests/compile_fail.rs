//! Misuses of the routine API must not compile: thread-safety holes (a
//! `MutexGuard` shared between routines, non-`Send` values in channels,
//! mutexes and routine results) and Go divergences the compiler can stop
//! (an unlabeled `break`/`continue` in a `select!` arm).
//!
//! The kernel is a `no_std` binary for `x86_64-unknown-none`, so doctests
//! cannot do this. Instead its `compile-fail-checks` feature compiles
//! `kernel/src/misuse.rs`, one `misuse_*` function per misuse; this
//! test runs `cargo check` on the kernel with the feature, maps each error
//! to the function it points into, and asserts that every function got its
//! expected error and nothing else failed. Without the feature the kernel
//! must check clean. A separate target directory keeps these checks from
//! invalidating the kernel build the other tests boot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file of misuses, relative to the workspace root.
const MISUSES: &str = "kernel/src/misuse.rs";

/// Each misuse, the error code it must get ("" for none), and text its
/// message must contain (naming the type that makes it unsound, or the
/// rule it breaks).
const EXPECTED: &[(&str, &str, &str)] = &[
    ("misuse_shared_mutex_guard_of_a_cell", "E0277", "MutexGuard<'_, Cell<u64>>"),
    ("misuse_mutex_of_an_rc_shared", "E0277", "Mutex<Option<Rc<u64>>>"),
    ("misuse_channel_of_an_rc", "E0277", "`Rc<u64>` cannot be sent between threads safely"),
    ("misuse_routine_result_that_is_not_send", "E0277", "`Rc<u64>` cannot be sent between threads safely"),
    ("misuse_unlabeled_break_in_a_select_arm", "E0695", "unlabeled `break` inside of a labeled block"),
    ("misuse_unlabeled_break_in_a_select_default_arm", "E0695", "unlabeled `break` inside of a labeled block"),
    ("misuse_unlabeled_continue_in_a_select_arm", "E0695", "unlabeled `continue` inside of a labeled block"),
    // `compile_error!` has no code.
    ("misuse_two_default_cases_in_a_select", "", "select! takes at most one `default` case"),
];

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One error rustc reported: its code, file, line and full text.
#[derive(Debug)]
struct Error {
    code: String,
    file: String,
    line: u64,
    rendered: String,
}

/// Runs `cargo check` on the kernel (with `features`, if any) and returns
/// whether it succeeded and the errors it reported.
fn check_kernel(features: Option<&str>) -> (bool, Vec<Error>) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = workspace_root().join("target").join("compile-fail");
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args(["check", "-p", "kernel", "--target", "x86_64-unknown-none", "--profile", "kernel"])
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--message-format=json");
    if let Some(features) = features {
        command.args(["--features", features]);
    }
    let output = command.output().expect("cargo starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let errors = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-message" && msg["message"]["level"] == "error")
        .filter_map(|msg| {
            let message = &msg["message"];
            let mut span = message["spans"].as_array()?.iter().find(|s| s["is_primary"] == true)?;
            // An error raised inside a macro (`compile_error!` in `select!`)
            // counts where the misuse invoked it.
            while span["file_name"] != MISUSES && span["expansion"].is_object() {
                span = &span["expansion"]["span"];
            }
            Some(Error {
                code: message["code"]["code"].as_str().unwrap_or("").to_string(),
                file: span["file_name"].as_str()?.to_string(),
                line: span["line_start"].as_u64()?,
                rendered: message["rendered"].as_str().unwrap_or("").to_string(),
            })
        })
        .collect();
    if !output.status.success() && features.is_none() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    (output.status.success(), errors)
}

/// The `misuse_*` functions of `file` and the line each starts on.
fn misuse_functions(file: &Path) -> Vec<(String, u64)> {
    let source = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    source
        .lines()
        .zip(1..)
        .filter_map(|(line, number)| {
            let name = line.trim_start().strip_prefix("fn ")?.split('(').next()?;
            name.starts_with("misuse_").then(|| (name.to_string(), number))
        })
        .collect()
}

#[test]
fn each_misuse_fails_to_compile_with_its_expected_error() {
    let functions = misuse_functions(&workspace_root().join(MISUSES));
    let names: Vec<&str> = functions.iter().map(|(name, _)| name.as_str()).collect();
    let expected: Vec<&str> = EXPECTED.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(names, expected, "every misuse in {MISUSES} has one expectation here, in order");

    let (succeeded, errors) = check_kernel(Some("compile-fail-checks"));
    assert!(!succeeded, "the kernel compiled with every misuse in it");
    let mut by_function: BTreeMap<&str, Vec<&Error>> = BTreeMap::new();
    for error in &errors {
        let function = functions
            .iter()
            .rev()
            .find(|(_, start)| *start <= error.line)
            .filter(|_| error.file == MISUSES)
            .unwrap_or_else(|| panic!("an error outside the misuses:\n{}", error.rendered));
        by_function.entry(function.0.as_str()).or_default().push(error);
    }
    for (name, code, text) in EXPECTED {
        let got = by_function.get(name).map(Vec::as_slice).unwrap_or_default();
        let report: String = match got {
            [] => "no error: it compiled".to_string(),
            errors => errors.iter().map(|e| e.rendered.as_str()).collect(),
        };
        assert!(
            got.iter().any(|e| e.code == *code && e.rendered.contains(text)),
            "{name} should fail with {code} mentioning {text:?}; it got:\n{report}"
        );
    }
}

#[test]
fn the_kernel_checks_clean_without_the_misuses() {
    let (succeeded, errors) = check_kernel(None);
    assert!(succeeded && errors.is_empty(), "the kernel does not check clean: {errors:#?}");
}
