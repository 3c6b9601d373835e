//! Starting the application processors (APs).
//!
//! The bootloader starts only the bootstrap processor (BSP). For each
//! enabled processor in the MADT, the BSP, one AP at a time:
//!
//! 1. writes the AP's parameters (page-table root, control registers, a
//!    fresh kernel stack, the Rust entry point and the AP's `Cpu`) into the
//!    trampoline's parameter block at physical [`TRAMPOLINE_BASE`];
//! 2. sends INIT, waits [`INIT_DELAY_US`], then STARTUP with vector
//!    `TRAMPOLINE_BASE >> 12`, waits [`SIPI_DELAY_US`], and sends a second
//!    STARTUP if the AP has not started yet (Intel SDM 3A 9.4.4.1);
//! 3. waits up to [`AP_ONLINE_TIMEOUT_US`] for the AP to report online. An AP
//!    that does not is sent INIT again (parking it, so it cannot run later
//!    with another AP's parameters), reported, and skipped.
//!
//! The AP runs `trampoline.s` (real -> protected -> long mode), then the
//! entry point the kernel passed, on the stack it passed.

use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::registers::control::{Cr0, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};
use x86_64::structures::paging::PageTableFlags;
use x86_64::{PhysAddr, VirtAddr};

use super::apic::{self, Delivery};
use super::paging::{self, phys_to_virt};

/// Physical (and identity-mapped virtual) address of the trampoline; fixed
/// because trampoline.s is assembled for it. Must be below 1 MiB and
/// page-aligned; the frame allocator never hands out memory below 1 MiB.
pub const TRAMPOLINE_BASE: u64 = 0x8000;
/// Wait after INIT before the first STARTUP (Intel SDM 3A 9.4.4.1: 10 ms).
const INIT_DELAY_US: u64 = 10_000;
/// Wait after each STARTUP (Intel SDM 3A 9.4.4.1: 200 us).
const SIPI_DELAY_US: u64 = 200;
/// How long an AP may take from STARTUP to online before it is given up.
/// Generous: under TCG, many vCPUs share few host cores.
const AP_ONLINE_TIMEOUT_US: u64 = 2_000_000;

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_params: u8;
    static ap_trampoline_end: u8;
}

/// The trampoline's parameter block; mirrors the P_* offsets in trampoline.s.
#[repr(C)]
struct TrampolineParams {
    cr3: u64,
    cr4: u64,
    cr0: u64,
    efer: u64,
    stack: u64,
    entry: u64,
    arg: u64,
}

/// The result of starting one AP.
pub enum Started {
    /// Online, after this many microseconds from INIT.
    Online(u64),
    /// Did not report online in time; it was parked with INIT.
    TimedOut,
}

/// Copies the trampoline into low memory and identity-maps its page.
/// Returns an error message if that memory is not free.
pub fn install_trampoline() -> Result<(), &'static str> {
    let start = &raw const ap_trampoline_start as usize;
    let end = &raw const ap_trampoline_end as usize;
    assert!(end - start <= 4096, "the trampoline must fit in one page");
    if paging::root().as_u64() >= 1 << 32 {
        return Err("the page-table root is above 4 GiB, out of reach of 32-bit mode");
    }
    let phys = PhysAddr::new(TRAMPOLINE_BASE);
    // Executable, so no NO_EXECUTE.
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
    if paging::map(VirtAddr::new(TRAMPOLINE_BASE), phys, flags).is_err() {
        return Err("the trampoline page at 0x8000 is already mapped");
    }
    // SAFETY: the page at TRAMPOLINE_BASE is below 1 MiB, never handed out by
    // the frame allocator, and reached here through the physical-memory map.
    unsafe { core::ptr::copy_nonoverlapping(start as *const u8, phys_to_virt(phys).as_mut_ptr::<u8>(), end - start) };
    Ok(())
}

fn params() -> &'static mut TrampolineParams {
    let offset = &raw const ap_trampoline_params as u64 - &raw const ap_trampoline_start as u64;
    // SAFETY: the block lies inside the installed trampoline page; only the
    // BSP writes it, between AP start-ups.
    unsafe { &mut *phys_to_virt(PhysAddr::new(TRAMPOLINE_BASE + offset)).as_mut_ptr() }
}

/// What a new AP runs, and where.
pub struct ApEntry {
    /// The top of the AP's kernel stack (mapped, never freed).
    pub stack_top: VirtAddr,
    /// Called on that stack, interrupts off, with `arg`; never returns.
    pub entry: extern "C" fn(usize) -> !,
    pub arg: usize,
}

/// Starts the AP with local APIC id `apic_id` running `ap`, and waits until
/// `online` (set by the AP itself) says it came up. `delay_us` busy-waits;
/// `now_us` reads a microsecond clock.
pub fn start_ap(apic_id: u32, ap: ApEntry, online: &AtomicBool, delay_us: fn(u64), now_us: fn() -> u64) -> Started {
    let p = params();
    p.cr3 = paging::root().as_u64();
    p.cr4 = (Cr4::read() - Cr4Flags::PCID).bits();
    p.cr0 = Cr0::read().bits();
    p.efer = (Efer::read()
        & (EferFlags::LONG_MODE_ENABLE | EferFlags::NO_EXECUTE_ENABLE | EferFlags::SYSTEM_CALL_EXTENSIONS))
        .bits();
    p.stack = ap.stack_top.as_u64();
    p.entry = ap.entry as *const () as u64;
    p.arg = ap.arg as u64;
    core::sync::atomic::fence(Ordering::SeqCst);

    let started = now_us();
    apic::send_ipi(apic_id, Delivery::Init);
    delay_us(INIT_DELAY_US);
    for _ in 0..2 {
        apic::send_ipi(apic_id, Delivery::Startup((TRAMPOLINE_BASE >> 12) as u8));
        delay_us(SIPI_DELAY_US);
        if online.load(Ordering::Acquire) {
            break;
        }
    }
    while !online.load(Ordering::Acquire) {
        if now_us() - started > AP_ONLINE_TIMEOUT_US {
            apic::send_ipi(apic_id, Delivery::Init);
            return Started::TimedOut;
        }
        core::hint::spin_loop();
    }
    Started::Online(now_us() - started)
}
