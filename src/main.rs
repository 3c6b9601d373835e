//! `spindle`: build the kernel, boot it in QEMU, show what it prints.
//!
//! `cargo run -- [PROGRAM] [OPTIONS]`. Runner options (machine, firmware,
//! timeout) stay on the host; program options go to the kernel on its command
//! line. Exit status (`RunnerExit`): 0 success, 1 the kernel reported
//! failure, 2 bad arguments, 3 timeout, 4 QEMU failed, the guest reset or
//! the debugger ended the run, 5 the build failed, 130 Ctrl-C.

mod cleanup;
mod cli;
mod output;
mod suggest;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cleanup::TempFile;
use cli::{Cli, Command};
use output::{Console, TraceOutputs, use_color, write_trace};
use spindle_boot::run::Report;
use spindle_boot::{Firmware, HostStop, Outcome, Progress, Run, RunnerExit, gdb, qemu};
use spindle_shared::programs::PROGRAMS;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Lab(command)) = cli.command {
        return spindle_labs::main(command);
    }
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
    cleanup::handle_signals();
    let line = cli.kernel_cmdline().map_err(usage)?;
    cli.check_output_paths().map_err(usage)?;
    let firmware = if cli.uefi { Firmware::Uefi } else { Firmware::Bios };
    qemu::check_memory(cli.memory_mib(), firmware, cli.smp).map_err(usage)?;
    qemu::check_host(firmware).map_err(|message| Refusal::new(RunnerExit::QemuFailed, message))?;
    if cli.measures_the_kernel() {
        spindle_boot::kernel::for_benchmarks();
    }
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

    if cli.icount && !cli.replay && cli.smp > 1 {
        eprintln!(
            "spindle: note: --icount at --smp {}: QEMU runs the cores in turn and the guest clock counts all \
             of their instructions together; figures are not per-core instruction counts, and runs do not repeat \
             exactly (that needs --smp 1, or --replay)",
            cli.smp
        );
    }
    let colored = use_color(cli.color, std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR"));
    let mut console = Console::new(colored, cli.quiet, elf);
    let run = Run {
        timeout: cli.deadline(),
        on_line: Some(Box::new(move |line| console.show(line))),
        interrupt: Some(&cleanup::INTERRUPTED),
        ..Run::new(machine, Duration::ZERO)
    };
    let _control_socket = run.control_socket.clone().map(TempFile::new);
    let report = cleanup::while_guest_runs(|| run.start()).map_err(|e| Refusal::new(RunnerExit::QemuFailed, e))?;
    let mut written = Vec::new();
    if let Some(raw) = &raw_trace {
        let outputs = TraceOutputs { json: cli.trace.as_deref(), svg: cli.timeline.as_deref(), stats: cli.stats };
        let trace = write_trace(raw.path(), &outputs, report.stop.as_ref());
        trace.problems.iter().for_each(|problem| eprintln!("spindle: {problem}"));
        written = trace.written;
    }
    if !report.kernel_started() && !report.firmware.is_empty() {
        eprintln!("spindle: the kernel never started; before that, the firmware and bootloader printed:");
        for line in &report.firmware {
            eprintln!("  | {line}");
        }
    }
    add_boot_row(&report);
    if !report.outcome.is_success() {
        eprintln!("spindle: {}{}", report.outcome, how_it_was_stopped(&report, &written, cli.stats));
    }
    Ok(report.outcome.exit_code())
}

/// What follows the outcome of a run the runner stopped (a timeout, Ctrl-C):
/// where the trace up to that moment went, or why there is none.
fn how_it_was_stopped(report: &Report, written: &[std::path::PathBuf], stats: bool) -> String {
    if !matches!(report.outcome, Outcome::Timeout(_) | Outcome::Interrupted) {
        return String::new();
    }
    match &report.stop {
        Some(HostStop::Answered) if !written.is_empty() => {
            let files: Vec<String> = written.iter().map(|path| path.display().to_string()).collect();
            format!("; the trace up to that moment is in {}", files.join(" and "))
        }
        Some(HostStop::Answered) if stats => "; the trace up to that moment is summed up above".into(),
        Some(HostStop::Answered) | None => String::new(),
        Some(stop) => format!("; {stop}"),
    }
}

/// Says how to attach gdb to the waiting machine.
fn print_gdb_help(script: &Path, port: u16) {
    let shown = script.strip_prefix(std::env::current_dir().unwrap_or_default()).unwrap_or(script);
    println!("spindle: QEMU waits for gdb on 127.0.0.1:{port}. In another terminal:");
    println!("  gdb -q -x {}", shown.display());
    println!("then, for example: hbreak kernel::kernel_main, continue, bt");
    println!("(software breakpoints work once the kernel has been loaded: after the first stop in it)");
}

/// A run that printed benchmark rows (`bench: NAME ...`, the `bench`
/// program's format) gets one more, measured by the runner: from QEMU's
/// start to the first row.
fn add_boot_row(report: &Report) {
    if let Some(start) = report.arrival_of("bench: ") {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped(outcome: Outcome, stop: Option<HostStop>) -> Report {
        Report {
            outcome,
            qemu_pid: 0,
            console: Vec::new(),
            arrivals: Vec::new(),
            firmware: Vec::new(),
            elapsed: Duration::ZERO,
            stop,
        }
    }

    #[test]
    fn a_stopped_run_says_where_its_trace_went_or_why_there_is_none() {
        let timeout = stopped(Outcome::Timeout(Duration::from_secs(10)), Some(HostStop::Answered));
        let files = ["s.svg".into(), "t.json".into()];
        assert_eq!(how_it_was_stopped(&timeout, &files, false), "; the trace up to that moment is in s.svg and t.json");
        assert_eq!(how_it_was_stopped(&timeout, &[], true), "; the trace up to that moment is summed up above");
        assert_eq!(how_it_was_stopped(&timeout, &[], false), "");
        let killed = stopped(Outcome::Interrupted, Some(HostStop::Unanswered("nothing came for 5 s".into())));
        assert_eq!(
            how_it_was_stopped(&killed, &files, true),
            "; asked for its trace, the kernel did not answer (nothing came for 5 s) and was killed"
        );
        let failed = stopped(Outcome::Failure, None);
        assert_eq!(how_it_was_stopped(&failed, &files, true), "", "only a run the runner stopped");
    }
}
