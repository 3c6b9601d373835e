//! Debugging the kernel with gdb: QEMU's gdb stub on a free local port, and
//! a gdb script that loads the kernel's symbols where the kernel runs.
//!
//! Three things make a plain `gdb kernel -ex 'target remote ...'` fail, and
//! the script handles each:
//! - the kernel runs above its ELF addresses (a position-independent
//!   executable at the base its bootloader config fixes): the script loads
//!   the symbols with `symbol-file -o BASE`;
//! - QEMU stops before the firmware runs, and the bootloader then copies the
//!   kernel into memory, over any software breakpoint (an `int3` byte) put
//!   there before: until the first stop in the kernel, breakpoints must be
//!   hardware ones, `hbreak` (the debug registers: four at a time);
//! - a fixed port collides when two people debug on one machine: the port is
//!   a free one, or the one asked for.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use crate::symbols::load_offset;

/// A free TCP port on the loopback interface, for QEMU's gdb stub. (Free when
/// asked: another program could take it before QEMU does, and QEMU would
/// then fail to start and say so.)
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("finding a free port for gdb: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("finding a free port for gdb: {e}"))
}

/// The gdb commands that attach to the machine on `port` with the symbols
/// of `elf` where the kernel runs, followed by `then` (more commands, or none).
pub fn script(elf: &Path, port: u16, then: &[&str]) -> Result<String, String> {
    let offset = load_offset(elf)?;
    let mut lines = vec![
        "# gdb commands for one Spindle run, written by `spindle --gdb`.".to_string(),
        format!("# The kernel runs {offset:#x} above its ELF addresses (kernel_base, kernel/src/main.rs)."),
        "set confirm off".to_string(),
        format!("symbol-file -o {offset:#x} {}", elf.display()),
        format!("target remote 127.0.0.1:{port}"),
        "# Until the first stop in the kernel, use hbreak: the bootloader copies the kernel".to_string(),
        "# over software breakpoints. For example:".to_string(),
        "#   hbreak kernel::kernel_main".to_string(),
        "#   continue".to_string(),
    ];
    lines.extend(then.iter().map(|c| c.to_string()));
    lines.push(String::new());
    Ok(lines.join("\n"))
}

/// Writes [`script`] to `target/spindle/gdb-PORT.gdb` and returns its path.
pub fn write_script(elf: &Path, port: u16) -> Result<PathBuf, String> {
    let path = crate::runs_dir().join(format!("gdb-{port}.gdb"));
    std::fs::create_dir_all(crate::runs_dir()).map_err(|e| format!("creating {}: {e}", crate::runs_dir().display()))?;
    std::fs::write(&path, script(elf, port, &[])?).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_is_not_zero_and_can_be_bound() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
    }
}
