//! Running a machine: start QEMU, stream its console, stop it on time.
//!
//! Guarantees, whatever happens to the guest or to us:
//! - every run has a deadline; past it QEMU is killed and the run is a [`Outcome::Timeout`];
//! - QEMU never outlives the thread that started it: it is started with
//!   `PR_SET_PDEATHSIG = SIGKILL`, so if the runner or the test harness is
//!   killed, the kernel kills QEMU too;
//! - QEMU's exit status is mapped to one [`Outcome`], never guessed from the text.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use spindle_shared::exit::GuestExit;

use crate::qemu::{Machine, find_qemu};

/// How often the runner checks whether QEMU has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel reported success.
    Success,
    /// The kernel reported failure (panic, fault, deadlock, bad command line).
    Failure,
    /// The guest ran past the deadline and was killed.
    Timeout(Duration),
    /// The guest reset itself (QEMU exits with 0 under `-no-reboot`): a triple fault.
    Reset,
    /// gdb ended the run (`kill`, or quitting a session that was attached).
    DebuggerEnded,
    /// QEMU itself failed: bad arguments, missing firmware, killed by a signal.
    QemuFailed(String),
}

/// What QEMU's gdb stub prints on stderr when gdb kills the guest; QEMU then
/// exits with status 0, as it does after a triple fault under `-no-reboot`.
const KILLED_BY_GDB: &str = "QEMU: Terminated via GDBstub";

/// The `spindle` runner's exit status, one value per way a run can end
/// (documented in the README; scripts such as bench/compare rely on them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RunnerExit {
    /// The program ran and the kernel reported success.
    Success = 0,
    /// The kernel reported failure: panic, fault, deadlock, bad command line.
    KernelFailure = 1,
    /// The runner refused its arguments (clap uses 2 as well).
    Usage = 2,
    /// The guest ran past `--timeout` and was stopped.
    Timeout = 3,
    /// QEMU could not run the machine, the guest reset itself, or the
    /// debugger ended the run.
    QemuFailed = 4,
    /// The kernel or its disk image could not be built.
    BuildFailed = 5,
}

impl From<RunnerExit> for std::process::ExitCode {
    fn from(exit: RunnerExit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        *self == Outcome::Success
    }

    /// The runner's exit status for this outcome.
    pub fn exit_code(&self) -> RunnerExit {
        match self {
            Outcome::Success => RunnerExit::Success,
            Outcome::Failure => RunnerExit::KernelFailure,
            Outcome::Timeout(_) => RunnerExit::Timeout,
            Outcome::Reset | Outcome::DebuggerEnded | Outcome::QemuFailed(_) => RunnerExit::QemuFailed,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Success => write!(f, "the kernel reported success"),
            Outcome::Failure => write!(f, "the kernel reported failure (see its last lines above)"),
            Outcome::Timeout(after) => write!(
                f,
                "the guest did not finish within {} s and was stopped (raise it with --timeout)",
                after.as_secs_f64()
            ),
            Outcome::Reset => {
                write!(f, "the guest reset itself (a triple fault: an exception the kernel could not handle)")
            }
            Outcome::DebuggerEnded => write!(f, "the debugger ended the run"),
            Outcome::QemuFailed(why) => write!(f, "QEMU failed: {why}"),
        }
    }
}

/// Why a run could not start. `Display` says what to do about it.
#[derive(Debug)]
pub enum RunError {
    /// There is no QEMU to run: the message says where it was looked for and
    /// how to install it.
    QemuNotInstalled(String),
    /// The machine is misconfigured (missing firmware, ...).
    Setup(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::QemuNotInstalled(why) | RunError::Setup(why) => f.write_str(why),
        }
    }
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Report {
    pub outcome: Outcome,
    /// QEMU's process id (gone by the time the report exists).
    pub qemu_pid: u32,
    /// The kernel's console lines, from its first ("spindle X: kernel
    /// entered") on, without line endings.
    pub console: Vec<String>,
    /// When each console line arrived, from QEMU's start.
    pub arrivals: Vec<Duration>,
    /// What the firmware and the bootloader printed before the kernel's
    /// first line, with terminal control sequences removed: OVMF clears the
    /// screen and reports the boot devices it tried. Everything, if the
    /// kernel never started.
    pub firmware: Vec<String>,
    /// Wall time from starting QEMU to its exit.
    pub elapsed: Duration,
}

