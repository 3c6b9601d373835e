//! `selfcheck`: small programs that each make one scheduler behaviour
//! visible, for the integration tests (`tests/sched.rs`) and for anyone
//! curious. `kind=` picks one; each prints what it observed.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use spindle_shared::coreset::AtomicCoreSet;

use crate::cmdline::options;
use crate::sched::stats::running_now;
use crate::sched::{self, JoinHandle, active_cores, go, yield_now};
use crate::lock::SpinLock;
use crate::{println, summary, time};

pub fn main() {
    match options().kind {
        "interleave" => interleave(),
        "parallel" => parallel(),
        "preempt" => preempt(),
        "steal" => steal(),
        "spawn" => spawn_many(),
        "abandon" => abandon(),
        "deadlock" => deadlock(),
        "panic" => routine_panic(),
        "stack-edge" => stack_edge(),
        "exit-while-allocating" => end_while_allocating(false),
        "panic-while-allocating" => end_while_allocating(true),
        "unjoined-results" => unjoined_results(),
        "sleep-forever" => sleep_forever(),
        "woke-main" => woke_main(),
        "timer-woke-main" => timer_woke_main(),
        other => unreachable!("kind {other} is not in the selfcheck table"),
    }
}

/// Three routines, three steps each, yielding between steps. On one core the
/// order is round-robin and the same on every run.
fn interleave() {
    let children: Vec<_> = (1..=3)
        .map(|child| {
            go(move || {
                for step in 1..=3 {
                    println!("routine {child} step {step}");
                    yield_now();
                }
            })
        })
        .collect();
    children.into_iter().for_each(JoinHandle::join);
}

/// One busy routine per core; each keeps running until the scheduler shows
/// all of them on cores at the same instant (or 10 s pass).
fn parallel() {
    let n = active_cores();
    static SEEN: SpinLock<Vec<(usize, u64)>> = SpinLock::new(Vec::new());
    static DONE: AtomicBool = AtomicBool::new(false);
    let children: Vec<_> = (0..n)
        .map(|_| {
            go(move || {
                let deadline = time::now() + 10_000_000_000;
                while !DONE.load(Ordering::Acquire) && time::now() < deadline {
                    let now = running_now();
                    if now.len() == n {
                        *SEEN.lock() = now;
                        DONE.store(true, Ordering::Release);
                    }
                }
            })
        })
        .collect();
    children.into_iter().for_each(JoinHandle::join);
    let seen = SEEN.lock().clone();
    let cores: BTreeSet<usize> = seen.iter().map(|&(cpu, _)| cpu).collect();
    summary!("parallel: {} routines running at the same instant on {} cores", seen.len(), cores.len());
    for (cpu, routine) in seen {
        summary!("parallel: cpu {cpu} ran routine {routine}");
    }
}

/// A routine that spins without ever yielding shares one core with others,
/// which can only finish if it is preempted.
fn preempt() {
    static OTHERS_DONE: AtomicUsize = AtomicUsize::new(0);
    const OTHERS: usize = 3;
    let spinner = go(|| {
        println!("spinner: spinning until the others are done");
        while OTHERS_DONE.load(Ordering::Acquire) < OTHERS {
            core::hint::spin_loop();
        }
        println!("spinner: done");
        sched::stats::my_counters().1
    });
    let others: Vec<_> = (1..=OTHERS)
        .map(|i| {
            go(move || {
                println!("other {i}: ran");
                OTHERS_DONE.fetch_add(1, Ordering::Release);
            })
        })
        .collect();
    others.into_iter().for_each(JoinHandle::join);
    let preempted = spinner.join();
    summary!("preempt: the spinner was preempted {preempted} times; all {OTHERS} others finished");
}

