//! The runner's own picture of a trace: an SVG timeline with one lane per
//! core, routine runs as coloured bars, preemptions as red marks, the lines
//! the program printed as small marks under the bars (the text in their
//! tooltip), steals and cross-core wakes as arrows between lanes, and a
//! time axis.
//!
//! It stays readable and small from a one-millisecond run to a ten-second
//! one: runs too narrow to see are merged, close marks gathered (a mark of
//! several printed lines lists the first of them) and arrows thinned (see
//! `aggregate`), so the picture never holds more than [`BAR_BUDGET`] bars,
//! [`MARK_BUDGET`] marks of each kind and [`ARROW_BUDGET`] arrows, and the
//! legend says what was merged or left out. Times on the
//! axis and in tooltips count from the trace's first event.

use std::collections::HashMap;

use spindle_shared::trace::Kind;

use super::activity::{
    CoreActivity, Move, MoveKind, Printed, Run, RunEnd, Stretch, core_activity, moves, printed, time_span,
};
use super::aggregate::{Bar, Cluster, Merged, clusters, every_kth, fit, lane_bars};
use super::decode::{CoreTrace, Trace, ending};
use super::legend::{Legend, MERGED_FILL, routine_colour};
use super::svg::{Px, Svg};
use super::units::{axis_ticks, format_duration, plural};

/// At most this many bars (runs or merged runs) over all lanes.
pub const BAR_BUDGET: usize = 4_000;
/// At most this many preemption marks over all lanes.
pub const MARK_BUDGET: usize = 1_000;
/// At most this many steal and wake arrows.
pub const ARROW_BUDGET: usize = 400;

const WIDTH: f64 = 1200.0;
/// Left of the plot: the lane labels.
const PLOT_LEFT: f64 = 64.0;
const PLOT_RIGHT_MARGIN: f64 = 24.0;
const PLOT_WIDTH: f64 = WIDTH - PLOT_LEFT - PLOT_RIGHT_MARGIN;
/// Above the plot: the title, the counts, the legend and its notes.
const PLOT_TOP: f64 = 92.0;
const LANE_HEIGHT: f64 = 28.0;
const BAR_HEIGHT: f64 = 20.0;
const AXIS_HEIGHT: f64 = 40.0;
/// Runs narrower than this are merged with their neighbours (at first).
const MIN_BAR_PX: f64 = 2.0;
/// Preemptions closer than this share a mark (at first): a mark's width.
const MARK_PX: f64 = 8.0;
/// Width of a character of a bar label, to know whether the label fits.
const LABEL_CHAR_PX: f64 = 6.5;
/// Printed lines a gathered print mark's tooltip shows.
const PRINTS_SHOWN: usize = 10;
const MAX_AXIS_STEPS: u64 = 10;

const STYLE: &str = "text { font: 12px sans-serif; fill: #222 } \
    .title { font-size: 14px; font-weight: bold } .note { fill: #555 } \
    .lane-bg { fill: #fff; stroke: #ddd } .label { font-size: 11px; pointer-events: none } \
    .run, .merged { stroke: #fff; stroke-width: 0.3 } .full { fill: #ccc; fill-opacity: 0.6 } \
    .preempt { fill: #d62728 } .print { fill: #333 } .steal { stroke: #e67e22 } .wake { stroke: #2c7fb8 } \
    .steal, .wake { stroke-width: 1.2 } .grid { stroke: #eee } .axis { stroke: #888 }";

/// Where times land on the page.
struct Scale {
    start_ns: u64,
    ns_per_px: f64,
}

impl Scale {
    fn x(&self, time_ns: u64) -> f64 {
        PLOT_LEFT + time_ns.saturating_sub(self.start_ns) as f64 / self.ns_per_px
    }

    /// `time_ns` as the axis counts it.
    fn at(&self, time_ns: u64) -> String {
        format_duration(time_ns.saturating_sub(self.start_ns))
    }
}

