//! Running a machine: start QEMU, stream its console, stop it on time.
//!
//! Guarantees, whatever happens to the guest or to us:
//! - every run has a deadline; past it (or when the caller's interrupt flag
//!   is raised: Ctrl-C) the runner stops the guest, first asking the kernel
//!   for its trace, and the run is a [`Outcome::Timeout`] (or
//!   [`Outcome::Interrupted`]); a guest that does not answer is killed
//!   within seconds (see `stopping`);
//! - QEMU never outlives the thread that started it: it is started with
//!   `PR_SET_PDEATHSIG = SIGKILL`, so if the runner or the test harness is
//!   killed, the kernel kills QEMU too;
//! - QEMU's exit status is mapped to one [`Outcome`], never guessed from the text.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub use crate::outcome::{Outcome, RunnerExit};
use crate::outcome::{answered, outcome_of};
use crate::qemu::{self, Machine, find_qemu};
pub use crate::stopping::HostStop;
use crate::stopping::{Guest, Waited, wait_for};

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
    /// How the runner stopped a guest that had not finished (past its
    /// deadline, or interrupted); `None` if the guest ended the run itself.
    pub stop: Option<HostStop>,
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
    /// Where QEMU listens for QMP, through which the runner asks the kernel
    /// for its trace before stopping it; `None`: a guest that has not
    /// finished is killed without asking. Removed when the run ends.
    pub control_socket: Option<PathBuf>,
    /// Raised (by a Ctrl-C handler) to have the runner stop the guest as it
    /// would at the deadline.
    pub interrupt: Option<&'static AtomicBool>,
}

impl Run {
    pub fn new(machine: Machine, timeout: Duration) -> Run {
        Run {
            machine,
            timeout: Some(timeout),
            boot_timeout: None,
            on_line: None,
            control_socket: control_socket_file(),
            interrupt: None,
        }
    }

    /// Boots the machine and waits for it to stop.
    pub fn start(self) -> Result<Report, RunError> {
        find_qemu().map_err(RunError::QemuNotInstalled)?;
        let mut cmd = self.machine.command().map_err(RunError::Setup)?;
        let control = self.control_socket.as_ref().map(|path| ControlSocket::new(path.clone()));
        if let Some(control) = &control {
            cmd.args(qemu::control_socket_args(&control.0));
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // Its own process group: a Ctrl-C in the terminal reaches the runner
        // only, which then stops the guest, asking for its trace first.
        cmd.process_group(0);
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
        let interrupt = self.interrupt;
        let data_file = self.machine.data_file.clone();
        let guest = Guest {
            deadline: &|| {
                let entered = captured.lock().unwrap().console.first().map(|(_, arrived)| *arrived);
                match (boot_timeout, entered) {
                    (Some(boot), None) => Some((started + boot, boot)),
                    (Some(_), Some(entered)) => timeout.map(|t| (started + entered + t, t)),
                    (None, _) => timeout.map(|t| (started + t, t)),
                }
            },
            interrupted: &|| interrupt.is_some_and(|flag| flag.load(Ordering::Relaxed)),
            kernel_started: &|| !captured.lock().unwrap().console.is_empty(),
            progress: &|| {
                let lines = captured.lock().unwrap().console.len() as u64;
                let sent = data_file.as_ref().and_then(|file| std::fs::metadata(file).ok()).map_or(0, |m| m.len());
                lines + sent
            },
            control_socket: control.as_ref().map(|control| control.0.as_path()),
        };
        let waited = wait_for(&mut child, &guest);
        let elapsed = started.elapsed();
        let _ = reader.join();
        let stderr_text = errors.join().unwrap_or_default();
        let (outcome, stop) = match waited {
            Waited::Exited(status) => (outcome_of(status, &stderr_text), None),
            Waited::ExitedWhenAsked { cause, status } => answered(cause, status, &stderr_text),
            Waited::Killed { cause, stop } => (cause, Some(stop)),
        };
        let captured = std::mem::take(&mut *captured.lock().unwrap());
        let (console, arrivals) = captured.console.into_iter().unzip();
        Ok(Report { outcome, qemu_pid, console, arrivals, firmware: captured.firmware, elapsed, stop })
    }
}

/// A QMP socket path for the next run of this process, under
/// [`crate::runs_dir`]; `None` if that path would be too long for a Unix
/// socket (then a guest past its deadline is killed without being asked
/// for its trace).
fn control_socket_file() -> Option<PathBuf> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let path = crate::runs_dir().join(format!("qmp-{}-{run}.sock", std::process::id()));
    (path.as_os_str().len() <= crate::qmp::MAX_SOCKET_PATH).then_some(path)
}

/// The QMP socket of a running QEMU: its directory is made first, and the
/// socket is removed when the run is over (QEMU leaves it if it is killed).
struct ControlSocket(PathBuf);

impl ControlSocket {
    fn new(path: PathBuf) -> ControlSocket {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::remove_file(&path);
        ControlSocket(path)
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The console as it arrives: the firmware's part, then the kernel's.
#[derive(Default)]
struct Captured {
    firmware: Vec<String>,
    console: Vec<(String, Duration)>,
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
