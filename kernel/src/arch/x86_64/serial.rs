//! The serial console: COM1, a 16550 UART, which QEMU connects to the
//! host's standard output (`-serial stdio`).
//!
//! This module only moves bytes; locking and line discipline are the
//! console's (`crate::console`).

use uart_16550::SerialPort;

/// I/O base of COM1, the console (`-serial stdio`).
const COM1: u16 = 0x3f8;

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

}
