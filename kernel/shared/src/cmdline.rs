//! The kernel command line: which program to run and with what options.
//!
//! The host passes it to the guest as the QEMU fw_cfg file
//! `opt/spindle/cmdline`. Grammar, tokens separated by spaces:
//!
//! ```text
//! cmdline := [PROGRAM] option*
//! option  := KEY "=" VALUE      numbers: decimal digits only
//!          | FLAG               quiet, stats, trace, icount, replay
//! ```
//!
//! The parser accepts exactly what [`Options`] can express and rejects
//! anything else with a [`ParseError`] that names the bad token and says what
//! would be valid. It never allocates and never panics, whatever the bytes.
//! Checks that need the machine (is `cpus` at most the number of cores that
//! came online?) are the kernel's, after parsing.

use core::fmt;

use crate::programs::{DEFAULT_PROGRAM, PROGRAMS, Program};

/// Longest command line the kernel reads from fw_cfg, in bytes.
pub const MAX_LEN: usize = 4096;
/// Most cores Spindle starts and runs routines on: every processor an
/// xAPIC machine can address. xAPIC ids are 8 bits and 0xFF is the
/// broadcast id (Intel SDM 3A 11.6.2.1, physical destination mode), which
/// leaves 255 (QEMU's `pc` machine, too, takes at most `-smp 255`). The
/// trace keeps a core, plus one, in 8 bits (`pack_wake` in the kernel's
/// trace), which also holds 255; per-core sets are `coreset::WORDS` words.
pub const MAX_CPUS: u32 = 255;
/// Time slice before a running routine is preempted, in milliseconds.
pub const DEFAULT_SLICE_MS: u32 = 10;
/// Accepted range of `slice`, in milliseconds.
pub const SLICE_MS: (u64, u64) = (1, 1000);
/// Accepted range of `n` and `rounds`.
pub const COUNT: (u64, u64) = (1, 100_000_000);
/// Accepted range of `trace-buf`, events per core.
pub const TRACE_BUF: (u64, u64) = (16, 1 << 22);

/// Keys that take a value, as they are spelled on the command line.
const VALUE_KEYS: &[&str] = &["cpus", "seed", "slice", "n", "rounds", "kind", "trace-buf"];
/// Keys that stand alone.
const FLAG_KEYS: &[&str] = &["quiet", "stats", "trace", "icount", "replay"];

/// What the kernel was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub program: Program,
    /// How many cores run routines (GOMAXPROCS); `None`: every core online.
    pub cpus: Option<u32>,
    /// Seed of every random choice (select, stealing order, simulated latencies).
    pub seed: u64,
    /// Time slice in milliseconds.
    pub slice_ms: u32,
    /// Program-specific size (primes for `sieve`, workers for `fanout`, ...).
    pub n: Option<u64>,
    /// Program-specific repetitions (`status-check` rounds, ...).
    pub rounds: Option<u64>,
    /// Program-specific variant, one of the program's `kinds`; "" if it has none.
    pub kind: &'static str,
    /// Print only the program's summary.
    pub quiet: bool,
    /// Print scheduler counters at exit.
    pub stats: bool,
    /// Record scheduler events and send them to the host.
    pub trace: bool,
    /// Trace buffer size in events per core; `None`: the kernel's default.
    pub trace_buf: Option<u32>,
    /// The host runs the guest under QEMU's `-icount shift=0,sleep=off`:
    /// one guest instruction per virtual nanosecond, so `bench` labels its
    /// times as instruction counts.
    pub icount: bool,
    /// Replay mode: the cores that run routines take turns, one at a time,
    /// in an order drawn from `seed` (`sched::baton`), and start one at a
    /// time, so that a multi-core run under icount repeats exactly.
    pub replay: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            program: DEFAULT_PROGRAM,
            cpus: None,
            seed: 1,
            slice_ms: DEFAULT_SLICE_MS,
            n: None,
            rounds: None,
            kind: default_kind(DEFAULT_PROGRAM),
            quiet: false,
            stats: false,
            trace: false,
            trace_buf: None,
            icount: false,
            replay: false,
        }
    }
}

fn default_kind(program: Program) -> &'static str {
    program.info().kinds.first().copied().unwrap_or("")
}

/// Why a command line was refused. `Display` gives the message for a person:
/// the bad token, then what would be valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError<'a> {
    TooLong { len: usize },
    NotUtf8 { at: usize },
    UnknownProgram(&'a str),
    UnknownOption(&'a str),
    MissingValue(&'a str),
    FlagWithValue { key: &'a str, value: &'a str },
    Malformed { key: &'a str, value: &'a str },
    OutOfRange { key: &'a str, value: &'a str, min: u64, max: u64 },
    Repeated(&'a str),
    UnknownKind { program: Program, value: &'a str },
    NoKinds { program: Program, value: &'a str },
}

/// Lists `items` separated by ", ".
struct List<'a>(&'a [&'a str]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(item)?;
        }
        Ok(())
    }
}

/// Lists the program names.
struct ProgramNames;

impl fmt::Display for ProgramNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in PROGRAMS.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(p.name)?;
        }
        Ok(())
    }
}

