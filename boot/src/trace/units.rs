//! Times for people: nanoseconds said in the unit that suits them, and the
//! round times a time axis is marked at.

/// A unit of time: its symbol and how many nanoseconds it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TimeUnit {
    symbol: &'static str,
    ns: u64,
}

const UNITS: [TimeUnit; 4] = [
    TimeUnit { symbol: "ns", ns: 1 },
    TimeUnit { symbol: "us", ns: 1_000 },
    TimeUnit { symbol: "ms", ns: 1_000_000 },
    TimeUnit { symbol: "s", ns: 1_000_000_000 },
];

/// The largest unit that `ns` holds at least once (nanoseconds for 0).
fn unit_for(ns: u64) -> TimeUnit {
    UNITS.into_iter().rev().find(|unit| ns >= unit.ns).unwrap_or(UNITS[0])
}

/// `ns` in its unit, to the thousandth: "2.500 ms", "740 ns".
pub fn format_duration(ns: u64) -> String {
    let unit = unit_for(ns);
    if unit.ns == 1 { format!("{ns} ns") } else { format!("{:.3} {}", ns as f64 / unit.ns as f64, unit.symbol) }
}

/// "1 run", "2 runs".
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

/// The smallest step of the form 1, 2 or 5 times a power of ten (in
/// nanoseconds) that cuts `span_ns` into at most `max_steps` steps.
fn round_step(span_ns: u64, max_steps: u64) -> u64 {
    let least = span_ns.div_ceil(max_steps.max(1)).max(1);
    let mut decade = 1u64;
    loop {
        for factor in [1, 2, 5] {
            let step = factor * decade;
            if step >= least {
                return step;
            }
        }
        decade *= 10;
    }
}

/// Where to mark an axis that spans `span_ns`: round times from 0, at most
/// `max_steps` steps, each with its label in the unit the span fills, with
/// as many decimals as the step needs ("0.0 ms", "0.5 ms", ... "2.5 ms").
pub fn axis_ticks(span_ns: u64, max_steps: u64) -> Vec<(u64, String)> {
    let step = round_step(span_ns, max_steps);
    let unit = unit_for(span_ns.max(step));
    let decimals =
        (0..).find(|&d| (step * 10u64.pow(d)).is_multiple_of(unit.ns)).expect("the unit is a power of ten") as usize;
    (0..=span_ns / step)
        .map(|k| {
            let at_ns = k * step;
            (at_ns, format!("{:.*} {}", decimals, at_ns as f64 / unit.ns as f64, unit.symbol))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_said_in_the_largest_unit_they_fill() {
        assert_eq!(format_duration(0), "0 ns");
        assert_eq!(format_duration(740), "740 ns");
        assert_eq!(format_duration(1_500), "1.500 us");
        assert_eq!(format_duration(2_500_000), "2.500 ms");
        assert_eq!(format_duration(10_000_000_000), "10.000 s");
    }

    #[test]
    fn axis_steps_are_one_two_or_five_and_give_five_to_ten_steps() {
        assert_eq!(round_step(1_000_000, 10), 100_000);
        assert_eq!(round_step(10_000_000_000, 10), 1_000_000_000);
        assert_eq!(round_step(3_700_000, 10), 500_000);
        for span in [1_000u64, 1_234_567, 9_999_999, 25_000_000, 10_000_000_000, 7] {
            let step = round_step(span, 10);
            let leading = step / 10u64.pow(step.ilog10());
            assert!([1, 2, 5].contains(&leading), "step {step}");
            assert!(span / step <= 10 && span.div_ceil(step) >= 4.min(span), "span {span} step {step}");
        }
    }

    #[test]
    fn axis_ticks_are_labelled_in_the_spans_unit_with_the_decimals_the_step_needs() {
        let labels = |span_ns| axis_ticks(span_ns, 10).into_iter().map(|(_, label)| label).collect::<Vec<_>>();
        assert_eq!(labels(2_993_000), ["0.0 ms", "0.5 ms", "1.0 ms", "1.5 ms", "2.0 ms", "2.5 ms"]);
        assert_eq!(labels(8_500), ["0 us", "1 us", "2 us", "3 us", "4 us", "5 us", "6 us", "7 us", "8 us"]);
        assert_eq!(labels(10_000_000_000).last().unwrap(), "10 s");
        assert_eq!(axis_ticks(10_000_000_000, 10)[3].0, 3_000_000_000);
    }
}
