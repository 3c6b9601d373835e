//! How the timeline looks and says so: routine colours, arrowheads, and the
//! legend that explains bars, marks and arrows and what was merged or left out.

use super::svg::{Px, Svg};

/// Fill of a merged bar that no routine dominates.
pub const MERGED_FILL: &str = "#9aa5b1";
const STEAL_COLOUR: &str = "#e67e22";
const WAKE_COLOUR: &str = "#2c7fb8";
const LEGEND_Y: f64 = 58.0;
const NOTES_Y: f64 = 78.0;
/// Width of a legend character, to place the next entry after it.
const CHAR_PX: f64 = 6.8;
/// Golden angle in degrees: consecutive routine ids get hues far apart.
const HUE_STEP: f64 = 137.508;

/// A routine's colour: the same for the same id in every picture, light
/// enough for dark labels.
pub fn routine_colour(routine: u32) -> String {
    let hue = (f64::from(routine) * HUE_STEP) % 360.0;
    let (saturation, lightness) = (0.6, 0.64);
    let chroma = (1.0 - (2.0 * lightness - 1.0f64).abs()) * saturation;
    let second = chroma * (1.0 - ((hue / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (hue / 60.0) as u32 {
        0 => (chroma, second, 0.0),
        1 => (second, chroma, 0.0),
        2 => (0.0, chroma, second),
        3 => (0.0, second, chroma),
        4 => (second, 0.0, chroma),
        _ => (chroma, 0.0, second),
    };
    let base = lightness - chroma / 2.0;
    let byte = |channel: f64| ((channel + base) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

/// What the legend has to say beyond the fixed entries.
pub struct Legend {
    /// Runs narrower than this many pixels were merged.
    pub merged_below_px: f64,
    /// Some core's buffer filled: its lane shows where.
    pub dropped: bool,
    /// Arrows left out, arrows in all, and one in how many is shown.
    pub arrows_omitted: (usize, usize, usize),
}

impl Legend {
    /// The arrowheads, one legend row of samples, and a row of notes.
    pub fn draw(&self, svg: &mut Svg) {
        svg.open("defs", &[]);
        for (id, colour) in [("head-steal", STEAL_COLOUR), ("head-wake", WAKE_COLOUR)] {
            let size = Px(6.0);
            svg.open(
                "marker",
                &[
                    ("id", &id),
                    ("viewBox", &"0 0 8 8"),
                    ("refX", &"7"),
                    ("refY", &"4"),
                    ("markerWidth", &size),
                    ("markerHeight", &size),
                    ("orient", &"auto"),
                ],
            );
            svg.empty("path", &[("d", &"M0,0 L8,4 L0,8 Z"), ("fill", &colour)]);
            svg.close("marker");
        }
        svg.close("defs");

        svg.open("g", &[("class", &"legend")]);
        let mut entries = vec![
            (Sample::Bar("run", routine_colour(1)), "routine run (colour per routine)"),
            (Sample::Bar("merged", MERGED_FILL.to_string()), "merged short runs"),
            (Sample::Preemption, "preempted"),
            (Sample::Print, "printed a line"),
            (Sample::Arrow("steal", "url(#head-steal)"), "steal"),
            (Sample::Arrow("wake", "url(#head-wake)"), "cross-core wake"),
            (Sample::Bar("lane-bg", "#fff".to_string()), "idle"),
        ];
        if self.dropped {
            entries.push((Sample::Bar("full", "#ccc".to_string()), "buffer full, events dropped"));
        }
        let mut x = 8.0;
        for (sample, text) in entries {
            sample.draw(svg, x);
            svg.text("text", &[("x", &Px(x + 18.0)), ("y", &Px(LEGEND_Y))], text);
            x += 18.0 + text.len() as f64 * CHAR_PX + 14.0;
        }
        svg.text("text", &[("class", &"note"), ("x", &Px(8.0)), ("y", &Px(NOTES_Y))], &self.notes());
        svg.close("g");
    }

    fn notes(&self) -> String {
        let mut notes = format!(
            "Runs narrower than {} px are merged (a routine's colour when it ran most of the time, \
             else grey); hover for details.",
            self.merged_below_px
        );
        let (omitted, total, every) = self.arrows_omitted;
        if omitted > 0 {
            notes.push_str(&format!(" {omitted} of {total} arrows omitted (one in {every} shown)."));
        }
        notes
    }
}

/// The small picture in front of a legend entry.
enum Sample {
    /// A bar of this class and fill.
    Bar(&'static str, String),
    Preemption,
    Print,
    /// An arrow of this class with this arrowhead.
    Arrow(&'static str, &'static str),
}

impl Sample {
    fn draw(&self, svg: &mut Svg, x: f64) {
        let (top, middle) = (Px(LEGEND_Y - 9.0), Px(LEGEND_Y - 4.0));
        match self {
            Sample::Bar(class, fill) => svg.empty(
                "rect",
                &[
                    ("class", class),
                    ("x", &Px(x)),
                    ("y", &top),
                    ("width", &Px(14.0)),
                    ("height", &Px(10.0)),
                    ("fill", fill),
                ],
            ),
            Sample::Preemption => {
                let points =
                    format!("{},{} {},{} {},{}", Px(x + 3.0), top, Px(x + 11.0), top, Px(x + 7.0), Px(LEGEND_Y - 2.0));
                svg.empty("polygon", &[("class", &"preempt"), ("points", &points)]);
            }
            Sample::Print => {
                let (bottom, tip) = (Px(LEGEND_Y + 1.0), Px(LEGEND_Y - 6.0));
                let points = format!("{},{bottom} {},{bottom} {},{tip}", Px(x + 3.0), Px(x + 11.0), Px(x + 7.0));
                svg.empty("polygon", &[("class", &"print"), ("points", &points)]);
            }
            Sample::Arrow(class, head) => {
                let (x1, x2) = (Px(x), Px(x + 13.0));
                svg.empty(
                    "line",
                    &[
                        ("class", class),
                        ("x1", &x1),
                        ("y1", &middle),
                        ("x2", &x2),
                        ("y2", &middle),
                        ("marker-end", head),
                    ],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routine_colours_are_stable_light_and_differ_between_neighbours() {
        assert_eq!(routine_colour(7), routine_colour(7));
        for id in 0..100 {
            let colour = routine_colour(id);
            assert_eq!(colour.len(), 7, "{colour}");
            let channels: Vec<u32> =
                (0..3).map(|i| u32::from_str_radix(&colour[1 + 2 * i..3 + 2 * i], 16).unwrap()).collect();
            assert!(channels.iter().sum::<u32>() > 3 * 110, "r{id} {colour} is too dark for a label");
            assert_ne!(colour, routine_colour(id + 1));
        }
    }

    #[test]
    fn omitted_arrows_are_noted_with_how_many_and_the_thinning() {
        let legend = Legend { merged_below_px: 2.0, dropped: false, arrows_omitted: (1_500, 2_500, 3) };
        assert!(legend.notes().contains("1500 of 2500 arrows omitted (one in 3 shown)"), "{}", legend.notes());
        let none_omitted = Legend { arrows_omitted: (0, 10, 1), ..legend };
        assert!(!none_omitted.notes().contains("omitted"));
    }
}
