//! `fault`: fails on purpose, so that tests (and people) can see how each
//! kind of failure is reported.

use super::options;
use crate::{arch, cpu, smp};

pub fn main() {
    match options().kind {
        "panic" => panic!("deliberate panic (program fault, kind=panic)"),
        "ap-panic" => {
            let last = cpu::count() - 1;
            assert!(last > 0, "kind=ap-panic needs a second core (--smp 2 or more)");
            smp::call_on(last, || {
                panic!("deliberate panic on an application processor (program fault, kind=ap-panic)")
            });
            // The panicking core stops this one.
            loop {
                core::hint::spin_loop();
            }
        }
        // A guest that never finishes: the runner's timeout must stop it.
        "hang" => arch::cpu::halt_forever(),
        other => unreachable!("kind {other} is not in the fault program's table"),
    }
}
