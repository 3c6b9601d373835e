//! How a run ended, as the runner reports it: one [`Outcome`] per way,
//! mapped from QEMU's exit status (never guessed from the text), and the
//! runner's own exit status for each ([`RunnerExit`]).

use std::process::ExitStatus;
use std::time::Duration;

use spindle_shared::exit::GuestExit;

use crate::stopping::HostStop;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel reported success.
    Success,
    /// The kernel reported failure (panic, fault, deadlock, bad command line).
    Failure,
    /// The guest ran past the deadline and was stopped.
    Timeout(Duration),
    /// The caller's interrupt flag was raised (Ctrl-C) and the guest was stopped.
    Interrupted,
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
    /// Ctrl-C stopped the run: 128 + SIGINT, as a shell reports a job
    /// that SIGINT ended.
    Interrupted = 130,
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
            Outcome::Interrupted => RunnerExit::Interrupted,
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
            Outcome::Interrupted => write!(f, "interrupted (Ctrl-C): the guest was stopped"),
            Outcome::Reset => {
                write!(f, "the guest reset itself (a triple fault: an exception the kernel could not handle)")
            }
            Outcome::DebuggerEnded => write!(f, "the debugger ended the run"),
            Outcome::QemuFailed(why) => write!(f, "QEMU failed: {why}"),
        }
    }
}

/// The outcome of a run whose kernel was asked to end it for `cause` and
/// whose QEMU then exited with `status`.
pub(crate) fn answered(cause: Outcome, status: ExitStatus, stderr: &str) -> (Outcome, Option<HostStop>) {
    match status.code().and_then(GuestExit::from_qemu_status) {
        Some(GuestExit::Stopped) => (cause, Some(HostStop::Answered)),
        // The run ended on its own just as the runner asked.
        Some(GuestExit::Success | GuestExit::Failure) => (outcome_of(status, stderr), None),
        None => {
            let why = format!("QEMU ended with {} instead", outcome_of(status, stderr));
            (cause, Some(HostStop::Unanswered(why)))
        }
    }
}

pub(crate) fn outcome_of(status: ExitStatus, stderr: &str) -> Outcome {
    let stderr = stderr.trim();
    match status.code() {
        Some(code) => match GuestExit::from_qemu_status(code) {
            Some(GuestExit::Success) => Outcome::Success,
            Some(GuestExit::Failure) => Outcome::Failure,
            Some(GuestExit::Stopped) => Outcome::QemuFailed(
                "the kernel was stopped by an NMI the runner did not send (through QEMU's monitor?)".into(),
            ),
            None if code == 0 && stderr.contains(KILLED_BY_GDB) => Outcome::DebuggerEnded,
            None if code == 0 => Outcome::Reset,
            None => Outcome::QemuFailed(format!("exit status {code}: {stderr}")),
        },
        None => Outcome::QemuFailed(format!("QEMU was killed ({status}) {stderr}")),
    }
}
