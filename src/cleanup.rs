//! Files a run makes for itself and must not leave behind: removed when the
//! run ends, and also when the runner is stopped by Ctrl-C (SIGINT) or
//! SIGTERM. (SIGKILL cannot be caught; the files live under target/, not in
//! the shared temporary directory, so what such a run leaves is the
//! project's own to clean.)

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The path removed by the signal handler, prepared beforehand because a
/// handler may not allocate.
static ON_SIGNAL: OnceLock<CString> = OnceLock::new();

/// A file removed when this value is dropped or the runner is interrupted.
/// One per process: the runner makes at most one such file per run.
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Registers `path` for removal (the file need not exist yet).
    pub fn new(path: PathBuf) -> TempFile {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Ok(c_path) = CString::new(path.as_os_str().as_bytes())
            && ON_SIGNAL.set(c_path).is_ok()
        {
            for signal in [libc::SIGINT, libc::SIGTERM] {
                // SAFETY: `remove_and_reraise` is an `extern "C" fn(c_int)`
                // that makes only async-signal-safe calls (unlink,
                // signal, raise), as a signal handler must.
                let before = unsafe {
                    libc::signal(signal, remove_and_reraise as extern "C" fn(libc::c_int) as libc::sighandler_t)
                };
                if before == libc::SIG_IGN {
                    // A job started with the signal ignored keeps ignoring it.
                    // SAFETY: restoring the disposition we found.
                    unsafe { libc::signal(signal, libc::SIG_IGN) };
                }
            }
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

/// Removes the registered file, then lets the signal do what it would have
/// done without us (end the process with the signal's status).
extern "C" fn remove_and_reraise(signal: libc::c_int) {
    if let Some(path) = ON_SIGNAL.get() {
        // SAFETY: `path` is a NUL-terminated string that lives for the whole
        // process (a static); unlink, signal and raise are async-signal-safe.
        unsafe { libc::unlink(path.as_ptr()) };
    }
    // SAFETY: restoring the default action and re-raising are
    // async-signal-safe; the default action for SIGINT/SIGTERM ends the process.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}
