//! `spindle`: build the kernel, boot it in QEMU, show what it prints.
//!
//! `cargo run -- [PROGRAM] [OPTIONS]`. Runner options (machine, firmware,
//! timeout) stay on the host; program options go to the kernel on its command
//! line. Exit status: 0 success, 1 the kernel reported failure, 2 bad
//! arguments, 3 timeout, 4 QEMU failed or the guest reset, 5 the build failed.

mod cli;
mod output;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cli::{AccelArg, Cli, Color};
use output::{TraceOutputs, paint, write_trace};
use spindle_boot::{Accel, Firmware, Machine, Run};
use spindle_shared::programs::PROGRAMS;

/// Exit status when the kernel or its image could not be built.
const BUILD_FAILED: u8 = 5;
/// Exit status for bad arguments (clap uses the same).
const USAGE: u8 = 2;
/// Exit status when QEMU could not be started.
const NO_QEMU: u8 = 4;

fn main() -> ExitCode {
    // `lab ...`: the course labs (labs/), with their own commands.
    if std::env::args().nth(1).as_deref() == Some("lab") {
        return spindle_labs::main(std::env::args().skip(2));
    }
    let cli = Cli::parse();
    if cli.list {
        print_programs();
        return ExitCode::SUCCESS;
    }
    let line = match cli.kernel_cmdline() {
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
    machine.memory_mib = cli.memory_mib();
    machine.cmdline = line;
    machine.gdb = cli.gdb;
    machine.extra_args = cli.qemu_args.clone();
    machine.accel = match cli.accel {
        AccelArg::Tcg => Accel::Tcg,
        AccelArg::Kvm => Accel::Kvm,
    };
    let raw_trace = cli.wants_trace().then(|| raw_trace_path());
    machine.data_file = raw_trace.clone();
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
    let report = match run.start() {
        Ok(report) => report,
        Err(e) => {
            eprintln!("spindle: {e}");
            return ExitCode::from(NO_QEMU);
        }
    };
    if let Some(raw) = &raw_trace {
        let outputs = TraceOutputs { json: cli.trace.as_deref(), svg: cli.timeline.as_deref(), stats: cli.stats };
        for problem in write_trace(raw, &outputs) {
            eprintln!("spindle: {problem}");
        }
        let _ = std::fs::remove_file(raw);
    }
    if cli.program.as_deref() == Some("bench") {
        if let Some(start) = report.arrival_of("bench: ") {
            // As the runner sees it: QEMU started to the program's first line.
            println!("bench: {:<18} {:>12.1} {:<14} (as the runner sees it, 1 run)", "boot-to-program", start.as_secs_f64() * 1e3, "ms");
        }
    }
    if !report.outcome.is_success() {
        eprintln!("spindle: {}", report.outcome);
    }
    ExitCode::from(report.outcome.exit_code() as u8)
}

/// A private file for the raw trace QEMU writes from COM2.
fn raw_trace_path() -> PathBuf {
    std::env::temp_dir().join(format!("spindle-trace-{}.bin", std::process::id()))
}

fn print_programs() {
    let width = PROGRAMS.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in PROGRAMS {
        println!("{:width$}  {}", p.name, p.about);
    }
}
