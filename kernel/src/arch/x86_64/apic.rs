//! The local APIC: one interface over x2APIC (MSRs) and xAPIC (memory-mapped
//! registers). Inter-processor interrupts, the per-core timer, end of
//! interrupt. Also masks the legacy 8259 PICs, which Spindle does not use.
//!
//! Register offsets are the xAPIC ones (Intel SDM 3A, table 11-1); in x2APIC
//! mode register `offset` is MSR `0x800 + offset / 16` (SDM 3A 11.12.1).

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::PhysAddr;
use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

use super::interrupts::{disable_interrupts, restore_interrupts};
use super::paging;
use super::vectors::{PIC_VECTORS, SPURIOUS_VECTOR};

const ID: u32 = 0x20;
const TASK_PRIORITY: u32 = 0x80;
const EOI: u32 = 0xB0;
const SPURIOUS: u32 = 0xF0;
const ICR_LOW: u32 = 0x300;
const ICR_HIGH: u32 = 0x310;
const LVT_TIMER: u32 = 0x320;
const LVT_LINT0: u32 = 0x350;
const LVT_LINT1: u32 = 0x360;
const LVT_ERROR: u32 = 0x370;
const TIMER_INITIAL: u32 = 0x380;
const TIMER_CURRENT: u32 = 0x390;
const TIMER_DIVIDE: u32 = 0x3E0;

/// IA32_APIC_BASE: bit 11 enables the APIC, bit 10 selects x2APIC mode.
const IA32_APIC_BASE: u32 = 0x1B;
const APIC_GLOBAL_ENABLE: u64 = 1 << 11;
const APIC_X2_ENABLE: u64 = 1 << 10;
/// IA32_TSC_DEADLINE: the TSC value at which the timer fires (SDM 3A 11.5.4.1).
const IA32_TSC_DEADLINE: u32 = 0x6E0;

/// Spurious-interrupt register: bit 8 enables the APIC.
const SOFTWARE_ENABLE: u32 = 1 << 8;
/// LVT mask bit.
const MASKED: u32 = 1 << 16;
/// LVT delivery mode NMI (bits 8-10 = 100b, SDM 3A 11.5.1). LINT1 is the
/// PC's NMI line, through which QEMU delivers the NMI the host injects
/// (`inject-nmi`, to every vCPU), which asks the kernel to end the run.
const DELIVER_NMI: u32 = 0b100 << 8;
/// LVT timer modes (bits 17-18).
const TIMER_ONESHOT: u32 = 0b00 << 17;
const TIMER_PERIODIC: u32 = 0b01 << 17;
const TIMER_TSC_DEADLINE: u32 = 0b10 << 17;
/// Timer divide configuration for "divide by 16" (SDM 3A figure 11-10).
const DIVIDE_BY_16: u32 = 0b0011;
/// ICR: delivery status (send pending), level assert, INIT level de-assert trigger.
const ICR_PENDING: u32 = 1 << 12;
const ICR_ASSERT: u32 = 1 << 14;

/// The physical-destination id that means every processor (Intel SDM 3A
/// 11.6.2.1: 8-bit xAPIC ids, 0xFF broadcasts; 11.12.9: 32-bit x2APIC ids,
/// 0xFFFF_FFFF broadcasts). No one processor can be sent an IPI at it.
const XAPIC_BROADCAST: u32 = 0xFF;
const X2APIC_BROADCAST: u32 = u32::MAX;

/// 0 before `init`; 1 in x2APIC mode; otherwise the xAPIC registers' virtual address.
static MODE: AtomicU64 = AtomicU64::new(0);
const X2APIC: u64 = 1;

/// How an inter-processor interrupt is delivered.
#[derive(Clone, Copy)]
pub enum Delivery {
    /// An ordinary interrupt at `vector`.
    Fixed(u8),
    /// A non-maskable interrupt: gets through even with interrupts off.
    Nmi,
    /// INIT: resets the target into wait-for-SIPI.
    Init,
    /// STARTUP: a core in wait-for-SIPI starts in real mode at `page << 12`.
    Startup(u8),
}

impl Delivery {
    fn icr_low(self) -> u32 {
        match self {
            Delivery::Fixed(vector) => vector as u32 | ICR_ASSERT,
            Delivery::Nmi => (0b100 << 8) | ICR_ASSERT,
            Delivery::Init => (0b101 << 8) | ICR_ASSERT,
            Delivery::Startup(page) => (0b110 << 8) | page as u32 | ICR_ASSERT,
        }
    }
}

