//! Building the kernel ELF.
//!
//! The kernel is its own package in the workspace, built by a nested
//! `cargo build -p kernel --target x86_64-unknown-none --profile P`. Each
//! kernel profile (top-level Cargo.toml) is optimised whatever profile the
//! host was built with. `cargo run` boots `kernel` (built incrementally, so
//! an edit rebuilds fast); benchmarks boot `kernel-bench`, the same code as
//! one codegen unit, whose instruction counts an unrelated edit cannot move
//! (see [`for_benchmarks`]); the integration tests boot `kernel-checked`,
//! `kernel` with debug assertions on (see [`check_invariants`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::workspace_root;

/// The target the kernel is compiled for.
pub const TARGET: &str = "x86_64-unknown-none";
/// The cargo profile the kernel is compiled with.
pub const PROFILE: &str = "kernel";
/// The profile with the kernel's debug assertions on, for tests.
pub const CHECKED_PROFILE: &str = "kernel-checked";
/// The profile that compiles the kernel as one unit, for benchmarks.
pub const BENCH_PROFILE: &str = "kernel-bench";

/// Which profile this process builds: 0 [`PROFILE`], 1 [`CHECKED_PROFILE`],
/// 2 [`BENCH_PROFILE`]. Set before the first build.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// From now on this process builds and boots the kernel with its debug
/// assertions on (profile `kernel-checked`): what the integration tests
/// do. Call before the first build.
pub fn check_invariants() {
    CHOSEN.store(1, Ordering::Relaxed);
}

/// From now on this process builds and boots the kernel as one codegen
/// unit (profile `kernel-bench`), whose hot paths compile to the same code
/// whatever else in the kernel changed: what `bench` and the instruction
/// budgets need. Call before the first build.
pub fn for_benchmarks() {
    CHOSEN.store(2, Ordering::Relaxed);
}

/// The profile this process builds the kernel with.
pub fn profile() -> &'static str {
    match CHOSEN.load(Ordering::Relaxed) {
        1 => CHECKED_PROFILE,
        2 => BENCH_PROFILE,
        _ => PROFILE,
    }
}

/// Whether a nested cargo shows its progress. The `spindle` command shows
/// it (a first build compiles the kernel's dependencies for a minute or
/// more, and silence would look like a hang); tests keep it quiet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Shown,
    Quiet,
}

/// Builds the kernel (cargo decides whether anything changed) and returns the
/// ELF's path. A failed build returns cargo's diagnostics.
pub fn build(progress: Progress) -> Result<PathBuf, String> {
    build_in(&workspace_root(), None, progress)
}

/// Builds the kernel of the project tree at `root` (another copy of this
/// workspace: a lab grader grades students' trees this way), into
/// `target_dir` if given, else where cargo would put it.
pub fn build_in(root: &Path, target_dir: Option<&Path>, progress: Progress) -> Result<PathBuf, String> {
    let mut args = vec!["-p", "kernel", "--target", TARGET, "--profile", profile()];
    let target_dir = target_dir.map(|dir| dir.to_string_lossy().into_owned());
    if let Some(dir) = &target_dir {
        args.extend(["--target-dir", dir]);
    }
    let messages = cargo_build_in(root, &args, progress).map_err(|e| format!("building the kernel: {e}"))?;
    executable_from_messages(&messages, "kernel")
        .ok_or_else(|| "cargo built the kernel but reported no executable".to_string())
}

/// Runs `cargo build ARGS` in the workspace, its diagnostics (and with
/// `Progress::Shown` its progress) on our stderr, and returns its JSON
/// messages.
pub(crate) fn cargo_build(args: &[&str], progress: Progress) -> Result<String, String> {
    cargo_build_in(&workspace_root(), args, progress)
}

/// [`cargo_build`] in the workspace at `root`.
fn cargo_build_in(root: &Path, args: &[&str], progress: Progress) -> Result<String, String> {
    // Under `cargo run`/`cargo test`, CARGO is the cargo that built us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(root)
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit());
    if progress == Progress::Quiet {
        command.arg("--quiet");
    }
    let output = command.output().map_err(|e| format!("could not start {}: {e}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!("cargo build {} failed ({})", args.join(" "), output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Builds the kernel once per process; later calls return the first result.
pub fn build_once(progress: Progress) -> Result<PathBuf, String> {
    static ELF: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ELF.get_or_init(|| build(progress)).clone()
}

/// Finds the executable of target `name` in cargo's JSON messages.
pub(crate) fn executable_from_messages(stdout: &str, name: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == name)
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_executable_is_found_among_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"spin"},"executable":null}
{"reason":"compiler-artifact","target":{"name":"kernel"},"executable":"/t/x86_64-unknown-none/kernel/kernel"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable_from_messages(messages, "kernel"),
            Some(PathBuf::from("/t/x86_64-unknown-none/kernel/kernel"))
        );
        assert_eq!(executable_from_messages(messages, "spin"), None, "a library has no executable");
        assert_eq!(executable_from_messages(r#"{"reason":"build-finished"}"#, "kernel"), None);
    }
}
