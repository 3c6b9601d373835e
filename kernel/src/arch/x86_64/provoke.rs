//! Faults on purpose, for the `fault` program: each makes the processor
//! raise one exception so that its report can be seen and tested.

use core::arch::asm;

/// Executes `ud2`: an invalid-opcode exception (#UD).
pub fn invalid_opcode() -> ! {
    // SAFETY: ud2 only raises #UD, which the kernel reports and stops on.
    unsafe { asm!("ud2", options(noreturn)) }
}

/// Reads through a non-canonical address: a general-protection fault (#GP).
pub fn general_protection() -> ! {
    // SAFETY: the read faults before touching memory; the fault ends the run.
    unsafe {
        asm!("mov rax, [{addr}]", addr = in(reg) 0x8000_0000_0000_0000u64, out("rax") _, options(nostack));
    }
    unreachable!("a non-canonical read faults")
}

/// Reads `address`, which must be unmapped: a page fault (#PF).
pub fn page_fault(address: u64) -> ! {
    // SAFETY: a read of an address nothing maps faults before it returns
    // anything; the fault handler ends the run (the caller passes such an
    // address).
    unsafe { core::ptr::read_volatile(address as *const u64) };
    unreachable!("reading an unmapped address faults")
}

/// Points the stack at a non-canonical address and executes `ud2`: the #UD
/// cannot be delivered (its frame cannot be pushed: #SS), nor can the #SS,
/// and two contributory faults in a row make a double fault (#DF), which
/// arrives on its own interrupt stack (Intel SDM 3A, table 6-5).
pub fn double_fault() -> ! {
    // SAFETY: the double-fault handler runs on its IST stack and ends the run.
    unsafe { asm!("mov rsp, {bad}", "ud2", bad = in(reg) 0x8000_0000_0000_0000u64, options(noreturn)) }
}
