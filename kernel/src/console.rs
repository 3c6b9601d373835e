//! The console on COM1: `print!`, `println!` and `summary!` for the whole kernel.
//!
//! A `println!` writes its whole line while holding the console lock, so lines
//! from different cores never tear; a line is the unit of output. A line
//! printed by a routine starts with a tag saying where it ran,
//! `[cpu 2 r5]`, padded so that the text after it lines up.
//!
//! With `quiet`, only `summary!` lines (a program's results, the run's
//! outcome) and errors are printed. The `log` facade prints here too, as
//! `[level] message`.
//!
//! While the trace records, it sees the text of every line printed, without
//! the tag, through the [`LineRecorder`] it registers: the timeline then
//! shows what the program printed, when and where. Until one is registered
//! a line pays one load to find that there is none.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::arch::percpu;
use crate::arch::serial::Uart;
use crate::lock::{SpinLock, SpinLockGuard};
use crate::time;

static CONSOLE: SpinLock<Option<Uart>> = SpinLock::new(None);
/// Print only summary lines and errors.
static QUIET: AtomicBool = AtomicBool::new(false);
/// The run is ending and other cores are stopped (see [`machine_stopped`]).
static STOPPED: AtomicBool = AtomicBool::new(false);
/// Width the routine tag is padded to: fits `[cpu 15 r9999]` and a space.
const TAG_WIDTH: usize = 15;

/// Says which routine, on which core, is running here, if any: registered
/// by the scheduler when it starts (the console sits below it).
pub type Tagger = fn() -> Option<(u64, usize)>;
static TAGGER: spin::Once<Tagger> = spin::Once::new();

/// From now on lines printed by routines are tagged `[cpu C rN]` with what
/// `running` says.
pub fn tag_lines_with(running: Tagger) {
    TAGGER.call_once(|| running);
}

/// Sees what the console prints (registered by the trace, which sits above
/// the console): `text` gets the pieces of a line's text as they are
/// written, `end` is called when the line (or a `print!`'s piece of one) is
/// done. Both run on the printing core with the console lock held.
pub struct LineRecorder {
    pub text: fn(&[u8]),
    pub end: fn(),
}

static RECORDER: spin::Once<LineRecorder> = spin::Once::new();

/// From now on `recorder` sees every line printed.
pub fn record_lines_with(recorder: LineRecorder) {
    RECORDER.call_once(|| recorder);
}

/// Brings up COM1 and routes `log` to it.
pub fn init() {
    // SAFETY: this is the only place that creates the COM1 Uart, and it is
    // stored behind the console lock.
    *CONSOLE.lock() = Some(unsafe { Uart::console() });
    log::set_logger(&LOGGER).expect("console::init runs once");
    log::set_max_level(log::LevelFilter::Info);
}

/// Writes text to the UART, and to the line recorder if one is given.
struct TextWriter<'a> {
    uart: &'a mut Uart,
    record: Option<fn(&[u8])>,
}

impl Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.uart.write_text(s.as_bytes());
        if let Some(record) = self.record {
            record(s.as_bytes());
        }
        Ok(())
    }
}

/// Keeps only summary lines and errors from now on.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Counts what is written, for padding.
struct Counting<'a, W: Write>(&'a mut W, usize);

impl<W: Write> Write for Counting<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.1 += s.len();
        self.0.write_str(s)
    }
}

/// What kind of output a write is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Ordinary lines: tagged in routines, dropped in quiet mode.
    Line,
    /// A program's results: never tagged, always printed.
    Summary,
    /// How the run ended: never tagged, dropped in quiet mode.
    Outcome,
    /// Panic and fault reports: never tagged, always printed.
    Report,
}

/// Writes the tag of a line printed by `routine` on `cpu`, `[cpu 2 r5]`,
/// and the spaces that pad it to [`TAG_WIDTH`] (at least one).
fn write_tag(out: &mut impl Write, routine: u64, cpu: usize) -> fmt::Result {
    let mut tag = Counting(out, 0);
    write!(tag, "[cpu {cpu} r{routine}]")?;
    let pad = TAG_WIDTH.saturating_sub(tag.1).max(1);
    write!(out, "{:pad$}", "")
}

fn emit(args: fmt::Arguments, newline: bool, kind: Kind) {
    let mut console = Held::new(acquire());
    if matches!(kind, Kind::Line | Kind::Outcome) && QUIET.load(Ordering::Relaxed) {
        return;
    }
    let Some(uart) = console.0.as_mut() else { return };
    let mut out = TextWriter { uart, record: None };
    // Read with the console lock held (interrupts off): the routine cannot
    // move to another core between the tag and the text.
    let running = TAGGER.get().and_then(|running| running());
    if let Some((routine, cpu)) = running.filter(|_| kind == Kind::Line) {
        let _ = write_tag(&mut out, routine, cpu);
    }
    let recorder = RECORDER.get();
    out.record = recorder.map(|recorder| recorder.text);
    let _ = out.write_fmt(args);
    if let Some(recorder) = recorder {
        out.record = None;
        (recorder.end)();
    }
    if newline {
        let _ = out.write_str("\n");
    }
}

/// Writes `args` (and a newline if `newline`) as one piece, tagged if a
/// routine writes it; nothing in quiet mode.
pub fn write(args: fmt::Arguments, newline: bool) {
    emit(args, newline, Kind::Line);
}

/// Writes a summary line: printed even in quiet mode, never tagged.
pub fn summary(args: fmt::Arguments) {
    emit(args, true, Kind::Summary);
}

/// Writes how the run ended (the exit summary): never tagged, not in quiet mode.
pub fn outcome(args: fmt::Arguments) {
    emit(args, true, Kind::Outcome);
}

