//! x86_64: the PC platform as QEMU presents it.

pub mod cpu;
pub mod fw_cfg;
pub mod qemu_exit;
pub mod serial;
