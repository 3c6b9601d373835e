//! The QEMU command line for a Spindle machine.
//!
//! Flags and why (see docs/design.md for the measured facts):
//! - `-accel tcg` by default: multi-threaded TCG, one host thread per vCPU;
//! - `-no-reboot`: a triple fault ends QEMU (status 0) instead of rebooting;
//! - `-serial stdio`: COM1, the console, on our pipe;
//! - `-serial file:...` (when asked): COM2, machine data such as the trace;
//! - `-device isa-debug-exit`: the guest reports success or failure;
//! - `-fw_cfg name=opt/spindle/cmdline`: the kernel command line;
//! - `-gdb tcp:127.0.0.1:PORT -S` (when asked): wait for gdb, on the loopback only;
//! - `-qmp unix:PATH,server=on,wait=off` (added by the runner): QEMU's control
//!   socket, through which the runner asks the kernel for its trace before
//!   stopping a run that has not finished (`qmp`).
//! - `-icount shift=0,sleep=off` (when asked): guest time advances one
//!   nanosecond per guest instruction, and the TSC with it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::image::Firmware;

/// The QEMU binary Spindle runs; `SPINDLE_QEMU` overrides it.
pub const QEMU: &str = "qemu-system-x86_64";
/// Where Debian's `ovmf` package puts the UEFI firmware; `SPINDLE_OVMF` overrides it.
pub const DEFAULT_OVMF: &str = "/usr/share/OVMF/OVMF_CODE.fd";
/// QEMU's instruction-counting mode: `shift=0` makes each guest instruction
/// one nanosecond of virtual time, `sleep=off` lets an idle guest's time
/// jump to the next timer instead of waiting for the host clock. At `-smp
/// 1` a run then repeats instruction for instruction.
pub const ICOUNT_ARGS: [&str; 2] = ["-icount", "shift=0,sleep=off"];
/// Most processors Spindle supports: every processor an xAPIC machine can
/// address, which is also the most QEMU 7.2's `pc` machine takes (`-smp
/// 256` there: "The max CPUs supported by machine 'pc-i440fx-7.2' is 255";
/// `q35` allows 288, but past 255 only with KVM's in-kernel irqchip and
/// x2APIC).
pub const MAX_SMP: u32 = spindle_shared::cmdline::MAX_CPUS;

/// Least guest memory, in MiB, with which `hello` boots under BIOS at a
/// few processors. Measured (QEMU 7.2, bootloader 0.11.17): at `-smp 4` 21
/// MiB boots and 20 hangs silently in the bootloader; at `-smp 64` 24 MiB
/// boots and 23 runs out while giving the cores their stacks. Rounded up,
/// so a kernel that grows a little does not cross it.
pub const MIN_MEMORY_MIB_BIOS: u32 = 32;
/// The same under UEFI, where the firmware keeps more for itself: at `-smp
/// 4` 48 MiB boots and 44 does not ("Failed to allocate memory for the file"
/// in the bootloader); at `-smp 64` 56 boots and 48 does not.
pub const MIN_MEMORY_MIB_UEFI: u32 = 64;
/// What each processor adds, in KiB: its kernel stack and four interrupt
/// stacks (60 KiB each, mapped at once), its `Cpu` (about 8 KiB), the page
/// tables for them and the page-fault handler's reserve (8 frames): about
/// 340 KiB, rounded up. Past a few dozen processors this is what decides.
pub const MEMORY_KIB_PER_PROCESSOR: u32 = 384;

/// Least guest memory, in MiB, for `smp` processors with `firmware`.
pub fn least_memory_mib(firmware: Firmware, smp: u32) -> u32 {
    let base = match firmware {
        Firmware::Bios => MIN_MEMORY_MIB_BIOS,
        Firmware::Uefi => MIN_MEMORY_MIB_UEFI,
    };
    base + (smp * MEMORY_KIB_PER_PROCESSOR).div_ceil(1024)
}

