//! The end of the road: panics and fatal faults.
//!
//! Whatever goes wrong, on whichever core, the same happens: the first core
//! to fail claims the right to end the run ([`STOPPER`]), stops every other
//! core with a non-maskable interrupt, prints one report naming itself, and
//! ends the run with failure. A core that fails while another is already
//! ending the run just stops. If the core ending the run fails again on the
//! way (a fault while it writes the report or sends the trace), it reports
//! that too, briefly, and ends the run with failure at once: it never halts
//! and leaves QEMU to run into the host's timeout.
//!
//! # The stop path
//!
//! From the claim on, the other cores are stopped wherever they were,
//! maybe holding a lock (the heap's, the frame allocator's, a run queue's).
//! So nothing that runs on the way out may take a lock but the console's,
//! which is taken by force once the machine is stopped, and nothing may
//! allocate: the exit summary, the deadlock report, the fault reports and
//! the trace dump read atomics and fixed memory only. The heap enforces it
//! (see `mem::heap`): an allocation on the stop path never waits for the
//! heap's lock.

use core::fmt;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use spindle_shared::exit::GuestExit;

use crate::arch::cpu::halt_forever;
use crate::arch::qemu_exit::exit_qemu;
use crate::{console, cpu, smp};

/// Which core is ending the run: 0 none yet, else its index plus one.
static STOPPER: AtomicUsize = AtomicUsize::new(0);
/// Failures of the stopping core after its first: the second is reported,
/// a third (a report that itself fails) ends the run without a message.
static FAILED_WHILE_STOPPING: AtomicU32 = AtomicU32::new(0);

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
            write!(f, "cpu {}", cpu::index())
        } else {
            f.write_str("cpu 0 (during start-up)")
        }
    }
}

/// This core's value in [`STOPPER`].
fn stopper_tag() -> usize {
    // Before the bootstrap core entered its `Cpu`, only it runs.
    if cpu::entered() { cpu::index() + 1 } else { 1 }
}

/// Whether the running core is the one ending the run: it is then on the
/// stop path, where nothing may wait for a lock another core may hold.
pub fn on_stop_path() -> bool {
    STOPPER.load(Ordering::Acquire) == stopper_tag()
}

/// Claims the end of the run and stops the other cores. Returns `false` if
/// this core had claimed it already (it failed on the way out); halts if
/// another core had. For every way a run ends: success, failure, deadlock.
#[must_use = "false means this core failed while ending the run"]
fn claim_the_end() -> bool {
    let me = stopper_tag();
    match STOPPER.compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            smp::stop_others();
            console::machine_stopped();
            true
        }
        Err(stopper) if stopper == me => false,
        Err(_) => halt_forever(),
    }
}

/// Stops every other core, to end the run (main returned, deadlock).
pub fn stop_the_machine() {
    if !claim_the_end() {
        failed_while_stopping(format_args!("the run was ended twice"));
    }
}

/// The core ending the run failed on the way out: says so (once; a failure
/// while saying so ends the run silently) and ends the run with failure.
fn failed_while_stopping(what: fmt::Arguments) -> ! {
    if FAILED_WHILE_STOPPING.fetch_add(1, Ordering::AcqRel) == 0 {
        console::write_report(format_args!("fatal error while ending the run [{Place}]: {what}\n"));
    }
    exit_qemu(GuestExit::Failure)
}

/// The core ending the run needs something a stopped core holds (`what`):
/// ends the run with failure rather than wait for ever.
pub fn stop_path_blocked(what: &str) -> ! {
    failed_while_stopping(format_args!("{what}"))
}

/// What a core does on the stop NMI: halt, if a stop was requested.
pub fn on_stop_request() {
    if STOPPER.load(Ordering::Acquire) != 0 {
        halt_forever();
    }
    fatal(Fatal::Exception { what: "unexpected non-maskable interrupt", ip: 0, address: None, code: None })
}

/// Reports `fatal` and ends the run with failure.
pub fn fatal(fatal: Fatal) -> ! {
    if !claim_the_end() {
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

/// A fatal error in a few words, for a failure while ending the run.
struct FatalSummary<'a>(&'a Fatal);

impl fmt::Display for FatalSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Fatal::Exception { what, ip, address, .. } => write!(f, "{what}: ip {ip:#x}{}", Field(", address", *address)),
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

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    if !claim_the_end() {
        failed_while_stopping(format_args!("panic: {}{}", info.message(), Location(info.location())));
    }
    console::write_report(format_args!(
        "panic: {} [{Place}]{}\n",
        info.message(),
        Location(info.location())
    ));
    crate::trace::dump();
    exit_qemu(GuestExit::Failure)
}
