//! Disk images: the kernel ELF wrapped by the `bootloader` crate into a BIOS
//! (MBR) or UEFI (GPT) bootable disk. Images sit next to the ELF and are
//! remade only when the ELF is newer.
//!
//! The image gets a copy of the ELF without debug information (made with
//! the toolchain's `llvm-objcopy --strip-debug`): the firmware loads the
//! kernel through emulated disk reads, and 8 MB of DWARF take seconds under
//! TCG. The full ELF stays where it is, for gdb.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use bootloader::{BootConfig, DiskImageBuilder};
use bootloader_boot_config::LevelFilter;

/// The firmware the machine boots with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Firmware {
    /// SeaBIOS, QEMU's default. Boots the MBR image.
    Bios,
    /// OVMF. Boots the GPT image.
    Uefi,
}

impl Firmware {
    fn image_name(self) -> &'static str {
        match self {
            Firmware::Bios => "spindle-bios.img",
            Firmware::Uefi => "spindle-uefi.img",
        }
    }
}

/// Makes the image for `firmware` from `elf` unless an up-to-date one exists.
pub fn create(elf: &Path, firmware: Firmware) -> Result<PathBuf, String> {
    let image = elf.with_file_name(firmware.image_name());
    if is_newer(&image, elf) {
        return Ok(image);
    }
    // Written aside and renamed, so a concurrent reader sees the old image or
    // the whole new one.
    let partial = image.with_extension(format!("img.{}", std::process::id()));
    let mut builder = DiskImageBuilder::new(stripped(elf)?);
    builder.set_boot_config(&boot_config());
    let made = match firmware {
        Firmware::Bios => builder.create_bios_image(&partial),
        Firmware::Uefi => builder.create_uefi_image(&partial),
    };
    made.map_err(|e| format!("making the {firmware:?} image from {}: {e:#}", elf.display()))?;
    std::fs::rename(&partial, &image).map_err(|e| format!("placing {}: {e}", image.display()))?;
    Ok(image)
}

/// A copy of `elf` without debug sections, next to it; the ELF itself if the
/// toolchain has no `llvm-objcopy` (the image is then just slower to boot).
fn stripped(elf: &Path) -> Result<PathBuf, String> {
    let out = elf.with_extension("stripped");
    if is_newer(&out, elf) {
        return Ok(out);
    }
    let Some(objcopy) = llvm_objcopy() else { return Ok(elf.to_path_buf()) };
    let partial = out.with_extension(format!("stripped.{}", std::process::id()));
    let status = Command::new(&objcopy)
        .arg("--strip-debug")
        .arg(elf)
        .arg(&partial)
        .status()
        .map_err(|e| format!("running {}: {e}", objcopy.display()))?;
    if !status.success() {
        return Err(format!("{} --strip-debug {} failed ({status})", objcopy.display(), elf.display()));
    }
    std::fs::rename(&partial, &out).map_err(|e| format!("placing {}: {e}", out.display()))?;
    Ok(out)
}

/// The llvm-objcopy of the toolchain that built the runner (see build.rs).
fn llvm_objcopy() -> Option<PathBuf> {
    let path = Path::new(env!("SPINDLE_LLVM_TOOLS")).join("llvm-objcopy");
    path.exists().then_some(path)
}

/// [`create`], once per process and firmware.
pub fn create_once(elf: &Path, firmware: Firmware) -> Result<PathBuf, String> {
    static IMAGES: Mutex<Option<HashMap<Firmware, PathBuf>>> = Mutex::new(None);
    let mut images = IMAGES.lock().unwrap_or_else(|e| e.into_inner());
    let images = images.get_or_insert_with(HashMap::new);
    if let Some(image) = images.get(&firmware) {
        return Ok(image.clone());
    }
    let image = create(elf, firmware)?;
    images.insert(firmware, image.clone());
    Ok(image)
}

/// The bootloader's own settings: it stays quiet on the console unless
/// something goes wrong, and does not draw its log on the (unseen) framebuffer.
fn boot_config() -> BootConfig {
    let mut config = BootConfig::default();
    config.log_level = LevelFilter::Warn;
    config.frame_buffer_logging = false;
    config
}

fn is_newer(path: &Path, than: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(path), modified(than)), (Some(a), Some(b)) if a >= b)
}