fn x2apic_supported() -> bool {
    // CPUID.01H:ECX bit 21 (SDM 3A 11.12.1).
    core::arch::x86_64::__cpuid(1).ecx & (1 << 21) != 0
}

/// Whether the timer can fire at a TSC value: CPUID.01H:ECX bit 24.
pub fn tsc_deadline_supported() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 24) != 0
}

fn read(reg: u32) -> u32 {
    match MODE.load(Ordering::Relaxed) {
        // SAFETY: in x2APIC mode every APIC register is this MSR.
        X2APIC => unsafe { Msr::new(0x800 + (reg >> 4)).read() as u32 },
        // SAFETY: the xAPIC page is mapped uncached at `base`.
        base => unsafe { core::ptr::read_volatile((base + reg as u64) as *const u32) },
    }
}

fn write(reg: u32, value: u32) {
    match MODE.load(Ordering::Relaxed) {
        // SAFETY: in x2APIC mode every APIC register is this MSR.
        X2APIC => unsafe { Msr::new(0x800 + (reg >> 4)).write(value as u64) },
        // SAFETY: the xAPIC page is mapped uncached at `base`.
        base => unsafe { core::ptr::write_volatile((base + reg as u64) as *mut u32, value) },
    }
}

/// Chooses x2APIC or xAPIC for the whole machine and maps the xAPIC
/// registers from `phys` (the MADT's local APIC address). Bootstrap core, once.
pub fn init(phys: u64) -> &'static str {
    if x2apic_supported() {
        MODE.store(X2APIC, Ordering::Relaxed);
        return "x2APIC";
    }
    let virt = paging::reserve_region();
    paging::map(virt, PhysAddr::new(phys), paging::MMIO).expect("mapping the local APIC");
    MODE.store(virt.as_u64(), Ordering::Relaxed);
    "xAPIC"
}

/// Enables the running core's local APIC in the machine's mode.
pub fn enable_this_cpu() {
    let mut base = Msr::new(IA32_APIC_BASE);
    // SAFETY: enabling the APIC (and x2APIC mode when chosen) is what this
    // MSR is for; the base address bits are kept.
    unsafe {
        let mut value = base.read() | APIC_GLOBAL_ENABLE;
        if MODE.load(Ordering::Relaxed) == X2APIC {
            value |= APIC_X2_ENABLE;
        }
        base.write(value);
    }
    write(SPURIOUS, SOFTWARE_ENABLE | SPURIOUS_VECTOR as u32);
    write(TASK_PRIORITY, 0);
    write(LVT_TIMER, MASKED);
    write(LVT_LINT0, MASKED);
    write(LVT_LINT1, DELIVER_NMI);
    write(LVT_ERROR, MASKED);
}

/// Whether an IPI can go to the processor with APIC id `apic_id` alone, in
/// the machine's mode: xAPIC ids are 0 to 254, x2APIC ids any but the
/// broadcast one (SDM 3A 11.12.8: a BIOS that hands over in xAPIC mode
/// leaves the processors with larger ids disabled).
pub fn can_address(apic_id: u32) -> bool {
    match MODE.load(Ordering::Relaxed) {
        X2APIC => apic_id != X2APIC_BROADCAST,
        _ => apic_id < XAPIC_BROADCAST,
    }
}

/// The running core's APIC id.
pub fn id() -> u32 {
    match MODE.load(Ordering::Relaxed) {
        X2APIC => read(ID),
        _ => read(ID) >> 24,
    }
}

/// The running core's APIC id as CPUID reports it: usable before the APIC
/// registers are mapped. Leaf 0Bh gives the full x2APIC id, leaf 1 the low 8 bits.
pub fn id_from_cpuid() -> u32 {
    use core::arch::x86_64::{__cpuid, __cpuid_count};
    if __cpuid(0).eax >= 0xB {
        let topology = __cpuid_count(0xB, 0);
        if topology.ebx != 0 {
            return topology.edx;
        }
    }
    __cpuid(1).ebx >> 24
}

/// Signals the end of the interrupt being handled.
pub fn end_of_interrupt() {
    write(EOI, 0);
}

