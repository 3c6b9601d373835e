//! Which interrupt vector is what, and which interrupt-stack (IST) slot
//! each vector that needs its own stack uses. The IDT (`idt`) and the
//! per-core TSS (`percpu`) are built from these.

/// The local APIC timer.
pub const TIMER_VECTOR: u8 = 0x20;
/// Inter-processor interrupt that wakes a halted core and runs its mailbox.
pub const WAKE_VECTOR: u8 = 0x21;
/// Inter-processor interrupt that gives a core its turn in the replay mode.
/// Alone in priority class 4 (vector >> 4), above the timer's and the
/// wake-up's class 2: a core waiting for its turn raises its task priority
/// to class 3 ([`HOLD_BACK_PRIORITY`]), which holds those two back in its
/// local APIC and lets only this one through (Intel SDM 3A 11.8.3.1).
pub const TURN_VECTOR: u8 = 0x40;
/// The task priority a waiting core sets: vectors of class 3 and below
/// stay pending (neither delivered nor waking a `hlt`) until it is lowered.
pub const HOLD_BACK_PRIORITY: u8 = 0x30;
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
/// IST slot of the timer, wake-up and turn interrupts: their frame must not
/// be pushed onto a routine's stack, which may not have grown that far yet
/// (see `interrupt_entry`). None of them nests in another: their handlers
/// run with interrupts off, and a core waits for its turn only outside them.
pub const INTERRUPT_IST: u16 = 3;

/// Every IST slot the kernel uses; each core gets a stack for each.
pub const IST_SLOTS: [u16; 4] = [DOUBLE_FAULT_IST, NMI_IST, PAGE_FAULT_IST, INTERRUPT_IST];
