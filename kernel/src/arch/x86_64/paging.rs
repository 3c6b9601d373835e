//! The kernel's page tables: the bootloader's, extended and shared by all cores.
//!
//! All changes go through one lock ([`MAPPER`]). The one exception is the
//! page-fault path that grows a stack ([`map_in_existing_table`]): it only
//! writes a leaf entry into a page table that already exists, which needs no
//! lock because each stack's entries belong to that stack alone.
//!
//! Nothing is ever unmapped while other cores may have used it, so there is no
//! TLB shoot-down: stacks and heap pages are recycled, not returned.
//!
//! Frames for new pages and page tables come from the kernel's frame
//! allocator, handed in at [`init`] as a [`FrameSource`]: the architecture
//! sits below memory management and does not call it by name.

use x86_64::registers::control::Cr3;
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PageTableIndex, PhysFrame, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

use x86_64::instructions::interrupts::without_interrupts;

/// Size of a page and of a frame.
pub const PAGE_SIZE: u64 = 4096;

/// Flags for kernel data: present, writable, never executed.
pub const DATA: PageTableFlags =
    PageTableFlags::PRESENT.union(PageTableFlags::WRITABLE).union(PageTableFlags::NO_EXECUTE);
/// Flags for device registers: like [`DATA`], and uncached.
pub const MMIO: PageTableFlags = DATA.union(PageTableFlags::NO_CACHE).union(PageTableFlags::WRITE_THROUGH);

/// Bytes of virtual space one top-level (PML4) entry covers: 512 GiB.
pub const REGION_SIZE: u64 = 1 << 39;

/// Where paging gets frames: the kernel's frame allocator.
pub struct FrameSource {
    /// A zeroed frame, or `None` when memory is exhausted.
    pub allocate_zeroed: fn() -> Option<PhysAddr>,
    /// Gives back a frame that was never mapped.
    pub free: fn(PhysAddr),
}

static FRAMES: spin::Once<FrameSource> = spin::Once::new();

fn frames() -> &'static FrameSource {
    FRAMES.get().expect("paging::init ran")
}

/// The frame source as the `x86_64` crate's mapper wants it.
struct MapperFrames;

// SAFETY: every frame returned is unused and 4 KiB aligned (a `FrameSource`
// hands out whole frames nobody else holds).
unsafe impl FrameAllocator<Size4KiB> for MapperFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        (frames().allocate_zeroed)().map(PhysFrame::containing_address)
    }
}

/// The page tables. Taken with interrupts off, so that an interrupt
/// handler that maps (the heap growing under a timer callback) cannot spin
/// on a lock its own core holds.
static MAPPER: spin::Mutex<Option<OffsetPageTable<'static>>> = spin::Mutex::new(None);