/// Refuses guest memory too small to boot the kernel on `smp` processors:
/// the bootloader would hang or fail, or the kernel run out while starting
/// the cores, before it could run anything.
pub fn check_memory(memory_mib: u32, firmware: Firmware, smp: u32) -> Result<(), String> {
    let least = least_memory_mib(firmware, smp);
    let firmware_name = match firmware {
        Firmware::Bios => "BIOS",
        Firmware::Uefi => "UEFI",
    };
    if memory_mib >= least {
        return Ok(());
    }
    Err(format!(
        "--memory {memory_mib} is too little to boot: with {firmware_name} firmware and --smp {smp} the \
         machine needs at least {least} MiB ({} KiB per processor, the rest for the bootloader and the kernel)",
        MEMORY_KIB_PER_PROCESSOR
    ))
}

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
    /// Wait for gdb on this port of 127.0.0.1 before running (`-gdb tcp:... -S`).
    pub gdb_port: Option<u16>,
    /// Where COM2, the machine-data channel (the scheduler trace), goes.
    pub data_file: Option<PathBuf>,
    /// Run under [`ICOUNT_ARGS`]: guest time counts guest instructions.
    pub icount: bool,
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
            gdb_port: None,
            data_file: None,
            icount: false,
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
            let ovmf = find_ovmf()?;
            cmd.arg("-drive").arg(format!("if=pflash,format=raw,readonly=on,file={}", ovmf.display()));
        }
        // snapshot=on: writes go to a throwaway overlay, so any number of
        // machines can boot the same image at once.
        cmd.arg("-drive").arg(format!("format=raw,snapshot=on,file={}", escape_commas(&self.image.to_string_lossy())));
        if let Some(port) = self.gdb_port {
            // Only this machine's loopback: a gdb stub gives control of the guest.
            cmd.arg("-gdb").arg(format!("tcp:127.0.0.1:{port}")).arg("-S");
        }
        if self.icount {
            cmd.args(ICOUNT_ARGS);
        }
        cmd.args(&self.extra_args);
        Ok(cmd)
    }
}

/// The arguments that make QEMU listen for QMP on the Unix socket `path`,
/// without waiting for a client before it runs the guest.
pub fn control_socket_args(path: &Path) -> [String; 2] {
    ["-qmp".into(), format!("unix:{},server=on,wait=off", escape_commas(&path.to_string_lossy()))]
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

/// Checks that what a run of `firmware` needs from the host is there: QEMU,
/// and OVMF for UEFI. The runner asks before building anything, so a missing
/// emulator is reported in a second, not after a long first build.
pub fn check_host(firmware: Firmware) -> Result<(), String> {
    find_qemu()?;
    if firmware == Firmware::Uefi {
        find_ovmf()?;
    }
    Ok(())
}

/// Where the QEMU binary is, or why it cannot be run.
pub fn find_qemu() -> Result<PathBuf, String> {
    const INSTALL: &str = "On Debian/Ubuntu: apt-get install qemu-system-x86 (and ovmf for --uefi); \
                           elsewhere install QEMU's x86_64 system emulator";
    let wanted = qemu_binary();
    if let Some(set) = std::env::var_os("SPINDLE_QEMU").filter(|_| wanted.components().count() > 1) {
        // A path, not a name to look up: say what is wrong with that path.
        let shown = Path::new(&set).display();
        return match std::fs::metadata(&wanted) {
            Err(_) => Err(format!(
                "SPINDLE_QEMU={shown}: no such file; set it to the path of a qemu-system-x86_64 \
                 binary, or unset it to use {QEMU} from PATH"
            )),
            Ok(meta) if !is_executable(&meta) => Err(format!(
                "SPINDLE_QEMU={shown} is not an executable file; set it to the path of a \
                 qemu-system-x86_64 binary, or unset it to use {QEMU} from PATH"
            )),
            Ok(_) => Ok(wanted),
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join(&wanted)).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .find(|candidate| std::fs::metadata(candidate).is_ok_and(|meta| is_executable(&meta)))
        .ok_or_else(|| format!("{} is not installed (not found on PATH). {INSTALL}", wanted.display()))
}

/// Where the OVMF firmware file is, or why it is missing.
pub fn find_ovmf() -> Result<PathBuf, String> {
    let ovmf = ovmf_path();
    if ovmf.is_file() {
        return Ok(ovmf);
    }
    Err(match std::env::var_os("SPINDLE_OVMF") {
        Some(_) => format!(
            "SPINDLE_OVMF={}: no such file; set it to an OVMF_CODE.fd, or unset it to use {DEFAULT_OVMF}",
            ovmf.display()
        ),
        None => format!(
            "UEFI firmware not found at {DEFAULT_OVMF} (set SPINDLE_OVMF to its path); \
             on Debian/Ubuntu install it with: apt-get install ovmf"
        ),
    })
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
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
        assert!(!a.contains("-icount"), "{a}");
    }

    #[test]
    fn icount_counts_one_nanosecond_per_instruction_without_sleeping() {
        let mut m = Machine::new("/tmp/x.img".into(), Firmware::Bios);
        m.icount = true;
        let a = args(&m).join(" ");
        assert!(a.contains("-icount shift=0,sleep=off"), "{a}");
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
    fn gdb_waits_for_the_debugger_on_its_port_of_the_loopback_only() {
        let mut m = Machine::new("/tmp/x.img".into(), Firmware::Bios);
        m.gdb_port = Some(4321);
        let a = args(&m).join(" ");
        assert!(a.contains("-gdb tcp:127.0.0.1:4321 -S"), "{a}");
        assert!(!a.split(' ').any(|w| w == "-s"), "not the fixed port 1234: {a}");
    }
}
