//! Finding the processors: the ACPI MADT, read with the `acpi` crate through
//! the physical-memory map.
//!
//! MADT processor entries (ACPI 6.5, 5.2.12.2 and 5.2.12.12) carry two flags:
//! bit 0 *enabled* (usable now) and bit 1 *online capable* (present but off,
//! may be brought up later by the OS). Spindle starts the enabled ones and
//! reports the online-capable ones it leaves off.

use alloc::vec::Vec;
use core::ptr::NonNull;

use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use x86_64::PhysAddr;

use super::paging::phys_to_virt;

const ENABLED: u32 = 1 << 0;
const ONLINE_CAPABLE: u32 = 1 << 1;

/// Maps ACPI tables through the physical-memory map: nothing to map or unmap.
#[derive(Clone)]
struct PhysMapHandler;

impl AcpiHandler for PhysMapHandler {
    unsafe fn map_physical_region<T>(&self, phys: usize, size: usize) -> PhysicalMapping<Self, T> {
        let virt = phys_to_virt(PhysAddr::new(phys as u64)).as_mut_ptr::<T>();
        let virt = NonNull::new(virt).expect("the physical-memory map is not at 0");
        // SAFETY: all physical memory is mapped at the offset, for as long as
        // the kernel runs.
        unsafe { PhysicalMapping::new(phys, virt, size, size, self.clone()) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// A processor the MADT lists.
#[derive(Clone, Copy, Debug)]
pub struct Processor {
    pub apic_id: u32,
    /// Usable now: Spindle starts it.
    pub enabled: bool,
}

/// What Spindle needs from the MADT.
pub struct Topology {
    /// Physical address of the local APIC registers (xAPIC mode).
    pub local_apic_address: u64,
    /// Enabled processors, and online-capable ones (reported, not started).
    pub processors: Vec<Processor>,
}

/// Reads the MADT, starting from the RSDP at physical address `rsdp`.
pub fn topology(rsdp: u64) -> Result<Topology, acpi::AcpiError> {
    // SAFETY: the bootloader found the RSDP at this address.
    let tables = unsafe { AcpiTables::from_rsdp(PhysMapHandler, rsdp as usize)? };
    let madt = tables.find_table::<Madt>()?;
    let mut topology = Topology { local_apic_address: madt.get().local_apic_address as u64, processors: Vec::new() };
    for entry in madt.get().entries() {
        let (apic_id, flags) = match entry {
            MadtEntry::LocalApic(e) => (e.apic_id as u32, e.flags),
            MadtEntry::LocalX2Apic(e) => (e.x2apic_id, e.flags),
            MadtEntry::LocalApicAddressOverride(e) => {
                topology.local_apic_address = e.local_apic_address;
                continue;
            }
            _ => continue,
        };
        if flags & (ENABLED | ONLINE_CAPABLE) == 0 {
            continue; // neither usable nor ever to be: not really there
        }
        if topology.processors.iter().any(|p| p.apic_id == apic_id) {
            continue; // listed as both a local APIC and a local x2APIC
        }
        topology.processors.push(Processor { apic_id, enabled: flags & ENABLED != 0 });
    }
    Ok(topology)
}