/// Writes a report from the panic or fault path, in quiet mode too.
pub fn write_report(args: fmt::Arguments) {
    emit(args, false, Kind::Report);
}

/// From now on the console lock is taken even from a holder that never
/// lets go: the run is ending and the other cores have been stopped, maybe
/// in the middle of a line. A garbled last line is better than none.
pub fn machine_stopped() {
    STOPPED.store(true, Ordering::Release);
}

/// Which core holds the console: 0 none, else its index plus one. Lets a
/// core that fails while printing (a report whose formatting panics) take
/// the console back from itself at once.
static HOLDER: AtomicUsize = AtomicUsize::new(0);

/// This core's value in [`HOLDER`].
fn holder_tag() -> usize {
    if percpu::entered() { percpu::index() + 1 } else { 1 }
}

/// The console lock, held; notes the holding core while it is.
struct Held(SpinLockGuard<'static, Option<Uart>>);

impl Held {
    fn new(guard: SpinLockGuard<'static, Option<Uart>>) -> Held {
        HOLDER.store(holder_tag(), Ordering::Relaxed);
        Held(guard)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HOLDER.store(0, Ordering::Relaxed);
    }
}

/// How long a core ending the run waits, in guest time, for another core
/// to let go of the console before taking it by force. The holder was sent
/// a stop NMI and is halted for good, or will be within a few instructions
/// once its vCPU runs again; waiting only lets a line it was writing end
/// whole. It was once counted in attempts, 10 million of them: at about
/// 165 ns a spin-loop hint under TCG, that was 4.0 to 4.7 s on a quiet
/// host when a stopped core held the console, and more than the runner's
/// 5 s for an answer on a loaded one.
const HOLDER_WAIT_NS: u64 = 10_000_000;

/// Takes the console lock; once the machine stopped, waits only
/// [`HOLDER_WAIT_NS`] for it before taking it anyway (after a few tries if
/// this core holds it, or if the clock is not running yet, when only one
/// core is).
fn acquire() -> SpinLockGuard<'static, Option<Uart>> {
    if !STOPPED.load(Ordering::Acquire) {
        return CONSOLE.lock();
    }
    let mine = HOLDER.load(Ordering::Relaxed) == holder_tag();
    let started = time::read_tsc();
    if let Some(console) = time::spin_for(if mine { 0 } else { HOLDER_WAIT_NS }, || CONSOLE.try_lock()) {
        return console;
    }
    // SAFETY: the holder was stopped for good, or is this core, failing
    // while it printed and never to return there; nobody else uses the
    // console now.
    unsafe { CONSOLE.force_unlock() };
    let mut console = CONSOLE.lock();
    // The holder stopped mid-line: start ours on a fresh one, and say why
    // the line above ends where it does.
    if let Some(uart) = console.as_mut() {
        uart.write_text(b"\n");
        let holder = HOLDER.load(Ordering::Relaxed);
        if !mine && holder != 0 {
            let waited_us = time::tsc_to_ns(time::read_tsc().saturating_sub(started)) / 1000;
            let mut out = TextWriter { uart, record: None };
            let _ = writeln!(
                out,
                "[console: cpu {} was stopped in the middle of a line; taken from it after {waited_us} us]",
                holder - 1
            );
        }
    }
    console
}

/// Which core holds the console now, if any.
pub fn holder() -> Option<usize> {
    HOLDER.load(Ordering::Relaxed).checked_sub(1)
}

/// Starts a line with `text` and never ends it: this core keeps the console
/// until it is stopped. For `fault kind=stopped-mid-line`, which shows the
/// core ending the run taking the console back from a stopped core.
pub fn hold_mid_line_for_ever(text: &str) -> ! {
    let mut console = Held::new(acquire());
    if let Some(uart) = console.0.as_mut() {
        uart.write_text(text.as_bytes());
    }
    loop {
        core::hint::spin_loop();
    }
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::write(format_args!($($arg)*), false));
}

/// Prints a line of a program's results: kept in quiet mode, never tagged.
#[macro_export]
macro_rules! summary {
    ($($arg:tt)*) => ($crate::console::summary(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::console::write(format_args!(""), true));
    ($($arg:tt)*) => ($crate::console::write(format_args!($($arg)*), true));
}

struct ConsoleLogger;

static LOGGER: ConsoleLogger = ConsoleLogger;

impl log::Log for ConsoleLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            write(format_args!("[{}] {}", record.level(), record.args()), true);
        }
    }

    fn flush(&self) {}
}

mod tests {
    use super::*;

    /// A line's worth of text, in a fixed buffer.
    struct Line {
        bytes: [u8; 64],
        len: usize,
    }

    impl Write for Line {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    fn tag(routine: u64, cpu: usize) -> Line {
        let mut line = Line { bytes: [0; 64], len: 0 };
        write_tag(&mut line, routine, cpu).expect("a tag fits in a line");
        line
    }

    fn text(line: &Line) -> &str {
        core::str::from_utf8(&line.bytes[..line.len]).expect("tags are ASCII")
    }

    crate::ktest! {
        /// Tags are padded to one width, so that the text after them lines
        /// up; a tag too long for it still gets a space.
        fn routine_tags_line_up_and_are_never_glued_to_the_text() {
            assert_eq!(text(&tag(5, 2)), alloc::format!("{:TAG_WIDTH$}", "[cpu 2 r5]"));
            assert_eq!(text(&tag(1234, 15)).len(), TAG_WIDTH);
            assert_eq!(text(&tag(9999, 15)), alloc::format!("{:TAG_WIDTH$}", "[cpu 15 r9999]"));
            assert!(TAG_WIDTH < "[cpu 63 r1234567890]".len());
            assert_eq!(text(&tag(1_234_567_890, 63)), "[cpu 63 r1234567890] ");
        }
    }
}
