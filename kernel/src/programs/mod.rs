//! The programs Spindle runs, one module each. The table of names and
//! descriptions is `spindle_shared::programs` (the host lists it too).

mod fault;
mod hello;

use spindle_shared::cmdline::Options;
use spindle_shared::programs::Program;

/// Runs the program `options` names; does not return.
pub fn run(options: &Options) -> ! {
    match options.program {
        Program::Hello => hello::main(options),
        Program::Fault => fault::main(options),
    }
}
