//! Synchronisation: inside the kernel ([`spin`]) and Go's ways for routines
//! to talk and wait ([`chan`], [`select`], [`WaitGroup`], [`Mutex`],
//! [`Once`], timer channels).

pub mod chan;
#[cfg(feature = "compile-fail-checks")]
mod misuse;
pub mod mutex;
pub mod once;
pub mod select;
pub mod spin;
pub mod timer;
pub mod waitgroup;

pub use chan::{RecvChan, Receiver, SendChan, Sender, chan};
pub use select::{SelectCase, select_cases};
pub use mutex::Mutex;
pub use once::Once;
pub use timer::{after, tick};
pub use waitgroup::WaitGroup;
