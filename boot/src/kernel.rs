//! Building the kernel ELF.
//!
//! The kernel is its own package in the workspace, built by a nested
//! `cargo build -p kernel --target x86_64-unknown-none --profile kernel`.
//! The `kernel` profile (top-level Cargo.toml) is optimised whatever profile
//! the host was built with, so tests, `cargo run` and benchmarks boot the
//! same kernel.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::workspace_root;

/// The target the kernel is compiled for.
pub const TARGET: &str = "x86_64-unknown-none";
/// The cargo profile the kernel is compiled with.
pub const PROFILE: &str = "kernel";

/// Builds the kernel (cargo decides whether anything changed) and returns the
/// ELF's path. A failed build returns cargo's diagnostics.
pub fn build() -> Result<PathBuf, String> {
    build_in(&workspace_root(), None)
}

/// Builds the kernel of the project tree at `root` (another copy of this
/// workspace: a lab grader grades students' trees this way), into
/// `target_dir` if given, else where cargo would put it.
pub fn build_in(root: &Path, target_dir: Option<&Path>) -> Result<PathBuf, String> {
    // Under `cargo run`/`cargo test`, CARGO is the cargo that built us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command.current_dir(root).args(["build", "-p", "kernel", "--target", TARGET, "--profile", PROFILE]);
    if let Some(dir) = target_dir {
        command.arg("--target-dir").arg(dir);
    }
    let output = command
        .args(["--message-format=json-render-diagnostics", "--quiet"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start {}: {e}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!("building the kernel failed ({})", output.status));
    }
    executable_from_messages(&String::from_utf8_lossy(&output.stdout))
        .ok_or_else(|| "cargo built the kernel but reported no executable".to_string())
}

/// Builds the kernel once per process; later calls return the first result.
pub fn build_once() -> Result<PathBuf, String> {
    static ELF: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ELF.get_or_init(build).clone()
}

/// Finds the kernel executable in cargo's JSON messages.
fn executable_from_messages(stdout: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "kernel")
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
            executable_from_messages(messages),
            Some(PathBuf::from("/t/x86_64-unknown-none/kernel/kernel"))
        );
        assert_eq!(executable_from_messages(r#"{"reason":"build-finished"}"#), None);
    }
}
