//! The host half of the scheduler trace: decode the binary stream the kernel
//! sends (format in `spindle_shared::trace`) and present it.
//!
//! - [`decode`](decode()): bytes to a [`Trace`], tolerating a stream cut short;
//! - [`chrome_json`]: Chrome trace-event JSON for Perfetto and chrome://tracing;
//! - [`timeline_svg`]: the runner's own SVG picture, one lane per core, that
//!   stays readable (and small) from a millisecond run to a ten-second one;
//! - [`stats`](stats()): a plain-text summary per core and per routine;
//! - [`dropped_report`]: the one line to print when buffers overflowed.
//!
//! Runs, idle stretches and cross-core moves are derived once, in
//! `activity`, so all three presentations agree on them.

mod activity;
mod aggregate;
mod chrome;
mod decode;
mod latency;
mod legend;
mod states;
mod stats;
mod svg;
mod timeline;
mod units;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

pub use chrome::chrome_json;
pub use decode::{CoreTrace, Trace, decode};
pub use stats::stats;
pub use timeline::timeline_svg;

use spindle_shared::cmdline::TRACE_BUF;

/// "trace: events dropped: ..." naming each core that dropped events and
/// what to do about it; `None` when nothing was dropped.
pub fn dropped_report(trace: &Trace) -> Option<String> {
    let dropping: Vec<&CoreTrace> = trace.cores.iter().filter(|core| core.dropped > 0).collect();
    if dropping.is_empty() {
        return None;
    }
    let per_core: Vec<String> = dropping.iter().map(|core| format!("cpu {}: {}", core.cpu, core.dropped)).collect();
    Some(format!(
        "trace: events dropped: {} ({}); those cores' buffers filled up and kept their first \
         events: raise --trace-buf (events per core, at most {})",
        trace.dropped(),
        per_core.join(", "),
        TRACE_BUF.1,
    ))
}
