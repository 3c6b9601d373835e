//! x86_64: the PC platform as QEMU presents it.
//!
//! | module | what |
//! |---|---|
//! | `acpi` | the processors, from the MADT |
//! | `ap_boot` | starting an application processor (with `trampoline.s`) |
//! | `apic` | local APIC: IPIs, timer registers, EOI; masks the 8259 PICs |
//! | `fw_cfg` | QEMU's firmware configuration device (the command line) |
//! | `handlers` | the kernel's interrupt and exception handlers, registered at start-up |
//! | `interrupts` | the interrupt flag, halting |
//! | `idt` | the interrupt descriptor table; exceptions decoded for the kernel |
//! | `interrupt_entry` | timer, wake-up and turn interrupt entry, on their own stack; preempting a routine |
//! | `paging` | the kernel's page tables |
//! | `percpu` | GS base, per-core GDT and TSS with interrupt stacks |
//! | `provoke` | faults on purpose, for the `fault` program |
//! | `qemu_exit` | ending the run through `isa-debug-exit` |
//! | `serial` | the COM1 console |
//! | `switch` | the context switch |
//! | `timer` | the per-core timer: TSC-deadline or calibrated one-shot |
//! | `tsc` | the time-stamp counter and its frequency |
//! | `vectors` | interrupt vectors and interrupt-stack slots |

pub mod acpi;
pub mod ap_boot;
pub mod apic;
pub mod fw_cfg;
pub mod handlers;
pub mod idt;
pub mod interrupt_entry;
pub mod interrupts;
pub mod paging;
pub mod percpu;
pub mod provoke;
pub mod qemu_exit;
pub mod serial;
pub mod switch;
pub mod timer;
pub mod tsc;
pub mod vectors;

core::arch::global_asm!(include_str!("trampoline.s"), options(att_syntax));

/// Sends the wake-up interrupt to the core with APIC id `apic_id`.
pub fn send_wake(apic_id: u32) {
    apic::send_ipi(apic_id, apic::Delivery::Fixed(vectors::WAKE_VECTOR));
}

/// Gives the core with APIC id `apic_id` its turn (the replay mode): the
/// turn IPI, the one interrupt a core waiting for its turn takes.
pub fn send_turn(apic_id: u32) {
    apic::send_ipi(apic_id, apic::Delivery::Fixed(vectors::TURN_VECTOR));
}

/// Holds back every interrupt but the turn IPI (and NMIs) on this core, in
/// its local APIC, until [`let_interrupts_through`]: they stay pending,
/// and neither run a handler nor wake a `hlt`.
pub fn hold_back_interrupts() {
    apic::set_task_priority(vectors::HOLD_BACK_PRIORITY);
}

/// Undoes [`hold_back_interrupts`]: what arrived meanwhile is delivered as
/// soon as interrupts are on.
pub fn let_interrupts_through() {
    apic::set_task_priority(0);
}

/// Sends a non-maskable interrupt to the core with APIC id `apic_id`: it gets
/// through even where interrupts are off (used to stop cores on a fatal error).
pub fn send_stop(apic_id: u32) {
    apic::send_ipi(apic_id, apic::Delivery::Nmi);
}

/// Returns `x` unchanged, through a register the compiler cannot see into:
/// stops it from folding a loop of additions into a formula, without the
/// memory round trip of `core::hint::black_box`.
#[inline(always)]
pub fn opaque(mut x: u64) -> u64 {
    // SAFETY: an empty asm statement that only claims to change a register.
    unsafe { core::arch::asm!("/* {0} */", inout(reg) x, options(nomem, nostack, preserves_flags)) };
    x
}
