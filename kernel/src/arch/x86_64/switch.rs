//! Switching between stacks: the whole of a cooperative context switch.
//!
//! A context is just a saved stack pointer. [`switch`] pushes the
//! callee-saved registers (System V: rbx, rbp, r12-r15) on the current stack,
//! stores the stack pointer, loads the other one and pops its registers. The
//! caller-saved registers are the compiler's to save around the call, and
//! the kernel is soft-float, so there is no FPU/SSE state. A routine
//! preempted by the timer is switched the same way, from inside the
//! interrupt handler, whose frame holds everything else it had in registers.

use core::arch::naked_asm;

/// Saves the running context's registers and stack pointer into `*from` and
/// resumes the context whose saved stack pointer is `to`. Returns when some
/// core switches back to `*from`.
///
/// # Safety
/// Interrupts must be off. `to` must be a stack pointer saved by `switch` or
/// made by [`new_context`], on a stack that nothing else is running on.
// lab(switch): push the callee-saved registers, save rsp to *from, load `to`, pop them, return into the new context
#[unsafe(naked)]
pub unsafe extern "C" fn switch(from: *mut usize, to: usize) {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// First code of a new context: calls `entry(arg)` from r12 and rbx, which
/// the first [`switch`] to it popped from the frame [`new_context`] built.
// lab(switch): the first code a new context runs: call its entry with its argument (as new_context laid them out)
#[unsafe(naked)]
unsafe extern "C" fn context_start() -> ! {
    naked_asm!("mov rdi, rbx", "call r12", "ud2")
}

/// Builds a context on the stack whose top is `top` (16-byte aligned) that,
/// when switched to, calls `entry(arg)`. Returns its saved stack pointer.
///
/// # Safety
/// The 72 bytes below `top` must be writable and unused.
// lab(switch): lay out a frame below `top` that the first switch to it pops, returning into context_start
pub unsafe fn new_context(top: usize, entry: extern "C" fn(usize) -> !, arg: usize) -> usize {
    debug_assert!(top.is_multiple_of(16));
    // After `ret` into context_start the stack pointer is `top - 16`,
    // 16-byte aligned, so `call r12` enters `entry` as the ABI expects.
    let frame = [
        0,                                   // r15
        0,                                   // r14
        0,                                   // r13
        entry as *const () as usize,         // r12
        arg,                                 // rbx
        0,                                   // rbp
        context_start as *const () as usize, // return address
    ];
    let sp = top - 24 - 48;
    // SAFETY: the caller gives us the memory below `top`.
    unsafe { core::ptr::copy_nonoverlapping(frame.as_ptr(), sp as *mut usize, frame.len()) };
    sp
}
