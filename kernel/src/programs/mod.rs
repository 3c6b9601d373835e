//! The programs Spindle runs, one module each. Each is a `main` that runs as
//! routine 1 and uses the kernel's routine API the way a Go program uses
//! goroutines. The table of names and descriptions is
//! `spindle_shared::programs` (the host lists it too).

mod bench;
mod blocking;
mod chancheck;
mod fanout;
mod fault;
mod hello;
mod main_exits;
mod parallel_sum;
pub(crate) mod pingpong;
mod selfcheck;
mod sieve;
mod status_check;
mod stress;
mod synccheck;

use spindle_shared::cmdline::Options;
use spindle_shared::programs::Program;
use spindle_shared::trace;

use crate::cmdline::refuse;
use crate::sched::{self, Settings};

static OPTIONS: spin::Once<Options> = spin::Once::new();

/// The options of this run.
pub fn options() -> &'static Options {
    OPTIONS.get().expect("programs::run stored the options")
}

/// Runs the program `options` names on the scheduler; does not return.
/// `online` is how many cores came up.
pub fn run(options: Options, online: usize) -> ! {
    let cpus = options.cpus.map_or(online, |c| c as usize);
    if cpus > online {
        refuse(format_args!(
            "cpus={cpus} is more than the {online} cores online; valid: 1 to {online}"
        ));
    }
    let settings = Settings {
        cpus,
        slice_ns: options.slice_ms as u64 * 1_000_000,
        seed: options.seed,
        stats: options.stats,
    };
    let main = match options.program {
        Program::Hello => hello::main,
        Program::MainExits => main_exits::main_exits,
        Program::Waitgroup => main_exits::waitgroup,
        Program::ChannelWait => main_exits::channel_wait,
        Program::Blocking => blocking::main,
        Program::StatusCheck => status_check::main,
        Program::Sieve => sieve::main,
        Program::Pingpong => pingpong::main,
        Program::Fanout => fanout::main,
        Program::ParallelSum => parallel_sum::main,
        Program::Fault => fault::main,
        Program::Selfcheck => selfcheck::main,
        Program::Synccheck => synccheck::main,
        Program::Chancheck => chancheck::main,
        Program::Bench => bench::main,
        Program::Stress => stress::main,
    };
    if options.trace {
        let events = options.trace_buf.map_or(trace::DEFAULT_BUFFER_EVENTS, |n| n as usize);
        crate::trace::start(cpus, events);
    }
    OPTIONS.call_once(|| options);
    sched::start(settings, main)
}
