//! The end of the road: panics and fatal faults.
//!
//! Whatever goes wrong, on whichever core, the same happens: the first core
//! to fail claims the end of the run (see `crate::stop`, which also says
//! what may run from then on), prints one report naming the routine and the
//! core, and ends the run with failure.

use core::fmt;
use core::panic::PanicInfo;

use spindle_shared::exit::GuestExit;

use crate::console;
use crate::stop::{Place, claim, end_run, failed_while_stopping};

/// A failure that is not a Rust panic.
pub enum Fatal {
    /// A CPU exception in kernel or routine code.
    Exception { what: &'static str, ip: u64, address: Option<u64>, code: Option<u64> },
    /// A stack ran into its guard page at `address`.
    StackOverflow { address: u64 },
    /// No physical memory left.
    OutOfMemory,
}

/// Reports `fatal` and ends the run with failure.
pub fn fatal(fatal: Fatal) -> ! {
    if !claim() {
        failed_while_stopping(format_args!("{}", FatalSummary(&fatal)));
    }
    match fatal {
        Fatal::Exception { what, ip, address, code } => console::write_report(format_args!(
            "fatal error: {what} [{Place}]: ip {ip:#x}{}{}\n",
            Field(", address", address),
            Field(", error code", code)
        )),
        Fatal::StackOverflow { address } => console::write_report(format_args!(
            "fatal error: stack overflow in {Place} (guard page hit at {address:#x})\n"
        )),
        Fatal::OutOfMemory => {
            let t = crate::sched::stats::totals();
            console::write_report(format_args!(
                "fatal error: out of memory [{Place}]: {} routines live ({} spawned, {} finished)\n",
                t.spawned.saturating_sub(t.finished),
                t.spawned,
                t.finished
            ))
        }
    }
    end_run(GuestExit::Failure)
}

/// A fatal error in a few words, for a failure while ending the run.
struct FatalSummary<'a>(&'a Fatal);

impl fmt::Display for FatalSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Fatal::Exception { what, ip, address, .. } => {
                write!(f, "{what}: ip {ip:#x}{}", Field(", address", *address))
            }
            Fatal::StackOverflow { address } => write!(f, "stack overflow (guard page hit at {address:#x})"),
            Fatal::OutOfMemory => f.write_str("out of memory"),
        }
    }
}

/// An optional hexadecimal field of a report: ", name 0x1f", or nothing.
struct Field(&'static str, Option<u64>);

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(value) => write!(f, "{} {value:#x}", self.0),
            None => Ok(()),
        }
    }
}

/// " at file:line", or nothing.
struct Location<'a>(Option<&'a core::panic::Location<'a>>);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(at) => write!(f, " at {}:{}", at.file(), at.line()),
            None => Ok(()),
        }
    }
}

// The kernel's panic handler, on its own target only: a host check of the
// workspace (`cargo check --workspace --all-targets`, what rust-analyzer
// runs) links std, which brings its own; there the body is still checked.
#[cfg_attr(target_os = "none", panic_handler)]
#[cfg_attr(not(target_os = "none"), expect(dead_code, reason = "std is the handler on the host"))]
fn panic(info: &PanicInfo) -> ! {
    if !claim() {
        failed_while_stopping(format_args!("panic: {}{}", info.message(), Location(info.location())));
    }
    console::write_report(format_args!("panic: {} [{Place}]{}\n", info.message(), Location(info.location())));
    end_run(GuestExit::Failure)
}
