//! Ending the run: report success or failure to QEMU's `isa-debug-exit`
//! device, which makes QEMU exit with a status the host maps back.

use spindle_shared::exit::{DEBUG_EXIT_PORT, GuestExit};
use x86_64::instructions::port::Port;

use super::interrupts::halt_forever;

/// Tells QEMU to exit with `exit`'s status. If the machine has no
/// `isa-debug-exit` device (an image booted by hand), the write does nothing
/// and this core halts instead.
pub fn exit_qemu(exit: GuestExit) -> ! {
    let mut port = Port::<u32>::new(DEBUG_EXIT_PORT);
    // SAFETY: writing to the debug-exit port has no effect on memory; with the
    // device present QEMU stops here, without it the write is ignored.
    unsafe { port.write(exit as u32) };
    halt_forever()
}
