//! `fault`: fails on purpose, so that tests (and people) can see how each
//! kind of failure is reported: a panic (on the bootstrap core or another),
//! a stack overflow, a page fault, a general-protection fault, an invalid
//! opcode, a double fault, running out of memory, a guest that hangs, a
//! panic whose report fails in turn, and a panic while a stopped core
//! holds the console in the middle of a line.
//! Each fault happens inside a routine, as a bug in a program would.

use crate::cmdline::options;
use crate::api::*;
use crate::arch::{self, provoke};
use crate::{console, cpu, smp};

/// An address nothing maps: low, but above the trampoline page.
const UNMAPPED: u64 = 0xdead_0000;

pub fn main() {
    let kind = options().kind;
    match kind {
        "panic" => panic!("deliberate panic (program fault, kind=panic)"),
        "ap-panic" => ap_panic(),
        "stopped-mid-line" => stopped_mid_line(),
        "hang" => arch::interrupts::halt_forever(),
        "panic-in-report" => panic!("{}", PanicsWhenShown),
        _ => go(move || in_routine(kind)).join(),
    }
}

fn in_routine(kind: &str) {
    match kind {
        "stack-overflow" => {
            core::hint::black_box(recurse(0));
        }
        "page-fault" => provoke::page_fault(UNMAPPED),
        "gp-fault" => provoke::general_protection(),
        "invalid-opcode" => provoke::invalid_opcode(),
        "double-fault" => provoke::double_fault(),
        "oom" => exhaust_memory(),
        other => unreachable!("kind {other} is not in the fault program's table"),
    }
}

/// Recursion with no end, each frame holding a buffer: runs into the guard page.
#[allow(unconditional_recursion, reason = "the point: a stack overflow")]
fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 32]);
    recurse(depth + 1).wrapping_add(frame[depth as usize % 32])
}

/// Starts routines that park for ever until memory runs out.
fn exhaust_memory() -> ! {
    let (tx, rx) = chan::<()>(0);
    core::mem::forget(tx); // keep the channel open: nobody ever sends
    loop {
        let rx = rx.clone();
        go(move || {
            rx.recv();
        });
        yield_now();
    }
}

/// A panic message that panics while the report prints it: a second
/// failure on the core that is ending the run.
struct PanicsWhenShown;

impl core::fmt::Display for PanicsWhenShown {
    fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        panic!("the report's own message failed (program fault, kind=panic-in-report)")
    }
}

/// A core other than main's: the last, or the one before it if main runs
/// on the last (a thief may have taken main there).
fn other_core(kind: &str) -> usize {
    let last = cpu::count() - 1;
    assert!(last > 0, "kind={kind} needs a second core (--smp 2 or more)");
    if cpu::index() == last { last - 1 } else { last }
}

/// Has another core start a line and keep the console for good, then
/// panics: the core ending the run must take the console back from the
/// stopped core, with a bounded wait, and print its report whole.
fn stopped_mid_line() {
    arch::interrupts::disable_interrupts();
    let target = other_core("stopped-mid-line");
    smp::call_on(target, || console::hold_mid_line_for_ever("half a line, and then this core"));
    while console::holder() != Some(target) {
        core::hint::spin_loop();
    }
    panic!("deliberate panic while another core holds the console (program fault, kind=stopped-mid-line)")
}

/// Asks the last core to panic from its wake-up interrupt, or the one
/// before it if main runs on the last (a thief may have taken main there):
/// a panic on a core that runs no routine, whose report names only the
/// core. At `--smp 2` with main on core 1 that is the bootstrap core.
fn ap_panic() {
    // Interrupts off from here on: main cannot be preempted and moved onto
    // the core it picks. The panicking core stops this one with an NMI.
    arch::interrupts::disable_interrupts();
    let target = other_core("ap-panic");
    smp::call_on(target, || {
        panic!("deliberate panic on a core other than main's (program fault, kind=ap-panic)")
    });
    loop {
        core::hint::spin_loop();
    }
}
