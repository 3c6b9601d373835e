//! The machine underneath. Everything that touches ports, registers, MSRs or
//! assembly lives in an architecture module; the rest of the kernel calls the
//! functions re-exported here and stays architecture-free.

pub mod x86_64;

pub use self::x86_64::*;
