//! Host tests of the core sets: examples at the word boundaries, then the
//! plain and the atomic set against a `BTreeSet` model.

use std::collections::BTreeSet;

use super::*;
use proptest::prelude::*;

const ALL: usize = MAX_CPUS as usize;

#[test]
fn a_set_holds_every_core_spindle_handles() {
    const { assert!(WORDS * BITS >= ALL) };
    let mut set = CoreSet::new();
    for core in [0, 63, 64, 127, 128, ALL - 1] {
        set.insert(core);
    }
    assert_eq!(set.iter().collect::<Vec<_>>(), [0, 63, 64, 127, 128, ALL - 1]);
    assert_eq!(set.len(), 6);
    assert!(!set.contains(1) && !set.contains(65));
}

#[test]
fn below_n_is_exactly_the_first_n_cores() {
    for n in [0, 1, 63, 64, 65, 128, 200, ALL] {
        let set = CoreSet::below(n);
        assert_eq!(set.iter().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>(), "n = {n}");
    }
}

#[test]
#[should_panic(expected = "cores a set holds")]
fn a_core_past_the_limit_is_refused() {
    CoreSet::new().insert(ALL);
}

#[test]
fn sets_print_as_runs_of_cores() {
    assert_eq!(CoreSet::new().to_string(), "none");
    assert_eq!(CoreSet::below(1).to_string(), "0");
    assert_eq!(CoreSet::below(ALL).to_string(), "0-254");
    let mut set = CoreSet::below(4);
    set.insert(6);
    set.insert(63);
    set.insert(64);
    set.insert(100);
    assert_eq!(set.to_string(), "0-3,6,63-64,100");
}

#[test]
fn of_two_removals_of_one_core_exactly_one_finds_it() {
    let set = AtomicCoreSet::new();
    assert!(!set.insert(70, Ordering::SeqCst));
    assert!(set.insert(70, Ordering::SeqCst));
    assert!(set.remove(70, Ordering::SeqCst));
    assert!(!set.remove(70, Ordering::SeqCst));
    assert!(set.is_empty(Ordering::SeqCst));
}

#[test]
fn the_idle_set_can_be_raced_from_threads() {
    // Every thread adds and removes its own cores; each removal must find
    // the core it added, whatever the others do to the same words.
    let set = AtomicCoreSet::new();
    std::thread::scope(|s| {
        for t in 0..4 {
            let set = &set;
            s.spawn(move || {
                for _ in 0..2000 {
                    for core in (t..ALL).step_by(4) {
                        assert!(!set.insert(core, Ordering::SeqCst));
                    }
                    for core in (t..ALL).step_by(4) {
                        assert!(set.remove(core, Ordering::SeqCst));
                    }
                }
            });
        }
    });
    assert!(set.is_empty(Ordering::SeqCst));
}

#[test]
fn a_set_that_holds_a_core_is_never_read_as_empty() {
    // Core 0 stays in the set while threads add and remove (add twice,
    // remove twice) other cores of the same and other words: the one-load emptiness
    // check must never miss core 0, or a waker would miss an idle core.
    let set = AtomicCoreSet::new();
    set.insert(0, Ordering::SeqCst);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 1..4 {
            let (set, stop) = (&set, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for core in [t, t + 64, t + 128] {
                        set.insert(core, Ordering::SeqCst);
                        set.insert(core, Ordering::SeqCst);
                        set.remove(core, Ordering::SeqCst);
                        set.remove(core, Ordering::SeqCst);
                    }
                }
            });
        }
        let seen_empty = (0..200_000).filter(|_| set.is_empty(Ordering::SeqCst)).count();
        stop.store(true, Ordering::Relaxed);
        assert_eq!(seen_empty, 0, "read as empty {seen_empty} times while core 0 was in it");
    });
    assert!(set.remove(0, Ordering::SeqCst));
    assert!(set.is_empty(Ordering::SeqCst));
}

#[derive(Clone, Debug)]
enum Op {
    Insert(usize),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![(0..ALL).prop_map(Op::Insert), (0..ALL).prop_map(Op::Remove)]
}

proptest! {
    #[test]
    fn the_sets_behave_as_a_set_of_numbers(ops in proptest::collection::vec(op(), 0..300)) {
        let mut model = BTreeSet::new();
        let mut plain = CoreSet::new();
        let atomic = AtomicCoreSet::new();
        for op in ops {
            match op {
                Op::Insert(core) => {
                    prop_assert_eq!(atomic.insert(core, Ordering::SeqCst), !model.insert(core));
                    plain.insert(core);
                }
                Op::Remove(core) => {
                    prop_assert_eq!(atomic.remove(core, Ordering::SeqCst), model.remove(&core));
                    plain = atomic.load(Ordering::SeqCst);
                }
            }
            let loaded = atomic.load(Ordering::SeqCst);
            prop_assert_eq!(loaded, plain);
            prop_assert_eq!(loaded.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(atomic.len(Ordering::SeqCst), model.len());
            prop_assert_eq!(atomic.is_empty(Ordering::SeqCst), model.is_empty());
            prop_assert_eq!(atomic.first(Ordering::SeqCst), model.first().copied());
            for &core in &model {
                prop_assert!(loaded.contains(core));
            }
        }
    }
}