/// The SVG timeline of `trace`.
pub fn timeline_svg(trace: &Trace) -> String {
    let span = time_span(trace).unwrap_or(Stretch { start_ns: 0, end_ns: 0 });
    let span_ns = span.length_ns();
    let scale = Scale { start_ns: span.start_ns, ns_per_px: span_ns.max(1) as f64 / PLOT_WIDTH };
    let activities: Vec<CoreActivity> = trace.cores.iter().map(core_activity).collect();
    let (bars, bar_px) = fit(MIN_BAR_PX, PLOT_WIDTH, BAR_BUDGET, |px| {
        activities.iter().map(|activity| lane_bars(&activity.runs, px * scale.ns_per_px)).collect()
    });
    let preemptions: Vec<Vec<u64>> = activities
        .iter()
        .map(|activity| activity.runs.iter().filter(|run| run.end == RunEnd::Preempted).map(|run| run.end_ns).collect())
        .collect();
    let (marks, _) = fit(MARK_PX, PLOT_WIDTH, MARK_BUDGET, |px| {
        preemptions.iter().map(|times| clusters(times, px * scale.ns_per_px)).collect()
    });
    let lines: Vec<Vec<Printed>> = trace.cores.iter().map(printed).collect();
    let line_times: Vec<Vec<u64>> = lines.iter().map(|lane| lane.iter().map(|p| p.time_ns).collect()).collect();
    let (print_marks, _) = fit(MARK_PX, PLOT_WIDTH, MARK_BUDGET, |px| {
        line_times.iter().map(|times| clusters(times, px * scale.ns_per_px)).collect()
    });
    let lane_of: HashMap<u32, usize> = trace.cores.iter().enumerate().map(|(lane, core)| (core.cpu, lane)).collect();
    let drawable: Vec<Move> = moves(trace)
        .into_iter()
        .filter(|m| m.from_cpu != m.to_cpu && lane_of.contains_key(&m.from_cpu) && lane_of.contains_key(&m.to_cpu))
        .collect();
    let move_count = drawable.len();
    let (arrows, every) = every_kth(drawable, ARROW_BUDGET);

    let height = PLOT_TOP + LANE_HEIGHT * trace.cores.len() as f64 + AXIS_HEIGHT;
    let mut svg = Svg::new(WIDTH, height, STYLE);
    let (title, counts) = headline(trace, span, &activities);
    svg.text("text", &[("class", &"title"), ("x", &Px(8.0)), ("y", &Px(18.0))], &title);
    svg.text("text", &[("class", &"counts"), ("x", &Px(8.0)), ("y", &Px(36.0))], &counts);
    let legend = Legend {
        merged_below_px: bar_px,
        dropped: trace.dropped() > 0,
        arrows_omitted: (move_count - arrows.len(), move_count, every),
    };
    legend.draw(&mut svg);
    draw_axis(&mut svg, &scale, span_ns, height - AXIS_HEIGHT);
    for (lane, core) in trace.cores.iter().enumerate() {
        draw_lane(&mut svg, &scale, lane, core, &bars[lane], &marks[lane]);
        draw_prints(&mut svg, &scale, lane, &lines[lane], &print_marks[lane]);
    }
    svg.open("g", &[("class", &"arrows")]);
    for arrow in &arrows {
        draw_arrow(&mut svg, &scale, lane_of[&arrow.from_cpu], lane_of[&arrow.to_cpu], arrow);
    }
    svg.close("g");
    svg.finish()
}

/// Core `core`'s lane: its label, bars, preemption marks and, if its
/// buffer filled, where its events stop.
fn draw_lane(svg: &mut Svg, scale: &Scale, lane: usize, core: &CoreTrace, bars: &[Bar], marks: &[Cluster]) {
    svg.open("g", &[("class", &"lane"), ("data-cpu", &core.cpu)]);
    let top = lane_top(lane);
    let (y, lane_height) = (Px(top), Px(LANE_HEIGHT - 2.0));
    svg.empty(
        "rect",
        &[
            ("class", &"lane-bg"),
            ("x", &Px(PLOT_LEFT)),
            ("y", &y),
            ("width", &Px(PLOT_WIDTH)),
            ("height", &lane_height),
        ],
    );
    svg.text("text", &[("x", &Px(8.0)), ("y", &Px(top + LANE_HEIGHT / 2.0 + 3.0))], &format!("cpu {}", core.cpu));
    for bar in bars {
        match bar {
            Bar::Run(run) => draw_run(svg, scale, top, run),
            Bar::Merged(merged) => draw_merged(svg, scale, top, core.cpu, merged),
        }
    }
    if let (true, Some(last)) = (core.dropped > 0, core.events.last()) {
        let x = scale.x(last.time_ns);
        let why = format!("cpu {}'s buffer was full from here: {} events dropped", core.cpu, core.dropped);
        let width = Px(PLOT_LEFT + PLOT_WIDTH - x);
        svg.titled(
            "rect",
            &[("class", &"full"), ("x", &Px(x)), ("y", &y), ("width", &width), ("height", &lane_height)],
            &why,
        );
    }
    for mark in marks {
        draw_preemption(svg, scale, top, mark);
    }
    svg.close("g");
}

fn lane_top(lane: usize) -> f64 {
    PLOT_TOP + LANE_HEIGHT * lane as f64
}

/// The bar's left edge and width: at least a pixel, so it shows.
fn extent(scale: &Scale, start_ns: u64, end_ns: u64) -> (f64, f64) {
    let x = scale.x(start_ns);
    (x, (scale.x(end_ns) - x).max(1.0))
}

