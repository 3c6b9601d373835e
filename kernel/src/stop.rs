//! Ending the run, whichever way it ends: main returned, a deadlock, a
//! panic or a fault, or the host asked for it.
//!
//! The first core to get here claims the end of the run ([`claim`]), stops
//! every other core with a non-maskable interrupt, and is then the only
//! one running: it prints how the run ended, sends the trace if one was
//! recorded, and ends the run ([`end_run`]). A core that gets here while
//! another is already ending the run just stops. If the core ending the run
//! fails again on the way (a fault while it writes the report or sends the
//! trace), it says so, briefly, and ends the run with failure at once: it
//! never halts and leaves QEMU to run into the host's timeout.
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
//!
//! # Non-maskable interrupts
//!
//! The kernel sends NMIs only to stop the other cores once a core has
//! claimed the end of the run. An NMI while nothing is ending the run comes
//! from the host (QEMU's `inject-nmi`, which the runner sends to every core
//! when the run's time limit passes or on Ctrl-C): it asks the kernel to end
//! the run and send what it has. The first core to take it claims the end
//! of the run like any other ending, and the kernel reports where the
//! routines were, sends the trace and exits with [`GuestExit::Stopped`]. An
//! NMI that reaches the core already ending the run (the host asked just as
//! the run ended) is ignored: that core carries on.
//!
//! This module and `panic` are the fatal-error path: the one place every
//! layer of the kernel may call up to.

use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use spindle_shared::exit::GuestExit;

use crate::arch::interrupts::{disable_interrupts, halt_forever};
use crate::arch::qemu_exit::exit_qemu;
use crate::{console, cpu, smp};

/// Which core is ending the run: 0 none yet, else its index plus one.
static STOPPER: AtomicUsize = AtomicUsize::new(0);
/// Failures of the stopping core after its first: the second is reported,
/// a third (a report that itself fails) ends the run without a message.
static FAILED_WHILE_STOPPING: AtomicU32 = AtomicU32::new(0);

/// Where the failure happened, for the report: "routine 5 on cpu 2" or "cpu 2".
pub struct Place;

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
pub fn claim() -> bool {
    // For good: the core ending the run is never preempted or interrupted
    // again. A panicking routine comes here with interrupts on, and a tick
    // during the report once switched the core to another routine, whose
    // allocation then met a heap a stopped core held.
    disable_interrupts();
    let me = stopper_tag();
    match STOPPER.compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            smp::stop_others();
            console::machine_stopped();
            crate::ktest::report_failure();
            true
        }
        Err(stopper) if stopper == me => false,
        Err(_) => halt_forever(),
    }
}

/// Stops every other core, to end the run (main returned, deadlock).
pub fn stop_the_machine() {
    if !claim() {
        failed_while_stopping(format_args!("the run was ended twice"));
    }
}

/// The core ending the run failed on the way out: says so (once; a failure
/// while saying so ends the run silently) and ends the run with failure.
pub fn failed_while_stopping(what: fmt::Arguments) -> ! {
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

/// What a core does on a non-maskable interrupt: halt if another core is
/// ending the run (it sent the NMI), carry on if this one is, and otherwise
/// end the run for the host, which sent it (see the module's comment).
pub fn on_nmi() {
    match STOPPER.load(Ordering::Acquire) {
        0 => crate::sched::host_stopped(),
        stopper if stopper == stopper_tag() => {}
        _ => halt_forever(),
    }
}

/// Ends the run, from the core that claimed its end: sends the trace if one
/// was recorded, then reports `exit` to the host.
pub fn end_run(exit: GuestExit) -> ! {
    crate::trace::dump(exit);
    exit_qemu(exit)
}
