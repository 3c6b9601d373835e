//! Spindle: a multicore kernel that runs Go-style routines.
//!
//! The bootloader (`bootloader` 0.11, BIOS or UEFI) loads this ELF, maps all
//! physical memory at an offset, and calls [`kernel_main`] on the bootstrap
//! core. From there the kernel brings itself up in the order below, then runs
//! the program named on the command line. Application processors enter at
//! [`ap_main`].
#![no_std]
#![no_main]
#![feature(abi_x86_interrupt)]

extern crate alloc;

mod api;
mod arch;
mod cmdline;
mod console;
mod cpu;
mod ktest;
mod lock;
mod mem;
#[cfg(feature = "compile-fail-checks")]
mod misuse;
mod panic;
mod programs;
mod sched;
mod smp;
mod stop;
mod sync;
mod time;
mod trace;
mod trap;

use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::{BootInfo, entry_point};

/// Stack the bootloader gives the bootstrap core, in bytes.
const BOOT_STACK_SIZE: u64 = 256 * 1024;
/// Where the kernel runs: its ELF addresses (a position-independent
/// executable, linked at 0) plus this. Left to the bootloader, the base was
/// the first free 512 GiB slot, 0x100_0000_0000 under BIOS but
/// 0x80_0000_0000 under UEFI; fixed here, the runner reads it from this
/// config in the ELF (section `.bootloader-config`) to give gdb and fault
/// reports the right symbols.
const KERNEL_BASE: u64 = 0x100_0000_0000;

const BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.kernel_base = Mapping::FixedAddress(KERNEL_BASE);
    // The kernel reaches page tables, ACPI tables and frames through this map.
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.kernel_stack_size = BOOT_STACK_SIZE;
    config
};

entry_point!(kernel_main, config = &BOOTLOADER_CONFIG);

fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    let entry_tsc = time::read_tsc(); // the moment the kernel got control
    console::init(); // COM1 console, `log` routed to it
    println!("spindle {}: kernel entered", env!("CARGO_PKG_VERSION"));
    let options = cmdline::load(); // program and options from fw_cfg, or exit with an error
    console::set_quiet(options.quiet);
    println!("options: {options}");
    mem::init(boot_info); // frames, page tables, heap, stack region
    cpu::create(arch::apic::id_from_cpuid()).enter(0); // GDT, TSS, IDT, GS for this core
    trap::init(); // what the timer and wake-up interrupts call
    let (hz, source) = time::init(entry_tsc); // TSC frequency: the clock
    println!("time: TSC {}.{:03} GHz ({source})", hz / 1_000_000_000, hz / 1_000_000 % 1000);
    let online = smp::bring_up(boot_info.rsdp_addr.into_option(), ap_main, options.replay); // APIC, timers, other cores
    println!(
        "smp: {online} cores online, {} us after kernel entry; cores that ran their own code: {}",
        smp::all_online_ns() / 1000,
        smp::ran_own_code()
    );
    programs::run(options, online) // the program's main as routine 1, on the scheduler
}

/// Where each application processor arrives, on its own stack, once its
/// descriptor tables and local APIC are set up.
fn ap_main(cpu: &'static cpu::Cpu) -> ! {
    smp::ap_start(cpu); // calibrate and check this core's timer
    sched::enter_from_ap() // run routines once the scheduler starts
}
