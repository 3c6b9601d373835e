//! Bringing every processor online, and asking other cores to do things.
//!
//! [`bring_up`] runs on the bootstrap core once memory and the clock work:
//! it reads the processors from ACPI, sets up the local APICs, checks its
//! own timer, makes each application processor's state (`Cpu`, kernel
//! stack), starts them all at once (`arch::ap_boot`), and waits until every
//! core that came online is ready (its timer checked). Each core marks
//! itself in [`RAN_OWN_CODE`] from code it runs itself, so the summary line
//! shows which cores really ran, not only which ones were started.
//!
//! Core numbers: the bootstrap core is 0; the others are numbered 1, 2, ...
//! in the order they arrive in [`ap_entry`], so the numbers have no gaps
//! even if a processor never comes up. Which APIC id gets which number
//! changes from boot to boot (`cpu N online (apic A)` says).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use spindle_shared::coreset::{AtomicCoreSet, CoreSet};

use crate::arch::{self, ap_boot::ApEntry, ap_boot::Started};
use crate::cpu::{self, Cpu};
use crate::mem::stack::Stack;
use crate::{println, time};

/// APIC address to use when there is no MADT (the architectural default).
const DEFAULT_LOCAL_APIC: u64 = 0xFEE0_0000;
/// Timer ticks each core must take in its start-up self-check.
const SELF_CHECK_TICKS: u32 = 3;
/// Period of the self-check ticks, in ns (1 ms).
const SELF_CHECK_PERIOD_NS: u64 = 1_000_000;

