//! The console on COM1: `print!` and `println!` for the whole kernel.
//!
//! A `println!` writes its whole line while holding the console lock, so lines
//! from different cores never tear; a line is the unit of output. The `log`
//! facade prints here too, as `[level] message`.

use core::fmt::{self, Write};

use crate::arch::serial::Uart;
use crate::sync::spin::SpinLock;

static CONSOLE: SpinLock<Option<Uart>> = SpinLock::new(None);

/// Brings up COM1 and routes `log` to it.
pub fn init() {
    // SAFETY: this is the only place that creates the COM1 Uart, and it is
    // stored behind the console lock.
    *CONSOLE.lock() = Some(unsafe { Uart::console() });
    log::set_logger(&LOGGER).expect("console::init runs once");
    log::set_max_level(log::LevelFilter::Info);
}

struct TextWriter<'a>(&'a mut Uart);

impl Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_text(s.as_bytes());
        Ok(())
    }
}

/// Writes `args` (and a newline if `newline`) as one piece.
pub fn write(args: fmt::Arguments, newline: bool) {
    let mut console = CONSOLE.lock();
    if let Some(uart) = console.as_mut() {
        let mut out = TextWriter(uart);
        let _ = out.write_fmt(args);
        if newline {
            let _ = out.write_str("\n");
        }
    }
}

/// Writes a line from the panic path. Waits a bounded time for the console
/// lock; if its holder never lets go (it panicked while printing, or it was
/// stopped while holding it), takes the lock anyway: a panic message that is
/// garbled is better than one that is never seen.
pub fn write_from_panic(args: fmt::Arguments) {
    const ATTEMPTS: u32 = 10_000_000;
    for _ in 0..ATTEMPTS {
        if let Some(mut console) = CONSOLE.try_lock() {
            if let Some(uart) = console.as_mut() {
                let _ = TextWriter(uart).write_fmt(args);
            }
            return;
        }
        core::hint::spin_loop();
    }
    // SAFETY: the holder is stuck or stopped; the panic path is the last user.
    unsafe { CONSOLE.force_unlock() };
    write(args, false);
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::write(format_args!($($arg)*), false));
}

#[macro_export]
macro_rules! println {
    () => ($crate::console::write(format_args!(""), true));
    ($($arg:tt)*) => ($crate::console::write(format_args!($($arg)*), true));
}

struct ConsoleLogger;

static LOGGER: ConsoleLogger = ConsoleLogger;

impl log::Log for ConsoleLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            write(format_args!("[{}] {}", record.level(), record.args()), true);
        }
    }

    fn flush(&self) {}
}
