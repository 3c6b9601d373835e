//! Runs the loom model checks of the lock-free run queue
//! (`kernel/shared/src/runq/tests.rs`, module `model`): every interleaving
//! of owner push/pop, overflow and concurrent steals on small rings.
//!
//! loom needs the whole crate built with `--cfg loom`, so this test drives a
//! nested cargo with its own target directory (target/loom) rather than
//! rebuilding the workspace with that flag.

use std::process::Command;

#[test]
fn run_queue_is_model_checked_under_loom() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .env("RUSTFLAGS", "--cfg loom")
        .args(["test", "-p", "spindle-shared", "--release", "--target-dir"])
        .arg(root.join("target/loom"))
        .args(["runq::tests::model", "--", "--test-threads=1"])
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "loom run failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("test result: ok. 3 passed"), "expected the 3 model checks to run:\n{stdout}");
}