impl Report {
    /// When the first line containing `needle` arrived, from QEMU's start.
    pub fn arrival_of(&self, needle: &str) -> Option<Duration> {
        self.console.iter().position(|l| l.contains(needle)).map(|i| self.arrivals[i])
    }

    /// Whether the kernel printed its first line.
    pub fn kernel_started(&self) -> bool {
        !self.console.is_empty()
    }

    /// The console as one string, a line each.
    pub fn text(&self) -> String {
        self.console.join("\n")
    }

    /// Everything QEMU's console showed, the firmware's lines marked
    /// `firmware| `: for a person reading why a run failed.
    pub fn full_text(&self) -> String {
        let firmware = self.firmware.iter().map(|l| format!("firmware| {l}"));
        firmware.chain(self.console.iter().cloned()).collect::<Vec<_>>().join("\n")
    }
}

/// Whether `line` is the kernel's first line, "spindle 0.1.0: kernel entered"
/// (printed first thing by `kernel_main`, kernel/src/main.rs); with whatever
/// the firmware left on the same line cut off.
pub fn kernel_banner(line: &str) -> Option<&str> {
    let start = line.find("spindle ")?;
    let banner = &line[start..];
    banner.ends_with(": kernel entered").then_some(banner)
}

/// `line` without terminal control: escape sequences (`ESC [ ... final`,
/// `ESC x`) and other control characters are removed, tabs kept.
pub fn without_control_sequences(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // CSI (`ESC [`): parameter and intermediate bytes, then one final
            // byte in @..~. Any other escape is two characters: both dropped.
            '\x1b' => {
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Called with each console line as it arrives.
pub type LineSink = Box<dyn FnMut(&str) + Send>;

/// A run to make.
pub struct Run {
    pub machine: Machine,
    /// `None`: no deadline (only for interactive debugging with `--gdb`).
    pub timeout: Option<Duration>,
    /// `None`: `timeout` counts from QEMU's start. `Some(limit)`: it counts
    /// from the kernel's first line, and the boot up to that line may take
    /// `limit`. For a check of the kernel's own time limit that must not
    /// fail because a loaded host booted slowly.
    pub boot_timeout: Option<Duration>,
    pub on_line: Option<LineSink>,
}

impl Run {
    pub fn new(machine: Machine, timeout: Duration) -> Run {
        Run { machine, timeout: Some(timeout), boot_timeout: None, on_line: None }
    }

    /// Boots the machine and waits for it to stop.
    pub fn start(self) -> Result<Report, RunError> {
        find_qemu().map_err(RunError::QemuNotInstalled)?;
        let mut cmd = self.machine.command().map_err(RunError::Setup)?;
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let parent = std::process::id();
        // SAFETY: the closure runs in the forked child before exec and only
        // makes async-signal-safe calls (prctl, getppid).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            })
        };

        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                RunError::QemuNotInstalled(find_qemu().err().unwrap_or_else(|| format!("could not start QEMU: {e}")))
            }
            _ => RunError::Setup(format!("could not start QEMU: {e}")),
        })?;

        let qemu_pid = child.id();
        let captured = Arc::new(Mutex::new(Captured::default()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let reader = {
            let (captured, mut on_line) = (captured.clone(), self.on_line);
            thread::spawn(move || {
                for line in BufReader::new(stdout).split(b'\n') {
                    let Ok(line) = line else { break };
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches('\r');
                    let arrived = started.elapsed();
                    let mut captured = captured.lock().unwrap();
                    let text = match kernel_banner(text) {
                        _ if !captured.console.is_empty() => text,
                        Some(banner) => banner,
                        None => {
                            captured.firmware.push(without_control_sequences(text));
                            continue;
                        }
                    };
                    if let Some(sink) = on_line.as_mut() {
                        sink(text);
                    }
                    captured.console.push((text.to_string(), arrived));
                }
            })
        };
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let errors = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });

        let (timeout, boot_timeout) = (self.timeout, self.boot_timeout);
        let deadline = || {
            let entered = captured.lock().unwrap().console.first().map(|(_, arrived)| *arrived);
            match (boot_timeout, entered) {
                (Some(boot), None) => Some((started + boot, boot)),
                (Some(_), Some(entered)) => timeout.map(|t| (started + entered + t, t)),
                (None, _) => timeout.map(|t| (started + t, t)),
            }
        };
        let waited = wait_until(&mut child, deadline);
        let elapsed = started.elapsed();
        let _ = reader.join();
        let stderr_text = errors.join().unwrap_or_default();
        let outcome = match waited {
            Err(limit) => Outcome::Timeout(limit),
            Ok(status) => outcome_of(status, &stderr_text),
        };
        let captured = std::mem::take(&mut *captured.lock().unwrap());
        let (console, arrivals) = captured.console.into_iter().unzip();
        Ok(Report { outcome, qemu_pid, console, arrivals, firmware: captured.firmware, elapsed })
    }
}