/// Main spawns many routines from one core; the idle cores steal them.
/// Each routine works until the work has reached a second core, so that a
/// host that is slow to run the other vCPUs cannot let one core finish it
/// all first; if nothing is ever stolen they give up after a few seconds
/// (and the output says one core).
fn steal() {
    const ROUTINES: usize = 64;
    const GIVE_UP_NS: u64 = 5_000_000_000;
    // The cores a routine ran on.
    static RAN_ON: AtomicCoreSet = AtomicCoreSet::new();
    let give_up = time::now() + GIVE_UP_NS;
    let children: Vec<_> = (0..ROUTINES)
        .map(|_| {
            go(move || {
                let mut x = 0u64;
                loop {
                    for i in 0..50_000u64 {
                        x = x.wrapping_mul(7).wrapping_add(i);
                    }
                    RAN_ON.insert(crate::cpu::index(), Ordering::Relaxed);
                    if RAN_ON.len(Ordering::Relaxed) >= 2 || time::now() >= give_up {
                        break;
                    }
                }
                core::hint::black_box(x);
                crate::cpu::index()
            })
        })
        .collect();
    let cores: BTreeSet<usize> = children.into_iter().map(JoinHandle::join).collect();
    let stolen = sched::stats::totals().stolen;
    summary!("steal: {ROUTINES} routines spawned on one core ran on {} cores; {stolen} stolen", cores.len());
}

/// 10,000 routines, each returning its number; all joined, the sum checked.
fn spawn_many() {
    const ROUTINES: u64 = 10_000;
    let children: Vec<_> = (1..=ROUTINES).map(|i| go(move || i)).collect();
    let sum: u64 = children.into_iter().map(JoinHandle::join).sum();
    let expected = ROUTINES * (ROUTINES + 1) / 2;
    assert_eq!(sum, expected, "results lost or duplicated");
    summary!("spawn: {ROUTINES} routines spawned and joined, sum {sum} (expected {expected})");
}

/// Main starts routines that outlive it and returns: they are abandoned.
fn abandon() {
    for i in 1..=3 {
        drop(go(move || {
            let mut step = 1;
            loop {
                println!("child {i}: step {step}");
                sched::sleep_ns(1_000_000);
                step += 1;
            }
        }));
    }
    sched::sleep_ns(5_000_000);
    println!("main: returning without waiting");
}

/// Two routines each wait for the other to finish, and main waits for
/// something nobody will ever provide: no routine can ever run again.
fn deadlock() {
    static HANDLES: SpinLock<Vec<JoinHandle<()>>> = SpinLock::new(Vec::new());
    static NEVER: SpinLock<()> = SpinLock::new(());
    let waiter = || {
        go(|| {
            let other = loop {
                if let Some(h) = HANDLES.lock().pop() {
                    break h;
                }
                yield_now();
            };
            other.join()
        })
    };
    let a = waiter();
    let b = waiter();
    HANDLES.lock().push(a);
    HANDLES.lock().push(b);
    const NOBODY_SENDS: sched::Wait = sched::Wait::other(&sched::Reason::other("a signal nobody sends"));
    sched::park(NEVER.lock(), NOBODY_SENDS);
}

/// A routine panics: the run fails, naming the routine and its core.
fn routine_panic() {
    go(|| panic!("deliberate panic in a child routine")).join()
}

