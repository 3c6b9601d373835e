//! Debugging with gdb as the README says: the script `spindle --gdb` writes
//! loads the symbols where the kernel runs, hardware breakpoints stop in
//! `kernel_main` and in a routine's function, the backtrace names them, and
//! a guest that gdb kills is reported as ended by the debugger.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use spindle_boot::gdb;

/// Runs `gdb -batch` with `args` until it exits or `limit` passes (then it
/// is killed); returns what it printed.
fn gdb_batch(args: &[&str], limit: Duration) -> String {
    let mut child = Command::new("gdb")
        .args(["-q", "-batch", "-nx"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("gdb could not start ({e}); install it: apt-get install gdb"));
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.wait();
    let mut text = String::new();
    child.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut text).unwrap();
    text
}

#[test]
fn gdb_stops_in_kernel_main_and_in_a_routine_and_its_backtrace_names_them() {
    let (elf, _) = prepared(Firmware::Bios);
    let port = gdb::free_port().unwrap();
    let mut machine = machine(Firmware::Bios, 1, "hello");
    machine.gdb_port = Some(port);
    let run = std::thread::spawn(move || start(Run::new(machine, TEST_TIMEOUT)));

    let commands = [
        "hbreak kernel::kernel_main",
        "continue",
        "bt",
        "hbreak kernel::programs::user::hello::main",
        "continue",
        "bt",
        "kill",
    ];
    let script = std::env::temp_dir().join(format!("spindle-gdb-test-{}.gdb", std::process::id()));
    std::fs::write(&script, gdb::script(&elf, port, &commands).unwrap()).unwrap();
    // gdb may start before QEMU listens: let it retry the connection.
    let output = gdb_batch(&["-ex", "set tcp connect-timeout 300", "-x", script.to_str().unwrap()], TEST_TIMEOUT);
    let _ = std::fs::remove_file(&script);
    let report = run.join().unwrap();

    // The breakpoint may land on code inlined at the function's start, so
    // the function is a frame of the backtrace, not necessarily frame #0.
    assert!(output.contains("Breakpoint 1, "), "gdb printed:\n{output}");
    assert!(output.contains(" kernel::kernel_main (boot_info="), "gdb printed:\n{output}");
    assert!(output.contains("Breakpoint 2, "), "gdb printed:\n{output}");
    assert!(
        output.contains(" kernel::programs::user::hello::main () at kernel/src/programs/user/hello.rs:"),
        "gdb printed:\n{output}"
    );
    // The reset vector is outside every symbol now, not a misnamed function.
    assert!(!output.contains("core::option::"), "gdb printed:\n{output}");
    expect_outcome(&report, Outcome::DebuggerEnded);
    expect_line(&report, "kernel entered");
    assert!(!process_exists(report.qemu_pid), "QEMU {} still runs", report.qemu_pid);
}
