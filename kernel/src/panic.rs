//! What happens when kernel code panics: the message and where it came from
//! go to the console, and the run ends with failure.

use core::panic::PanicInfo;

use spindle_shared::exit::GuestExit;

use crate::arch::qemu_exit::exit_qemu;
use crate::console;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    match info.location() {
        Some(at) => console::write_from_panic(format_args!(
            "panic: {} at {}:{}\n",
            info.message(),
            at.file(),
            at.line()
        )),
        None => console::write_from_panic(format_args!("panic: {}\n", info.message())),
    }
    exit_qemu(GuestExit::Failure)
}
