//! Starting the application processors (APs), all at once.
//!
//! The bootloader starts only the bootstrap processor (BSP). [`start_all`]
//! starts every AP the kernel asks for in parallel, as Linux has since 6.5:
//!
//! 1. it writes one [`ApSlot`] per AP (its APIC id, a fresh kernel stack,
//!    the kernel's argument for it) and the shared parameters (page-table
//!    root, control registers, where the slots are) into the trampoline's
//!    parameter block at physical [`TRAMPOLINE_BASE`];
//! 2. it sends INIT to every AP, waits [`INIT_DELAY_US`], sends STARTUP
//!    with vector `TRAMPOLINE_BASE >> 12` to every AP, waits
//!    [`SIPI_DELAY_US`], and sends a second STARTUP to each AP that has not
//!    arrived yet, then waits [`SIPI_DELAY_US`] again (Intel SDM 3A
//!    9.4.4.1: the delays hold for each AP, which gets its IPIs in the same
//!    order and at least as far apart as when started alone);
//! 3. each AP runs `trampoline.s` (real -> protected -> long mode), reads
//!    its own APIC id with CPUID, finds its slot, and arrives in
//!    [`ap_arrived`] on the slot's stack; it marks the slot and goes on
//!    into the kernel's entry point at once, without waiting for the other
//!    APs (under TCG a waiting vCPU spins, and takes from the host the time
//!    the ones it waits for need);
//! 4. the BSP waits up to [`AP_ONLINE_TIMEOUT_US`] for every slot to be
//!    marked. An AP that has not arrived by then is given up: its slot is
//!    closed (should it still arrive, it halts for good) and it is sent INIT
//!    again (parking it), and reported as [`Started::TimedOut`].
//!
//! The replay mode starts them one after the other instead
//! ([`start_one_by_one`]), the bootstrap core halted while each starts, so
//! that no two cores ever run at once.
//!
//! APIC ids are 32 bits throughout (the MADT's local x2APIC entries, CPUID
//! leaf 0Bh, the x2APIC ICR), so the same code starts APs whose ids are
//! above 255 on a machine in x2APIC mode. QEMU 7.2's TCG has no x2APIC, so
//! that path has not run here.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};

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
/// How long the APs may take from INIT to arriving before the ones that
/// have not are given up. Generous: under TCG the guest's clock is the
/// host's, and many vCPUs share few host cores (at `-smp 255` on 2 host
/// cores the last AP arrived 62 ms after the first INIT on a quiet host,
/// 2 s on a busy one; a missed deadline costs a core for the whole run).
/// Only a processor that never starts makes the boot wait this long, once.
const AP_ONLINE_TIMEOUT_US: u64 = 30_000_000;

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
    slots: u64,
    count: u64,
    entry: u64,
}

/// What one AP finds in the trampoline: the slot whose `apic_id` is its
/// own. The trampoline reads `apic_id` and `stack_top` at the S_* offsets
/// of trampoline.s (checked below); the rest is Rust's.
#[repr(C)]
pub struct ApSlot {
    apic_id: u32,
    /// [`WAITING`], then [`ARRIVED`] (by the AP) or [`GIVEN_UP`] (by the
    /// BSP), whichever gets there first.
    state: AtomicU8,
    stack_top: u64,
    entry: extern "C" fn(usize) -> !,
    arg: usize,
}

const WAITING: u8 = 0;
const ARRIVED: u8 = 1;
const GIVEN_UP: u8 = 2;

/// Offsets and size of a slot as trampoline.s reads them.
const S_APIC_ID: usize = 0;
const S_STACK: usize = 8;
const SLOT_SIZE: usize = 32;
const _: () = assert!(core::mem::offset_of!(ApSlot, apic_id) == S_APIC_ID);
const _: () = assert!(core::mem::offset_of!(ApSlot, stack_top) == S_STACK);
const _: () = assert!(core::mem::size_of::<ApSlot>() == SLOT_SIZE);

impl ApSlot {
    fn arrived(&self) -> bool {
        self.state.load(Ordering::Acquire) == ARRIVED
    }