/// The cores that ran code of their own during start-up.
static RAN_OWN_CODE: AtomicCoreSet = AtomicCoreSet::new();
/// Core i finished its start-up (timer calibrated and checked).
static READY: [AtomicBool; cpu::MAX] = [const { AtomicBool::new(false) }; cpu::MAX];
/// The number the next application processor to arrive takes.
static NEXT_INDEX: AtomicUsize = AtomicUsize::new(1);
/// What each application processor runs once its state is entered (the
/// kernel's `ap_main`).
pub type ApMain = fn(&'static Cpu) -> !;
static AP_MAIN: spin::Once<ApMain> = spin::Once::new();
/// When the last core came online, in ns since kernel entry.
static ALL_ONLINE_NS: AtomicU64 = AtomicU64::new(0);
/// The replay mode: the processors start one after the other, the
/// bootstrap core halted while each starts, and then run one at a time
/// (`sched::baton`): no two cores ever run at once.
static REPLAY: AtomicBool = AtomicBool::new(false);
/// How long the bootstrap core halts at a time while an AP starts alone,
/// in ns: far longer than an AP takes from its STARTUP to ready, so that
/// the bootstrap core's first wake finds it ready and halted, and does not
/// run beside it. Measured under icount: ready 3 to 20 ms after its
/// STARTUP, the same AP in different boots (with a 10 ms halt the APs
/// were seen ready at the first wake in some boots, the second in others).
/// Guest time only: under icount an idle machine's clock jumps.
const HALT_WHILE_STARTING_NS: u64 = 100_000_000;
/// A function each core is asked to run (0: nothing), see [`call_on`].
static MAILBOX: [AtomicUsize; cpu::MAX] = [const { AtomicUsize::new(0) }; cpu::MAX];

/// Starts every processor; each application processor ends up in
/// `ap_main`. In the `replay` mode they start one after the other, each
/// alone, instead of all at once. Returns how many cores are online.
pub fn bring_up(rsdp: Option<u64>, ap_main: ApMain, replay: bool) -> usize {
    AP_MAIN.call_once(|| ap_main);
    REPLAY.store(replay, Ordering::Release);
    let topology = rsdp.and_then(|addr| match arch::acpi::topology(addr) {
        Ok(topology) => Some(topology),
        Err(e) => {
            println!("smp: cannot read the ACPI MADT ({e:?}); running on the bootstrap core only");
            None
        }
    });
    let apic_address = topology.as_ref().map_or(DEFAULT_LOCAL_APIC, |t| t.local_apic_address);
    let apic_mode = arch::apic::init(apic_address);
    arch::apic::disable_legacy_pic();
    arch::apic::enable_this_cpu();
    let timer_mode = arch::timer::init();
    println!("apic: {apic_mode}, timer: {timer_mode}");
    let bsp = cpu::current();
    let per_ms = time::init_this_cpu();
    self_check(bsp);
    println!("cpu 0 online (apic {}), timer {} ticks/ms", bsp.apic_id, per_ms);

    let Some(topology) = topology else {
        ALL_ONLINE_NS.store(time::now(), Ordering::Release);
        return 1;
    };
    let listed = topology.processors.len();
    let enabled = topology.processors.iter().filter(|p| p.enabled).count();
    println!("acpi: {listed} processors in the MADT, {enabled} enabled");
    let mut to_start = Vec::new();
    for p in topology.processors.iter().filter(|p| p.apic_id != bsp.apic_id) {
        if !p.enabled {
            println!("cpu (apic {}) is online-capable but disabled: not started", p.apic_id);
        } else if !arch::apic::can_address(p.apic_id) {
            println!("cpu (apic {}) not started: {apic_mode} cannot send it an interrupt of its own", p.apic_id);
        } else if 1 + to_start.len() == cpu::MAX {
            println!("cpu (apic {}) not started: Spindle handles at most {} cores", p.apic_id, cpu::MAX);
        } else {
            to_start.push(p.apic_id);
        }
    }
    if to_start.is_empty() {
        ALL_ONLINE_NS.store(time::now(), Ordering::Release);
        return 1;
    }
    if let Err(why) = arch::ap_boot::install_trampoline() {
        println!("smp: cannot start other cores: {why}");
        ALL_ONLINE_NS.store(time::now(), Ordering::Release);
        return 1;
    }
    let cpus: Vec<&'static Cpu> = to_start.iter().map(|&apic_id| cpu::create(apic_id)).collect();
    let aps: Vec<ApEntry> = cpus
        .iter()
        .map(|cpu| ApEntry {
            apic_id: cpu.apic_id,
            stack_top: Stack::eager().expect("memory for an AP's kernel stack").leak(),
            entry: ap_entry,
            arg: *cpu as *const Cpu as usize,
        })
        .collect();
    let started = if replay {
        // The i-th AP started is the i-th to arrive: core i + 1.
        let ready = |i: usize| READY[i + 1].load(Ordering::Acquire);
        arch::ap_boot::start_one_by_one(&aps, time::delay_us, time::now_us, &ready, halt_while_starting)
    } else {
        arch::ap_boot::start_all(&aps, time::delay_us, time::now_us)
    };
    // Every AP that arrived takes a number and reports ready.
    let arrived = started.iter().filter(|s| matches!(s, Started::Online(_))).count();
    for ready in &READY[1..=arrived] {
        while !ready.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
    }
    ALL_ONLINE_NS.store(time::now(), Ordering::Release);
    let mut online: Vec<(usize, u32, u64)> = Vec::with_capacity(arrived);
    for (cpu, started) in cpus.iter().zip(started) {
        match started {
            Started::Online(us) => online.push((cpu.index(), cpu.apic_id, us)),
            Started::TimedOut => {
                println!("cpu (apic {}) did not come online in time: skipped, boot goes on without it", cpu.apic_id)
            }
        }
    }
    online.sort_unstable();
    for (index, apic_id, us) in online {
        println!("cpu {index} online (apic {apic_id}) in {us} us");
    }
    1 + arrived
}

/// Nanoseconds from kernel entry until every core was online and ready.
pub fn all_online_ns() -> u64 {
    ALL_ONLINE_NS.load(Ordering::Acquire)
}

/// Where an AP enters Rust, on its own stack, interrupts off, with its
/// `Cpu` (created, not entered yet): it takes the next core number.
extern "C" fn ap_entry(cpu: usize) -> ! {
    // SAFETY: `bring_up` passed a leaked `Cpu` as the argument.
    let cpu = unsafe { &*(cpu as *const Cpu) };
    cpu.enter(NEXT_INDEX.fetch_add(1, Ordering::Relaxed)); // its number, GDT, TSS, the IDT, GS base
    arch::apic::enable_this_cpu(); // its local APIC
    assert_eq!(arch::apic::id(), cpu.apic_id, "an AP started with another AP's state");
    let ap_main = AP_MAIN.get().expect("bring_up set the AP entry");
    ap_main(cpu)
}

/// Halts the bootstrap core for [`HALT_WHILE_STARTING_NS`] while an AP
/// starts alone. Its own timer wakes it, at an exact count of instructions
/// under icount. Waiting for a wake-up IPI from the AP once ready was
/// tried: under QEMU's icount with several vCPUs the wait then ended only
/// at ticks of the PIT, which the firmware leaves running at 18.2 Hz with
/// a phase that changes from boot to boot (measured in three boots: the
/// first AP ready after 38.2, 41.3 and 43.4 ms, the others after 54.925
/// ms each, the PIT's period). Why QEMU delays it was not found.
fn halt_while_starting() {
    time::set_alarm(time::now() + HALT_WHILE_STARTING_NS);
    arch::interrupts::wait_for_interrupt();
    time::cancel_alarm();
}

/// Start-up of an application processor after it has entered its `Cpu`.
pub fn ap_start(cpu: &'static Cpu) {
    time::init_this_cpu();
    self_check(cpu);
}

/// Each core proves its timer interrupts arrive (periodic mode, a few ticks),
/// records that it ran, and reports ready.
fn self_check(cpu: &Cpu) {
    let ticks = || cpu.arch.timer_ticks.load(Ordering::Relaxed);
    let before = ticks();
    time::set_periodic(SELF_CHECK_PERIOD_NS);
    while ticks() - before < SELF_CHECK_TICKS {
        arch::interrupts::wait_for_interrupt();
    }
    time::cancel_alarm();
    RAN_OWN_CODE.insert(cpu.index(), Ordering::AcqRel);
    READY[cpu.index()].store(true, Ordering::Release);
}

/// The cores that ran start-up code of their own.
pub fn ran_own_code() -> CoreSet {
    RAN_OWN_CODE.load(Ordering::Acquire)
}

/// Asks core `index` to run `f` from its wake-up interrupt. Waits while an
/// earlier request to that core is still pending. Returns false if there is
/// no such core.
pub fn call_on(index: usize, f: fn()) -> bool {
    let Some(target) = cpu::get(index) else { return false };
    while MAILBOX[index].compare_exchange(0, f as *const () as usize, Ordering::AcqRel, Ordering::Acquire).is_err() {
        core::hint::spin_loop();
    }
    arch::send_wake(target.apic_id);
    true
}

/// Runs what another core asked this one to run (from the wake-up interrupt).
pub fn run_mailbox() {
    let f = MAILBOX[cpu::index()].swap(0, Ordering::AcqRel);
    if f != 0 {
        // SAFETY: only `call_on` stores here, and only `fn()` pointers.
        let f: fn() = unsafe { core::mem::transmute(f) };
        f();
    }
}

/// Stops every other online core, even one running with interrupts off.
/// In the replay mode there is nothing to stop: the core ending the run
/// holds the baton and every other one waits, halted, for a turn that will
/// not come. An NMI would only make them run its handler beside this core,
/// at moments QEMU chooses, and move the clock the exit summary reads.
pub fn stop_others() {
    if REPLAY.load(Ordering::Acquire) {
        return;
    }
    let me = cpu::entered().then(cpu::index);
    for other in cpu::all().filter(|c| Some(c.index()) != me) {
        arch::send_stop(other.apic_id);
    }
}
