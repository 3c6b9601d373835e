//! Lab regions: the parts of the real kernel a lab asks students to write.
//!
//! A region is marked in the source with a comment, so that the reference
//! solution stays the kernel everyone builds and tests:
//!
//! ```text
//! /// Doc comment, attributes: all kept.
//! // lab(runqueue): put `entry` at the tail; when the ring is full, spill half
//! pub fn push(&self, entry: *mut T, spill: impl FnOnce(Spill<'_, T, N>)) {
//!     ...                       <- the body is the student's work
//! }
//!
//!     // lab(deadlock) begin: end the run when nothing can ever run again
//!     ...                       <- only these lines are the student's work
//!     // lab(deadlock) end
//! ```
//!
//! A function marker binds to the function right below it (doc comments,
//! attributes and other comments may come between). In a student's tree the
//! markers stay; a function's body becomes `todo!("lab NAME: FUNCTION: hint")`
//! and a begin/end region becomes that `todo!` statement. A naked function
//! cannot hold a `todo!`: its body becomes a call to a function next to it
//! that panics the same way.
//!
//! Everything here works on text: a skeleton differs from the reference
//! only inside the marked spans, and [`restore`] puts the reference's spans
//! back, byte for byte.

use std::fmt;
use std::ops::Range;

use crate::lex;

/// The comment prefix every marker starts with.
pub const PREFIX: &str = "// lab(";

/// What a region covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A whole function's body (`naked`: written in assembly).
    Function { naked: bool },
    /// The lines between a begin and an end marker.
    Block,
}

/// One marked region of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub lab: String,
    /// 1-based line of the marker (the begin marker of a block).
    pub line: usize,
    /// The function the region is in (or is the body of).
    pub function: String,
    pub hint: String,
    pub shape: Shape,
    /// The bytes the skeleton replaces: a body with its braces, or a
    /// block's whole lines between its markers.
    pub span: Range<usize>,
    /// Indentation of the marker line.
    indent: String,
}

/// A marker that cannot be used, with where it is and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One marker comment, parsed.
enum Marker<'a> {
    Function { lab: &'a str, hint: &'a str },
    Begin { lab: &'a str, hint: &'a str },
    End { lab: &'a str },
}

/// Reads the marker on `line`, if it has one. `Err` for a line that starts
/// like a marker but is not one.
fn parse_marker(line: &str) -> Result<Option<Marker<'_>>, String> {
    let Some(rest) = line.trim_start().strip_prefix(PREFIX) else { return Ok(None) };
    let usage = "a marker is `// lab(NAME): hint`, `// lab(NAME) begin: hint` or `// lab(NAME) end`";
    let Some((lab, rest)) = rest.split_once(')') else {
        return Err(format!("marker without a closing parenthesis: {}; {usage}", line.trim()));
    };
    if lab.is_empty() || !lab.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-') {
        return Err(format!("lab name {lab:?} is not a lowercase word; {usage}"));
    }
    let hint_of = |text: &str| -> Result<(), String> {
        if text.trim().is_empty() { Err(format!("marker for lab {lab} has no hint; {usage}")) } else { Ok(()) }
    };
    if let Some(hint) = rest.strip_prefix(':') {
        hint_of(hint)?;
        return Ok(Some(Marker::Function { lab, hint: hint.trim() }));
    }
    if let Some(hint) = rest.strip_prefix(" begin:") {
        hint_of(hint)?;
        return Ok(Some(Marker::Begin { lab, hint: hint.trim() }));
    }
    if rest.trim() == "end" {
        return Ok(Some(Marker::End { lab }));
    }
    Err(format!("cannot read marker {:?}; {usage}", line.trim()))
}

/// The name of the function declared on `line`, if it declares one
/// (`pub(super) unsafe extern "C" fn name<...>(...)`).
fn declared_function(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    loop {
        let before = rest;
        for word in ["pub ", "const ", "unsafe ", "async ", "default ", "extern \"C\" ", "extern "] {
            rest = rest.strip_prefix(word).unwrap_or(rest).trim_start();
        }
        if let Some(after) = rest.strip_prefix("pub(") {
            rest = after.split_once(')').map_or(after, |(_, r)| r).trim_start();
        }
        if rest == before {
            break;
        }
    }
    let name = rest.strip_prefix("fn ")?;
    let len = name.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
    (len > 0).then(|| &name[..len])
}