/// Sets the running core's task priority: interrupts whose vector's
/// priority class (`vector >> 4`) is not above `priority >> 4` stay pending
/// (Intel SDM 3A 11.8.3.1). 0 lets every vector through.
pub fn set_task_priority(priority: u8) {
    write(TASK_PRIORITY, priority as u32);
}

/// Sends an inter-processor interrupt to the core with APIC id `apic_id`.
pub fn send_ipi(apic_id: u32, delivery: Delivery) {
    debug_assert!(can_address(apic_id), "APIC id {apic_id} cannot be sent an IPI in this mode");
    let low = delivery.icr_low();
    // The two xAPIC ICR writes must not be split by an interrupt handler that
    // sends an IPI of its own.
    let were_enabled = disable_interrupts();
    if MODE.load(Ordering::Relaxed) == X2APIC {
        // SAFETY: the x2APIC ICR is one 64-bit MSR; destination in the high half.
        unsafe { Msr::new(0x830).write(((apic_id as u64) << 32) | low as u64) };
    } else {
        write(ICR_HIGH, apic_id << 24);
        write(ICR_LOW, low);
        while read(ICR_LOW) & ICR_PENDING != 0 {
            core::hint::spin_loop();
        }
    }
    restore_interrupts(were_enabled);
}

/// The local APIC timer, in its own tick units after [`timer_divide`].
pub mod timer {
    use super::*;

    /// Sets the divider used by one-shot and periodic modes.
    pub fn divide() {
        write(TIMER_DIVIDE, DIVIDE_BY_16);
    }

    /// Fires `vector` once, after `ticks` timer ticks.
    pub fn oneshot(vector: u8, ticks: u32) {
        write(LVT_TIMER, TIMER_ONESHOT | vector as u32);
        write(TIMER_INITIAL, ticks.max(1));
    }

    /// Fires `vector` every `ticks` timer ticks.
    pub fn periodic(vector: u8, ticks: u32) {
        write(LVT_TIMER, TIMER_PERIODIC | vector as u32);
        write(TIMER_INITIAL, ticks.max(1));
    }

    /// Counts down from `u32::MAX` with the interrupt masked (for calibration).
    pub fn start_free_running() {
        write(LVT_TIMER, MASKED | TIMER_ONESHOT);
        write(TIMER_INITIAL, u32::MAX);
    }

    /// Ticks left of the current count-down.
    pub fn remaining() -> u32 {
        read(TIMER_CURRENT)
    }

    /// Enters TSC-deadline mode with `vector` (see [`deadline`]).
    pub fn use_tsc_deadline(vector: u8) {
        write(LVT_TIMER, TIMER_TSC_DEADLINE | vector as u32);
    }

    /// In TSC-deadline mode: fire once the TSC reaches `tsc` (0 disarms).
    pub fn deadline(tsc: u64) {
        // SAFETY: IA32_TSC_DEADLINE only arms this core's timer.
        unsafe { Msr::new(IA32_TSC_DEADLINE).write(tsc) };
    }

    /// Stops the timer (one-shot and periodic modes).
    pub fn stop() {
        write(TIMER_INITIAL, 0);
    }
}

/// Remaps the legacy 8259 PICs away from the exception vectors and masks
/// every line: interrupts come from the local APIC only. Without the remap a
/// spurious PIC interrupt would arrive as an exception (vectors 8-15).
pub fn disable_legacy_pic() {
    // Initialisation words of the 8259 (ICW1-ICW4).
    const ICW1_INIT_WITH_ICW4: u8 = 0x11;
    const ICW4_8086_MODE: u8 = 0x01;
    let mut master_cmd = Port::<u8>::new(0x20);
    let mut master_data = Port::<u8>::new(0x21);
    let mut slave_cmd = Port::<u8>::new(0xA0);
    let mut slave_data = Port::<u8>::new(0xA1);
    // SAFETY: the standard 8259 initialisation sequence on its fixed ports.
    unsafe {
        master_cmd.write(ICW1_INIT_WITH_ICW4);
        slave_cmd.write(ICW1_INIT_WITH_ICW4);
        master_data.write(PIC_VECTORS); // ICW2: vector base
        slave_data.write(PIC_VECTORS + 8);
        master_data.write(4); // ICW3: slave on line 2
        slave_data.write(2); // ICW3: cascade identity
        master_data.write(ICW4_8086_MODE);
        slave_data.write(ICW4_8086_MODE);
        master_data.write(0xFF); // mask every line
        slave_data.write(0xFF);
    }
}
