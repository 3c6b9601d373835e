//! Disk images: the kernel ELF wrapped by the `bootloader` crate into a BIOS
//! (MBR) or UEFI (GPT) bootable disk. Images sit next to the ELF and are
//! remade only when the ELF is newer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
    let mut builder = DiskImageBuilder::new(elf.to_path_buf());
    builder.set_boot_config(&boot_config());
    let made = match firmware {
        Firmware::Bios => builder.create_bios_image(&partial),
        Firmware::Uefi => builder.create_uefi_image(&partial),
    };
    made.map_err(|e| format!("making the {firmware:?} image from {}: {e:#}", elf.display()))?;
    std::fs::rename(&partial, &image).map_err(|e| format!("placing {}: {e}", image.display()))?;
    Ok(image)
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
