//! The QEMU command line for a Spindle machine.
//!
//! Flags and why (see docs/design.md for the measured facts):
//! - `-accel tcg` by default: multi-threaded TCG, one host thread per vCPU;
//! - `-no-reboot`: a triple fault ends QEMU (status 0) instead of rebooting;
//! - `-serial stdio`: COM1, the console, on our pipe;
//! - `-serial file:...` (when asked): COM2, machine data such as the trace;
//! - `-device isa-debug-exit`: the guest reports success or failure;
//! - `-fw_cfg name=opt/spindle/cmdline`: the kernel command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::image::Firmware;

/// The QEMU binary Spindle runs; `SPINDLE_QEMU` overrides it.
pub const QEMU: &str = "qemu-system-x86_64";
/// Where Debian's `ovmf` package puts the UEFI firmware; `SPINDLE_OVMF` overrides it.
pub const DEFAULT_OVMF: &str = "/usr/share/OVMF/OVMF_CODE.fd";
/// Most processors Spindle supports (its per-core bitmasks are 64 bits wide).
pub const MAX_SMP: u32 = spindle_shared::cmdline::MAX_CPUS;

/// How QEMU executes guest code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// Software emulation: works everywhere.
    Tcg,
    /// Hardware virtualisation through /dev/kvm.
    Kvm,
}

/// One machine to boot.
#[derive(Clone, Debug)]
pub struct Machine {
    pub image: PathBuf,
    pub firmware: Firmware,
    pub smp: u32,
    pub memory_mib: u32,
    pub accel: Accel,
    /// The kernel command line (program and options).
    pub cmdline: String,
    /// Wait for gdb on :1234 before running (`-s -S`).
    pub gdb: bool,
    /// Where COM2, the machine-data channel (the scheduler trace), goes.
    pub data_file: Option<PathBuf>,
    /// Extra arguments passed to QEMU as they are.
    pub extra_args: Vec<String>,
}

impl Machine {
    /// A machine with the defaults a newcomer meets with plain `cargo run`.
    pub fn new(image: PathBuf, firmware: Firmware) -> Machine {
        Machine {
            image,
            firmware,
            smp: 4,
            memory_mib: 512,
            accel: Accel::Tcg,
            cmdline: String::new(),
            gdb: false,
            data_file: None,
            extra_args: Vec::new(),
        }
    }

    /// The QEMU command that boots this machine.
    pub fn command(&self) -> Result<Command, String> {
        let mut cmd = Command::new(qemu_binary());
        cmd.arg("-accel").arg(match self.accel {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        });
        cmd.args(["-smp", &self.smp.to_string(), "-m", &format!("{}M", self.memory_mib)]);
        cmd.args(["-no-reboot", "-display", "none", "-monitor", "none", "-serial", "stdio"]);
        if let Some(data) = &self.data_file {
            // The second -serial is COM2.
            cmd.arg("-serial").arg(format!("file:{}", data.display()));
        }
        cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        cmd.arg("-fw_cfg").arg(format!("name=opt/spindle/cmdline,string={}", escape_commas(&self.cmdline)));
        if self.firmware == Firmware::Uefi {
            let ovmf = ovmf_path();
            if !ovmf.exists() {
                return Err(format!(
                    "UEFI firmware not found at {} (set SPINDLE_OVMF to its path); \
                     on Debian/Ubuntu install it with: apt-get install ovmf",
                    ovmf.display()
                ));
            }
            cmd.arg("-drive").arg(format!("if=pflash,format=raw,readonly=on,file={}", ovmf.display()));
        }
        // snapshot=on: writes go to a throwaway overlay, so any number of
        // machines can boot the same image at once.
        cmd.arg("-drive").arg(format!(
            "format=raw,snapshot=on,file={}",
            escape_commas(&self.image.to_string_lossy())
        ));
        if self.gdb {
            cmd.args(["-s", "-S"]);
        }
        cmd.args(&self.extra_args);
        Ok(cmd)
    }
}

/// The QEMU binary to start.
pub fn qemu_binary() -> PathBuf {
    std::env::var_os("SPINDLE_QEMU").map(PathBuf::from).unwrap_or_else(|| QEMU.into())
}

/// The OVMF firmware file to use.
pub fn ovmf_path() -> PathBuf {
    std::env::var_os("SPINDLE_OVMF").map(PathBuf::from).unwrap_or_else(|| Path::new(DEFAULT_OVMF).into())
}

/// QEMU option values separate sub-options with commas; a literal comma is `,,`.
fn escape_commas(value: &str) -> String {
    value.replace(',', ",,")
}

/// The message for a missing QEMU binary.
pub fn not_installed_message() -> String {
    format!(
        "{} is not installed (or not on PATH). On Debian/Ubuntu: apt-get install qemu-system-x86 \
         (and ovmf for --uefi); elsewhere install QEMU's x86_64 system emulator",
        qemu_binary().display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(machine: &Machine) -> Vec<String> {
        machine.command().unwrap().get_args().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn command_line_has_the_protocol_devices_and_the_cmdline() {
        let mut m = Machine::new("/tmp/x.img".into(), Firmware::Bios);
        m.cmdline = "hello cpus=2".into();
        m.smp = 8;
        let a = args(&m).join(" ");
        assert!(a.contains("-accel tcg"), "{a}");
        assert!(a.contains("-smp 8 -m 512M"), "{a}");
        assert!(a.contains("-no-reboot"), "{a}");
        assert!(a.contains("-serial stdio"), "{a}");
        assert!(a.contains("isa-debug-exit,iobase=0xf4,iosize=0x04"), "{a}");
        assert!(a.contains("name=opt/spindle/cmdline,string=hello cpus=2"), "{a}");
        assert!(a.contains("format=raw,snapshot=on,file=/tmp/x.img"), "{a}");
        assert!(!a.contains("-S"), "{a}");
    }

    #[test]
    fn commas_in_values_are_escaped() {
        let mut m = Machine::new("/tmp/a,b.img".into(), Firmware::Bios);
        m.cmdline = "x,y".into();
        let a = args(&m).join(" ");
        assert!(a.contains("string=x,,y"), "{a}");
        assert!(a.contains("file=/tmp/a,,b.img"), "{a}");
    }

    #[test]
    fn the_data_channel_is_the_second_serial_port() {
        let mut m = Machine::new("/tmp/x.img".into(), Firmware::Bios);
        m.data_file = Some("/tmp/trace.bin".into());
        let a = args(&m).join(" ");
        assert!(a.contains("-serial stdio -serial file:/tmp/trace.bin"), "{a}");
    }

    #[test]
    fn gdb_waits_for_the_debugger() {
        let mut m = Machine::new("/tmp/x.img".into(), Firmware::Bios);
        m.gdb = true;
        let a = args(&m);
        assert!(a.contains(&"-s".to_string()) && a.contains(&"-S".to_string()));
    }
}
