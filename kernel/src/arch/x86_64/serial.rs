//! The serial ports, 16550 UARTs: COM1 is the console a person reads (QEMU
//! connects it to the host's standard output, `-serial stdio`); COM2 carries
//! machine data, the scheduler trace, to a file (`-serial file:...`).
//!
//! This module only moves bytes; locking and line discipline are the
//! console's (`crate::console`).

use uart_16550::SerialPort;
use x86_64::instructions::port::Port;

/// I/O base of COM1, the console (`-serial stdio`).
const COM1: u16 = 0x3f8;
/// I/O base of COM2, the machine-data channel.
const COM2: u16 = 0x2f8;

/// Whether a 16550 answers at `base`: its scratch register (offset 7) keeps
/// what is written to it; an absent port reads back 0xFF.
fn present(base: u16) -> bool {
    let mut scratch = Port::<u8>::new(base + 7);
    // SAFETY: the scratch register has no effect on the device.
    unsafe {
        scratch.write(0x5A);
        scratch.read() == 0x5A
    }
}

/// A serial port by name.
pub struct Uart(SerialPort);

impl Uart {
    /// The console port, initialised.
    ///
    /// # Safety
    /// The caller makes sure one `Uart` for COM1 is in use at a time.
    pub unsafe fn console() -> Uart {
        // SAFETY: COM1 is a 16550 on every PC QEMU emulates; exclusivity is the caller's.
        Uart::init(unsafe { SerialPort::new(COM1) })
    }

    /// The machine-data port, initialised, if the machine has one (QEMU
    /// only adds COM2 when given a second `-serial`).
    ///
    /// # Safety
    /// The caller makes sure one `Uart` for COM2 is in use at a time.
    pub unsafe fn data() -> Option<Uart> {
        if !present(COM2) {
            return None;
        }
        // SAFETY: a 16550 answered at COM2's address.
        Some(Uart::init(unsafe { SerialPort::new(COM2) }))
    }

    fn init(mut port: SerialPort) -> Uart {
        port.init();
        Uart(port)
    }

    /// Sends text; `\n` goes out as `\r\n`.
    pub fn write_text(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0.send(b);
        }
    }

    /// Sends bytes exactly as given.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0.send_raw(b);
        }
    }
}
