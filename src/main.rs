//! `spindle`: build the kernel, boot it in QEMU, show what it prints.
//!
//! `cargo run -- [PROGRAM] [OPTIONS]`. Runner options (machine, firmware,
//! timeout) stay on the host; program options go to the kernel on its command
//! line. Exit status: 0 success, 1 the kernel reported failure, 2 bad
//! arguments, 3 timeout, 4 QEMU failed or the guest reset, 5 the build failed.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use spindle_boot::{Accel, Firmware, Machine, Run, qemu};
use spindle_shared::cmdline;
use spindle_shared::programs::PROGRAMS;

#[derive(Parser, Debug)]
#[command(version, about = "Boot Spindle in QEMU and run one of its programs")]
struct Cli {
    /// Program to run (see --list)
    program: Option<String>,
    /// List the programs and exit
    #[arg(long)]
    list: bool,
    /// Processors QEMU gives the machine
    #[arg(long, default_value_t = 4, value_name = "N")]
    smp: u32,
    /// Cores that run routines (like GOMAXPROCS) [default: all]
    #[arg(long, value_name = "N")]
    cpus: Option<u32>,
    /// Boot with UEFI firmware (OVMF) instead of BIOS
    #[arg(long)]
    uefi: bool,
    /// Seconds before a guest that has not finished is stopped
    #[arg(long, default_value_t = 60.0, value_name = "S")]
    timeout: f64,
    /// Seed for every random choice in the kernel
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Wait for gdb on localhost:1234 before the first instruction (no timeout unless given)
    #[arg(long)]
    gdb: bool,
    /// Pass an argument to QEMU as it is (repeatable)
    #[arg(long = "qemu-arg", value_name = "ARG", allow_hyphen_values = true)]
    qemu_args: Vec<String>,
    /// Program variant (see --list)
    #[arg(long, value_name = "KIND")]
    kind: Option<String>,
    /// Time slice before a routine is preempted, in ms (1 to 1000) [default: 10]
    #[arg(long, value_name = "MS")]
    slice: Option<u32>,
    /// Program-specific size (primes for sieve, workers for fanout, ...)
    #[arg(long, value_name = "N")]
    n: Option<u64>,
    /// Program-specific repetitions (status-check rounds, ...)
    #[arg(long, value_name = "N")]
    rounds: Option<u64>,
    /// Print only the program's summary
    #[arg(long)]
    quiet: bool,
    /// Print scheduler counters when the run ends
    #[arg(long)]
    stats: bool,
    /// Guest memory in MiB
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    memory: u32,
    /// How QEMU runs guest code
    #[arg(long, value_enum, default_value_t = AccelArg::Tcg)]
    accel: AccelArg,
    /// Colour console lines by core
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum AccelArg {
    Tcg,
    Kvm,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Exit status when the kernel or its image could not be built.
const BUILD_FAILED: u8 = 5;
/// Exit status for bad arguments (clap uses the same).
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.list {
        print_programs();
        return ExitCode::SUCCESS;
    }
    let line = match kernel_cmdline(&cli) {
        Ok(line) => line,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(USAGE);
        }
    };
    let firmware = if cli.uefi { Firmware::Uefi } else { Firmware::Bios };
    let (elf, image) = match spindle_boot::prepare(firmware) {
        Ok(built) => built,
        Err(message) => {
            eprintln!("spindle: {message}");
            return ExitCode::from(BUILD_FAILED);
        }
    };

    let mut machine = Machine::new(image, firmware);
    machine.smp = cli.smp;
    machine.memory_mib = cli.memory;
    machine.cmdline = line;
    machine.gdb = cli.gdb;
    machine.extra_args = cli.qemu_args.clone();
    machine.accel = match cli.accel {
        AccelArg::Tcg => Accel::Tcg,
        AccelArg::Kvm => Accel::Kvm,
    };
    // Under gdb a person sets the pace: no deadline unless one was asked for.
    let timeout_given = std::env::args().any(|a| a == "--timeout" || a.starts_with("--timeout="));
    let timeout = (!cli.gdb || timeout_given).then(|| Duration::from_secs_f64(cli.timeout));
    if cli.gdb {
        println!("spindle: QEMU waits for gdb; attach with:");
        println!("  gdb {} -ex 'target remote localhost:1234'", elf.display());
    }

