//! Go's ways for routines to talk and wait: [`chan`], [`select`],
//! [`WaitGroup`], [`Mutex`], [`Once`], timer channels. (The kernel's own
//! spin lock, which these build on, is `crate::lock`, below the scheduler.)

pub mod chan;
pub mod endpoint;
pub mod mutex;
pub mod once;
pub mod select;
pub mod select_cases;
mod select_macro;
pub mod timer_chan;
pub mod waiter;
pub mod waitgroup;

pub use chan::{Receiver, Sender, chan};
pub use endpoint::{RecvChan, SendChan};
pub use mutex::Mutex;
pub use once::Once;
pub use select_cases::{SelectCase, select_cases};
pub use timer_chan::{after, tick};
pub use waitgroup::WaitGroup;
