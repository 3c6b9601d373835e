//! Memory: physical frames, the kernel's page tables, the heap, and stacks.
//!
//! The bootloader hands over its page tables with all physical memory mapped
//! at an offset; the kernel keeps using them. On top of that it claims a few
//! whole top-level (PML4) slots of virtual space of its own, one per use:
//!
//! | region | what |
//! |---|---|
//! | heap | grows on demand, 2 MiB at a time |
//! | stacks | 64 KiB slots, an unmapped guard page at the bottom of each |
//! | mmio | device registers (the local APIC), mapped uncached |
//!
//! Below 1 MiB nothing is handed out: the application processors' start-up
//! trampoline lives there.

pub mod frames;
pub mod heap;
pub mod reserve;
pub mod stack;

use bootloader_api::BootInfo;

use crate::arch::paging;
use x86_64::VirtAddr;

pub use crate::arch::paging::PAGE_SIZE;

/// Brings up frames, paging, the heap and the stack region from what the
/// bootloader reported.
pub fn init(boot_info: &'static BootInfo) {
    let offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("the bootloader maps physical memory (BootloaderConfig asks it to)");
    let offset = VirtAddr::new(offset);
    frames::init(&boot_info.memory_regions);
    let source = paging::FrameSource { allocate_zeroed: frames::allocate_zeroed, free: frames::free };
    paging::init(offset, source);
    heap::init();
    stack::init();
}
