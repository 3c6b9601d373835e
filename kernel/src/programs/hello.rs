//! `hello`: the greeting. Until routines exist it shows what the kernel was
//! asked to do, which proves the command line made it across.

use spindle_shared::cmdline::Options;
use spindle_shared::exit::GuestExit;

use crate::arch::qemu_exit::exit_qemu;
use crate::println;

pub fn main(options: &Options) -> ! {
    println!("hello from spindle");
    println!("options: {options}");
    exit_qemu(GuestExit::Success)
}
