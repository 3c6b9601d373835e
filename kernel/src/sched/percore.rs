//! A core's scheduler state (Go's P, plus the bits of M that Spindle needs).
//!
//! Everything here but the run queue and the counters is touched only by
//! the core that owns it, with interrupts off, so plain `Cell`s suffice; the
//! run queue is shared with thieves, the counters are read by the summary.

use alloc::vec::Vec;
use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use spindle_shared::runq::RunQueue;

use super::routine::Routine;
use super::schedule::PostSwitch;
use super::timers::TimerQueue;
use crate::arch::interrupts::debug_assert_interrupts_off;
use crate::lock::SpinLock;
use crate::mem::stack::Stack;

/// Free stacks a core keeps for its next spawns before giving them back to
/// the global pool (whose lock every spawn would otherwise take when
/// routines come and go in bursts). Each holds at least its top page.
pub const STACK_CACHE: usize = 256;
/// Preemption latencies a core remembers (the most recent ones): the
/// preemption benchmark takes about 300 per core, so 512 keeps them all.
pub const LATENESS_SAMPLES: usize = 512;

/// Scheduler counters of one core.
#[derive(Default)]
pub struct CoreCounters {
    /// Context switches into a routine.
    pub switches: AtomicU64,
    /// Routines preempted at the end of their slice.
    pub preemptions: AtomicU64,
    /// Routines taken from other cores' queues.
    pub stolen: AtomicU64,
    /// Routines taken from the global queue.
    pub from_global: AtomicU64,
    /// Nanoseconds spent halted with nothing to run.
    pub idle_ns: AtomicU64,
    /// Routines started on this core, and routines that returned on it.
    pub spawned: AtomicU64,
    pub finished: AtomicU64,
}

impl CoreCounters {
    /// Adds to a counter only this core writes (wrapping: a u64 of events
    /// does not overflow in practice, and the switch path saves the check).
    #[inline(always)]
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }
}

pub struct CoreSched {
    pub runq: RunQueue<Routine>,
    /// The running routine; null while the core is in its idle loop. Only
    /// this core writes it; others read it to see what runs where.
    pub current: AtomicPtr<Routine>,
    /// Saved stack pointer of the core's idle loop while a routine runs.
    pub idle_context: UnsafeCell<usize>,
    /// What the next context does for the one that just left.
    pub post_switch: Cell<PostSwitch>,
    /// When the current time slice began (raw TSC, read at the switch);
    /// runnext routines inherit it.
    pub slice_start_tsc: Cell<u64>,
    /// Scheduling decisions left before the global queue is looked at
    /// first (Go's schedtick, counted down).
    pub schedtick: Cell<u64>,
    /// This core's random-number state (xorshift64*).
    pub rng: Cell<u64>,
    /// The deadline the core's timer is armed for (0: not armed).
    pub armed: Cell<u64>,
    /// The timer is armed for the end of a slice that started no later
    /// than the running one, or for something earlier: a slice starting
    /// now needs no arming. Set when a slice's end is armed; cleared only
    /// when the timer fires (`armed` only moves earlier until then).
    pub slice_armed: Cell<bool>,
    /// Whether this core is looking for work without having found any.
    pub spinning: Cell<bool>,
    /// Whether this core put itself in the idle set and has not left it.
    pub in_idle_set: Cell<bool>,
    /// Whether this core's timer interrupt is firing due timers: a routine
    /// made ready meanwhile was woken by a timer, not by the routine the
    /// interrupt stopped (the trace names no waker).
    pub firing_timers: Cell<bool>,
    pub stacks: UnsafeCell<Vec<Stack>>,
    /// When the slice of the routine being preempted ended (ns).
    pub preempt_due: Cell<u64>,
    /// How late preemptions took the core back: ns from the end of the
    /// slice to the next routine running, a ring of the latest samples.
    /// Written by this core only; read by any (the preemption benchmark).
    pub lateness: [AtomicU32; LATENESS_SAMPLES],
    /// Preemption latency samples taken so far (the ring holds the last ones).
    pub lateness_count: AtomicU64,
    pub timers: SpinLock<TimerQueue>,
    pub counters: CoreCounters,
    /// Replay mode: when this core's next turn tick is due, in ns (`baton`).
    pub turn_tick: Cell<u64>,
    /// Replay mode: the core a turn tick chose to pass the baton to, for
    /// the routine it diverted to pass it.
    pub turn_to: Cell<Option<usize>>,
}

impl CoreSched {
    pub fn new() -> CoreSched {
        CoreSched {
            runq: RunQueue::new(),
            current: AtomicPtr::new(core::ptr::null_mut()),
            idle_context: UnsafeCell::new(0),
            post_switch: Cell::new(PostSwitch::Nothing),
            slice_start_tsc: Cell::new(0),
            schedtick: Cell::new(1),
            rng: Cell::new(0),
            armed: Cell::new(0),
            slice_armed: Cell::new(false),
            spinning: Cell::new(false),
            in_idle_set: Cell::new(false),
            firing_timers: Cell::new(false),
            stacks: UnsafeCell::new(Vec::with_capacity(STACK_CACHE)),
            preempt_due: Cell::new(0),
            lateness: [const { AtomicU32::new(0) }; LATENESS_SAMPLES],
            lateness_count: AtomicU64::new(0),
            timers: SpinLock::new(TimerQueue::new()),
            counters: CoreCounters::default(),
            turn_tick: Cell::new(0),
            turn_to: Cell::new(None),
        }
    }

    /// A pseudo-random number from this core's generator.
    pub fn random(&self) -> u64 {
        // xorshift64* (Vigna, "An experimental exploration of Marsaglia's
        // xorshift generators, scrambled", 2016).
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Takes a free stack from this core's cache. Interrupts off.
    pub fn cached_stack(&self) -> Option<Stack> {
        debug_assert_interrupts_off();
        // SAFETY: own core, interrupts off.
        unsafe { (*self.stacks.get()).pop() }
    }

    /// Keeps a free stack for later, or gives it back to the global pool.
    /// Interrupts off.
    pub fn cache_stack(&self, stack: Stack) {
        debug_assert_interrupts_off();
        // SAFETY: own core, interrupts off.
        let stacks = unsafe { &mut *self.stacks.get() };
        if stacks.len() < STACK_CACHE {
            stacks.push(stack);
        }
    }
}
