//! Stopping a guest that has not finished: its deadline passed, or the
//! person at the terminal pressed Ctrl-C.
//!
//! A hung run is where the trace helps most, so the runner first asks the
//! kernel for it: through QEMU's QMP socket it has every vCPU take a
//! non-maskable interrupt, which the kernel reads as the host asking it to
//! end the run (kernel/src/stop.rs). The kernel then says where its
//! routines were, sends its trace on COM2 and exits with
//! `GuestExit::Stopped`. A kernel that does not start answering within
//! [`ANSWER_GRACE`], or stops making progress for as long (no new console
//! line, no new trace byte), or is not done after [`ANSWER_LIMIT`], is
//! killed, as is a guest whose kernel never printed its first line (it
//! would not understand the NMI yet).

use std::path::Path;
use std::process::{Child, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use crate::outcome::Outcome;
use crate::qmp;

/// How often the runner checks on QEMU.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// How long the kernel may go without progress (a console line, trace
/// bytes) once asked for its trace, before it is killed: on a loaded host a
/// vCPU thread can wait that long for a host core, but a kernel that
/// answers at all prints its first line of the answer within milliseconds.
pub const ANSWER_GRACE: Duration = Duration::from_secs(5);
/// Longest the whole answer may take, however steadily it comes. The trace
/// goes out a byte at a time through a serial port: full buffers (65536
/// events a core) took 26 s for 4 cores on a loaded 2-core host, so 64
/// cores would take minutes; past this limit the run is cut.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(600);
/// Longest the runner waits for QEMU's answers on its QMP socket.
const QMP_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a QEMU whose QMP session failed may take to exit on its own.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// How the runner stopped a guest that had not finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostStop {
    /// The kernel answered: it said where its routines were, sent its
    /// trace and ended the run.
    Answered,
    /// The runner asked, but the answer did not come, or not all of it:
    /// QEMU was killed. Says what went wrong.
    Unanswered(String),
    /// QEMU was killed without asking. Says why.
    NotAsked(String),
}

impl std::fmt::Display for HostStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostStop::Answered => write!(f, "the kernel sent what it had and ended the run"),
            HostStop::Unanswered(why) => {
                write!(f, "asked for its trace, the kernel did not answer ({why}) and was killed")
            }
            HostStop::NotAsked(why) => write!(f, "the guest was killed without being asked for its trace ({why})"),
        }
    }
}

/// What the runner watches while the guest runs.
pub struct Guest<'a> {
    /// When the run must end and the limit that stands for (asked again at
    /// each poll: it may move once the kernel starts); `None`: no deadline.
    pub deadline: &'a dyn Fn() -> Option<(Instant, Duration)>,
    /// Whether the person running it asked it to stop (Ctrl-C).
    pub interrupted: &'a dyn Fn() -> bool,
    /// Whether the kernel printed its first line.
    pub kernel_started: &'a dyn Fn() -> bool,
    /// A count that grows while the kernel answers (console lines and trace bytes).
    pub progress: &'a dyn Fn() -> u64,
    /// QEMU's QMP socket, if it has one.
    pub control_socket: Option<&'a Path>,
}

/// What waiting for QEMU came to.
#[derive(Debug)]
pub enum Waited {
    /// QEMU exited with nobody asking it to.
    Exited(ExitStatus),
    /// The runner asked the kernel to end the run, for `cause` (a timeout,
    /// an interrupt), and QEMU exited with `status`.
    ExitedWhenAsked { cause: Outcome, status: ExitStatus },
    /// The runner killed QEMU, for `cause`; `stop` says why it did not
    /// wait for an answer.
    Killed { cause: Outcome, stop: HostStop },
}

/// Waits for `child` to exit, stopping it as the module's comment says
/// when its deadline passes or it is interrupted.
pub fn wait_for(child: &mut Child, guest: &Guest) -> Waited {
    let cause = loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) => {}
            Err(e) => {
                let cause = Outcome::QemuFailed(format!("cannot wait for QEMU: {e}"));
                return killed(child, cause, HostStop::NotAsked("QEMU could not be waited for".into()));
            }
        }
        if (guest.interrupted)() {
            break Outcome::Interrupted;
        }
        if let Some((at, limit)) = (guest.deadline)()
            && Instant::now() >= at
        {
            break Outcome::Timeout(limit);
        }
        thread::sleep(POLL_INTERVAL);
    };
    let Some(socket) = guest.control_socket else {
        return killed(child, cause, HostStop::NotAsked("QEMU had no QMP socket".into()));
    };
    if !(guest.kernel_started)() {
        return killed(child, cause, HostStop::NotAsked("the kernel had not printed its first line".into()));
    }
    if let Err(e) = qmp::inject_nmi(socket, QMP_TIMEOUT) {
        // QEMU may be exiting meanwhile: the run ended on its own just
        // then, or the kernel answered the NMI and ended it before QMP's
        // reply was read (seen on a loaded host: "Connection reset by
        // peer" after the kernel's stop lines). Its status then says how;
        // give it a moment to finish exiting before calling it unanswered.
        let until = Instant::now() + EXIT_GRACE;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Waited::ExitedWhenAsked { cause, status };
            }
            if Instant::now() >= until {
                return killed(child, cause, HostStop::Unanswered(e));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }
    await_answer(child, guest, cause)
}

/// The NMI is sent: waits for QEMU to exit while the kernel makes progress.
fn await_answer(child: &mut Child, guest: &Guest, cause: Outcome) -> Waited {
    let asked = Instant::now();
    let (mut seen, mut last_progress) = ((guest.progress)(), asked);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::ExitedWhenAsked { cause, status },
            Ok(None) => {}
            Err(e) => return killed(child, cause, HostStop::Unanswered(format!("cannot wait for QEMU: {e}"))),
        }
        let now = Instant::now();
        let progress = (guest.progress)();
        if progress != seen {
            (seen, last_progress) = (progress, now);
        }
        if now - last_progress >= ANSWER_GRACE {
            let why = format!("nothing came for {} s", ANSWER_GRACE.as_secs());
            return killed(child, cause, HostStop::Unanswered(why));
        }
        if now - asked >= ANSWER_LIMIT {
            let why = format!("not done after {} s", ANSWER_LIMIT.as_secs());
            return killed(child, cause, HostStop::Unanswered(why));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

fn killed(child: &mut Child, cause: Outcome, stop: HostStop) -> Waited {
    let _ = child.kill();
    let _ = child.wait();
    Waited::Killed { cause, stop }
}
