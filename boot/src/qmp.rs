//! Talking to a running QEMU through its QMP socket (the QEMU Machine
//! Protocol: JSON objects, one a line, over `-qmp unix:PATH,server=on,wait=off`).
//!
//! The runner needs one command: `inject-nmi`, which on x86 machines gives
//! every vCPU a non-maskable interrupt (QEMU's `qapi/machine.json`). The
//! kernel reads an NMI it did not send itself as the host asking it to end
//! the run and send its trace (kernel/src/stop.rs). A session is: QEMU's
//! greeting, `qmp_capabilities` (which leaves negotiation mode), then the
//! command; each command is answered by `{"return": ...}` or
//! `{"error": ...}`, and QEMU may send events (`{"event": ...}`) between.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// Longest a QMP socket path may be: `sun_path` holds 108 bytes with the
/// terminating NUL (Linux `unix(7)`).
pub const MAX_SOCKET_PATH: usize = 107;

/// Asks the QEMU listening on `socket` to inject an NMI into every vCPU,
/// waiting at most `timeout` for each of its answers.
pub fn inject_nmi(socket: &Path, timeout: Duration) -> Result<(), String> {
    execute(socket, &["inject-nmi"], timeout)
}

/// Runs `commands` (QMP commands without arguments, such as `stop`, which
/// pauses every vCPU) in one session with the QEMU listening on `socket`,
/// waiting at most `timeout` for each of its answers.
pub fn execute(socket: &Path, commands: &[&str], timeout: Duration) -> Result<(), String> {
    let shown = socket.display();
    let stream =
        UnixStream::connect(socket).map_err(|e| format!("cannot connect to QEMU's QMP socket {shown}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("QMP socket {shown}: {e}"))?;
    let mut session = Session { reader: BufReader::new(stream.try_clone().map_err(|e| e.to_string())?), stream };
    let greeting = session.next_message()?;
    if greeting.get("QMP").is_none() {
        return Err(format!("QMP socket {shown}: expected QEMU's greeting, got {greeting}"));
    }
    session.execute("qmp_capabilities")?;
    commands.iter().try_for_each(|command| session.execute(command))
}

struct Session {
    reader: BufReader<UnixStream>,
    stream: UnixStream,
}

impl Session {
    /// Sends `command` and waits for its answer, skipping events.
    fn execute(&mut self, command: &str) -> Result<(), String> {
        let request = format!("{{\"execute\": \"{command}\"}}\n");
        self.stream.write_all(request.as_bytes()).map_err(|e| format!("QMP {command}: {e}"))?;
        loop {
            let message = self.next_message()?;
            if message.get("return").is_some() {
                return Ok(());
            }
            if let Some(error) = message.get("error") {
                return Err(format!("QMP {command} failed: {error}"));
            }
        }
    }

    /// The next JSON object QEMU sends.
    fn next_message(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("QEMU closed its QMP socket".into()),
            Ok(_) => serde_json::from_str(&line).map_err(|e| format!("QMP: {e} in {line:?}")),
            Err(e) => Err(format!("QMP: no answer from QEMU ({e})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A stand-in for QEMU's side of one session, answering as QEMU 7.2
    /// does; returns the commands it received.
    fn fake_qemu(listener: UnixListener, answers: &'static [&'static str]) -> std::thread::JoinHandle<Vec<String>> {
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            writer.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n").unwrap();
            let mut received = Vec::new();
            for answer in answers {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                received.push(line.trim().to_string());
                writer.write_all(answer.as_bytes()).unwrap();
            }
            received
        })
    }

    fn socket_path(name: &str) -> std::path::PathBuf {
        let dir = crate::runs_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("qmp-test-{}-{name}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn an_nmi_is_asked_for_after_leaving_negotiation_mode_and_events_are_skipped() {
        let path = socket_path("ok");
        let listener = UnixListener::bind(&path).unwrap();
        let qemu = fake_qemu(
            listener,
            &[
                "{\"return\": {}}\r\n",
                "{\"timestamp\": {}, \"event\": \"NIC_RX_FILTER_CHANGED\"}\r\n{\"return\": {}}\r\n",
            ],
        );
        inject_nmi(&path, Duration::from_secs(10)).unwrap();
        let received = qemu.join().unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(received, ["{\"execute\": \"qmp_capabilities\"}", "{\"execute\": \"inject-nmi\"}"]);
    }

    #[test]
    fn a_refused_command_is_an_error_naming_it() {
        let path = socket_path("refused");
        let listener = UnixListener::bind(&path).unwrap();
        let qemu = fake_qemu(
            listener,
            &["{\"return\": {}}\r\n", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no NMI\"}}\r\n"],
        );
        let error = inject_nmi(&path, Duration::from_secs(10)).unwrap_err();
        qemu.join().unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(error.contains("inject-nmi failed") && error.contains("no NMI"), "{error}");
    }

    #[test]
    fn no_qemu_on_the_socket_is_an_error_naming_the_path() {
        let path = socket_path("absent");
        let error = inject_nmi(&path, Duration::from_secs(1)).unwrap_err();
        assert!(error.contains(&path.display().to_string()), "{error}");
    }
}
