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

use crate::qemu::{Machine, not_installed_message};

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
    /// QEMU itself failed: bad arguments, missing firmware, killed by a signal.
    QemuFailed(String),
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        *self == Outcome::Success
    }

    /// The runner's exit code for this outcome (documented in the README).
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Timeout(_) => 3,
            Outcome::Reset | Outcome::QemuFailed(_) => 4,
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
            Outcome::Reset => write!(
                f,
                "the guest reset itself (a triple fault: an exception the kernel could not handle)"
            ),
            Outcome::QemuFailed(why) => write!(f, "QEMU failed: {why}"),
        }
    }
}

/// Why a run could not start.
#[derive(Debug)]
pub enum RunError {
    /// There is no QEMU to run.
    QemuNotInstalled,
    /// The machine is misconfigured (missing firmware, ...).
    Setup(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::QemuNotInstalled => f.write_str(&not_installed_message()),
            RunError::Setup(why) => f.write_str(why),
        }
    }
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Report {
    pub outcome: Outcome,
    /// QEMU's process id (gone by the time the report exists).
    pub qemu_pid: u32,
    /// Every console line, without line endings.
    pub console: Vec<String>,
    /// When each console line arrived, from QEMU's start.
    pub arrivals: Vec<Duration>,
    /// Wall time from starting QEMU to its exit.
    pub elapsed: Duration,
}

impl Report {
    /// When the first line containing `needle` arrived, from QEMU's start.
    pub fn arrival_of(&self, needle: &str) -> Option<Duration> {
        self.console.iter().position(|l| l.contains(needle)).map(|i| self.arrivals[i])
    }

    /// The console as one string, a line each.
    pub fn text(&self) -> String {
        self.console.join("\n")
    }
}

/// Called with each console line as it arrives.
pub type LineSink = Box<dyn FnMut(&str) + Send>;

/// A run to make.
pub struct Run {
    pub machine: Machine,
    /// `None`: no deadline (only for interactive debugging with `--gdb`).
    pub timeout: Option<Duration>,
    pub on_line: Option<LineSink>,
}

impl Run {
    pub fn new(machine: Machine, timeout: Duration) -> Run {
        Run { machine, timeout: Some(timeout), on_line: None }
    }

    /// Boots the machine and waits for it to stop.
    pub fn start(self) -> Result<Report, RunError> {
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
            std::io::ErrorKind::NotFound => RunError::QemuNotInstalled,
            _ => RunError::Setup(format!("could not start QEMU: {e}")),
        })?;

        let qemu_pid = child.id();
        let console = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let reader = {
            let (console, mut on_line) = (console.clone(), self.on_line);
            thread::spawn(move || {
                for line in BufReader::new(stdout).split(b'\n') {
                    let Ok(line) = line else { break };
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches('\r');
                    let arrived = started.elapsed();
                    if let Some(sink) = on_line.as_mut() {
                        sink(text);
                    }
                    console.lock().unwrap().push((text.to_string(), arrived));
                }
            })
        };
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let errors = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });

        let waited = wait_until(&mut child, self.timeout.map(|t| started + t));
        let elapsed = started.elapsed();
        let _ = reader.join();
        let stderr_text = errors.join().unwrap_or_default();
        let outcome = match waited {
            None => Outcome::Timeout(self.timeout.unwrap_or_default()),
            Some(status) => outcome_of(status, &stderr_text),
        };
        let (console, arrivals) = std::mem::take(&mut *console.lock().unwrap()).into_iter().unzip();
        Ok(Report { outcome, qemu_pid, console, arrivals, elapsed })
    }
}

/// Waits for `child` until `deadline`; past it kills the child and returns `None`.
fn wait_until(child: &mut Child, deadline: Option<Instant>) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => break,
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        thread::sleep(POLL_INTERVAL);
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn outcome_of(status: ExitStatus, stderr: &str) -> Outcome {
    let stderr = stderr.trim();
    match status.code() {
        Some(code) => match GuestExit::from_qemu_status(code) {
            Some(GuestExit::Success) => Outcome::Success,
            Some(GuestExit::Failure) => Outcome::Failure,
            None if code == 0 => Outcome::Reset,
            None => Outcome::QemuFailed(format!("exit status {code}: {stderr}")),
        },
        None => Outcome::QemuFailed(format!("QEMU was killed ({status}) {stderr}")),
    }
}
