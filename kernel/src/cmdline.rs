//! Loading the command line the host passed through fw_cfg.
//!
//! Parsing itself is `spindle_shared::cmdline` (host-tested); this module
//! fetches the bytes and turns a refusal into an error line and a failed run.

use spindle_shared::cmdline::{self, MAX_LEN, Options};
use spindle_shared::exit::GuestExit;

use crate::arch::fw_cfg::FwCfg;
use crate::arch::qemu_exit::exit_qemu;
use crate::{println, summary};

/// Name of the fw_cfg file holding the command line.
const FW_CFG_FILE: &str = "opt/spindle/cmdline";

/// The options of this run, once [`load`] has read them.
static OPTIONS: spin::Once<Options> = spin::Once::new();

/// The options of this run (program, `--n`, `--seed`, ...).
pub fn options() -> &'static Options {
    OPTIONS.get().expect("cmdline::load ran at boot")
}

/// Reads and parses the command line, and keeps it for [`options`].
/// Without fw_cfg or without the file (an image booted by hand) the
/// defaults apply. A bad command line ends the run here: `error: ...` on
/// the console and a failure exit.
pub fn load() -> &'static Options {
    let mut buf = [0u8; MAX_LEN];
    let len = match FwCfg::probe().and_then(|mut fw| fw.read_file(FW_CFG_FILE, &mut buf)) {
        Some(len) => len,
        None => {
            println!("note: no fw_cfg file {FW_CFG_FILE}; running the defaults");
            0
        }
    };
    // A file longer than the buffer is passed at its true length, so the parser
    // reports it as too long instead of reading a truncated line.
    let line = if len > MAX_LEN { &[0u8; MAX_LEN + 1][..] } else { &buf[..len] };
    match cmdline::parse(line) {
        Ok(options) => OPTIONS.call_once(|| options),
        Err(e) => refuse(format_args!("{e}")),
    }
}

/// Ends the run with `error: ...` for an option that is valid on its own but
/// not on this machine.
pub fn refuse(args: core::fmt::Arguments) -> ! {
    summary!("error: {args}");
    exit_qemu(GuestExit::Failure)
}
