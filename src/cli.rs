//! The command line of `spindle`: runner options stay on the host, program
//! options become the kernel command line.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use spindle_boot::qemu;
use spindle_shared::cmdline;

#[derive(Parser, Debug)]
#[command(version, about = "Boot Spindle in QEMU and run one of its programs")]
pub struct Cli {
    /// Program to run (see --list)
    pub program: Option<String>,
    /// List the programs and exit
    #[arg(long)]
    pub list: bool,
    /// Processors QEMU gives the machine
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub smp: u32,
    /// Cores that run routines (like GOMAXPROCS) [default: all]
    #[arg(long, value_name = "N")]
    pub cpus: Option<u32>,
    /// Boot with UEFI firmware (OVMF) instead of BIOS
    #[arg(long)]
    pub uefi: bool,
    /// Seconds before a guest that has not finished is stopped
    #[arg(long, default_value_t = 60.0, value_name = "S")]
    pub timeout: f64,
    /// Seed for every random choice in the kernel
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Wait for gdb on localhost:1234 before the first instruction (no timeout unless given)
    #[arg(long)]
    pub gdb: bool,
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
    /// Trace buffer size, in events per core [default: 65536]
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

/// Guest memory unless `--memory` says otherwise, in MiB.
const DEFAULT_MEMORY_MIB: u32 = 512;
/// `bench` measures how many routines fit in 1 GiB.
const BENCH_MEMORY_MIB: u32 = 1024;

impl Cli {
    /// Guest memory in MiB.
    pub fn memory_mib(&self) -> u32 {
        let bench = self.program.as_deref() == Some("bench");
        self.memory.unwrap_or(if bench { BENCH_MEMORY_MIB } else { DEFAULT_MEMORY_MIB })
    }

    /// Whether the kernel should record the scheduler trace.
    pub fn wants_trace(&self) -> bool {
        self.trace.is_some() || self.timeline.is_some() || self.stats
    }

    /// Checks what the host can check and writes the kernel command line
    /// (canonical form). The kernel checks it again, and what needs the machine.
    pub fn kernel_cmdline(&self) -> Result<String, String> {
        if !(1..=qemu::MAX_SMP).contains(&self.smp) {
            return Err(format!("--smp {} is out of range; valid: 1 to {}", self.smp, qemu::MAX_SMP));
        }
        if let Some(cpus) = self.cpus {
            if cpus == 0 || cpus > self.smp {
                return Err(format!(
                    "--cpus {cpus} is out of range; valid: 1 to {} (the --smp processors)",
                    self.smp
                ));
            }
        }
        if !(self.timeout > 0.0 && self.timeout.is_finite()) {
            return Err(format!("--timeout {} must be a positive number of seconds", self.timeout));
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
        let flags = [(self.quiet, "quiet"), (self.stats, "stats"), (self.wants_trace(), "trace")];
        words.extend(flags.iter().filter(|(on, _)| *on).map(|(_, flag)| flag.to_string()));
        if let Some(bad) = words.iter().find(|w| w.contains(char::is_whitespace) || w.is_empty()) {
            return Err(format!("'{bad}' contains spaces; names and values are single words"));
        }
        let line = words.join(" ");
        let options = cmdline::parse(line.as_bytes()).map_err(|e| e.to_string())?;
        Ok(options.to_string())
    }
}
