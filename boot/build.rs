//! Records where the toolchain that builds Spindle keeps its LLVM tools
//! (component `llvm-tools-preview`), so the runner can find llvm-objcopy.

use std::process::Command;

fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    let rustc = std::env::var("RUSTC").expect("cargo sets RUSTC for build scripts");
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=SPINDLE_LLVM_TOOLS={sysroot}/lib/rustlib/{target}/bin");
}