fn draw_run(svg: &mut Svg, scale: &Scale, top: f64, run: &Run) {
    let (x, width) = extent(scale, run.start_ns, run.end_ns);
    let y = top + (LANE_HEIGHT - 2.0 - BAR_HEIGHT) / 2.0;
    let stop = match run.end {
        RunEnd::Block { wait } => format!("block ({wait})"),
        end => end.name().to_string(),
    };
    let name = format!("r{}", run.routine);
    let tooltip = format!(
        "{name} on cpu {}: {} from {}; {stop}",
        run.cpu,
        format_duration(run.length_ns()),
        scale.at(run.start_ns)
    );
    let colour = routine_colour(run.routine);
    svg.titled(
        "rect",
        &[
            ("class", &"run"),
            ("x", &Px(x)),
            ("y", &Px(y)),
            ("width", &Px(width)),
            ("height", &Px(BAR_HEIGHT)),
            ("fill", &colour),
        ],
        &tooltip,
    );
    if width >= name.len() as f64 * LABEL_CHAR_PX + 4.0 {
        svg.text("text", &[("class", &"label"), ("x", &Px(x + 2.0)), ("y", &Px(y + BAR_HEIGHT / 2.0 + 4.0))], &name);
    }
}

fn draw_merged(svg: &mut Svg, scale: &Scale, top: f64, cpu: u32, merged: &Merged) {
    let (x, width) = extent(scale, merged.start_ns, merged.end_ns);
    let y = top + (LANE_HEIGHT - 2.0 - BAR_HEIGHT) / 2.0;
    let length_ns = merged.end_ns.saturating_sub(merged.start_ns).max(1);
    let busy = merged.busy_ns as f64 / length_ns as f64;
    let fill = if merged.dominant_ns * 2 >= merged.busy_ns {
        routine_colour(merged.dominant)
    } else {
        MERGED_FILL.to_string()
    };
    let tooltip = format!(
        "{} runs on cpu {cpu} merged: {} from {}, busy {:.0}%; longest r{} ({:.0}% of the busy time)",
        merged.runs,
        format_duration(length_ns),
        scale.at(merged.start_ns),
        busy * 100.0,
        merged.dominant,
        merged.dominant_ns as f64 * 100.0 / merged.busy_ns.max(1) as f64,
    );
    let opacity = format!("{:.2}", busy.clamp(0.35, 1.0));
    svg.titled(
        "rect",
        &[
            ("class", &"merged"),
            ("x", &Px(x)),
            ("y", &Px(y)),
            ("width", &Px(width)),
            ("height", &Px(BAR_HEIGHT)),
            ("fill", &fill),
            ("fill-opacity", &opacity),
        ],
        &tooltip,
    );
}

/// A small red triangle pointing down at the moment of the preemption(s).
fn draw_preemption(svg: &mut Svg, scale: &Scale, top: f64, mark: &Cluster) {
    let x = scale.x(mark.time_ns);
    let points = format!("{},{} {},{} {},{}", Px(x - 4.0), Px(top), Px(x + 4.0), Px(top), Px(x), Px(top + 7.0));
    let tooltip = match mark.count {
        1 => format!("preempted at {}", scale.at(mark.time_ns)),
        n => format!("{n} preemptions from {}", scale.at(mark.time_ns)),
    };
    svg.titled("polygon", &[("class", &"preempt"), ("points", &points)], &tooltip);
}

/// Lane `lane`'s printed lines, `lines` gathered into `marks`: a small
/// triangle at the bottom of the lane pointing up at the moment, the text
/// (or the first few lines of a gathered mark) as its tooltip.
fn draw_prints(svg: &mut Svg, scale: &Scale, lane: usize, lines: &[Printed], marks: &[Cluster]) {
    svg.open("g", &[("class", &"prints")]);
    let bottom = lane_top(lane) + LANE_HEIGHT - 2.0;
    let mut rest = lines;
    for mark in marks {
        let (these, after) = rest.split_at(mark.count.min(rest.len()));
        rest = after;
        let x = scale.x(mark.time_ns);
        let points =
            format!("{},{} {},{} {},{}", Px(x - 3.0), Px(bottom), Px(x + 3.0), Px(bottom), Px(x), Px(bottom - 5.0));
        let said = |p: &Printed| format!("{} on cpu {} at {}: {}", p.by(), p.cpu, scale.at(p.time_ns), p.shown());
        let tooltip = match these {
            [one] => said(one),
            many => {
                let mut shown: Vec<String> = many.iter().take(PRINTS_SHOWN).map(said).collect();
                if many.len() > PRINTS_SHOWN {
                    shown.push(format!("... and {} more", many.len() - PRINTS_SHOWN));
                }
                format!("{} lines printed from {}:\n{}", many.len(), scale.at(mark.time_ns), shown.join("\n"))
            }
        };
        svg.titled("polygon", &[("class", &"print"), ("points", &points)], &tooltip);
    }
    svg.close("g");
}

