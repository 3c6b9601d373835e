//! `spindle-uefi-image KERNEL IMAGE CONFIG`: wraps the kernel ELF into a
//! UEFI (GPT) bootable disk image, with the bootloader settings CONFIG (JSON,
//! `bootloader_boot_config::BootConfig`).
//!
//! A program of its own, not a part of spindle-boot: the `bootloader`
//! crate compiles its UEFI loader in its build script, which takes about a
//! minute and a half on two cores. The runner builds this program the first
//! time a run asks for `--uefi`, so a first `cargo run` (BIOS) does not pay
//! for it.

use std::path::PathBuf;
use std::process::ExitCode;

use bootloader::{BootConfig, DiskImageBuilder};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kernel, image, config] = &args[..] else {
        eprintln!("usage: spindle-uefi-image KERNEL IMAGE CONFIG_JSON");
        return ExitCode::from(2);
    };
    let config: BootConfig = match serde_json::from_str(config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("spindle-uefi-image: the boot config is not valid JSON for BootConfig: {e}");
            return ExitCode::from(2);
        }
    };
    let mut builder = DiskImageBuilder::new(PathBuf::from(kernel));
    builder.set_boot_config(&config);
    match builder.create_uefi_image(&PathBuf::from(image)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spindle-uefi-image: making {image} from {kernel}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
