//! Which interrupt vector is what, and which interrupt-stack (IST) slot
//! each vector that needs its own stack uses. The IDT (`idt`) and the
//! per-core TSS (`percpu`) are built from these.

/// The local APIC timer.
pub const TIMER_VECTOR: u8 = 0x20;
/// Inter-processor interrupt that wakes a halted core and runs its mailbox.
pub const WAKE_VECTOR: u8 = 0x21;
/// Where the legacy 8259 PICs are remapped to (they stay masked; only their
/// spurious interrupts can arrive).
pub const PIC_VECTORS: u8 = 0xE0;
/// The local APIC's spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u8 = 0xFF;

/// IST slot (0-based, as the TSS array) of the double-fault handler's stack.
pub const DOUBLE_FAULT_IST: u16 = 0;
/// IST slot of the NMI handler's stack (NMIs stop cores when a run ends,
/// and carry the host's request to end it).
pub const NMI_IST: u16 = 1;
/// IST slot of the page-fault handler's stack: a fault that grows a routine's
/// stack cannot push its frame onto that same, unmapped, stack.
pub const PAGE_FAULT_IST: u16 = 2;
/// IST slot of the timer and wake-up interrupts: their frame must not be
/// pushed onto a routine's stack, which may not have grown that far yet
/// (see `interrupt_entry`).
pub const INTERRUPT_IST: u16 = 3;

/// Every IST slot the kernel uses; each core gets a stack for each.
pub const IST_SLOTS: [u16; 4] = [DOUBLE_FAULT_IST, NMI_IST, PAGE_FAULT_IST, INTERRUPT_IST];
