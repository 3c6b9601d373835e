//! `fault`: fails on purpose, so that tests (and people) can see how each
//! kind of failure is reported.

use spindle_shared::cmdline::Options;

pub fn main(options: &Options) -> ! {
    match options.kind {
        "panic" => panic!("deliberate panic (program fault, kind=panic)"),
        // A guest that never finishes: the runner's timeout must stop it.
        "hang" => crate::arch::cpu::halt_forever(),
        other => unreachable!("kind {other} is not in the fault program's table"),
    }
}
