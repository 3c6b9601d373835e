//! What Spindle's kernel and its host runner both compile.
//!
//! Everything here is plain logic over `core` (and `alloc` where noted): no
//! ports, no registers, no assumptions about the machine. That is what lets
//! the host unit-test it, model-check the lock-free parts under `loom`, and
//! use the same definitions on both sides of the host/guest protocol:
//!
//! - [`chan`]: channel semantics (buffer, hand-off, close), without blocking;
//! - [`cmdline`]: the kernel command line (program and options), its parser
//!   and its error messages;
//! - [`coreset`]: sets of cores (a few words wide), plain and atomic;
//! - [`programs`]: the programs Spindle can run, with their one-line descriptions;
//! - [`exit`]: the exit codes the guest reports through `isa-debug-exit`;
//! - [`runq`]: a core's lock-free run queue (model-checked under `loom`);
//! - [`trace`]: the scheduler trace's binary format.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

extern crate alloc;

pub mod chan;
pub mod cmdline;
pub mod coreset;
pub mod exit;
pub mod programs;
pub mod runq;
pub mod trace;
