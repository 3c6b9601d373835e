//! What the runner shows: the kernel's console (coloured by core, fault
//! reports followed by their source lines), and the scheduler trace turned
//! into files and a summary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use spindle_boot::run;
use spindle_boot::symbols::{self, Symbols};
use spindle_boot::{HostStop, trace};

use crate::cli::Color;

/// ANSI colours for cores 0, 1, 2, ...
const CORE_COLORS: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

/// Colours a console line by the core in its `[cpu N ...]` tag.
pub fn paint(line: &str, colored: bool) -> String {
    let core = line.strip_prefix("[cpu ").and_then(|rest| {
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse::<usize>().ok()
    });
    match core {
        Some(core) if colored => {
            format!("\x1b[{}m{line}\x1b[0m", CORE_COLORS[core % CORE_COLORS.len()])
        }
        _ => line.to_string(),
    }
}

/// How the kernel's console reaches the person who ran it.
pub struct Console {
    colored: bool,
    /// `--quiet`: the kernel's first line is left out too.
    quiet: bool,
    /// For turning a fault report's `ip` into a source line.
    elf: PathBuf,
    /// Loaded at the first report that needs them.
    symbols: Option<Result<Symbols, String>>,
}

impl Console {
    pub fn new(colored: bool, quiet: bool, elf: PathBuf) -> Console {
        Console { colored, quiet, elf, symbols: None }
    }

    /// Shows one line of the kernel's console.
    pub fn show(&mut self, line: &str) {
        if self.quiet && run::kernel_banner(line).is_some() {
            return;
        }
        println!("{}", paint(line, self.colored));
        if symbols::reported_ip(line).is_some() {
            let (elf, root) = (&self.elf, spindle_boot::workspace_root());
            match self.symbols.get_or_insert_with(|| Symbols::load(elf, &root)) {
                Ok(symbols) => symbols.describe(line).iter().for_each(|at| println!("{at}")),
                Err(e) => println!("  (no source line: {e})"),
            }
        }
    }
}

/// Whether console lines get colours: `--color always` or `never` decide;
/// `auto` colours a terminal unless `NO_COLOR` is set to anything but ""
/// (https://no-color.org).
pub fn use_color(choice: Color, terminal: bool, no_color: Option<OsString>) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && no_color.is_none_or(|value| value.is_empty()),
    }
}

/// Where the trace should go.
pub struct TraceOutputs<'a> {
    pub json: Option<&'a Path>,
    pub svg: Option<&'a Path>,
    pub stats: bool,
}

/// What became of the trace.
#[derive(Default)]
pub struct TraceWritten {
    /// What went wrong, one line each (the run itself is not failed by them).
    pub problems: Vec<String>,
    /// The files written.
    pub written: Vec<PathBuf>,
}

/// Decodes the raw trace in `raw` and writes what was asked. `stop` says
/// how the runner stopped the guest, if it did.
pub fn write_trace(raw: &Path, outputs: &TraceOutputs, stop: Option<&HostStop>) -> TraceWritten {
    let mut result = TraceWritten::default();
    let bytes = match std::fs::read(raw) {
        Ok(bytes) => bytes,
        Err(e) => {
            result.problems.push(format!("trace: cannot read {}: {e}", raw.display()));
            return result;
        }
    };
    if bytes.is_empty() {
        result.problems.push(match stop {
            // The outcome's own line says why.
            Some(HostStop::Unanswered(_) | HostStop::NotAsked(_)) => "trace: none: the guest was killed first".into(),
            _ => "trace: the kernel sent no trace (did the run end before the scheduler started?)".into(),
        });
        return result;
    }
    let decoded = match trace::decode(&bytes) {
        Ok(decoded) => decoded,
        Err(e) => {
            result.problems.push(format!("trace: {e}"));
            return result;
        }
    };
    let problems = &mut result.problems;
    if !decoded.complete {
        problems.push("trace: the stream was cut short (the guest was stopped); showing what arrived".into());
    }
    problems.extend(trace::dropped_report(&decoded));
    let written = &mut result.written;
    let mut write = |path: Option<&Path>, what: &str, make: &dyn Fn() -> String| {
        if let Some(path) = path {
            match std::fs::write(path, make()) {
                Ok(()) => {
                    eprintln!("spindle: {what} written to {}", path.display());
                    written.push(path.to_path_buf());
                }
                Err(e) => problems.push(format!("trace: cannot write {}: {e}", path.display())),
            }
        }
    };
    write(outputs.json, "trace (Chrome JSON)", &|| trace::chrome_json(&decoded));
    write(outputs.svg, "timeline (SVG)", &|| trace::timeline_svg(&decoded));
    if outputs.stats {
        println!("{}", trace::stats(&decoded));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_coloured_by_the_core_in_their_tag() {
        assert_eq!(paint("[cpu 2 r5]  step 3", true), "\x1b[32m[cpu 2 r5]  step 3\x1b[0m");
        assert_eq!(paint("[cpu 8 r1]  x", true), "\x1b[32m[cpu 8 r1]  x\x1b[0m", "colours repeat after 6 cores");
        assert_eq!(paint("[cpu 2 r5]  step 3", false), "[cpu 2 r5]  step 3");
        assert_eq!(paint("smp: 4 cores online", true), "smp: 4 cores online", "untagged lines stay plain");
    }

    #[test]
    fn no_color_turns_automatic_colour_off_unless_empty() {
        assert!(use_color(Color::Auto, true, None));
        assert!(!use_color(Color::Auto, true, Some("1".into())));
        assert!(use_color(Color::Auto, true, Some("".into())), "an empty NO_COLOR counts as unset");
        assert!(!use_color(Color::Auto, false, None), "no colour into a pipe");
    }

    #[test]
    fn an_explicit_color_choice_wins_over_no_color() {
        assert!(use_color(Color::Always, false, Some("1".into())));
        assert!(!use_color(Color::Never, true, None));
    }
}
