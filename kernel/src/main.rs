//! Spindle: a multicore kernel that runs Go-style routines.
//!
//! The bootloader (`bootloader` 0.11, BIOS or UEFI) loads this ELF, maps all
//! physical memory at an offset, and calls [`kernel_main`] on the bootstrap
//! core. From there the kernel brings itself up in the order below, then runs
//! the program named on the command line.
#![no_std]
#![no_main]

mod arch;
mod cmdline;
mod console;
mod panic;
mod programs;
mod sync;

use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::{BootInfo, entry_point};

/// Stack the bootloader gives the bootstrap core, in bytes.
const BOOT_STACK_SIZE: u64 = 256 * 1024;

const BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    // The kernel reaches page tables, ACPI tables and frames through this map.
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.kernel_stack_size = BOOT_STACK_SIZE;
    config
};

entry_point!(kernel_main, config = &BOOTLOADER_CONFIG);

fn kernel_main(_boot_info: &'static mut BootInfo) -> ! {
    console::init(); // COM1 console, `log` routed to it
    println!("spindle {}: kernel entered", env!("CARGO_PKG_VERSION"));
    let options = cmdline::load(); // program and options from fw_cfg, or exit with an error
    programs::run(&options)
}