/// Runs `f` on the page tables, under their lock, interrupts off.
fn with_mapper<R>(f: impl FnOnce(&mut OffsetPageTable<'static>) -> R) -> R {
    without_interrupts(|| f(MAPPER.lock().as_mut().expect("paging::init ran")))
}

/// Where all physical memory is mapped (set once at boot).
static PHYS_OFFSET: spin::Once<VirtAddr> = spin::Once::new();

/// The virtual address at which physical address `phys` can be read.
pub fn phys_to_virt(phys: PhysAddr) -> VirtAddr {
    *PHYS_OFFSET.get().expect("paging::init ran") + phys.as_u64()
}

/// Takes over the bootloader's page tables, which map all physical memory
/// at `offset`; new frames will come from `frames`.
pub fn init(offset: VirtAddr, frames: FrameSource) {
    PHYS_OFFSET.call_once(|| offset);
    FRAMES.call_once(|| frames);
    let (level_4, _) = Cr3::read();
    let table = phys_to_virt(level_4.start_address()).as_mut_ptr::<PageTable>();
    // SAFETY: CR3 points at the active level-4 table, reachable through the
    // physical-memory map; from here on it is only changed through MAPPER.
    let mapper = unsafe { OffsetPageTable::new(&mut *table, offset) };
    *MAPPER.lock() = Some(mapper);
}

/// Physical address of the top-level page table (what CR3 holds).
pub fn root() -> PhysAddr {
    Cr3::read().0.start_address()
}

/// Why a mapping could not be made.
#[derive(Debug)]
pub enum MapError {
    OutOfMemory,
    AlreadyMapped,
}

/// Maps the 4 KiB page at `virt` to the frame at `phys`.
pub fn map(virt: VirtAddr, phys: PhysAddr, flags: PageTableFlags) -> Result<(), MapError> {
    let page = Page::<Size4KiB>::containing_address(virt);
    let frame = PhysFrame::containing_address(phys);
    // Intermediate tables are created present+writable; the leaf carries the
    // restrictions (NO_EXECUTE, NO_CACHE).
    let parent = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
    // SAFETY: callers map frames they own to addresses in regions this kernel
    // reserved; no existing mapping is replaced (map_to refuses).
    let mapped =
        with_mapper(|mapper| unsafe { mapper.map_to_with_table_flags(page, frame, flags, parent, &mut MapperFrames) });
    match mapped {
        Ok(flush) => {
            flush.flush();
            Ok(())
        }
        Err(x86_64::structures::paging::mapper::MapToError::FrameAllocationFailed) => Err(MapError::OutOfMemory),
        Err(_) => Err(MapError::AlreadyMapped),
    }
}

/// Maps a fresh zeroed frame at `virt`.
pub fn map_new(virt: VirtAddr, flags: PageTableFlags) -> Result<(), MapError> {
    let frame = (frames().allocate_zeroed)().ok_or(MapError::OutOfMemory)?;
    map(virt, frame, flags).inspect_err(|_| (frames().free)(frame))
}

/// Claims a whole unused top-level slot (512 GiB of virtual space) and
/// returns its start. Prefers the upper (kernel) half.
pub fn reserve_region() -> VirtAddr {
    let index = with_mapper(|mapper| {
        let level_4 = mapper.level_4_table_mut();
        let free = (256..511).rev().chain((1..256).rev()).find(|&i| level_4[i].is_unused());
        let index = free.expect("a free top-level page-table slot");
        // Allocating the next-level table right away marks the slot as taken.
        let table = (frames().allocate_zeroed)().expect("a frame for a page table");
        level_4[index].set_addr(table, PageTableFlags::PRESENT | PageTableFlags::WRITABLE);
        index
    });
    let page = Page::<Size4KiB>::from_page_table_indices(
        PageTableIndex::new(index as u16),
        PageTableIndex::new(0),
        PageTableIndex::new(0),
        PageTableIndex::new(0),
    );
    page.start_address()
}

/// The leaf entry for `virt`, if every table above it exists.
fn leaf_entry(virt: VirtAddr) -> Option<&'static mut PageTableEntry> {
    let page = Page::<Size4KiB>::containing_address(virt);
    let mut table = phys_to_virt(root()).as_mut_ptr::<PageTable>();
    for index in [page.p4_index(), page.p3_index(), page.p2_index()] {
        // SAFETY: `table` points at a live page table reached from CR3.
        let entry = unsafe { &(&*table)[index] };
        if !entry.flags().contains(PageTableFlags::PRESENT) || entry.flags().contains(PageTableFlags::HUGE_PAGE) {
            return None;
        }
        table = phys_to_virt(entry.addr()).as_mut_ptr::<PageTable>();
    }
    // SAFETY: `table` is the live leaf table reached from CR3 above, and
    // the caller owns this entry (see the module doc: each stack's entries
    // belong to that stack alone).
    Some(unsafe { &mut (&mut *table)[page.p1_index()] })
}

/// Maps `phys` at `virt` by writing the leaf entry of a page table that must
/// already exist. Takes no lock: for the stack-growth fault path only.
/// Returns false if the tables above the entry are missing.
pub fn map_in_existing_table(virt: VirtAddr, phys: PhysAddr, flags: PageTableFlags) -> bool {
    match leaf_entry(virt) {
        Some(entry) => {
            entry.set_addr(phys, flags);
            x86_64::instructions::tlb::flush(virt);
            true
        }
        None => false,
    }
}

/// Whether the page holding `virt` is mapped.
pub fn is_mapped(virt: VirtAddr) -> bool {
    leaf_entry(virt).is_some_and(|e| e.flags().contains(PageTableFlags::PRESENT))
}
