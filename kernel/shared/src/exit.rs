//! Exit codes of a run, as the guest writes them to QEMU's `isa-debug-exit`
//! device (port [`DEBUG_EXIT_PORT`]) and as the host sees them.
//!
//! QEMU exits with `(value << 1) | 1` when the guest writes `value`, so a
//! guest can never produce 0 or any even status: a QEMU status of 0 means the
//! guest reset itself (a triple fault under `-no-reboot`), not success.

/// I/O port of the `isa-debug-exit` device: `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

/// What the guest reports when it stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum GuestExit {
    /// The program ran to completion (main returned).
    Success = 0x10,
    /// A panic, a fault, a deadlock, a bad command line: the console says which.
    Failure = 0x11,
    /// The host asked the run to end (its time limit passed, or Ctrl-C)
    /// with a non-maskable interrupt, and the kernel stopped, said where
    /// the routines were and sent its trace.
    Stopped = 0x12,
}

impl GuestExit {
    /// The status QEMU exits with after the guest wrote `self`.
    pub const fn qemu_status(self) -> i32 {
        ((self as i32) << 1) | 1
    }

    /// Which report a QEMU exit status stands for, if it is one of ours.
    pub fn from_qemu_status(status: i32) -> Option<GuestExit> {
        [GuestExit::Success, GuestExit::Failure, GuestExit::Stopped]
            .into_iter()
            .find(|exit| exit.qemu_status() == status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_status_matches_the_documented_values() {
        assert_eq!(GuestExit::Success.qemu_status(), 33);
        assert_eq!(GuestExit::Failure.qemu_status(), 35);
        assert_eq!(GuestExit::Stopped.qemu_status(), 37);
        assert_eq!(GuestExit::from_qemu_status(37), Some(GuestExit::Stopped));
        assert_eq!(GuestExit::from_qemu_status(33), Some(GuestExit::Success));
        assert_eq!(GuestExit::from_qemu_status(35), Some(GuestExit::Failure));
        assert_eq!(GuestExit::from_qemu_status(0), None);
        assert_eq!(GuestExit::from_qemu_status(1), None);
    }
}
