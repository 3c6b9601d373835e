//! `blocking`: what makes a routine give up its core. Run it with
//! `--cpus 1` to see one core shared:
//!
//! 1. a routine that sleeps, and one that waits on a channel, let the
//!    others run: the next line comes from another routine right after
//!    "going to sleep" / "waiting";
//! 2. a routine that never blocks is preempted when its time slice
//!    (`--slice`, 10 ms by default) runs out, so another still gets the core.

use core::time::Duration;

use crate::api::*;

pub fn main() {
    println!("main: part 1, blocking calls hand the core to someone else");
    let (tx, rx) = chan::<u32>(0);
    let sleeper = go(|| {
        println!("sleeper: going to sleep for 20 ms");
        sleep(ms(20));
        println!("sleeper: awake again");
    });
    let waiter = go(move || {
        println!("waiter: waiting for a value on a channel");
        let value = rx.recv().expect("the counter sends one value");
        println!("waiter: received {value}");
    });
    let counter = go(move || {
        for step in 1..=3 {
            println!("counter: step {step}, running while the others are blocked");
            yield_now();
        }
        println!("counter: sending 42 to the waiter");
        tx.send(42);
    });
    counter.join();
    waiter.join();
    sleeper.join();

    let slice = Duration::from_millis(options().slice_ms as u64);
    println!("main: part 2, a routine that never blocks is preempted after {} ms", slice.as_millis());
    let busy = go(move || {
        let start = now();
        let (tx, rx) = chan::<Duration>(1);
        let polite = go(move || {
            tx.send(now());
            println!("polite: got the core; the busy routine was preempted");
        });
        println!("busy: looping for {} ms without yielding", 3 * slice.as_millis());
        while now() - start < 3 * slice {
            core::hint::spin_loop();
        }
        let polite_ran_at = rx.recv().expect("polite sends once") - start;
        polite.join();
        println!("busy: done; polite ran {} ms into my loop", polite_ran_at.as_millis());
    });
    busy.join();
    summary!("blocking: blocked routines let others run; a busy routine was preempted");
}
