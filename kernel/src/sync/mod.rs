//! Synchronisation inside the kernel.

pub mod spin;
