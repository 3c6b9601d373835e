//! `spindle`: build the kernel, boot it in QEMU, show what it prints.
//!
//! `cargo run -- [PROGRAM] [OPTIONS]`. Runner options (machine, firmware,
//! timeout) stay on the host; program options go to the kernel on its command
//! line. Exit status (`RunnerExit`): 0 success, 1 the kernel reported
//! failure, 2 bad arguments, 3 timeout, 4 QEMU failed, the guest reset or
//! the debugger ended the run, 5 the build failed.

mod cleanup;
mod cli;
mod output;
mod suggest;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use cleanup::TempFile;
use cli::Cli;
use output::{Console, TraceOutputs, use_color, write_trace};
use spindle_boot::run::Report;
use spindle_boot::{Firmware, Progress, Run, RunnerExit, gdb, qemu};
use spindle_shared::programs::PROGRAMS;

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
    match run_program(&cli) {
        Ok(exit) => exit.into(),
        Err(Refusal { exit, message }) => {
            eprintln!("{message}");
            exit.into()
        }
    }
}

/// Why the runner stopped before the run could end on its own.
struct Refusal {
    exit: RunnerExit,
    message: String,
}

impl Refusal {
    fn new(exit: RunnerExit, message: impl std::fmt::Display) -> Refusal {
        let prefix = if exit == RunnerExit::Usage { "error" } else { "spindle" };
        Refusal { exit, message: format!("{prefix}: {message}") }
    }
}

/// Checks everything that can be checked on the host, builds, boots, shows
/// the run and says how it ended. Bad arguments and a missing emulator are
/// refused before the build, so they cost a second, not a first build.
fn run_program(cli: &Cli) -> Result<RunnerExit, Refusal> {
    let usage = |message| Refusal::new(RunnerExit::Usage, message);
    let line = cli.kernel_cmdline().map_err(usage)?;
    cli.check_output_paths().map_err(usage)?;
    let firmware = if cli.uefi { Firmware::Uefi } else { Firmware::Bios };
    qemu::check_memory(cli.memory_mib(), firmware).map_err(usage)?;
    qemu::check_host(firmware).map_err(|message| Refusal::new(RunnerExit::QemuFailed, message))?;
    let (elf, image) = spindle_boot::prepare(firmware, Progress::Shown)
        .map_err(|message| Refusal::new(RunnerExit::BuildFailed, message))?;

    let raw_trace = cli.wants_trace().then(|| TempFile::new(spindle_boot::raw_trace_file(std::process::id())));
    let mut machine = cli.machine(image, firmware, line);
    machine.data_file = raw_trace.as_ref().map(|file| file.path().to_path_buf());
    if cli.wants_gdb() {
        let port = match cli.gdb_port {
            Some(port) => port,
            None => gdb::free_port().map_err(|message| Refusal::new(RunnerExit::QemuFailed, message))?,
        };
        let script = gdb::write_script(&elf, port).map_err(|message| Refusal::new(RunnerExit::BuildFailed, message))?;
        print_gdb_help(&script, port);
        machine.gdb_port = Some(port);
    }

    if cli.icount && cli.smp > 1 {
        eprintln!(
            "spindle: note: --icount at --smp {}: QEMU runs the cores in turn and the guest clock counts all \
             of their instructions together; figures are not per-core instruction counts, and runs do not repeat \
             exactly (that needs --smp 1)",
            cli.smp
        );
    }
    let colored = use_color(cli.color, std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR"));
    let mut console = Console::new(colored, cli.quiet, elf);
    let run = Run {
        machine,
        timeout: cli.deadline(),
        boot_timeout: None,
        on_line: Some(Box::new(move |line| console.show(line))),
    };
    let report = run.start().map_err(|e| Refusal::new(RunnerExit::QemuFailed, e))?;
    if let Some(raw) = &raw_trace {
        let outputs = TraceOutputs { json: cli.trace.as_deref(), svg: cli.timeline.as_deref(), stats: cli.stats };
        for problem in write_trace(raw.path(), &outputs) {
            eprintln!("spindle: {problem}");
        }
    }
    if !report.kernel_started() && !report.firmware.is_empty() {
        eprintln!("spindle: the kernel never started; before that, the firmware and bootloader printed:");
        for line in &report.firmware {
            eprintln!("  | {line}");
        }
    }
    after_program(cli.program.as_deref(), &report);
    if !report.outcome.is_success() {
        eprintln!("spindle: {}", report.outcome);
    }
    Ok(report.outcome.exit_code())
}

/// Says how to attach gdb to the waiting machine.
fn print_gdb_help(script: &Path, port: u16) {
    let shown = script.strip_prefix(std::env::current_dir().unwrap_or_default()).unwrap_or(script);
    println!("spindle: QEMU waits for gdb on 127.0.0.1:{port}. In another terminal:");
    println!("  gdb -q -x {}", shown.display());
    println!("then, for example: hbreak kernel::kernel_main, continue, bt");
    println!("(software breakpoints work once the kernel has been loaded: after the first stop in it)");
}

/// What the runner adds to a program's output once the run is over.
fn after_program(program: Option<&str>, report: &Report) {
    if program == Some("bench")
        && let Some(start) = report.arrival_of("bench: ")
    {
        // As the runner sees it: QEMU started to the program's first line.
        println!(
            "bench: {:<18} {:>12.1} {:<14} (as the runner sees it, 1 run)",
            "boot-to-program",
            start.as_secs_f64() * 1e3,
            "ms"
        );
    }
}

/// `--list`: each program with what it shows, and the kinds it takes
/// (`--kind K`; the first is the default).
fn print_programs() {
    let width = PROGRAMS.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in PROGRAMS {
        println!("{:width$}  {}", p.name, p.about);
        if !p.kinds.is_empty() {
            println!("{:width$}    --kind: {}", "", p.kinds.join(", "));
        }
    }
}