/// Byte offset of the start of each line, plus the end of the text.
fn line_starts(src: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
    if *starts.last().unwrap() != src.len() {
        starts.push(src.len());
    }
    starts
}

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Every marked region of a source file, in order. Errors name the line.
pub fn regions(src: &str) -> Result<Vec<Region>, MarkerError> {
    let starts = line_starts(src);
    let lines: Vec<&str> = src.lines().collect();
    let err = |line: usize, message: String| MarkerError { line: line + 1, message };
    let mut found = Vec::new();
    let mut open: Option<(usize, &str, &str)> = None;
    for (n, line) in lines.iter().enumerate() {
        let marker = parse_marker(line).map_err(|m| err(n, m))?;
        match marker {
            None => {}
            Some(Marker::Function { lab, hint }) => {
                let region = bind_function(src, &starts, &lines, n, lab, hint).map_err(|m| err(n, m))?;
                found.push(region);
            }
            Some(Marker::Begin { lab, hint }) => {
                if let Some((at, other, _)) = open {
                    return Err(err(
                        n,
                        format!("lab({lab}) begins inside lab({other}), which began on line {}", at + 1),
                    ));
                }
                open = Some((n, lab, hint));
            }
            Some(Marker::End { lab }) => {
                let Some((begin, began, hint)) = open.take() else {
                    return Err(err(n, format!("lab({lab}) end without a begin")));
                };
                if began != lab {
                    return Err(err(
                        n,
                        format!("lab({lab}) end closes lab({began}), which began on line {}", begin + 1),
                    ));
                }
                if begin + 1 == n {
                    return Err(err(begin, format!("lab({lab}) begin/end marks no lines")));
                }
                let function = (0..begin)
                    .rev()
                    .find_map(|k| {
                        let shallower = indent_of(lines[k]).len() < indent_of(lines[begin]).len();
                        declared_function(lines[k]).filter(|_| shallower)
                    })
                    .ok_or_else(|| err(begin, format!("lab({lab}) begin is not inside a function")))?;
                found.push(Region {
                    lab: lab.to_string(),
                    line: begin + 1,
                    function: function.to_string(),
                    hint: hint.to_string(),
                    shape: Shape::Block,
                    span: starts[begin + 1]..starts[n],
                    indent: indent_of(lines[begin]).to_string(),
                });
            }
        }
    }
    if let Some((at, lab, _)) = open {
        return Err(err(at, format!("lab({lab}) begin has no end")));
    }
    for pair in found.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.lab == b.lab && b.span.start < a.span.end {
            return Err(err(b.line - 1, format!("lab({}) region overlaps the one on line {}", b.lab, a.line)));
        }
    }
    Ok(found)
}

/// The function a marker on line `n` binds to: the next line that is not
/// a doc comment, an attribute or a comment must declare it.
fn bind_function(
    src: &str,
    starts: &[usize],
    lines: &[&str],
    n: usize,
    lab: &str,
    hint: &str,
) -> Result<Region, String> {
    let mut naked = false;
    for k in n + 1..lines.len() {
        let line = lines[k].trim_start();
        if line.starts_with("//") || line.starts_with("#[") {
            naked |= line.starts_with("#[") && line.contains("naked");
            if parse_marker(line)?.is_some() {
                return Err(format!("lab({lab}) marker binds to nothing: another marker follows on line {}", k + 1));
            }
            continue;
        }
        let Some(name) = declared_function(line) else {
            let what = if line.is_empty() { "a blank line".to_string() } else { format!("`{line}`") };
            return Err(format!(
                "lab({lab}) marker binds to nothing: a function marker must sit right above a function \
                 (doc comments and attributes between are fine), found {what} on line {}",
                k + 1
            ));
        };
        let fn_at = starts[k] + lines[k].find("fn ").expect("a declaration has `fn `");
        let (open, what) = lex::signature_end(src, fn_at).ok_or_else(|| format!("function {name} has no body"))?;
        if what == b';' {
            return Err(format!("lab({lab}) marker binds to `{name}`, which has no body"));
        }
        let close = lex::matching_brace(src, open).ok_or_else(|| format!("the body of {name} never closes"))?;
        return Ok(Region {
            lab: lab.to_string(),
            line: n + 1,
            function: name.to_string(),
            hint: hint.to_string(),
            shape: Shape::Function { naked },
            span: open..close + 1,
            indent: indent_of(lines[n]).to_string(),
        });
    }
    Err(format!("lab({lab}) marker binds to nothing: the file ends"))
}

