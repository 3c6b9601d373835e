//! A small SVG writer: elements with escaped attribute values and text, so
//! whatever goes in, the output is well-formed XML.

use std::fmt::{Display, Write};

/// A pixel coordinate or length, written to a tenth of a pixel.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Px(pub f64);

impl Display for Px {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1}", self.0)
    }
}

/// Attributes of one element, as name and value.
pub type Attributes<'a> = &'a [(&'a str, &'a dyn Display)];

/// An SVG document being written.
pub struct Svg {
    out: String,
}

impl Svg {
    /// Starts a `width` by `height` document; `style` is its CSS.
    pub fn new(width: f64, height: f64, style: &str) -> Svg {
        let mut svg = Svg { out: String::new() };
        svg.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let (w, h) = (Px(width), Px(height));
        let view_box = format!("0 0 {w} {h}");
        svg.open(
            "svg",
            &[("xmlns", &"http://www.w3.org/2000/svg"), ("width", &w), ("height", &h), ("viewBox", &view_box)],
        );
        svg.text("style", &[], style);
        svg
    }

    /// Opens an element that [`Svg::close`] closes.
    pub fn open(&mut self, name: &str, attributes: Attributes) {
        self.start_tag(name, attributes);
        self.out.push_str(">\n");
    }

    pub fn close(&mut self, name: &str) {
        writeln!(self.out, "</{name}>").unwrap();
    }

    /// An element without content.
    pub fn empty(&mut self, name: &str, attributes: Attributes) {
        self.start_tag(name, attributes);
        self.out.push_str("/>\n");
    }

    /// An element holding `text`.
    pub fn text(&mut self, name: &str, attributes: Attributes, text: &str) {
        self.start_tag(name, attributes);
        writeln!(self.out, ">{}</{name}>", escape(text)).unwrap();
    }

    /// An element whose tooltip is `title`.
    pub fn titled(&mut self, name: &str, attributes: Attributes, title: &str) {
        self.start_tag(name, attributes);
        writeln!(self.out, "><title>{}</title></{name}>", escape(title)).unwrap();
    }

    pub fn finish(mut self) -> String {
        self.close("svg");
        self.out
    }

    fn start_tag(&mut self, name: &str, attributes: Attributes) {
        write!(self.out, "<{name}").unwrap();
        for (key, value) in attributes {
            write!(self.out, " {key}=\"{}\"", escape(&value.to_string())).unwrap();
        }
    }
}

/// `text` with the characters XML reserves replaced by entities.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped_into_well_formed_xml() {
        let mut svg = Svg::new(10.0, 10.0, "text { fill: #000 }");
        let tricky = "a<b & \"c\" 'd'>";
        svg.open("g", &[("data-note", &tricky)]);
        svg.text("text", &[("x", &Px(1.26))], tricky);
        svg.titled("rect", &[("width", &Px(3.0))], tricky);
        svg.close("g");
        let xml = svg.finish();
        let document = roxmltree::Document::parse(&xml).expect("well-formed");
        let g = document.descendants().find(|n| n.has_tag_name("g")).unwrap();
        assert_eq!(g.attribute("data-note"), Some(tricky));
        let text = document.descendants().find(|n| n.has_tag_name("text")).unwrap();
        assert_eq!((text.text(), text.attribute("x")), (Some(tricky), Some("1.3")));
    }
}
