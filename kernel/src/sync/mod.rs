//! Go's ways for routines to talk and wait: [`chan`], [`select`],
//! [`WaitGroup`], [`Mutex`], [`Once`], timer channels. (The kernel's own
//! spin lock, which these build on, is `crate::lock`, below the scheduler.)

pub mod chan;
pub mod mutex;
pub mod once;
pub mod select;
pub mod timer;
pub mod waitgroup;

pub use chan::{Receiver, Sender, chan};
pub use mutex::Mutex;
pub use once::Once;
pub use timer::{after, tick};
pub use waitgroup::WaitGroup;