impl fmt::Display for ParseError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseError::TooLong { len } => {
                write!(f, "command line is {len} bytes long; at most {MAX_LEN} are read")
            }
            ParseError::NotUtf8 { at } => {
                write!(f, "command line is not UTF-8 (bad byte at offset {at}); use plain ASCII")
            }
            ParseError::UnknownProgram(name) => {
                write!(f, "unknown program '{name}'; valid programs: {ProgramNames}")
            }
            ParseError::UnknownOption(key) => write!(
                f,
                "unknown option '{key}'; valid options: {}, and the flags {}",
                List(VALUE_KEYS),
                List(FLAG_KEYS)
            ),
            ParseError::MissingValue(key) => {
                write!(f, "option '{key}' needs a value: {key}=VALUE")
            }
            ParseError::FlagWithValue { key, value } => {
                write!(f, "'{key}={value}': {key} is a flag and takes no value; write just '{key}'")
            }
            ParseError::Malformed { key, value } => {
                write!(f, "malformed value '{value}' for {key}; expected a whole number in decimal digits")
            }
            ParseError::OutOfRange { key, value, min, max } => {
                write!(f, "{key}={value} is out of range; valid: {min} to {max}")
            }
            ParseError::Repeated(key) => write!(f, "option '{key}' is given twice; give it once"),
            ParseError::UnknownKind { program, value } => write!(
                f,
                "unknown kind '{value}' for program {}; valid kinds: {}",
                program.name(),
                List(program.info().kinds)
            ),
            ParseError::NoKinds { program, value } => {
                write!(f, "program {} takes no kind, but got kind={value}", program.name())
            }
        }
    }
}

/// Parses a command line as the kernel receives it.
pub fn parse(bytes: &[u8]) -> Result<Options, ParseError<'_>> {
    if bytes.len() > MAX_LEN {
        return Err(ParseError::TooLong { len: bytes.len() });
    }
    let text = core::str::from_utf8(bytes).map_err(|e| ParseError::NotUtf8 { at: e.valid_up_to() })?;

    let mut tokens = text.split_ascii_whitespace().peekable();
    let mut options = Options::default();
    if let Some(first) = tokens.peek() {
        let is_key = VALUE_KEYS.contains(first) || FLAG_KEYS.contains(first);
        if !first.contains('=') && !is_key {
            options.program = Program::from_name(first).ok_or(ParseError::UnknownProgram(first))?;
            options.kind = default_kind(options.program);
            tokens.next();
        }
    }

    let mut seen: u32 = 0;
    let mut kind = None;
    for token in tokens {
        let (key, value) = match token.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (token, None),
        };
        let slot = VALUE_KEYS.iter().chain(FLAG_KEYS).position(|k| *k == key).ok_or(ParseError::UnknownOption(key))?;
        if seen & (1 << slot) != 0 {
            return Err(ParseError::Repeated(key));
        }
        seen |= 1 << slot;

        if FLAG_KEYS.contains(&key) {
            if let Some(value) = value {
                return Err(ParseError::FlagWithValue { key, value });
            }
            match key {
                "quiet" => options.quiet = true,
                "stats" => options.stats = true,
                "trace" => options.trace = true,
                "icount" => options.icount = true,
                _ => options.replay = true,
            }
            continue;
        }
        let value = value.ok_or(ParseError::MissingValue(key))?;
        if value.is_empty() {
            return Err(ParseError::MissingValue(key));
        }
        match key {
            "cpus" => options.cpus = Some(number(key, value, (1, MAX_CPUS as u64))? as u32),
            "seed" => options.seed = number(key, value, (0, u64::MAX))?,
            "slice" => options.slice_ms = number(key, value, SLICE_MS)? as u32,
            "n" => options.n = Some(number(key, value, COUNT)?),
            "rounds" => options.rounds = Some(number(key, value, COUNT)?),
            "trace-buf" => options.trace_buf = Some(number(key, value, TRACE_BUF)? as u32),
            _ => kind = Some(value),
        }
    }

    if let Some(value) = kind {
        let kinds = options.program.info().kinds;
        if kinds.is_empty() {
            return Err(ParseError::NoKinds { program: options.program, value });
        }
        options.kind = kinds
            .iter()
            .find(|k| **k == value)
            .copied()
            .ok_or(ParseError::UnknownKind { program: options.program, value })?;
    }
    Ok(options)
}

/// Parses a decimal number and checks it lies in `min..=max`.
fn number<'a>(key: &'a str, value: &'a str, (min, max): (u64, u64)) -> Result<u64, ParseError<'a>> {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Malformed { key, value });
    }
    // All digits, so the only way to fail is to exceed u64: out of range.
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ParseError::OutOfRange { key, value, min, max }),
    }
}

/// The canonical command line for `options`: what the host sends.
impl fmt::Display for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} seed={} slice={}", self.program.name(), self.seed, self.slice_ms)?;
        if let Some(cpus) = self.cpus {
            write!(f, " cpus={cpus}")?;
        }
        if let Some(n) = self.n {
            write!(f, " n={n}")?;
        }
        if let Some(rounds) = self.rounds {
            write!(f, " rounds={rounds}")?;
        }
        if !self.kind.is_empty() {
            write!(f, " kind={}", self.kind)?;
        }
        if let Some(events) = self.trace_buf {
            write!(f, " trace-buf={events}")?;
        }
        let flags = [
            (self.quiet, "quiet"),
            (self.stats, "stats"),
            (self.trace, "trace"),
            (self.icount, "icount"),
            (self.replay, "replay"),
        ];
        for (on, flag) in flags {
            if on {
                write!(f, " {flag}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