    /// Closes the slot to an AP that has not arrived; false if it has.
    fn give_up(&self) -> bool {
        self.state.compare_exchange(WAITING, GIVEN_UP, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// Where every AP arrives from the trampoline, on its slot's stack,
/// interrupts off, nothing of its own set up yet.
extern "C" fn ap_arrived(slot: &'static ApSlot) -> ! {
    if slot.state.compare_exchange(WAITING, ARRIVED, Ordering::AcqRel, Ordering::Acquire).is_err() {
        // The BSP gave up on this AP and is sending it INIT.
        super::interrupts::halt_forever();
    }
    (slot.entry)(slot.arg)
}

/// The result of starting one AP.
#[derive(Clone, Copy, Debug)]
pub enum Started {
    /// Arrived in its start-up code this many microseconds after the first
    /// INIT (as the BSP saw it; it polls every AP in turn).
    Online(u64),
    /// Did not arrive in time; it was parked with INIT.
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
    // BSP writes it, before any AP is started.
    unsafe { &mut *phys_to_virt(PhysAddr::new(TRAMPOLINE_BASE + offset)).as_mut_ptr() }
}

/// One AP to start, and what it runs.
pub struct ApEntry {
    pub apic_id: u32,
    /// The top of the AP's kernel stack (mapped, never freed).
    pub stack_top: VirtAddr,
    /// Called on that stack, interrupts off, with `arg`; never returns.
    pub entry: extern "C" fn(usize) -> !,
    pub arg: usize,
}

/// Writes the APs' slots and the trampoline's parameters, before any AP is
/// sent INIT. Once per boot, after [`install_trampoline`].
fn install_slots(aps: &[ApEntry]) -> &'static [ApSlot] {
    // Leaked: an AP given up on may still read its slot.
    let slots: &'static [ApSlot] = Vec::leak(
        aps.iter()
            .map(|ap| ApSlot {
                apic_id: ap.apic_id,
                state: AtomicU8::new(WAITING),
                stack_top: ap.stack_top.as_u64(),
                entry: ap.entry,
                arg: ap.arg,
            })
            .collect(),
    );
    let p = params();
    p.cr3 = paging::root().as_u64();
    p.cr4 = (Cr4::read() - Cr4Flags::PCID).bits();
    p.cr0 = Cr0::read().bits();
    p.efer = (Efer::read()
        & (EferFlags::LONG_MODE_ENABLE | EferFlags::NO_EXECUTE_ENABLE | EferFlags::SYSTEM_CALL_EXTENSIONS))
        .bits();
    p.slots = slots.as_ptr() as u64;
    p.count = slots.len() as u64;
    p.entry = ap_arrived as *const () as u64;
    core::sync::atomic::fence(Ordering::SeqCst);
    slots
}

/// The STARTUP IPI that sends an AP to the trampoline.
const STARTUP: Delivery = Delivery::Startup((TRAMPOLINE_BASE >> 12) as u8);

/// Starts every AP in `aps` at once (see the module's comment) and returns
/// how each fared, in the same order. `delay_us` busy-waits; `now_us`
/// reads a microsecond clock. Once per boot, after [`install_trampoline`].
pub fn start_all(aps: &[ApEntry], delay_us: fn(u64), now_us: fn() -> u64) -> Vec<Started> {
    let slots = install_slots(aps);
    let started = now_us();
    let mut arrived: Vec<Option<u64>> = alloc::vec![None; slots.len()];
    let note_arrivals = |arrived: &mut [Option<u64>]| {
        for (when, slot) in arrived.iter_mut().zip(slots) {
            if when.is_none() && slot.arrived() {
                *when = Some(now_us() - started);
            }
        }
    };
    slots.iter().for_each(|slot| apic::send_ipi(slot.apic_id, Delivery::Init));
    delay_us(INIT_DELAY_US);
    slots.iter().for_each(|slot| apic::send_ipi(slot.apic_id, STARTUP));
    delay_us(SIPI_DELAY_US);
    note_arrivals(&mut arrived);
    for (slot, _) in slots.iter().zip(&arrived).filter(|(_, when)| when.is_none()) {
        apic::send_ipi(slot.apic_id, STARTUP);
    }
    delay_us(SIPI_DELAY_US);
    loop {
        note_arrivals(&mut arrived);
        if arrived.iter().all(Option::is_some) {
            break;
        }
        if now_us() - started > AP_ONLINE_TIMEOUT_US {
            for (when, slot) in arrived.iter_mut().zip(slots).filter(|(when, _)| when.is_none()) {
                if slot.give_up() {
                    apic::send_ipi(slot.apic_id, Delivery::Init);
                } else {
                    *when = Some(now_us() - started); // it made it after all
                }
            }
            break;
        }
        core::hint::spin_loop();
    }
    arrived.into_iter().map(|when| when.map_or(Started::TimedOut, Started::Online)).collect()
}

/// Starts the APs in `aps` one after the other, for the replay mode, where
/// no two cores may run at once: INIT, [`INIT_DELAY_US`], one STARTUP
/// (QEMU, the only machine the mode runs on, needs no second), then
/// `halt()` until `ready(i)` says AP `i` finished its start-up. `halt`
/// stops this core for a while (its own timer ends the wait), so that it
/// does not run beside the AP. An AP that has not arrived after
/// [`AP_ONLINE_TIMEOUT_US`] is given up, as in [`start_all`]. The time
/// each reports is from its INIT until it was ready.
pub fn start_one_by_one(
    aps: &[ApEntry],
    delay_us: fn(u64),
    now_us: fn() -> u64,
    ready: &dyn Fn(usize) -> bool,
    halt: fn(),
) -> Vec<Started> {
    let slots = install_slots(aps);
    let start_one = |(i, slot): (usize, &ApSlot)| {
        let started = now_us();
        apic::send_ipi(slot.apic_id, Delivery::Init);
        delay_us(INIT_DELAY_US);
        apic::send_ipi(slot.apic_id, STARTUP);
        loop {
            if slot.arrived() && ready(i) {
                return Started::Online(now_us() - started);
            }
            if !slot.arrived() && now_us() - started > AP_ONLINE_TIMEOUT_US && slot.give_up() {
                apic::send_ipi(slot.apic_id, Delivery::Init);
                return Started::TimedOut;
            }
            halt();
        }
    };
    slots.iter().enumerate().map(start_one).collect()
}
