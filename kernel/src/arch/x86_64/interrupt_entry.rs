//! Entry and exit of the timer, wake-up and turn interrupts, and how a timer
//! interrupt preempts the routine it stopped.
//!
//! # Why these interrupts run on their own stack
//!
//! Routine stacks grow on demand: a page below the deepest byte touched so
//! far is mapped only when something faults on it. If an interrupt arrived
//! on the routine's stack with its stack pointer just above such a page, the
//! CPU's push of the interrupt frame would fault. The page-fault handler maps
//! the page and returns to the interrupted instruction, but the interrupt
//! itself is gone: the local APIC already moved it to in-service, no handler
//! ran, no end-of-interrupt was written, and every vector of its priority
//! class (the timer and the wake-up IPI, 0x20-0x2F) stays blocked on that
//! core for good. So these vectors (and the replay mode's turn IPI, which
//! can arrive in a routine too) run on an interrupt stack of their own
//! ([`INTERRUPT_IST`]), which is always mapped; the frame push cannot fault.
//!
//! # Why the handler never switches routines itself
//!
//! The interrupt stack is one per core and is reused from its top by every
//! interrupt. A handler that switched to another routine would leave the
//! preempted routine's state on it, to be overwritten by the next interrupt.
//! So, as Go preempts a goroutine from a signal handler (`asyncPreempt`),
//! the timer handler only *diverts* the interrupted routine: it pushes the
//! interrupted instruction pointer and flags onto the routine's own stack and
//! returns into [`preempted_entry`] with interrupts still off. That runs on
//! the routine's stack, saves the registers the interrupted code was using,
//! and calls the scheduler to switch away; when the routine is resumed it
//! restores them and returns to where the interrupt hit. Writing to the
//! routine's stack here may fault and grow the stack, which is harmless: the
//! interrupt has already been taken and acknowledged.

use core::arch::naked_asm;
use core::sync::atomic::Ordering;

use x86_64::VirtAddr;
use x86_64::registers::rflags::RFlags;

use super::handlers::{HANDLERS, handlers};
use super::{apic, percpu};

/// What the CPU pushes when it takes an interrupt (no error code), lowest
/// address first (Intel SDM 3A 6.14.2, figure 6-8).
#[repr(C)]
pub struct InterruptFrame {
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Saves the registers a called function may clobber (System V: rax, rcx,
/// rdx, rsi, rdi, r8-r11), calls `$handler(frame)` with a pointer to the
/// CPU's interrupt frame, restores them and returns from the interrupt.
/// The CPU leaves the stack 8 bytes off 16-byte alignment after pushing the
/// five-word frame on the (16-byte aligned) interrupt stack; nine pushes put
/// it back on alignment for the call.
macro_rules! interrupt_entry {
    ($name:ident, $handler:path) => {
        #[unsafe(naked)]
        pub unsafe extern "C" fn $name() {
            naked_asm!(
                "push rax", "push rcx", "push rdx", "push rsi", "push rdi",
                "push r8", "push r9", "push r10", "push r11",
                "lea rdi, [rsp + 72]",
                "call {handler}",
                "pop r11", "pop r10", "pop r9", "pop r8",
                "pop rdi", "pop rsi", "pop rdx", "pop rcx", "pop rax",
                "iretq",
                handler = sym $handler,
            )
        }
    };
}

interrupt_entry!(timer_entry, on_timer);
interrupt_entry!(wake_entry, on_wake);
interrupt_entry!(turn_entry, on_turn);

extern "C" fn on_timer(frame: &mut InterruptFrame) {
    // Acknowledged first: the handler may divert the routine, which then
    // switches away before this interrupt's own return path would.
    apic::end_of_interrupt();
    // SAFETY: interrupts only arrive on a core that entered its state.
    unsafe { &(*percpu::current()).timer_ticks }.fetch_add(1, Ordering::Relaxed);
    let Some(handlers) = HANDLERS.get() else { return };
    if (handlers.timer)() {
        divert_to_preempted(frame);
    }
}

extern "C" fn on_wake(_frame: &mut InterruptFrame) {
    apic::end_of_interrupt();
    if let Some(handlers) = HANDLERS.get() {
        (handlers.wake)();
    }
}

/// The replay mode's turn: it only wakes the core from the `hlt` of its
/// wait (`sched::baton`), which then reads whose turn it is.
extern "C" fn on_turn(_frame: &mut InterruptFrame) {
    apic::end_of_interrupt();
}

/// Makes the interrupted context continue in [`preempted_entry`] on its own
/// stack, with interrupts off, as if it had called it with its flags and
/// instruction pointer pushed.
fn divert_to_preempted(frame: &mut InterruptFrame) {
    debug_assert!(frame.rflags & RFlags::INTERRUPT_FLAG.bits() != 0, "an interrupt arrived with interrupts off");
    let sp = frame.rsp - 16;
    // SAFETY: the interrupted routine's stack pointer is `frame.rsp`; the
    // kernel is built without a red zone, so nothing below it is in use.
    // The two words may be on a page not mapped yet: the page-fault handler
    // grows the stack (or reports an overflow) and the write is retried.
    unsafe {
        (sp as *mut u64).write(frame.rflags);
        ((sp + 8) as *mut u64).write(frame.rip);
    }
    frame.rsp = sp;
    frame.rip = VirtAddr::from_ptr(preempted_entry as *const ()).as_u64();
    frame.rflags &= !RFlags::INTERRUPT_FLAG.bits();
}

/// Where a preempted routine continues, on its own stack, interrupts off,
/// with its interrupted flags at `[rsp]` and instruction pointer at
/// `[rsp + 8]`: saves what a call may clobber, calls the registered
/// `preempt` (which returns once the routine is switched back in), restores
/// everything, the flags last (turning interrupts back on), and returns to
/// the interrupted instruction.
#[unsafe(naked)]
unsafe extern "C" fn preempted_entry() {
    naked_asm!(
        "push rax", "push rcx", "push rdx", "push rsi", "push rdi",
        "push r8", "push r9", "push r10", "push r11",
        "push rbp",
        "mov rbp, rsp",
        "and rsp, -16",
        "call {preempt}",
        "mov rsp, rbp",
        "pop rbp",
        "pop r11", "pop r10", "pop r9", "pop r8",
        "pop rdi", "pop rsi", "pop rdx", "pop rcx", "pop rax",
        "popfq",
        "ret",
        preempt = sym call_preempt,
    )
}

extern "C" fn call_preempt() {
    (handlers().preempt)();
}
