//! What `cargo test -p kernel` runs. The kernel itself only builds for
//! `x86_64-unknown-none` and only runs in QEMU (its binary is `test =
//! false`), so its package has this library beside it: empty for the
//! kernel's target, and on the host one test, which builds the kernel and
//! boots its own tests (the `ktest` program, `kernel/src/ktest.rs`), the
//! way `tests/kernel_tests.rs` does under the root `cargo test`.
#![no_std]

#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests {
    use std::println;

    /// Processors each boot gets: the most any kernel test needs.
    const SMP: u32 = 4;

    #[test]
    fn the_kernels_own_tests_pass_in_qemu() {
        let results = spindle_boot::ktest::run_in_qemu("all", SMP).unwrap_or_else(|e| panic!("{e}"));
        for line in &results.lines {
            println!("{line}");
        }
        println!("{}", results.summary());
        let failed = results.failed();
        assert!(failed.is_empty(), "kernel tests failed: {failed:?}\n{}", results.lines.join("\n"));
        assert!(!results.tests.is_empty(), "no kernel test ran");
    }
}
