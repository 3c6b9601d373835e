//! Kernel addresses as source lines, from the unstripped kernel ELF.
//!
//! The kernel is a position-independent executable linked at 0 and run at a
//! fixed base that its bootloader config names (`kernel_base` in
//! kernel/src/main.rs). That config travels in the ELF itself, in the section
//! `.bootloader-config`, so [`load_offset`] reads the base from the one place
//! that sets it. gdb needs it (`symbol-file -o`), and so does
//! [`Symbols::describe`], which turns a fault report's `ip` into
//! `kernel/src/programs/internal/fault.rs:42 (kernel::programs::internal::fault::...)`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bootloader_api::BootloaderConfig;
use bootloader_api::config::Mapping;
use object::{Object, ObjectSection};

/// The section the bootloader reads its config from (`entry_point!` puts it there).
const CONFIG_SECTION: &str = ".bootloader-config";

type Reader = gimli::EndianArcSlice<gimli::RunTimeEndian>;

/// The kernel's debug information, ready for address look-ups.
pub struct Symbols {
    context: addr2line::Context<Reader>,
    /// What the bootloader adds to every ELF address.
    offset: u64,
    /// Source paths are shown relative to this (the workspace root).
    root: PathBuf,
}

/// One source position of an address: the function and where in it. An
/// address inside inlined code has several, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}")?,
            (Some(file), None) => write!(f, "{file}")?,
            _ => f.write_str("?")?,
        }
        match &self.function {
            Some(function) => write!(f, " ({function})"),
            None => Ok(()),
        }
    }
}

/// The load offset of the kernel in `elf`: the `kernel_base` its bootloader
/// config fixes. An error says why there is none (no config section, or a
/// base the bootloader chooses at boot).
pub fn load_offset(elf: &Path) -> Result<u64, String> {
    let data = std::fs::read(elf).map_err(|e| format!("reading {}: {e}", elf.display()))?;
    let file = object::File::parse(&*data).map_err(|e| format!("{} is not an ELF file: {e}", elf.display()))?;
    offset_of(&file, elf)
}

fn offset_of(file: &object::File, elf: &Path) -> Result<u64, String> {
    let section = file
        .section_by_name(CONFIG_SECTION)
        .ok_or_else(|| format!("{} has no {CONFIG_SECTION} section (not a bootloader 0.11 kernel?)", elf.display()))?;
    let bytes = section.data().map_err(|e| format!("reading {CONFIG_SECTION}: {e}"))?;
    let config = BootloaderConfig::deserialize(bytes).map_err(|e| format!("decoding {CONFIG_SECTION}: {e}"))?;
    match config.mappings.kernel_base {
        Mapping::FixedAddress(base) => Ok(base),
        Mapping::Dynamic => Err(format!(
            "{} leaves its base address to the bootloader (kernel_base is Dynamic), so its \
             addresses at run time are not known in advance; fix it in its BootloaderConfig",
            elf.display()
        )),
    }
}

impl Symbols {
    /// Loads the debug information of `elf`; source paths will be shown
    /// relative to `root`.
    pub fn load(elf: &Path, root: &Path) -> Result<Symbols, String> {
        let data = std::fs::read(elf).map_err(|e| format!("reading {}: {e}", elf.display()))?;
        let file = object::File::parse(&*data).map_err(|e| format!("{} is not an ELF file: {e}", elf.display()))?;
        let offset = offset_of(&file, elf)?;
        let endian = if file.is_little_endian() { gimli::RunTimeEndian::Little } else { gimli::RunTimeEndian::Big };
        let section = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
            let bytes = file.section_by_name(id.name()).and_then(|s| s.uncompressed_data().ok());
            let bytes: Arc<[u8]> = bytes.as_deref().unwrap_or(&[]).into();
            Ok(gimli::EndianArcSlice::new(bytes, endian))
        };
        let dwarf = gimli::Dwarf::load(section).map_err(|e| format!("reading the DWARF of {}: {e}", elf.display()))?;
        let context = addr2line::Context::from_dwarf(dwarf)
            .map_err(|e| format!("indexing the DWARF of {}: {e}", elf.display()))?;
        Ok(Symbols { context, offset, root: root.to_path_buf() })
    }

    /// The load offset (what gdb's `symbol-file -o` wants).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The source positions of the run-time address `address`, innermost
    /// first; empty when it is not in the kernel.
    pub fn frames(&self, address: u64) -> Vec<Frame> {
        let Some(probe) = address.checked_sub(self.offset) else { return Vec::new() };
        let Ok(mut iter) = self.context.find_frames(probe).skip_all_loads() else { return Vec::new() };
        let mut frames = Vec::new();
        while let Ok(Some(frame)) = iter.next() {
            let function = frame.function.as_ref().and_then(|f| f.demangle().ok()).map(|name| name.into_owned());
            let file = frame.location.as_ref().and_then(|l| l.file).map(|file| self.shown(file));
            frames.push(Frame { function, file, line: frame.location.and_then(|l| l.line) });
        }
        frames
    }

    /// The lines to print under a console line that reports an `ip`:
    /// "  at FILE:LINE (FUNCTION)", then "  inlined into ..." for each caller
    /// the compiler folded in. Empty for other lines.
    pub fn describe(&self, console_line: &str) -> Vec<String> {
        let Some(ip) = reported_ip(console_line) else { return Vec::new() };
        self.frames(ip)
            .iter()
            .enumerate()
            .map(|(i, frame)| format!("  {} {frame}", if i == 0 { "at" } else { "inlined into" }))
            .collect()
    }

    /// `file` as a person wants to read it: relative to the workspace, or
    /// from `library/` for the standard library's sources in the toolchain.
    fn shown(&self, file: &str) -> String {
        const RUST_SOURCES: &str = "/lib/rustlib/src/rust/";
        if let Ok(relative) = Path::new(file).strip_prefix(&self.root) {
            return relative.display().to_string();
        }
        match file.split_once(RUST_SOURCES) {
            Some((_, in_rust)) => in_rust.to_string(),
            None => file.to_string(),
        }
    }
}

/// The instruction pointer a kernel report names (`...: ip 0x1234, ...`),
/// if the line is such a report and the ip is not 0 (no instruction known).
pub fn reported_ip(line: &str) -> Option<u64> {
    if !line.starts_with("fatal error: ") {
        return None;
    }
    let hex = line.split_once(" ip 0x")?.1;
    let digits: String = hex.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    u64::from_str_radix(&digits, 16).ok().filter(|ip| *ip != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ip_is_read_from_fault_reports_only() {
        let report =
            "fatal error: page fault [routine 2 on cpu 0]: ip 0x10000046656, address 0xdead0000, error code 0x0";
        assert_eq!(reported_ip(report), Some(0x10000046656));
        assert_eq!(
            reported_ip("fatal error: invalid opcode [routine 2 on cpu 1]: ip 0x1000004a0c1"),
            Some(0x1000004a0c1)
        );
        assert_eq!(reported_ip("[cpu 0 r2]  my ip 0x1234 is"), None, "a routine's own line");
        assert_eq!(reported_ip("fatal error: machine check [cpu 0]: ip 0x0"), None, "no address to look up");
    }

    #[test]
    fn a_frame_reads_as_file_line_and_function() {
        let frame = Frame { function: Some("kernel::f".into()), file: Some("kernel/src/a.rs".into()), line: Some(7) };
        assert_eq!(frame.to_string(), "kernel/src/a.rs:7 (kernel::f)");
        let bare = Frame { function: None, file: None, line: None };
        assert_eq!(bare.to_string(), "?");
    }
}
