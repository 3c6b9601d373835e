//! The host half of Spindle: everything between `cargo run` and the guest.
//!
//! - [`kernel`]: build the kernel ELF with a nested cargo for `x86_64-unknown-none`;
//! - [`image`]: wrap it into BIOS and UEFI disk images (the `bootloader` crate);
//! - [`qemu`]: the QEMU command line for a [`Machine`];
//! - [`run`]: start QEMU, stream and capture the console, enforce the timeout,
//!   and map QEMU's exit status to an [`Outcome`];
//! - [`trace`]: decode the kernel's scheduler trace into Chrome JSON, an SVG
//!   timeline and statistics.
//!
//! The `spindle` CLI and the integration tests in `tests/` are both thin
//! layers over these functions.

pub mod image;
pub mod kernel;
pub mod qemu;
pub mod run;
pub mod trace;

pub use image::Firmware;
pub use qemu::{Accel, Machine};
pub use run::{Outcome, Run, RunError};

use std::path::PathBuf;

/// The workspace root (where the top-level Cargo.toml is).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("boot/ lives inside the workspace")
        .to_path_buf()
}

/// Builds the kernel and the disk image for `firmware`, once per process.
/// Returns the kernel ELF (for gdb symbols) and the image to boot.
pub fn prepare(firmware: Firmware) -> Result<(PathBuf, PathBuf), String> {
    let elf = kernel::build_once()?;
    let image = image::create_once(&elf, firmware)?;
    Ok((elf, image))
}
