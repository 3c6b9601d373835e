//! Timer channels (Go's `time.After` and `time.Tick`).
//!
//! Both are ordinary channels with room for one value, fed by a timer
//! callback on the core that asked. A tick that finds the channel full is
//! dropped, as Go's ticker drops ticks a slow receiver misses. The channels
//! are never closed; a ticker stops once every receiver is gone.

use alloc::boxed::Box;
use alloc::sync::Arc;

use super::chan::{Receiver, chan};
use crate::sched::timers;
use crate::time;

/// A channel that receives `()` once, `ns` nanoseconds from now.
pub fn after(ns: u64) -> Receiver<()> {
    let (tx, rx) = chan(1);
    let target = tx.into_chan();
    timers::call_at(
        time::now().saturating_add(ns),
        Box::new(move || {
            let _ = target.try_send(());
            None
        }),
    );
    rx
}

/// A channel that receives 1, 2, 3, ... every `period` ns.
pub fn tick(period: u64) -> Receiver<u64> {
    assert!(period > 0, "tick needs a period above zero");
    let (tx, rx) = chan(1);
    let target = tx.into_chan();
    let mut next = time::now().saturating_add(period);
    let mut count = 0;
    timers::call_at(
        next,
        Box::new(move || {
            count += 1;
            let _ = target.try_send(count);
            // Only this callback holds the channel: every receiver is gone.
            if Arc::strong_count(&target) == 1 {
                return None;
            }
            // Ticks a slow core missed are skipped, as Go's ticker does:
            // never a deadline already past, which would fire at once, again.
            next = next.saturating_add(period).max(crate::time::now().saturating_add(period));
            Some(next)
        }),
    );
    rx
}