/// Routines that spin in a call-free loop with their stack pointer at every
/// 16-byte position of a page, each on a fresh stack whose pages below the
/// loop were never touched, at `--slice 1`: each must still be preempted
/// (the timer interrupt's frame lands where the stack has not grown yet),
/// and a sleep afterwards must still wake (the core's timer still works).
fn stack_edge() {
    /// Iterations after which a routine may stop waiting to be preempted
    /// (tens of ms under TCG: many slices)...
    const GIVE_UP: u64 = 20_000_000;
    /// ... once this much guest time has passed as well, in ns: a thousand
    /// slices. Iterations alone once ran out under a loaded host (4 of 256
    /// routines at `--smp 4`), which can hold back QEMU's timer for longer
    /// than a vCPU takes to count them; a timer lost for good, the bug this
    /// checks for, never comes however long the wait.
    const GIVE_UP_NS: u64 = 1_000_000_000;
    static NEVER_PREEMPTED: AtomicUsize = AtomicUsize::new(0);
    static RELEASED: AtomicBool = AtomicBool::new(false);

    /// Spins until the running routine is preempted (or gives up after
    /// `GIVE_UP` iterations and at `give_up_tsc`), with a 2 KiB frame it
    /// never writes: the stack pointer sits well below the deepest byte
    /// touched so far, as after an unprobed `sub rsp, N`. Nothing in the
    /// loop touches the stack (the clock is read inline, not called).
    #[inline(never)]
    fn spin_until_preempted(preemptions: &AtomicU64, give_up_tsc: u64) -> bool {
        let mut untouched = core::mem::MaybeUninit::<[u8; 2048]>::uninit();
        core::hint::black_box(&mut untouched);
        let before = preemptions.load(Ordering::Relaxed);
        let mut i = 0;
        while preemptions.load(Ordering::Relaxed) == before {
            i = crate::arch::opaque(i + 1);
            // SAFETY: RDTSC has no side effects and is available on every x86_64 CPU.
            if i >= GIVE_UP && i % 65_536 == 0 && unsafe { core::arch::x86_64::_rdtsc() } >= give_up_tsc {
                break;
            }
        }
        preemptions.load(Ordering::Relaxed) != before
    }

    /// A routine whose closure carries `PAD` bytes: the closure sits at the
    /// top of the new stack, so `PAD` moves everything below it.
    fn padded<const PAD: usize>() -> JoinHandle<()> {
        let pad = [0u8; PAD];
        go(move || {
            core::hint::black_box(&pad);
            // SAFETY: the running routine's control block lives while it runs.
            let preemptions = unsafe { &(*sched::current()).preemptions };
            let give_up_tsc = time::read_tsc() + time::ns_to_tsc(GIVE_UP_NS);
            if !spin_until_preempted(preemptions, give_up_tsc) {
                NEVER_PREEMPTED.fetch_add(1, Ordering::Relaxed);
            }
            // Keep the stack until every routine has started, so that each
            // of them gets a fresh one.
            while !RELEASED.load(Ordering::Acquire) {
                yield_now();
            }
        })
    }

    let mut children = Vec::new();
    macro_rules! sixteen {
        ($($high:literal)*) => {$(
            children.push(padded::<{ $high * 256 }>());
            children.push(padded::<{ $high * 256 + 16 }>());
            children.push(padded::<{ $high * 256 + 32 }>());
            children.push(padded::<{ $high * 256 + 48 }>());
            children.push(padded::<{ $high * 256 + 64 }>());
            children.push(padded::<{ $high * 256 + 80 }>());
            children.push(padded::<{ $high * 256 + 96 }>());
            children.push(padded::<{ $high * 256 + 112 }>());
            children.push(padded::<{ $high * 256 + 128 }>());
            children.push(padded::<{ $high * 256 + 144 }>());
            children.push(padded::<{ $high * 256 + 160 }>());
            children.push(padded::<{ $high * 256 + 176 }>());
            children.push(padded::<{ $high * 256 + 192 }>());
            children.push(padded::<{ $high * 256 + 208 }>());
            children.push(padded::<{ $high * 256 + 224 }>());
            children.push(padded::<{ $high * 256 + 240 }>());
        )*};
    }
    sixteen!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
    RELEASED.store(true, Ordering::Release);
    let n = children.len();
    children.into_iter().for_each(JoinHandle::join);
    let never = NEVER_PREEMPTED.load(Ordering::Relaxed);
    summary!("stack-edge: {n} routines at every 16-byte stack position, {never} never preempted");
    sched::sleep_ns(5_000_000);
    summary!("stack-edge: a 5 ms sleep afterwards returned");
}

