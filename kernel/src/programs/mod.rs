//! The programs Spindle runs. Each is a `main` that runs as routine 1.
//!
//! - `user/`: programs written against the routine API alone
//!   (`crate::api`), the way a Go program uses goroutines: what people read
//!   and run. They may not use `unsafe` (the module forbids it).
//! - `internal/`: the kernel's own checks and benchmarks (`selfcheck`,
//!   `synccheck`, `chancheck`, `fault`, `stress`, `bench`, `labcheck`, and
//!   `ktest`, which runs the kernel's unit tests), which reach into kernel
//!   internals on purpose.
//!
//! # Adding a program
//!
//! 1. Write `user/NAME.rs` (or `internal/NAME.rs`) with a `pub fn main()`.
//! 2. Add one entry to `list.rs`: its name, enum variant, module, a
//!    one-line description and its kinds. That list makes the module
//!    declaration, the `Program` variant, the dispatch below and the host's
//!    `--list`, so nothing else needs touching in the kernel or the runner.
//! 3. Add a row to the README's program table and a test in `tests/`
//!    (`tests/structure.rs` fails if a program file is missing from the list,
//!    or a user program from the README or the tests).

/// The kernel's side of the program list (`list.rs`): the modules, and
/// which `main` runs for each `Program`.
macro_rules! programs {
    (
        user { $($uname:literal $uvariant:ident $umodule:ident: $uabout:literal, [$($ukind:literal),* $(,)?],)* }
        internal { $($iname:literal $ivariant:ident $imodule:ident: $iabout:literal, [$($ikind:literal),* $(,)?],)* }
    ) => {
        /// Programs written against the routine API alone.
        #[forbid(unsafe_code)]
        pub mod user {
            $(pub mod $umodule;)*
        }

        /// The kernel's own checks and benchmarks.
        pub mod internal {
            $(pub mod $imodule;)*
        }

        /// The `main` of `program`.
        fn main_of(program: Program) -> fn() {
            match program {
                $(Program::$uvariant => user::$umodule::main,)*
                $(Program::$ivariant => internal::$imodule::main,)*
            }
        }
    };
}

include!("list.rs");

use spindle_shared::cmdline::Options;
use spindle_shared::programs::Program;
use spindle_shared::trace;

use crate::cmdline::refuse;
use crate::sched::{self, Settings};

/// Runs the program `options` names on the scheduler; does not return.
/// `online` is how many cores came up.
pub fn run(options: &'static Options, online: usize) -> ! {
    let cpus = options.cpus.map_or(online, |c| c as usize);
    if cpus > online {
        refuse(format_args!("cpus={cpus} is more than the {online} cores online; valid: 1 to {online}"));
    }
    let settings = Settings {
        cpus,
        slice_ns: options.slice_ms as u64 * 1_000_000,
        seed: options.seed,
        stats: options.stats,
        replay: options.replay,
    };
    let main = main_of(options.program);
    if options.trace {
        let events = options.trace_buf.map_or(trace::default_buffer_events(cpus), |n| n as usize);
        crate::trace::start(cpus, events);
    }
    sched::start(settings, main)
}
