//! `labcheck`: programs the lab grader runs (`labs/`), each making one
//! property of the scheduler visible in its output or its trace. `kind=`
//! picks one.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::api::*;

pub fn main() {
    match options().kind {
        "first-frame" => first_frame(),
        "recycle" => recycle(),
        "global-fair" => global_fair(),
        "slices" => slices(),
        "sleepers" => sleepers(),
        "select-fair" => select_fair(),
        "mutex-order" => mutex_order(),
        "all-asleep" => all_asleep(),
        "balance" => balance(),
        other => unreachable!("kind {other} is not in the labcheck table"),
    }
}

/// A local the compiler must place at a 16-byte boundary, relative to a
/// stack pointer it assumes the ABI aligned.
#[repr(C, align(16))]
struct Aligned([u8; 16]);

/// Whether this frame's 16-byte aligned local really is aligned.
#[inline(never)]
fn frame_is_aligned() -> bool {
    let local = Aligned([0; 16]);
    let address = core::hint::black_box(&local) as *const Aligned as usize;
    address.is_multiple_of(16)
}

/// New routines start with their closure (their argument) and a stack
/// aligned as the System V ABI wants.
fn first_frame() {
    const ROUTINES: u64 = 64;
    let children: Vec<_> = (0..ROUTINES).map(|i| go(move || (i, frame_is_aligned()))).collect();
    let mut misaligned = 0;
    for (i, child) in children.into_iter().enumerate() {
        let (got, aligned) = child.join();
        assert_eq!(got, i as u64, "routine {i} started with another routine's closure");
        misaligned += !aligned as u32;
    }
    assert_eq!(misaligned, 0, "{misaligned} routines started on a stack that is not 16-byte aligned (see new_context)");
    summary!("first-frame: {ROUTINES} routines started with their argument and an aligned stack");
}

/// Routines run one after another reuse the stacks of those that exited.
fn recycle() {
    const ROUTINES: u64 = 2000;
    // Warm the stack cache first.
    go(|| ()).join();
    let before = mem_stats().stack_mapped_bytes;
    let sum: u64 = (0..ROUTINES).map(|i| go(move || i).join()).sum();
    assert_eq!(sum, ROUTINES * (ROUTINES - 1) / 2);
    let grown = mem_stats().stack_mapped_bytes - before;
    summary!("recycle: {ROUTINES} routines one after another mapped {} KiB of new stack", grown >> 10);
}

/// Work spawned on one core spreads to all of them (balance): 64 routines
/// compute until every core that runs routines has run one of them. If
/// some core never gets one within 30 s, they stop anyway, and the
/// grader's trace property names the cores that stayed idle.
fn balance() {
    const ROUTINES: usize = 64;
    const GIVE_UP: Duration = Duration::from_secs(30);
    static CORES_SEEN: AtomicUsize = AtomicUsize::new(0);
    let seen: Arc<Vec<AtomicBool>> = Arc::new((0..cores()).map(|_| AtomicBool::new(false)).collect());
    let give_up = now() + GIVE_UP;
    let children: Vec<_> = (0..ROUTINES)
        .map(|_| {
            let seen = seen.clone();
            go(move || {
                let mut x = 0u64;
                loop {
                    for i in 0..20_000u64 {
                        x = opaque(x.wrapping_mul(7).wrapping_add(i));
                    }
                    if !seen[cpu()].swap(true, Ordering::Relaxed) {
                        CORES_SEEN.fetch_add(1, Ordering::Relaxed);
                    }
                    if CORES_SEEN.load(Ordering::Relaxed) == cores() || now() >= give_up {
                        break;
                    }
                }
            })
        })
        .collect();
    children.into_iter().for_each(JoinHandle::join);
    summary!("balance: {ROUTINES} routines spawned on one core ran on {} of {} cores", CORES_SEEN.load(Ordering::Relaxed), cores());
}

/// One core: a routine that never yields shares the core with routines
/// that always do. It is preempted into the global queue; it must come
/// back, though the yielders keep the local queue busy.
fn global_fair() {
    const YIELDERS: usize = 4;
    const PREEMPTIONS: u64 = 20;
    static STOP: AtomicBool = AtomicBool::new(false);
    let spinner = go(|| {
        let mut spins = 0u64;
        while !STOP.load(Ordering::Acquire) {
            spins = opaque(spins + 1);
        }
    });
    let yielders: Vec<_> = (0..YIELDERS)
        .map(|_| {
            go(|| {
                let mut yields = 0u64;
                while !STOP.load(Ordering::Acquire) {
                    yield_now();
                    yields += 1;
                }
                yields
            })
        })
        .collect();
    // Main sleeps while they compete; the run lasts some 20 slices.
    let slice = options().slice_ms as u64;
    sleep(ms(slice * PREEMPTIONS));
    STOP.store(true, Ordering::Release);
    spinner.join();
    let yields: u64 = yielders.into_iter().map(JoinHandle::join).sum();
    summary!("global-fair: the spinner was preempted while {YIELDERS} routines yielded {} times in all", if yields > 1000 { "thousands of" } else { "few" });
}