/// Every other core allocates and frees in a loop while main ends the run
/// (returns, or panics): the end of the run must not wait for the heap,
/// which a stopped core may hold.
fn end_while_allocating(panic: bool) {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let others = active_cores().saturating_sub(1).max(1);
    for seed in 0..others as u64 {
        drop(go(move || {
            STARTED.fetch_add(1, Ordering::Relaxed);
            let mut size = seed + 1;
            loop {
                size = size.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) % 4093 + 1;
                let block: Vec<u8> = Vec::with_capacity(size as usize);
                core::hint::black_box(&block);
            }
        }));
    }
    while STARTED.load(Ordering::Relaxed) < others {
        yield_now();
    }
    sched::sleep_ns(50_000_000);
    if panic {
        panic!("deliberate panic while {others} routines allocate");
    }
    println!("main: returning while {others} routines allocate");
}

/// Results nobody joins are dropped by a routine, where their `Drop` may
/// block: by the routine that made the result if its handle was dropped
/// first, else by whoever drops the handle. Here each `Drop` sleeps.
fn unjoined_results() {
    const EACH: usize = 8;
    static DROPPED_IN_ROUTINES: AtomicUsize = AtomicUsize::new(0);
    struct SleepsOnDrop;
    impl Drop for SleepsOnDrop {
        fn drop(&mut self) {
            assert!(!sched::current().is_null(), "a result was dropped outside a routine");
            sched::sleep_ns(1_000_000);
            DROPPED_IN_ROUTINES.fetch_add(1, Ordering::Relaxed);
        }
    }
    // Handles dropped before their routines return.
    for _ in 0..EACH {
        drop(go(|| {
            sched::sleep_ns(2_000_000);
            SleepsOnDrop
        }));
    }
    // Handles dropped after their routines returned.
    let late: Vec<_> = (0..EACH).map(|_| go(|| SleepsOnDrop)).collect();
    sched::sleep_ns(5_000_000);
    drop(late);
    let give_up = time::now() + 5_000_000_000;
    while DROPPED_IN_ROUTINES.load(Ordering::Relaxed) < 2 * EACH && time::now() < give_up {
        sched::sleep_ns(1_000_000);
    }
    summary!("unjoined-results: {} of {} results dropped by routines", DROPPED_IN_ROUTINES.load(Ordering::Relaxed), 2 * EACH);
}

/// A sleep, or a timer channel, as long as `Duration` allows never ends and
/// breaks nothing (Go's longest `time.Sleep` and `time.After` do the same).
fn sleep_forever() {
    use crate::api::{after, sleep};
    use core::time::Duration;
    let sleeper = go(|| sleep(Duration::MAX));
    let receiver = go(|| {
        after(Duration::MAX).recv();
    });
    // Until both have blocked, however long a loaded host takes to run
    // them: a fixed sleep here once found one still runnable.
    while !(sleeper.is_parked() && receiver.is_parked()) {
        sched::sleep_ns(1_000_000);
    }
    println!("main: returning while two routines wait for ever");
}

/// Main sleeps on one core beside a routine that never stops: main's timer
/// wakes it while the spinner runs, so the exit summary must not say the
/// spinner woke main.
fn timer_woke_main() {
    drop(go(|| {
        loop {
            core::hint::spin_loop();
        }
    }));
    sched::sleep_ns(5_000_000);
    println!("main: woken by its timer; returning");
}

/// A routine wakes main (a send main waits for) and keeps running: main
/// returns at once, and the exit summary says which routine had just woken
/// it, still running.
fn woke_main() {
    let (tx, rx) = crate::sync::chan::<()>(0);
    drop(go(move || {
        // Main must be parked in `recv` first, so that the send wakes it:
        // waited for, not assumed of a sleep (a loaded host can stall
        // main's core for longer than any sleep).
        while tx.waiting_receivers() == 0 {
            sched::sleep_ns(1_000_000);
        }
        tx.send(());
        loop {
            core::hint::spin_loop();
        }
    }));
    rx.recv();
    println!("main: woken; returning");
}
