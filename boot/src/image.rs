//! Disk images: the kernel ELF wrapped by the `bootloader` crate into a BIOS
//! (MBR) or UEFI (GPT) bootable disk. Images sit next to the ELF and are
//! remade only when the ELF is newer. The UEFI image is made by a program
//! of its own, `spindle-uefi-image`, built on first use (see there why).
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

use crate::kernel::{Progress, cargo_build, executable_from_messages};

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

/// The package (and program) that makes UEFI images.
const UEFI_IMAGE_MAKER: &str = "spindle-uefi-image";

/// Makes the image for `firmware` from `elf` unless an up-to-date one exists.
pub fn create(elf: &Path, firmware: Firmware, progress: Progress) -> Result<PathBuf, String> {
    let image = elf.with_file_name(firmware.image_name());
    if is_newer(&image, elf) {
        return Ok(image);
    }
    // Written aside and renamed, so a concurrent reader sees the old image or
    // the whole new one.
    let partial = image.with_extension(format!("img.{}", std::process::id()));
    let kernel = stripped(elf)?;
    match firmware {
        Firmware::Bios => {
            let mut builder = DiskImageBuilder::new(kernel);
            builder.set_boot_config(&boot_config());
            builder
                .create_bios_image(&partial)
                .map_err(|e| format!("making the BIOS image from {}: {e:#}", elf.display()))?;
        }
        Firmware::Uefi => create_uefi_image(&kernel, &partial, progress)?,
    }
    std::fs::rename(&partial, &image).map_err(|e| format!("placing {}: {e}", image.display()))?;
    Ok(image)
}

/// Makes the UEFI image with `spindle-uefi-image` (boot/uefi-image), built
/// here on first use: its UEFI loader is compiled only for runs that boot it.
fn create_uefi_image(kernel: &Path, image: &Path, progress: Progress) -> Result<(), String> {
    if progress == Progress::Shown {
        eprintln!(
            "spindle: building the UEFI image maker (the first --uefi run compiles the UEFI loader: 1.5 to 3 min on 2 cores)"
        );
    }
    let messages =
        cargo_build(&["-p", UEFI_IMAGE_MAKER], progress).map_err(|e| format!("building the UEFI image maker: {e}"))?;
    let maker = executable_from_messages(&messages, UEFI_IMAGE_MAKER)
        .ok_or_else(|| format!("cargo built {UEFI_IMAGE_MAKER} but reported no executable"))?;
    let config = serde_json::to_string(&boot_config()).map_err(|e| format!("writing the boot config: {e}"))?;
    let status = Command::new(&maker)
        .arg(kernel)
        .arg(image)
        .arg(config)
        .status()
        .map_err(|e| format!("running {}: {e}", maker.display()))?;
    if !status.success() {
        return Err(format!("{} could not make the UEFI image ({status})", maker.display()));
    }
    Ok(())
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
pub fn create_once(elf: &Path, firmware: Firmware, progress: Progress) -> Result<PathBuf, String> {
    static IMAGES: Mutex<Option<HashMap<Firmware, PathBuf>>> = Mutex::new(None);
    let mut images = IMAGES.lock().unwrap_or_else(|e| e.into_inner());
    let images = images.get_or_insert_with(HashMap::new);
    if let Some(image) = images.get(&firmware) {
        return Ok(image.clone());
    }
    let image = create(elf, firmware, progress)?;
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
