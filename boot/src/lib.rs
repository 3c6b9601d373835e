//! The host half of Spindle: everything between `cargo run` and the guest.
//!
//! - [`kernel`]: build the kernel ELF with a nested cargo for `x86_64-unknown-none`;
//! - [`image`]: wrap it into BIOS and UEFI disk images (the `bootloader` crate);
//! - [`symbols`]: the kernel's addresses as source lines, and its load offset;
//! - [`qemu`]: the QEMU command line for a [`Machine`];
//! - [`gdb`]: a free port for QEMU's gdb stub and a gdb script that works;
//! - [`run`]: start QEMU, stream and capture the console, enforce the timeout,
//!   and map QEMU's exit status to an [`Outcome`] (`outcome`);
//! - `stopping`: stop a guest past its deadline or on Ctrl-C, asking the
//!   kernel for its trace first, through [`qmp`] (QEMU's control socket);
//! - [`trace`]: decode the kernel's scheduler trace into Chrome JSON, an SVG
//!   timeline and statistics;
//! - [`ktest`]: run the kernel's own unit tests to the end, booting again after a failure.
//!
//! The `spindle` CLI and the integration tests in `tests/` are both thin
//! layers over these functions.

pub mod gdb;
pub mod image;
pub mod kernel;
pub mod ktest;
mod outcome;
pub mod qemu;
pub mod qmp;
pub mod run;
mod stopping;
pub mod symbols;
pub mod trace;

pub use image::Firmware;
pub use kernel::Progress;
pub use qemu::{Accel, Machine};
pub use run::{HostStop, Outcome, Run, RunError, RunnerExit};

use std::path::PathBuf;

/// The workspace root (where the top-level Cargo.toml is).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("boot/ lives inside the workspace").to_path_buf()
}

/// Where the runner keeps the files of its runs (raw traces, gdb scripts):
/// `target/spindle/`, inside the project, never the shared temporary directory.
pub fn runs_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    };
    target.join("spindle")
}

/// The file the `spindle` process `pid` has QEMU write the raw scheduler
/// trace to (COM2); removed when the run ends.
pub fn raw_trace_file(pid: u32) -> PathBuf {
    runs_dir().join(format!("trace-{pid}.bin"))
}

/// Builds the kernel and the disk image for `firmware`, once per process.
/// Returns the kernel ELF (for gdb symbols) and the image to boot.
pub fn prepare(firmware: Firmware, progress: Progress) -> Result<(PathBuf, PathBuf), String> {
    let elf = kernel::build_once(progress)?;
    let image = image::create_once(&elf, firmware, progress)?;
    Ok((elf, image))
}
