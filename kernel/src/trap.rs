//! What the kernel does when a core is interrupted or faults: the
//! architecture decodes the event and calls the handlers registered here.
//!
//! A page fault is either a routine's stack growing (this module owns that:
//! a frame from the core's reserve, mapped by `mem::stack::grow`), a stack
//! overflow, or a bug; every other exception ends the run.

use crate::arch::handlers::{Fault, Handlers, PageFault, set_handlers};
use crate::mem::{frames, stack};
use crate::panic::{Fatal, fatal};
use crate::{cpu, sched, smp};

/// Registers the handlers below with the architecture.
pub fn init() {
    set_handlers(Handlers { timer, wake, preempt: preempted, page_fault, fault, nmi: crate::stop::on_nmi });
}

/// The core's timer fired. Returns whether the running routine must be
/// preempted: then the interrupt returns into [`preempted`], on that
/// routine's stack.
fn timer() -> bool {
    sched::on_timer()
}

/// A routine the timer preempted, on its own stack, interrupts off:
/// switches away; returns once it is switched back in.
fn preempted() {
    sched::preempt_current();
}

/// Another core sent this one the wake-up interrupt.
fn wake() {
    sched::on_wake();
    smp::run_mailbox();
}

/// An exception no handler can recover from: ends the run.
fn fault(f: Fault) -> ! {
    fatal(Fatal::Exception { what: f.what, ip: f.ip, address: f.address, code: f.code })
}

/// A page fault: grows the routine stack it hit, or ends the run. On the
/// page-fault interrupt stack, interrupts off; takes no lock it could be
/// holding already (frames come from the core's reserve, or from the
/// allocator only if this core is not inside it).
fn page_fault(fault: PageFault) {
    let from_reserve =
        || cpu::entered().then(|| cpu::current().fault_frames.take()).flatten().or_else(frames::allocate_in_fault);
    let verdict = match x86_64::VirtAddr::try_new(fault.address) {
        Ok(address) if fault.not_present => stack::grow(address, from_reserve),
        _ => stack::Fault::NotAStack,
    };
    match verdict {
        stack::Fault::Grown => {}
        stack::Fault::Overflow => fatal(Fatal::StackOverflow { address: fault.address }),
        stack::Fault::OutOfMemory => fatal(Fatal::OutOfMemory),
        stack::Fault::NotAStack => fatal(Fatal::Exception {
            what: "page fault",
            ip: fault.ip,
            address: Some(fault.address),
            code: Some(fault.code),
        }),
    }
}