    let colored = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal(),
    };
    let run = Run {
        machine,
        timeout,
        on_line: Some(Box::new(move |line| println!("{}", paint(line, colored)))),
    };
    match run.start() {
        Ok(report) => {
            if !report.outcome.is_success() {
                eprintln!("spindle: {}", report.outcome);
            }
            ExitCode::from(report.outcome.exit_code() as u8)
        }
        Err(e) => {
            eprintln!("spindle: {e}");
            ExitCode::from(4)
        }
    }
}

/// Checks the arguments that the host can check and writes the kernel
/// command line. The kernel checks it again (and what needs the machine).
fn kernel_cmdline(cli: &Cli) -> Result<String, String> {
    if !(1..=qemu::MAX_SMP).contains(&cli.smp) {
        return Err(format!("--smp {} is out of range; valid: 1 to {}", cli.smp, qemu::MAX_SMP));
    }
    if let Some(cpus) = cli.cpus {
        if cpus == 0 || cpus > cli.smp {
            return Err(format!(
                "--cpus {cpus} is out of range; valid: 1 to {} (the --smp processors)",
                cli.smp
            ));
        }
    }
    if !(cli.timeout > 0.0 && cli.timeout.is_finite()) {
        return Err(format!("--timeout {} must be a positive number of seconds", cli.timeout));
    }
    let mut words: Vec<String> = Vec::new();
    if let Some(program) = &cli.program {
        words.push(program.clone());
    }
    if let Some(cpus) = cli.cpus {
        words.push(format!("cpus={cpus}"));
    }
    if let Some(seed) = cli.seed {
        words.push(format!("seed={seed}"));
    }
    if let Some(kind) = &cli.kind {
        words.push(format!("kind={kind}"));
    }
    if let Some(slice) = cli.slice {
        words.push(format!("slice={slice}"));
    }
    if let Some(n) = cli.n {
        words.push(format!("n={n}"));
    }
    if let Some(rounds) = cli.rounds {
        words.push(format!("rounds={rounds}"));
    }
    for (on, flag) in [(cli.quiet, "quiet"), (cli.stats, "stats")] {
        if on {
            words.push(flag.to_string());
        }
    }
    let line = words.join(" ");
    if let Some(bad) = words.iter().find(|w| w.contains(char::is_whitespace) || w.is_empty()) {
        return Err(format!("'{bad}' contains spaces; names and values are single words"));
    }
    // What goes to the kernel is the canonical form of what parsed here.
    let options = cmdline::parse(line.as_bytes()).map_err(|e| e.to_string())?;
    Ok(options.to_string())
}

fn print_programs() {
    let width = PROGRAMS.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in PROGRAMS {
        println!("{:width$}  {}", p.name, p.about);
    }
}

/// ANSI colours for cores 0, 1, 2, ...
const CORE_COLORS: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

/// Colours a console line by the core in its `[cpu N ...]` tag.
fn paint(line: &str, colored: bool) -> String {
    let core = line.strip_prefix("[cpu ").and_then(|rest| {
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse::<usize>().ok()
    });
    match core {
        Some(core) if colored => {
            format!("\x1b[{}m{line}\x1b[0m", CORE_COLORS[core % CORE_COLORS.len()])
        }
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_coloured_by_the_core_in_their_tag() {
        assert_eq!(paint("[cpu 2 r5]  step 3", true), "\x1b[32m[cpu 2 r5]  step 3\x1b[0m");
        assert_eq!(paint("[cpu 8 r1]  x", true), "\x1b[32m[cpu 8 r1]  x\x1b[0m", "colours repeat after 6 cores");
        assert_eq!(paint("[cpu 2 r5]  step 3", false), "[cpu 2 r5]  step 3");
        assert_eq!(paint("smp: 4 cores online", true), "smp: 4 cores online", "untagged lines stay plain");
    }
}
