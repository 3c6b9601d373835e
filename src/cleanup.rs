//! Files a run makes for itself and must not leave behind, and what Ctrl-C
//! does.
//!
//! The files (the raw trace, QEMU's control socket) are removed when the
//! run ends, and also when the runner is ended by a signal: SIGTERM, or a
//! SIGINT that ends it at once (below). (SIGKILL cannot be caught; the
//! files live under target/, not in the shared temporary directory, so what
//! such a run leaves is the project's own to clean.)
//!
//! Ctrl-C while a guest runs ([`while_guest_runs`]) does not end the runner:
//! it raises [`INTERRUPTED`], and the runner stops the guest as it does at
//! the deadline, asking the kernel for its trace first, then reports the
//! run as interrupted. A second Ctrl-C, or one while no guest runs (during
//! the build), ends the runner at once, as SIGINT always did; QEMU dies
//! with it (it is started with `PR_SET_PDEATHSIG`).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Files removed by the signal handler, prepared beforehand because a
/// handler may not allocate. A run makes at most two (the raw trace and
/// the control socket).
const MAX_FILES: usize = 4;
static ON_SIGNAL: [OnceLock<CString>; MAX_FILES] = [const { OnceLock::new() }; MAX_FILES];
static REGISTERED: AtomicUsize = AtomicUsize::new(0);

/// Raised by the first Ctrl-C while a guest runs: the runner is to stop it.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Whether a guest runs, so that a first Ctrl-C only raises [`INTERRUPTED`].
static GUEST_RUNNING: AtomicBool = AtomicBool::new(false);

/// What the first Ctrl-C prints, at once: the guest may take a few seconds
/// to send its trace.
const STOPPING: &[u8] = b"\nspindle: stopping the guest and fetching its trace (Ctrl-C again to quit at once)\n";

/// Takes over SIGINT and SIGTERM for the rest of the process (as the
/// module's comment says). A signal the runner was started with ignored
/// (a background job) stays ignored.
pub fn handle_signals() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` is an `extern "C" fn(c_int)` that makes only
        // async-signal-safe calls (atomics, write, unlink, signal, raise),
        // as a signal handler must.
        let before = unsafe { libc::signal(signal, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t) };
        if before == libc::SIG_IGN {
            // SAFETY: restoring the disposition we found.
            unsafe { libc::signal(signal, libc::SIG_IGN) };
        }
    }
}

/// Runs `run` (which boots and waits for the guest) with Ctrl-C asking
/// for the guest to be stopped rather than ending the runner.
pub fn while_guest_runs<T>(run: impl FnOnce() -> T) -> T {
    GUEST_RUNNING.store(true, Ordering::SeqCst);
    let result = run();
    GUEST_RUNNING.store(false, Ordering::SeqCst);
    result
}

/// A file removed when this value is dropped or a signal ends the runner.
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Registers `path` for removal (the file need not exist yet) and makes
    /// its directory.
    pub fn new(path: PathBuf) -> TempFile {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let slot = REGISTERED.fetch_add(1, Ordering::SeqCst);
        assert!(slot < MAX_FILES, "more than {MAX_FILES} temporary files in one run");
        if let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) {
            let _ = ON_SIGNAL[slot].set(c_path);
        }
        TempFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A first Ctrl-C while a guest runs: raises [`INTERRUPTED`] and says so.
/// Anything else: removes the registered files, then lets the signal do
/// what it would have done without us (end the process with the signal's
/// status).
extern "C" fn on_signal(signal: libc::c_int) {
    if signal == libc::SIGINT && GUEST_RUNNING.load(Ordering::SeqCst) && !INTERRUPTED.swap(true, Ordering::SeqCst) {
        // SAFETY: write is async-signal-safe; STOPPING is a static buffer.
        unsafe { libc::write(libc::STDERR_FILENO, STOPPING.as_ptr().cast(), STOPPING.len()) };
        return;
    }
    for path in ON_SIGNAL.iter().filter_map(OnceLock::get) {
        // SAFETY: `path` is a NUL-terminated string that lives for the
        // whole process (a static); unlink is async-signal-safe.
        unsafe { libc::unlink(path.as_ptr()) };
    }
    // SAFETY: restoring the default action and re-raising are
    // async-signal-safe; the default action for SIGINT/SIGTERM ends the process.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}