/// The console as it arrives: the firmware's part, then the kernel's.
#[derive(Default)]
struct Captured {
    firmware: Vec<String>,
    console: Vec<(String, Duration)>,
}

/// Waits for `child` until the deadline that `deadline` gives (it may move,
/// asked again at each poll, with the limit it stands for); past it kills
/// the child and returns that limit.
fn wait_until(child: &mut Child, deadline: impl Fn() -> Option<(Instant, Duration)>) -> Result<ExitStatus, Duration> {
    let limit = loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(_) => break Duration::ZERO,
        }
        if let Some((at, limit)) = deadline()
            && Instant::now() >= at
        {
            break limit;
        }
        thread::sleep(POLL_INTERVAL);
    };
    let _ = child.kill();
    let _ = child.wait();
    Err(limit)
}

fn outcome_of(status: ExitStatus, stderr: &str) -> Outcome {
    let stderr = stderr.trim();
    match status.code() {
        Some(code) => match GuestExit::from_qemu_status(code) {
            Some(GuestExit::Success) => Outcome::Success,
            Some(GuestExit::Failure) => Outcome::Failure,
            None if code == 0 && stderr.contains(KILLED_BY_GDB) => Outcome::DebuggerEnded,
            None if code == 0 => Outcome::Reset,
            None => Outcome::QemuFailed(format!("exit status {code}: {stderr}")),
        },
        None => Outcome::QemuFailed(format!("QEMU was killed ({status}) {stderr}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_first_line_is_found_after_firmware_output_on_the_same_line() {
        assert_eq!(kernel_banner("spindle 0.1.0: kernel entered"), Some("spindle 0.1.0: kernel entered"));
        assert_eq!(
            kernel_banner("\x1b[2J\x1b[01;01Hspindle 0.2.0: kernel entered"),
            Some("spindle 0.2.0: kernel entered")
        );
        assert_eq!(kernel_banner("BdsDxe: starting Boot0002"), None);
        assert_eq!(kernel_banner("spindle 0.1.0: kernel entered twice"), None);
    }

    #[test]
    fn firmware_control_sequences_are_removed() {
        let ovmf = "\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: failed to load Boot0001: Not Found";
        assert_eq!(without_control_sequences(ovmf), "BdsDxe: failed to load Boot0001: Not Found");
        assert_eq!(without_control_sequences("a\tb\x07c\x1bMd"), "a\tbcd");
        assert_eq!(without_control_sequences("plain"), "plain");
    }
}
