//! The time-stamp counter and what it needs to become a clock: its frequency.
//!
//! CPUID leaf 15h (TSC/crystal ratio) or 16h (base frequency) give it on
//! recent processors; QEMU's default CPU reports neither, so the fallback is
//! to count TSC ticks across a known interval of the legacy PIT, whose input
//! clock is fixed at [`PIT_HZ`].

use core::arch::x86_64::{__cpuid, __cpuid_count, _rdtsc};

use x86_64::instructions::port::Port;

/// Input clock of the 8253/8254 PIT, in Hz.
const PIT_HZ: u64 = 1_193_182;
/// Length of one calibration interval, in PIT ticks (10 ms).
const CALIBRATION_PIT_TICKS: u64 = PIT_HZ / 100;
/// Calibration intervals measured; the shortest wins (a vCPU that was
/// descheduled mid-interval only ever makes one look longer).
const CALIBRATION_ROUNDS: usize = 3;

/// Reads the TSC.
#[inline]
pub fn read() -> u64 {
    // SAFETY: RDTSC has no side effects and is available on every x86_64 CPU.
    unsafe { _rdtsc() }
}

/// Reads the TSC as the two halves `rdtsc` leaves in EDX:EAX, (low, high),
/// for a caller that stores them as they are (the trace) and so needs no
/// shift and `or` to join them.
#[inline(always)]
pub fn read_halves() -> (u32, u32) {
    let (low, high): (u32, u32);
    // SAFETY: RDTSC has no side effects, reads no memory and leaves the
    // flags alone; it is available on every x86_64 CPU.
    unsafe { core::arch::asm!("rdtsc", out("eax") low, out("edx") high, options(nomem, nostack, preserves_flags)) };
    (low, high)
}

/// The TSC frequency in Hz, and how it was found.
pub fn frequency() -> (u64, &'static str) {
    if let Some(hz) = from_cpuid() {
        return (hz, "CPUID");
    }
    (calibrate_with_pit(), "PIT calibration")
}

fn from_cpuid() -> Option<u64> {
    let max_leaf = __cpuid(0).eax;
    if max_leaf >= 0x15 {
        let leaf = __cpuid_count(0x15, 0);
        let (denominator, numerator, crystal_hz) = (leaf.eax, leaf.ebx, leaf.ecx);
        if denominator != 0 && numerator != 0 && crystal_hz != 0 {
            return Some(crystal_hz as u64 * numerator as u64 / denominator as u64);
        }
    }
    if max_leaf >= 0x16 {
        // EAX is the base frequency in MHz.
        let mhz = __cpuid(0x16).eax & 0xFFFF;
        if mhz != 0 {
            return Some(mhz as u64 * 1_000_000);
        }
    }
    None
}

fn calibrate_with_pit() -> u64 {
    let shortest = (0..CALIBRATION_ROUNDS).map(|_| tsc_ticks_over_pit_interval()).min();
    shortest.expect("at least one round") * PIT_HZ / CALIBRATION_PIT_TICKS
}

/// Counts TSC ticks while PIT channel 2 counts down [`CALIBRATION_PIT_TICKS`]
/// in mode 0 (interrupt on terminal count), watching its output on port 0x61.
fn tsc_ticks_over_pit_interval() -> u64 {
    let mut control = Port::<u8>::new(0x61); // bit 0: channel 2 gate, bit 1: speaker, bit 5: ch2 output
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    // SAFETY: the PIT and port 0x61 are standard PC devices; only channel 2
    // (the speaker timer, otherwise unused) is reprogrammed.
    unsafe {
        let c = control.read();
        control.write((c & !0x02) | 0x01); // gate on, speaker off
        command.write(0b1011_0000); // channel 2, lobyte/hibyte, mode 0, binary
        channel2.write((CALIBRATION_PIT_TICKS & 0xFF) as u8);
        channel2.write((CALIBRATION_PIT_TICKS >> 8) as u8);
        let start = read();
        while control.read() & 0x20 == 0 {
            core::hint::spin_loop();
        }
        read() - start
    }
}