/// A line from the middle of the source lane, when the routine left it, to
/// the edge of the target lane, when it arrived: a steal is vertical, a
/// wake slants by the time the woken routine waited for a core.
fn draw_arrow(svg: &mut Svg, scale: &Scale, from_lane: usize, to_lane: usize, m: &Move) {
    let (x1, x2) = (Px(scale.x(m.from_ns)), Px(scale.x(m.time_ns)));
    let from_y = lane_top(from_lane) + LANE_HEIGHT / 2.0;
    let to_y = if to_lane > from_lane { lane_top(to_lane) + 2.0 } else { lane_top(to_lane) + LANE_HEIGHT - 4.0 };
    let (class, head) = match m.kind {
        MoveKind::Steal => ("steal", "url(#head-steal)"),
        MoveKind::Wake => ("wake", "url(#head-wake)"),
    };
    let tooltip = match m.kind {
        MoveKind::Steal => format!(
            "cpu {} stole {} routines (first r{}) from cpu {} at {}",
            m.to_cpu,
            m.routines,
            m.routine,
            m.from_cpu,
            scale.at(m.time_ns)
        ),
        MoveKind::Wake => format!(
            "r{} woken on cpu {} at {}, ran on cpu {} at {} (waited {})",
            m.routine,
            m.from_cpu,
            scale.at(m.from_ns),
            m.to_cpu,
            scale.at(m.time_ns),
            format_duration(m.time_ns.saturating_sub(m.from_ns))
        ),
    };
    svg.titled(
        "line",
        &[("class", &class), ("x1", &x1), ("y1", &Px(from_y)), ("x2", &x2), ("y2", &Px(to_y)), ("marker-end", &head)],
        &tooltip,
    );
}

/// Grid lines at round times and their labels under the lanes.
fn draw_axis(svg: &mut Svg, scale: &Scale, span_ns: u64, axis_y: f64) {
    svg.open("g", &[("class", &"axis-ticks")]);
    for (at_ns, label) in axis_ticks(span_ns.max(1), MAX_AXIS_STEPS) {
        let x = Px(scale.x(scale.start_ns + at_ns));
        svg.empty(
            "line",
            &[("class", &"grid"), ("x1", &x), ("y1", &Px(PLOT_TOP)), ("x2", &x), ("y2", &Px(axis_y + 4.0))],
        );
        svg.text("text", &[("x", &x), ("y", &Px(axis_y + 18.0)), ("text-anchor", &"middle")], &label);
    }
    let (left, right) = (Px(PLOT_LEFT), Px(PLOT_LEFT + PLOT_WIDTH));
    svg.empty("line", &[("class", &"axis"), ("x1", &left), ("y1", &Px(axis_y)), ("x2", &right), ("y2", &Px(axis_y))]);
    svg.text("text", &[("class", &"note"), ("x", &Px(8.0)), ("y", &Px(axis_y + 34.0))], "time since the first event");
    svg.close("g");
}

/// The title ("Spindle trace: ..." with the span and what is missing) and
/// the line under it with the counts of what happened.
fn headline(trace: &Trace, span: Stretch, activities: &[CoreActivity]) -> (String, String) {
    let mut title = format!(
        "Spindle trace: {}, {} from {} after kernel entry",
        plural(trace.cores.len(), "core"),
        format_duration(span.length_ns()),
        format_duration(span.start_ns),
    );
    if let Some(exit) = trace.ended() {
        title.push_str(&format!("; {}", ending(exit)));
    }
    if !trace.complete {
        title.push_str("; stream cut short");
    }
    if trace.dropped() > 0 {
        title.push_str(&format!("; {} dropped", plural(trace.dropped() as usize, "event")));
    }
    let runs: usize = activities.iter().map(|activity| activity.runs.len()).sum();
    let preemptions =
        activities.iter().flat_map(|activity| &activity.runs).filter(|run| run.end == RunEnd::Preempted).count();
    let all_moves = moves(trace);
    let steals = all_moves.iter().filter(|m| m.kind == MoveKind::Steal).count();
    let lines = trace.cores.iter().flat_map(|core| &core.events).filter(|e| e.kind == Kind::Print as u8).count();
    let counts = format!(
        "{}: {}, {}, {}, {}, {}",
        plural(trace.event_count(), "event"),
        plural(runs, "run"),
        plural(preemptions, "preemption"),
        plural(steals, "steal"),
        plural(all_moves.len() - steals, "cross-core wake"),
        plural(lines, "printed line"),
    );
    (title, counts)
}
