//! The command line of `spindle`: runner options stay on the host, program
//! options become the kernel command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use spindle_boot::{Accel, Firmware, Machine, qemu};
use spindle_shared::cmdline::{self, ParseError};
use spindle_shared::programs::{PROGRAMS, Program};

use crate::suggest;

#[derive(Parser, Debug)]
#[command(version, about = "Boot Spindle in QEMU and run one of its programs", args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Program to run (see --list)
    pub program: Option<String>,
    /// List the programs and exit
    #[arg(long)]
    pub list: bool,
    /// Processors QEMU gives the machine (1 to 255)
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub smp: u32,
    /// Cores that run routines (like GOMAXPROCS) [default: all]
    #[arg(long, value_name = "N")]
    pub cpus: Option<u32>,
    /// Boot with UEFI firmware (OVMF) instead of BIOS
    #[arg(long)]
    pub uefi: bool,
    /// Seconds before a guest that has not finished is stopped [default: 60; none with --gdb]
    #[arg(long, value_name = "S")]
    pub timeout: Option<f64>,
    /// Seed for every random choice in the kernel
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Wait for gdb before the first instruction, on a free port; prints how to attach (no timeout unless given)
    #[arg(long)]
    pub gdb: bool,
    /// With --gdb: the port of 127.0.0.1 gdb connects to (implies --gdb) [default: a free one]
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub gdb_port: Option<u16>,
    /// Count instructions: run under QEMU's `-icount shift=0,sleep=off`, where guest time advances 1 ns per guest
    /// instruction, so `bench` reports instructions ("instr") instead of ns. Exact and repeatable at --smp 1 (the
    /// reproducible one-core mode); at --smp > 1 it runs, but QEMU runs the cores in turn on one host thread and the
    /// clock counts all cores' instructions together, so figures are neither per-core nor repeatable. Several times
    /// slower in wall time [default timeout: 600 s, 1800 s for bench]
    #[arg(long)]
    pub icount: bool,
    /// Replay mode for several cores: implies --icount, and the cores take turns, one at a time, in an order drawn
    /// from --seed, so a run at any --smp repeats exactly (its console, times included) and a failing seed fails again,
    /// under --gdb too. No true parallelism inside the mode, and bench figures mean nothing there [default timeout:
    /// 600 s]
    #[arg(long)]
    pub replay: bool,
    /// Pass an argument to QEMU as it is (repeatable)
    #[arg(long = "qemu-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub qemu_args: Vec<String>,
    /// Program variant (see --list)
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// With `bench`: run only this benchmark (same as --kind)
    #[arg(long, value_name = "NAME", conflicts_with = "kind")]
    pub only: Option<String>,
    /// Time slice before a routine is preempted, in ms (1 to 1000) [default: 10]
    #[arg(long, value_name = "MS")]
    pub slice: Option<u32>,
    /// Program-specific size (primes for sieve, workers for fanout, ...)
    #[arg(long, value_name = "N")]
    pub n: Option<u64>,
    /// Program-specific repetitions (status-check rounds, ...)
    #[arg(long, value_name = "N")]
    pub rounds: Option<u64>,
    /// Print only the program's summary
    #[arg(long)]
    pub quiet: bool,
    /// Print scheduler counters, and a summary of the scheduler trace, at the end
    #[arg(long)]
    pub stats: bool,
    /// Record the scheduler trace and write it as Chrome trace-event JSON (Perfetto)
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Record the scheduler trace and draw it as an SVG timeline
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Trace buffer size, in events per core [default: 65536; past 64 cores, 96 MiB shared out]
    #[arg(long = "trace-buf", value_name = "EVENTS")]
    pub trace_buf: Option<u32>,
    /// Guest memory in MiB [default: 512; 1024 for bench]
    #[arg(long, value_name = "MIB")]
    pub memory: Option<u32>,
    /// How QEMU runs guest code
    #[arg(long, value_enum, default_value_t = AccelArg::Tcg)]
    pub accel: AccelArg,
    /// Colour console lines by core
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// What `spindle` does other than running a program.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// The course labs: list them, start one, grade it (labs/README.md)
    #[command(subcommand)]
    Lab(spindle_labs::LabCommand),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AccelArg {
    Tcg,
    Kvm,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Seconds a run may take unless `--timeout` says otherwise.
const DEFAULT_TIMEOUT_S: f64 = 60.0;
/// The same under `--icount`, where TCG runs the guest on one host thread
/// and the firmware alone takes about 10 s (measured: a boot to `hello`'s
/// first line 9.6 s, against 2 s without). A program may need longer
/// (`Program::icount_timeout_s`).
const ICOUNT_TIMEOUT_S: f64 = 600.0;
/// Guest memory unless `--memory` or the program says otherwise, in MiB.
const DEFAULT_MEMORY_MIB: u32 = 512;

impl Cli {
    /// Guest memory in MiB: `--memory`, else what the program asks for,
    /// else the default.
    pub fn memory_mib(&self) -> u32 {
        let program = self.program.as_deref().and_then(Program::from_name);
        self.memory.or_else(|| program.and_then(Program::memory_mib)).unwrap_or(DEFAULT_MEMORY_MIB)
    }

    /// Whether the program measures the kernel (`bench`): the runner then
    /// builds the kernel as one codegen unit (`kernel-bench`).
    pub fn measures_the_kernel(&self) -> bool {
        self.program.as_deref().and_then(Program::from_name).is_some_and(Program::measures_the_kernel)
    }

    /// The run's deadline. Under gdb a person sets the pace: no deadline
    /// unless `--timeout` asked for one.
    pub fn deadline(&self) -> Option<Duration> {
        match (self.timeout, self.wants_gdb()) {
            (Some(seconds), _) => Some(Duration::from_secs_f64(seconds)),
            (None, true) => None,
            (None, false) if !self.counts_instructions() => Some(Duration::from_secs_f64(DEFAULT_TIMEOUT_S)),
            (None, false) => {
                let program = self.program.as_deref().and_then(Program::from_name);
                Some(Duration::from_secs_f64(program.and_then(Program::icount_timeout_s).unwrap_or(ICOUNT_TIMEOUT_S)))
            }
        }
    }

    /// Whether QEMU runs under icount: `--icount`, or `--replay`, which implies it.
    pub fn counts_instructions(&self) -> bool {
        self.icount || self.replay
    }

    /// Whether QEMU waits for gdb.
    pub fn wants_gdb(&self) -> bool {
        self.gdb || self.gdb_port.is_some()
    }

    /// Whether the kernel should record the scheduler trace.
    pub fn wants_trace(&self) -> bool {
        self.trace.is_some() || self.timeline.is_some() || self.stats
    }

    /// The machine to boot `image` on, running the kernel command line `cmdline`.
    pub fn machine(&self, image: PathBuf, firmware: Firmware, cmdline: String) -> Machine {
        let mut machine = Machine::new(image, firmware);
        machine.smp = self.smp;
        machine.memory_mib = self.memory_mib();
        machine.cmdline = cmdline;
        machine.icount = self.counts_instructions();
        machine.extra_args = self.qemu_args.clone();
        machine.accel = match self.accel {
            AccelArg::Tcg => Accel::Tcg,
            AccelArg::Kvm => Accel::Kvm,
        };
        machine
    }

    /// Refuses a `--trace` or `--timeline` file that could not be written,
    /// before a run that would produce it only to lose it.
    pub fn check_output_paths(&self) -> Result<(), String> {
        for (flag, path) in [("--trace", &self.trace), ("--timeline", &self.timeline)] {
            if let Some(path) = path {
                check_writable(flag, path)?;
            }
        }
        Ok(())
    }

    /// Checks what the host can check and writes the kernel command line
    /// (canonical form). The kernel checks it again, and what needs the machine.
    pub fn kernel_cmdline(&self) -> Result<String, String> {
        if !(1..=qemu::MAX_SMP).contains(&self.smp) {
            return Err(format!("--smp {} is out of range; valid: 1 to {}", self.smp, qemu::MAX_SMP));
        }
        if let Some(cpus) = self.cpus
            && (cpus == 0 || cpus > self.smp)
        {
            return Err(format!("--cpus {cpus} is out of range; valid: 1 to {} (the --smp processors)", self.smp));
        }
        if let Some(timeout) = self.timeout.filter(|t| !(*t > 0.0 && t.is_finite())) {
            return Err(format!("--timeout {timeout} must be a positive number of seconds"));
        }
        let mut words: Vec<String> = Vec::new();
        words.extend(self.program.clone());
        let numbers = [
            ("cpus", self.cpus.map(u64::from)),
            ("seed", self.seed),
            ("slice", self.slice.map(u64::from)),
            ("n", self.n),
            ("rounds", self.rounds),
            ("trace-buf", self.trace_buf.map(u64::from)),
        ];
        words.extend(numbers.iter().filter_map(|(key, v)| v.map(|v| format!("{key}={v}"))));
        words.extend(self.kind.as_ref().or(self.only.as_ref()).map(|kind| format!("kind={kind}")));
        self.check_icount()?;
        let flags = [
            (self.quiet, "quiet"),
            (self.stats, "stats"),
            (self.wants_trace(), "trace"),
            (self.counts_instructions(), "icount"),
            (self.replay, "replay"),
        ];
        words.extend(flags.iter().filter(|(on, _)| *on).map(|(_, flag)| flag.to_string()));
        if let Some(bad) = words.iter().find(|w| w.contains(char::is_whitespace) || w.is_empty()) {
            return Err(format!("'{bad}' contains spaces; names and values are single words"));
        }
        let line = words.join(" ");
        let options = cmdline::parse(line.as_bytes()).map_err(|e| self.user_message(&e))?;
        Ok(options.to_string())
    }

    /// Refuses what cannot go with `--icount` or `--replay`: QEMU's icount
    /// set twice, or hardware virtualisation, which does not count guest
    /// instructions (QEMU refuses `-icount` with KVM).
    fn check_icount(&self) -> Result<(), String> {
        let flag = if self.replay { "--replay" } else { "--icount" };
        if self.counts_instructions() && self.qemu_args.iter().any(|a| a.starts_with("-icount")) {
            return Err(format!("{flag} and --qemu-arg=-icount both set QEMU's icount; give only {flag}"));
        }
        if self.counts_instructions() && matches!(self.accel, AccelArg::Kvm) {
            return Err(format!(
                "{flag} cannot run with --accel kvm: it counts guest instructions (QEMU's -icount), which only \
                 QEMU's emulator can; drop --accel kvm (tcg is the default)"
            ));
        }
        Ok(())
    }

    /// A refusal of the shared parser, said in this command's own syntax
    /// (`--n 0`, not the kernel's `n=0`), with the nearest valid name for a
    /// mistyped program or kind.
    fn user_message(&self, error: &ParseError) -> String {
        let flag = |key: &str| match key {
            "kind" if self.only.is_some() => "--only".to_string(),
            key => format!("--{key}"),
        };
        let did_you_mean = |typed: &str, names: &[&str]| {
            suggest::nearest(typed, names.iter().copied())
                .map(|name| format!(" (did you mean '{name}'?)"))
                .unwrap_or_default()
        };
        match *error {
            ParseError::UnknownProgram(name) => {
                let names: Vec<&str> = PROGRAMS.iter().map(|p| p.name).collect();
                format!(
                    "unknown program '{name}'{}; valid programs: {} (--list describes them)",
                    did_you_mean(name, &names),
                    names.join(", ")
                )
            }
            ParseError::OutOfRange { key, value, min, max } => {
                format!("{} {value} is out of range; valid: {min} to {max}", flag(key))
            }
            ParseError::UnknownKind { program, value } => {
                let kinds = program.info().kinds;
                format!(
                    "unknown kind '{value}' for program {}{}; valid kinds: {}",
                    program.name(),
                    did_you_mean(value, kinds),
                    kinds.join(", ")
                )
            }
            ParseError::NoKinds { program, value } => {
                format!("program {} takes no {}, but got {} {value}", program.name(), flag("kind"), flag("kind"))
            }
            // The rest cannot come from words this command wrote; say them
            // as the kernel would.
            ref other => other.to_string(),
        }
    }
}

/// Whether a file could be written at `path`: its directory exists and
/// accepts it. Leaves an existing file as it was and removes one it made.
fn check_writable(flag: &str, path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("{flag} {shown} is a directory; give a file name"));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(format!(
            "{flag} {shown}: directory {} does not exist; create it or choose another path",
            dir.display()
        ));
    }
    let existed = path.exists();
    match std::fs::OpenOptions::new().append(true).create(true).open(path) {
        Ok(_) => {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
            Ok(())
        }
        Err(e) => Err(format!("{flag} {shown} cannot be written ({e}); choose another path")),
    }
}
