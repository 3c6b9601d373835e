//! QEMU's firmware configuration device (fw_cfg), read through its legacy I/O
//! ports. The host passes the kernel command line as the fw_cfg file
//! `opt/spindle/cmdline` (`-fw_cfg name=opt/spindle/cmdline,string=...`).
//!
//! Protocol (QEMU docs/specs/fw_cfg.rst): write a 16-bit item selector to
//! [`SELECTOR_PORT`], then read the item's bytes one at a time from
//! [`DATA_PORT`]. Item [`SIGNATURE`] reads "QEMU"; item [`FILE_DIR`] is a
//! big-endian u32 count followed by that many 64-byte file entries.

use x86_64::instructions::port::Port;

const SELECTOR_PORT: u16 = 0x510;
const DATA_PORT: u16 = 0x511;
/// Selector of the signature item, which reads "QEMU".
const SIGNATURE: u16 = 0x0000;
/// Selector of the file directory.
const FILE_DIR: u16 = 0x0019;
/// Bytes in a file name inside a directory entry (NUL padded).
const FILE_NAME_LEN: usize = 56;

/// Reads fw_cfg items. Not shared between cores: selecting an item and reading
/// it must not interleave with another reader; the kernel reads fw_cfg once,
/// on the bootstrap core, before the others start.
pub struct FwCfg {
    selector: Port<u16>,
    data: Port<u8>,
}

impl FwCfg {
    /// The device, if the machine has one.
    pub fn probe() -> Option<FwCfg> {
        let mut fw = FwCfg { selector: Port::new(SELECTOR_PORT), data: Port::new(DATA_PORT) };
        let mut signature = [0u8; 4];
        fw.select(SIGNATURE);
        fw.read(&mut signature);
        (&signature == b"QEMU").then_some(fw)
    }

    fn select(&mut self, item: u16) {
        // SAFETY: the selector port only chooses what the data port returns.
        unsafe { self.selector.write(item) };
    }

    fn read(&mut self, buf: &mut [u8]) {
        for b in buf {
            // SAFETY: reading the data port returns the next byte of the selected item.
            *b = unsafe { self.data.read() };
        }
    }

    fn read_be_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.read(&mut bytes);
        u32::from_be_bytes(bytes)
    }

    /// Finds the file called `name` and returns its selector and size.
    fn find(&mut self, name: &str) -> Option<(u16, usize)> {
        self.select(FILE_DIR);
        let count = self.read_be_u32();
        for _ in 0..count {
            let mut entry = [0u8; 8 + FILE_NAME_LEN];
            self.read(&mut entry);
            let size = u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]) as usize;
            let selector = u16::from_be_bytes([entry[4], entry[5]]);
            let raw = &entry[8..];
            let len = raw.iter().position(|&b| b == 0).unwrap_or(FILE_NAME_LEN);
            if &raw[..len] == name.as_bytes() {
                return Some((selector, size));
            }
        }
        None
    }

    /// Reads the file `name` into `buf`. Returns the file's full size, which
    /// may exceed `buf.len()` (then only the first `buf.len()` bytes are read),
    /// or `None` if there is no such file.
    pub fn read_file(&mut self, name: &str, buf: &mut [u8]) -> Option<usize> {
        let (selector, size) = self.find(name)?;
        self.select(selector);
        let n = size.min(buf.len());
        self.read(&mut buf[..n]);
        Some(size)
    }
}
