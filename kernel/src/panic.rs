//! The end of the road: panics and fatal faults.
//!
//! Whatever goes wrong, on whichever core, the same happens: the first core
//! to fail claims the right to report ([`STOPPING`]), stops every other core
//! with a non-maskable interrupt, prints one report naming itself, and ends
//! the run with failure. A core that fails while another is already
//! reporting just stops.

use core::fmt;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

use spindle_shared::exit::GuestExit;

use crate::arch::cpu::halt_forever;
use crate::arch::qemu_exit::exit_qemu;
use crate::{console, cpu, smp};

/// Set by the first core that fails; every later stop request halts.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// A failure that is not a Rust panic.
pub enum Fatal {
    /// A CPU exception in kernel or routine code.
    Exception { what: &'static str, ip: u64, address: Option<u64>, code: Option<u64> },
    /// A stack ran into its guard page at `address`.
    StackOverflow { address: u64 },
    /// No physical memory left.
    OutOfMemory,
}

/// Where the failure happened, for the report: "routine 5 on cpu 2" or "cpu 2".
struct Place;

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((routine, cpu)) = crate::sched::current_id() {
            write!(f, "routine {routine} on cpu {cpu}")
        } else if cpu::entered() {
            write!(f, "cpu {}", cpu::current().index)
        } else {
            f.write_str("cpu 0 (during start-up)")
        }
    }
}

/// Claims the report and stops the other cores; halts if another core
/// already claimed it. For every way a run ends: success, failure, deadlock.
pub fn stop_the_machine() {
    if STOPPING.swap(true, Ordering::AcqRel) {
        halt_forever();
    }
    smp::stop_others();
    console::machine_stopped();
}

/// What a core does on the stop NMI: halt, if a stop was requested.
pub fn on_stop_request() {
    if STOPPING.load(Ordering::Acquire) {
        halt_forever();
    }
    fatal(Fatal::Exception { what: "unexpected non-maskable interrupt", ip: 0, address: None, code: None })
}

/// Reports `fatal` and ends the run with failure.
pub fn fatal(fatal: Fatal) -> ! {
    stop_the_machine();
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
            let t = crate::sched::counters();
            console::write_report(format_args!(
                "fatal error: out of memory [{Place}]: {} routines live ({} spawned, {} finished)\n",
                t.spawned.saturating_sub(t.finished),
                t.spawned,
                t.finished
            ))
        }
    }
    crate::trace::dump();
    exit_qemu(GuestExit::Failure)
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

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    stop_the_machine();
    console::write_report(format_args!(
        "panic: {} [{Place}]{}\n",
        info.message(),
        Location(info.location())
    ));
    crate::trace::dump();
    exit_qemu(GuestExit::Failure)
}