/// One core: spinners that never yield are preempted at the end of each slice.
fn slices() {
    const SPINNERS: usize = 3;
    static STOP: AtomicBool = AtomicBool::new(false);
    let spinners: Vec<_> = (0..SPINNERS)
        .map(|_| {
            go(|| {
                let mut x = 0u64;
                while !STOP.load(Ordering::Acquire) {
                    x = opaque(x + 1);
                }
            })
        })
        .collect();
    sleep(ms(options().slice_ms as u64 * 12));
    STOP.store(true, Ordering::Release);
    spinners.into_iter().for_each(JoinHandle::join);
    summary!("slices: {SPINNERS} spinners done");
}

/// One core: sleepers with different periods wake in deadline order and
/// never early; the core idles while they all sleep.
fn sleepers() {
    /// Periods chosen so that no two deadlines fall within 100 us.
    const PERIODS_US: [u64; 4] = [1000, 1370, 1730, 2110];
    const ROUNDS: usize = 3;
    let children: Vec<_> = PERIODS_US
        .iter()
        .enumerate()
        .map(|(k, &us)| {
            go(move || {
                for round in 1..=ROUNDS {
                    println!("sleeper {k}: sleeping {us} us");
                    sleep(core::time::Duration::from_micros(us));
                    println!("sleeper {k}: woke, round {round}");
                }
            })
        })
        .collect();
    children.into_iter().for_each(JoinHandle::join);
    summary!("sleepers: {} sleepers x {ROUNDS} rounds done", PERIODS_US.len());
}

/// Three always-ready channels: how often select picks each.
fn select_fair() {
    const ROUNDS: usize = 3000;
    let (a_tx, a) = chan::<u8>(1);
    let (b_tx, b) = chan::<u8>(1);
    let (c_tx, c) = chan::<u8>(1);
    let mut counts = [0usize; 3];
    for _ in 0..ROUNDS {
        a_tx.try_send_for_lab();
        b_tx.try_send_for_lab();
        c_tx.try_send_for_lab();
        select! {
            recv(a) -> _ => counts[0] += 1,
            recv(b) -> _ => counts[1] += 1,
            recv(c) -> _ => counts[2] += 1,
        }
    }
    summary!("select-fair: counts {} {} {} of {ROUNDS}", counts[0], counts[1], counts[2]);
}

/// Keeps a one-slot channel full without blocking.
trait Refill {
    fn try_send_for_lab(&self);
}

impl Refill for Sender<u8> {
    fn try_send_for_lab(&self) {
        if self.len() == 0 {
            self.send(1);
        }
    }
}

/// One core: waiters get a Mutex in the order they queued; a WaitGroup's
/// waiter wakes once the group is done.
fn mutex_order() {
    const WAITERS: usize = 5;
    static HOLDERS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let wg = WaitGroup::new();
    let first = HOLDERS.lock();
    for k in 1..=WAITERS {
        wg.add(1);
        let wg = wg.clone();
        go(move || {
            println!("waiter {k}: asking for the mutex");
            HOLDERS.lock().push(k);
            println!("waiter {k}: got it");
            wg.done();
        });
    }
    yield_now();
    println!("main: releasing the mutex");
    drop(first);
    wg.wait();
    println!("main: the wait group is done; order {:?}", *HOLDERS.lock());
}

/// Every routine asleep at once, on every core, round after round: the
/// cores go idle while timers are pending, which is not a deadlock.
fn all_asleep() {
    const ROUNDS: usize = 20;
    static ROUND: AtomicUsize = AtomicUsize::new(0);
    let others = cores() * 2 - 1;
    let children: Vec<_> = (0..others)
        .map(|i| {
            go(move || {
                for _ in 0..ROUNDS {
                    sleep(core::time::Duration::from_micros(1500 + 100 * i as u64));
                }
            })
        })
        .collect();
    for round in 0..ROUNDS {
        sleep(ms(2));
        ROUND.store(round + 1, Ordering::Relaxed);
    }
    children.into_iter().for_each(JoinHandle::join);
    summary!("all-asleep: {} rounds, {} routines asleep together, no deadlock reported", ROUND.load(Ordering::Relaxed), others + 1);
}
