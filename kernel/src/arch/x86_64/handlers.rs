//! The kernel's handlers for interrupts and exceptions, registered once at
//! start-up: the architecture decodes what happened and calls them, so it
//! never has to know the kernel by name.

use super::qemu_exit::exit_qemu;
use spindle_shared::exit::GuestExit;

/// A CPU exception the kernel cannot recover from.
pub struct Fault {
    pub what: &'static str,
    /// Where it happened.
    pub ip: u64,
    /// The address involved, if the exception has one.
    pub address: Option<u64>,
    /// The error code the CPU pushed, if any.
    pub code: Option<u64>,
}

/// A page fault, decoded.
pub struct PageFault {
    /// The address that faulted (CR2).
    pub address: u64,
    /// The page was not present (rather than a protection violation).
    pub not_present: bool,
    pub ip: u64,
    /// The CPU's error code.
    pub code: u64,
}

/// What the interrupt and exception entry points call: the kernel's
/// handlers, registered once at start-up by [`set_handlers`] (the
/// architecture does not know the kernel by name).
pub struct Handlers {
    /// The timer fired; returns whether the running routine must be preempted.
    pub timer: fn() -> bool,
    /// The wake-up IPI arrived.
    pub wake: fn(),
    /// Runs on a diverted routine's own stack: switch away, return when resumed.
    pub preempt: fn(),
    /// A page fault: grow a stack and return, or end the run.
    pub page_fault: fn(PageFault),
    /// Any other exception: ends the run.
    pub fault: fn(Fault) -> !,
    /// A non-maskable interrupt (other cores stop this one with it, the host
    /// asks the kernel to end the run with it).
    pub nmi: fn(),
}

pub(super) static HANDLERS: spin::Once<Handlers> = spin::Once::new();

/// Registers the kernel's handlers. Before this, the timer and wake-up
/// interrupts are acknowledged and otherwise ignored, and an exception ends
/// the run at once (there is no console to report it on yet).
pub fn set_handlers(handlers: Handlers) {
    HANDLERS.call_once(|| handlers);
}

/// The registered handlers; an exception before registration ends the run.
pub(super) fn handlers() -> &'static Handlers {
    HANDLERS.get().unwrap_or_else(|| exit_qemu(GuestExit::Failure))
}
