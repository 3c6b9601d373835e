//! The trace module as a whole: the SVG timeline read back as XML, and a
//! stream going all the way from bytes to every presentation.

use roxmltree::{Document, Node};

use super::fixture::{busy_trace, encode, sample_cores, sample_trace};
use super::timeline::{ARROW_BUDGET, BAR_BUDGET, MARK_BUDGET};
use super::*;

fn with_class<'a, 'input>(document: &'a Document<'input>, class: &str) -> Vec<Node<'a, 'input>> {
    document.descendants().filter(|n| n.attribute("class") == Some(class)).collect()
}

fn own_text(node: Node) -> String {
    node.children().filter(|n| n.is_text()).filter_map(|n| n.text()).collect()
}

#[test]
fn the_timeline_is_well_formed_svg_with_one_labelled_lane_per_core() {
    let svg = timeline_svg(&sample_trace());
    let document = Document::parse(&svg).expect("timeline_svg writes well-formed XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    let lanes = with_class(&document, "lane");
    let cpus: Vec<&str> = lanes.iter().map(|lane| lane.attribute("data-cpu").unwrap()).collect();
    assert_eq!(cpus, ["0", "1"]);
    for (lane, name) in lanes.iter().zip(["cpu 0", "cpu 1"]) {
        assert!(lane.descendants().any(|n| n.has_tag_name("text") && own_text(n) == name), "lane of {name}");
    }
}

#[test]
fn a_short_trace_draws_every_run_as_its_own_labelled_bar() {
    let svg = timeline_svg(&sample_trace());
    let document = Document::parse(&svg).unwrap();
    assert_eq!(with_class(&document, "run").iter().filter(|n| n.has_tag_name("rect")).count(), 1 + 5);
    assert!(
        with_class(&document, "merged").iter().all(|n| n.ancestors().any(|a| a.attribute("class") == Some("legend")))
    );
    let labels: Vec<String> = with_class(&document, "label").into_iter().map(own_text).collect();
    assert_eq!(labels, ["r1", "r2", "r1", "r3", "r2"]);
    let blocked =
        document.descendants().find(|n| n.has_tag_name("title") && own_text(*n).contains("block (chan receive)"));
    assert!(blocked.is_some(), "the blocked run's tooltip names what it waits for");
}

#[test]
fn preemptions_are_marked_and_moves_are_arrows_between_lanes() {
    let svg = timeline_svg(&sample_trace());
    let document = Document::parse(&svg).unwrap();
    let in_lanes = |class: &str| {
        with_class(&document, class)
            .into_iter()
            .filter(|n| !n.ancestors().any(|a| a.attribute("class") == Some("legend")))
            .collect::<Vec<_>>()
    };
    assert_eq!(in_lanes("preempt").len(), 1);
    for (class, head) in [("steal", "url(#head-steal)"), ("wake", "url(#head-wake)")] {
        let arrows = in_lanes(class);
        assert_eq!(arrows.len(), 1, "{class} arrows");
        assert_eq!(arrows[0].attribute("marker-end"), Some(head));
        let (y1, y2): (f64, f64) =
            (arrows[0].attribute("y1").unwrap().parse().unwrap(), arrows[0].attribute("y2").unwrap().parse().unwrap());
        assert!(y2 > y1, "{class}: from cpu 0's lane down to cpu 1's");
    }
}

#[test]
fn printed_lines_are_marks_with_their_text_as_tooltip() {
    let svg = timeline_svg(&sample_trace());
    let document = Document::parse(&svg).unwrap();
    let in_lanes: Vec<Node> = with_class(&document, "print")
        .into_iter()
        .filter(|n| !n.ancestors().any(|a| a.attribute("class") == Some("legend")))
        .collect();
    // The two lines are 2 ns apart: one mark that lists both.
    assert_eq!(in_lanes.len(), 1);
    let title = own_text(in_lanes[0].children().find(|n| n.has_tag_name("title")).unwrap());
    assert_eq!(
        title,
        "2 lines printed from 5.000 us:\nr3 on cpu 1 at 5.000 us: r3: <a & b> done\nr3 on cpu 1 at 5.002 us: second..."
    );
    // Far apart, each line has its own mark.
    let mut trace = sample_trace();
    trace.cores[1].events.iter_mut().filter(|e| e.time_ns == 6_002).for_each(|e| e.time_ns = 8_000);
    let svg = timeline_svg(&trace);
    let document = Document::parse(&svg).unwrap();
    let titles: Vec<String> = with_class(&document, "print")
        .into_iter()
        .filter_map(|n| n.children().find(|c| c.has_tag_name("title")))
        .map(own_text)
        .collect();
    assert_eq!(titles, ["r3 on cpu 1 at 5.000 us: r3: <a & b> done", "r3 on cpu 1 at 7.000 us: second..."]);
}

#[test]
fn the_time_axis_has_five_to_eleven_round_ticks_in_one_unit_from_zero() {
    for trace in [sample_trace(), busy_trace(2, 1_000, 1_000_000), busy_trace(2, 1_000, 10_000_000_000)] {
        let svg = timeline_svg(&trace);
        let document = Document::parse(&svg).unwrap();
        let ticks = document.descendants().find(|n| n.attribute("class") == Some("axis-ticks")).unwrap();
        let labels: Vec<String> = ticks
            .children()
            .filter(|n| n.has_tag_name("text") && n.attribute("class").is_none())
            .map(own_text)
            .collect();
        assert!((5..=11).contains(&labels.len()), "{labels:?}");
        let (first, unit) = labels[0].split_once(' ').unwrap();
        assert!(labels.iter().all(|label| label.ends_with(&format!(" {unit}"))), "{labels:?}");
        assert_eq!(first.parse::<f64>(), Ok(0.0));
    }
}

#[test]
fn a_ten_second_trace_of_200_000_runs_is_merged_within_the_caps() {
    let trace = busy_trace(4, 200_000, 10_000_000_000);
    let svg = timeline_svg(&trace);
    assert!(svg.len() < 3_000_000, "{} bytes", svg.len());
    let document = Document::parse(&svg).unwrap();
    assert!(document.descendants().filter(|n| n.is_element()).count() < 20_000);
    let bars = with_class(&document, "run").len() + with_class(&document, "merged").len();
    let merged = with_class(&document, "merged").len();
    assert!(bars <= BAR_BUDGET + 2 && merged > 1, "{bars} bars, {merged} merged");
    assert!(with_class(&document, "preempt").len() <= MARK_BUDGET + 1);
    let arrows = with_class(&document, "steal").len() + with_class(&document, "wake").len();
    assert!(arrows <= ARROW_BUDGET + 2, "{arrows} arrows");
    let notes = own_text(with_class(&document, "note")[0]);
    assert!(notes.contains("arrows omitted (one in"), "{notes}");
    let merged_tooltip =
        document.descendants().find(|n| n.has_tag_name("title") && own_text(*n).contains("runs on cpu 0 merged"));
    assert!(merged_tooltip.is_some(), "a merged bar says how many runs it covers");
}

#[test]
fn the_title_gives_the_span_and_what_is_missing_and_the_next_line_the_counts() {
    let mut trace = sample_trace();
    trace.complete = false;
    trace.cores[1].dropped = 34;
    let svg = timeline_svg(&trace);
    let document = Document::parse(&svg).unwrap();
    let title = own_text(with_class(&document, "title")[0]);
    assert!(title.contains("2 cores, 8.500 us"), "{title}");
    assert!(title.contains("stream cut short") && title.contains("34 events dropped"), "{title}");
    let counts = own_text(with_class(&document, "counts")[0]);
    assert_eq!(counts, "23 events: 5 runs, 1 preemption, 1 steal, 1 cross-core wake, 2 printed lines");
    let full =
        with_class(&document, "full").into_iter().find(|n| n.parent().unwrap().attribute("data-cpu") == Some("1"));
    assert!(full.is_some(), "cpu 1's lane shows where its buffer filled");
}

#[test]
fn a_trace_without_events_still_draws_its_lanes() {
    let trace = Trace { cores: vec![CoreTrace::default()], complete: false };
    let svg = timeline_svg(&trace);
    let document = Document::parse(&svg).unwrap();
    assert_eq!(with_class(&document, "lane").len(), 1);
    assert!(stats(&trace).contains("no events"));
    let json: serde_json::Value = serde_json::from_str(&chrome_json(&trace)).unwrap();
    assert_eq!(json["traceEvents"].as_array().unwrap().len(), 3);
}

#[test]
fn a_cut_stream_goes_through_every_presentation() {
    let stream = encode(&sample_cores(), false);
    let trace = decode(&stream[..stream.len() - 30]).unwrap();
    assert!(!trace.complete);
    assert!(Document::parse(&timeline_svg(&trace)).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&chrome_json(&trace)).is_ok());
    assert!(stats(&trace).contains("cut short"));
}

#[test]
fn events_out_of_time_order_do_not_break_any_presentation() {
    let mut trace = sample_trace();
    trace.cores[0].events.reverse();
    trace.cores[1].events[3].time_ns = 0;
    assert!(Document::parse(&timeline_svg(&trace)).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&chrome_json(&trace)).is_ok());
    assert!(stats(&trace).contains("cpu"));
}

#[test]
fn nothing_dropped_means_no_report() {
    assert_eq!(dropped_report(&sample_trace()), None);
}

#[test]
fn drops_are_reported_in_total_and_per_core_with_the_fix() {
    let mut trace = sample_trace();
    trace.cores[0].dropped = 1200;
    trace.cores[1].dropped = 34;
    let report = dropped_report(&trace).unwrap();
    assert!(report.starts_with("trace: events dropped: 1234 (cpu 0: 1200, cpu 1: 34);"), "{report}");
    assert!(report.contains("buffers filled up"), "{report}");
    assert!(report.contains("raise --trace-buf"), "{report}");
}
