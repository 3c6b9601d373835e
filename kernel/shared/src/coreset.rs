//! Sets of cores: which cores are idle, which ran their own code.
//!
//! A core is its index, `0..MAX_CPUS`. [`MAX_CPUS`] is above 64, so a set is
//! a few 64-bit words rather than one: [`CoreSet`] is a plain value, and
//! [`AtomicCoreSet`] the same bits in atomic words, for sets that cores
//! change concurrently (the scheduler's idle set).
//!
//! What the atomic set guarantees, and what it does not: each operation on
//! one core ([`insert`](AtomicCoreSet::insert),
//! [`remove`](AtomicCoreSet::remove)) is one atomic read-modify-write of
//! that core's word, so two cores racing for the same bit see one winner.
//! Reading the whole set ([`load`](AtomicCoreSet::load),
//! [`is_empty`](AtomicCoreSet::is_empty), [`first`](AtomicCoreSet::first))
//! reads the words one after another, so it is not one snapshot. It is as
//! good as one in the two ways the idle protocol needs:
//!
//! - **per core**: whether core `c` was seen is decided by one load of
//!   `c`'s word, ordered with the caller's other operations as that load
//!   is. An argument "either I see `c`'s bit or `c` sees my work" that holds
//!   for a one-word set holds for each core of a many-word set;
//! - **while nobody inserts**: if cores are only removed during the read
//!   (the idle set while its lock is held: cores add themselves only under
//!   it), every core the read reports was in the set when the read began,
//!   so a read that reports all of `0..n` proves all of `0..n` were in it
//!   at once.
//!
//! [`is_empty`](AtomicCoreSet::is_empty) is one load, not one a word: a
//! waker asks it after every wake-up. The set keeps a count that is never
//! below the number of cores in it (an insert counts before it sets its
//! bit, a remove uncounts after it clears one), so "empty" means no core
//! was in the set at the moment of that load, and an argument made for
//! a core's bit holds for the count: whoever reads 0 read it before that
//! core's insert began.

use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::cmdline::MAX_CPUS;

/// Bits per word.
const BITS: usize = u64::BITS as usize;
/// Words in a set: enough for every core Spindle handles.
pub const WORDS: usize = (MAX_CPUS as usize).div_ceil(BITS);

/// The word and the bit of `core` in it.
fn place(core: usize) -> (usize, u64) {
    assert!(core < MAX_CPUS as usize, "core {core} is past the {MAX_CPUS} cores a set holds");
    (core / BITS, 1 << (core % BITS))
}

/// A set of cores, as a value.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreSet {
    words: [u64; WORDS],
}

impl CoreSet {
    /// No core.
    pub const fn new() -> CoreSet {
        CoreSet { words: [0; WORDS] }
    }

    /// Cores `0..n`.
    pub fn below(n: usize) -> CoreSet {
        assert!(n <= MAX_CPUS as usize, "{n} cores is more than the {MAX_CPUS} a set holds");
        let mut set = CoreSet::new();
        for (i, word) in set.words.iter_mut().enumerate() {
            let bits = n.saturating_sub(i * BITS).min(BITS);
            *word = if bits == BITS { u64::MAX } else { (1 << bits) - 1 };
        }
        set
    }

    pub fn insert(&mut self, core: usize) {
        let (word, bit) = place(core);
        self.words[word] |= bit;
    }

    pub fn contains(&self, core: usize) -> bool {
        let (word, bit) = place(core);
        self.words[word] & bit != 0
    }

    /// How many cores are in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// The cores in the set, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..WORDS * BITS).filter(|&core| self.words[core / BITS] & (1 << (core % BITS)) != 0)
    }
}

/// Runs of consecutive cores, lowest first, as `0-3,5,8-9`; `none` when empty.
impl fmt::Display for CoreSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut run: Option<(usize, usize)> = None;
        let mut first = true;
        let mut write_run = |f: &mut fmt::Formatter<'_>, (low, high): (usize, usize)| {
            let comma = if first { "" } else { "," };
            first = false;
            if low == high { write!(f, "{comma}{low}") } else { write!(f, "{comma}{low}-{high}") }
        };
        for core in self.iter() {
            run = match run {
                Some((low, high)) if high + 1 == core => Some((low, core)),
                Some(done) => {
                    write_run(f, done)?;
                    Some((core, core))
                }
                None => Some((core, core)),
            };
        }
        run.map_or(Ok(()), |done| write_run(f, done))
    }
}

impl fmt::Debug for CoreSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CoreSet({self})")
    }
}

/// A set of cores that several cores change at once (see the module's
/// comment for what its reads promise).
pub struct AtomicCoreSet {
    words: [AtomicU64; WORDS],
    /// Never fewer than the cores in the set (see the module's comment).
    at_least: AtomicUsize,
}

impl AtomicCoreSet {
    /// No core.
    pub const fn new() -> AtomicCoreSet {
        AtomicCoreSet { words: [const { AtomicU64::new(0) }; WORDS], at_least: AtomicUsize::new(0) }
    }

    /// Adds `core`; returns whether it was in the set already.
    pub fn insert(&self, core: usize, order: Ordering) -> bool {
        let (word, bit) = place(core);
        self.at_least.fetch_add(1, order);
        let was_in = self.words[word].fetch_or(bit, order) & bit != 0;
        if was_in {
            self.at_least.fetch_sub(1, order);
        }
        was_in
    }

    /// Takes `core` out; returns whether it was in the set (so of two
    /// cores removing the same core at once, exactly one gets `true`).
    pub fn remove(&self, core: usize, order: Ordering) -> bool {
        let (word, bit) = place(core);
        let was_in = self.words[word].fetch_and(!bit, order) & bit != 0;
        if was_in {
            self.at_least.fetch_sub(1, order);
        }
        was_in
    }

    /// The set, read word by word.
    pub fn load(&self, order: Ordering) -> CoreSet {
        CoreSet { words: core::array::from_fn(|i| self.words[i].load(order)) }
    }

    /// Whether no core is in the set: one load of the count (see the
    /// module's comment). It may say "not empty" of a set whose last core
    /// is being inserted again or was just removed, never "empty" of a set
    /// that holds a core.
    #[inline]
    pub fn is_empty(&self, order: Ordering) -> bool {
        self.at_least.load(order) == 0
    }

    /// The lowest core in the set, if any, read word by word.
    pub fn first(&self, order: Ordering) -> Option<usize> {
        self.words.iter().enumerate().find_map(|(i, word)| match word.load(order) {
            0 => None,
            bits => Some(i * BITS + bits.trailing_zeros() as usize),
        })
    }

    /// How many cores are in the set, read word by word.
    pub fn len(&self, order: Ordering) -> usize {
        self.load(order).len()
    }
}

impl Default for AtomicCoreSet {
    fn default() -> Self {
        AtomicCoreSet::new()
    }
}

#[cfg(test)]
mod tests;