/// The message the skeleton's `todo!` stops with.
pub fn todo_message(region: &Region) -> String {
    format!("lab {}: {}: {}", region.lab, region.function, region.hint)
}

/// `message` as a format-string literal: quotes and backslashes escaped,
/// braces doubled.
fn literal(message: &str) -> String {
    let mut out = String::from("\"");
    for c in message.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The name of the function a naked region's body calls instead.
fn stand_in(region: &Region) -> String {
    format!("lab_todo_{}", region.function)
}

/// What the skeleton has in place of `region`'s span.
pub fn replacement(region: &Region) -> String {
    let i = &region.indent;
    let todo = format!("todo!({})", literal(&todo_message(region)));
    match region.shape {
        Shape::Block => format!("{i}{todo};\n"),
        Shape::Function { naked: false } => format!("{{\n{i}    #![allow(unused_variables)]\n{i}    {todo}\n{i}}}"),
        Shape::Function { naked: true } => format!(
            "{{\n{i}    core::arch::naked_asm!(\"and rsp, -16\", \"call {{todo}}\", \"ud2\", todo = sym {f})\n{i}}}\n\n\
             {i}/// Stands in for `{name}` until the lab is done (a naked function cannot hold `todo!`).\n\
             {i}extern \"C\" fn {f}() -> ! {{\n{i}    {todo}\n{i}}}",
            f = stand_in(region),
            name = region.function,
        ),
    }
}

/// `src` with every region of `lab` replaced (see [`replacement`]).
pub fn skeleton(src: &str, lab: &str) -> Result<String, MarkerError> {
    let regions = regions(src)?;
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for region in regions.iter().filter(|r| r.lab == lab) {
        out.push_str(&src[at..region.span.start]);
        out.push_str(&replacement(region));
        at = region.span.end;
    }
    out.push_str(&src[at..]);
    Ok(out)
}

/// A skeleton of `reference` (maybe edited outside `lab`'s regions) with
/// `lab`'s regions put back from `reference`. The skeleton's regions are
/// found by reading its own markers, not by searching for the text the
/// generator wrote; a naked region's stand-in function goes with it.
pub fn restore(skeleton: &str, reference: &str, lab: &str) -> Result<String, String> {
    let ours: Vec<Region> =
        regions(skeleton).map_err(|e| format!("skeleton: {e}"))?.into_iter().filter(|r| r.lab == lab).collect();
    let theirs: Vec<Region> =
        regions(reference).map_err(|e| format!("reference: {e}"))?.into_iter().filter(|r| r.lab == lab).collect();
    if ours.len() != theirs.len() {
        return Err(format!("lab {lab}: {} regions in the skeleton, {} in the reference", ours.len(), theirs.len()));
    }
    let mut out = String::with_capacity(reference.len());
    let mut at = 0;
    for (mine, original) in ours.iter().zip(&theirs) {
        if (mine.function.as_str(), &mine.shape) != (original.function.as_str(), &original.shape) {
            return Err(format!(
                "lab {lab}: region on line {} is {} in the skeleton but {} in the reference",
                mine.line, mine.function, original.function
            ));
        }
        let mut end = mine.span.end;
        if mine.shape == (Shape::Function { naked: true }) {
            let tail = &replacement(mine)[1..];
            let helper = &tail[tail.find("}\n\n").map_or(0, |p| p + 1)..];
            if skeleton[end..].starts_with(helper) {
                end += helper.len();
            }
        }
        out.push_str(&skeleton[at..mine.span.start]);
        out.push_str(&reference[original.span.clone()]);
        at = end;
    }
    out.push_str(&skeleton[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"//! A file.

impl Queue {
    /// Pushes.
    // lab(demo): put it at the tail
    #[inline]
    pub fn push(&self, entry: u32) -> bool {
        let s = "}";
        self.slots.push(entry);
        true
    }

    pub fn len(&self) -> usize {
        let n = self.slots.len();
        // lab(other) begin: count the extra slot
        let extra = 1;
        // lab(other) end
        n + extra
    }
}

// lab(demo): switch stacks
#[unsafe(naked)]
pub unsafe extern "C" fn switch(from: *mut usize, to: usize) {
    naked_asm!("push rbp", "mov [rdi], rsp", "{x}")
}
"#;

    #[test]
    fn a_function_marker_binds_to_the_body_below_it() {
        let regions = regions(SOURCE).unwrap();
        let push = &regions[0];
        assert_eq!((push.lab.as_str(), push.function.as_str(), push.line), ("demo", "push", 5));
        assert_eq!(push.shape, Shape::Function { naked: false });
        assert!(SOURCE[push.span.clone()].starts_with("{\n        let s"));
        assert!(SOURCE[push.span.clone()].ends_with("true\n    }"));
        assert_eq!(regions[2].shape, Shape::Function { naked: true });
    }

    #[test]
    fn a_block_marker_covers_the_lines_between_and_names_its_function() {
        let block = &regions(SOURCE).unwrap()[1];
        assert_eq!((block.function.as_str(), block.shape.clone()), ("len", Shape::Block));
        assert_eq!(&SOURCE[block.span.clone()], "        let extra = 1;\n");
    }

    #[test]
    fn the_skeleton_keeps_everything_but_the_regions_of_its_lab() {
        let skeleton = skeleton(SOURCE, "demo").unwrap();
        assert!(!skeleton.contains("self.slots.push(entry)"));
        assert!(!skeleton.contains("mov [rdi], rsp"));
        assert!(skeleton.contains("let extra = 1;"), "another lab's region stays");
        assert!(skeleton.contains("todo!(\"lab demo: push: put it at the tail\")"));
        assert!(skeleton.contains("call {todo}"));
        assert!(
            skeleton.contains(
                "extern \"C\" fn lab_todo_switch() -> ! {\n    todo!(\"lab demo: switch: switch stacks\")\n}"
            )
        );
        assert!(skeleton.contains("    // lab(demo): put it at the tail\n    #[inline]\n    pub fn push"));
        let other = super::skeleton(SOURCE, "other").unwrap();
        assert!(other.contains("        // lab(other) begin: count the extra slot\n        todo!(\"lab other: len: count the extra slot\");\n        // lab(other) end\n"));
    }

    #[test]
    fn restoring_a_skeleton_gives_back_the_reference_byte_for_byte() {
        for lab in ["demo", "other"] {
            let skeleton = skeleton(SOURCE, lab).unwrap();
            assert_ne!(skeleton, SOURCE);
            assert_eq!(restore(&skeleton, SOURCE, lab).unwrap(), SOURCE, "lab {lab}");
        }
    }

    #[test]
    fn braces_in_hints_are_escaped_for_the_format_string() {
        let src = "// lab(x): use {a} and \"b\"\nfn f() {\n}\n";
        let skeleton = skeleton(src, "x").unwrap();
        assert!(skeleton.contains(r#"todo!("lab x: f: use {{a}} and \"b\"")"#), "{skeleton}");
    }

    #[test]
    fn a_marker_that_binds_to_nothing_is_an_error_naming_its_line() {
        for (src, needle) in [
            ("// lab(x): hint\n\nfn f() {}\n", "binds to nothing"),
            ("// lab(x): hint\nstruct S;\n", "binds to nothing"),
            ("// lab(x): hint\n", "the file ends"),
            ("trait T {\n    // lab(x): hint\n    fn f(&self);\n}\n", "has no body"),
            ("fn f() {\n    // lab(x) begin: hint\n    let a = 1;\n}\n", "has no end"),
            ("fn f() {\n    // lab(x) end\n}\n", "without a begin"),
            ("fn f() {\n    // lab(x) begin: hint\n    // lab(x) end\n}\n", "marks no lines"),
            ("// lab(X): hint\nfn f() {}\n", "not a lowercase word"),
            ("// lab(x) hint\nfn f() {}\n", "cannot read marker"),
            ("// lab(x):\nfn f() {}\n", "has no hint"),
        ] {
            let error = regions(src).unwrap_err();
            assert!(error.message.contains(needle), "{src:?}: {error}");
            assert!(error.line >= 1, "{src:?}: {error}");
        }
    }
}
