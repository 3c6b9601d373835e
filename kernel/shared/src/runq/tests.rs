//! The run queue's specification, as tests: sequential behaviour first, then
//! real threads stealing from an owner, then (under `--cfg loom`) every
//! interleaving of the concurrent paths on a small ring.

use super::*;

/// A distinct fake routine pointer for `n` (never dereferenced, so it
/// needs no provenance: Miri checks these tests with strict provenance).
fn item(n: usize) -> *mut u64 {
    std::ptr::without_provenance_mut(n * 8 + 8)
}

fn id(p: *mut u64) -> usize {
    p.addr() / 8 - 1
}

#[cfg(not(loom))]
mod sequential {
    use super::*;
    use std::vec::Vec;

    fn no_spill<T, const N: usize>(_: Spill<'_, T, N>) {
        panic!("unexpected spill");
    }

    #[test]
    fn pops_in_fifo_order() {
        let q: RunQueue<u64, 8> = RunQueue::new();
        for n in 0..5 {
            q.push(item(n), no_spill);
        }
        assert_eq!(q.len(), 5);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(p, next)| (id(p), next)).collect();
        assert_eq!(order, [(0, false), (1, false), (2, false), (3, false), (4, false)]);
        assert!(q.is_empty());
    }

    #[test]
    fn runnext_runs_first_and_says_so() {
        let q: RunQueue<u64, 8> = RunQueue::new();
        q.push(item(1), no_spill);
        q.push_next(item(2), no_spill);
        assert_eq!(q.pop().map(|(p, n)| (id(p), n)), Some((2, true)));
        assert_eq!(q.pop().map(|(p, n)| (id(p), n)), Some((1, false)));
    }

    #[test]
    fn a_new_runnext_pushes_the_old_one_to_the_tail() {
        let q: RunQueue<u64, 8> = RunQueue::new();
        q.push(item(1), no_spill);
        q.push_next(item(2), no_spill);
        q.push_next(item(3), no_spill);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(p, _)| id(p)).collect();
        assert_eq!(order, [3, 1, 2]);
    }

    #[test]
    fn overflow_spills_the_older_half_then_the_new_entry() {
        let q: RunQueue<u64, 8> = RunQueue::new();
        for n in 0..8 {
            q.push(item(n), no_spill);
        }
        let mut spilled = Vec::new();
        q.push(item(8), |spill| spilled.extend(spill.map(id)));
        assert_eq!(spilled, [0, 1, 2, 3, 8]);
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(p, _)| id(p)).collect();
        assert_eq!(rest, [4, 5, 6, 7]);
    }

    #[test]
    fn steal_takes_half_rounded_up_oldest_first() {
        let victim: RunQueue<u64, 8> = RunQueue::new();
        let thief: RunQueue<u64, 8> = RunQueue::new();
        for n in 0..5 {
            victim.push(item(n), no_spill);
        }
        let (run_now, moved) = victim.steal_into(&thief, false).unwrap();
        assert_eq!(moved, 3);
        assert_eq!(id(run_now), 2, "the newest stolen entry runs now");
        let thief_rest: Vec<_> = std::iter::from_fn(|| thief.pop()).map(|(p, _)| id(p)).collect();
        assert_eq!(thief_rest, [0, 1]);
        let victim_rest: Vec<_> = std::iter::from_fn(|| victim.pop()).map(|(p, _)| id(p)).collect();
        assert_eq!(victim_rest, [3, 4]);
    }

    #[test]
    fn runnext_is_stolen_only_when_asked() {
        let victim: RunQueue<u64, 8> = RunQueue::new();
        let thief: RunQueue<u64, 8> = RunQueue::new();
        victim.push_next(item(7), no_spill);
        assert!(victim.only_runnext());
        assert!(victim.steal_into(&thief, false).is_none());
        assert!(victim.only_runnext(), "a thief not asking for runnext must leave it");
        let (run_now, moved) = victim.steal_into(&thief, true).unwrap();
        assert_eq!((id(run_now), moved), (7, 1));
        assert!(victim.is_empty() && thief.is_empty());
    }

    #[test]
    fn stealing_from_an_empty_queue_finds_nothing() {
        let victim: RunQueue<u64, 8> = RunQueue::new();
        let thief: RunQueue<u64, 8> = RunQueue::new();
        assert!(victim.steal_into(&thief, true).is_none());
    }

    #[test]
    fn indices_wrap_around_the_ring() {
        let q: RunQueue<u64, 4> = RunQueue::new();
        for round in 0..1000 {
            q.push(item(round), no_spill);
            q.push(item(round + 1), no_spill);
            assert_eq!(id(q.pop().unwrap().0), round);
            assert_eq!(id(q.pop().unwrap().0), round + 1);
        }
    }

    /// One owner pushes and pops while three thieves steal, on real threads:
    /// every entry comes out exactly once.
    #[test]
    fn concurrent_owner_and_thieves_lose_and_duplicate_nothing() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        // Miri interprets every step: a smaller run there still mixes
        // pushes, spills, pops and steals on every thread.
        const ITEMS: usize = if cfg!(miri) { 2_000 } else { 200_000 };
        let queues: Arc<Vec<RunQueue<u64, 64>>> = Arc::new((0..4).map(|_| RunQueue::new()).collect());
        let spilled = Arc::new(std::sync::Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (1..4)
            .map(|me| {
                let (queues, done) = (queues.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        let finished = done.load(Ordering::Acquire);
                        if let Some((p, _)) = queues[0].steal_into(&queues[me], true) {
                            got.push(id(p));
                            got.extend(std::iter::from_fn(|| queues[me].pop()).map(|(p, _)| id(p)));
                        } else if finished {
                            return got;
                        }
                    }
                })
            })
            .collect();
        let mut got = Vec::new();
        for n in 0..ITEMS {
            if n % 3 == 0 {
                queues[0].push_next(item(n), |s| spilled.lock().unwrap().extend(s.map(id)));
            } else {
                queues[0].push(item(n), |s| spilled.lock().unwrap().extend(s.map(id)));
            }
            if n % 2 == 0 {
                got.extend(queues[0].pop().map(|(p, _)| id(p)));
            }
        }
        got.extend(std::iter::from_fn(|| queues[0].pop()).map(|(p, _)| id(p)));
        done.store(true, Ordering::Release);
        for t in thieves {
            got.extend(t.join().unwrap());
        }
        got.extend(spilled.lock().unwrap().iter().copied());
        got.sort_unstable();
        assert_eq!(got.len(), ITEMS, "entries lost or duplicated");
        assert!(got.iter().enumerate().all(|(i, &n)| i == n), "entries lost or duplicated");
    }
}

/// Model checks: `RUSTFLAGS="--cfg loom" cargo test -p spindle-shared --release runq`.
#[cfg(loom)]
mod model {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;
    use std::vec::Vec;

    fn drain<const N: usize>(q: &RunQueue<u64, N>, out: &mut Vec<usize>) {
        while let Some((p, _)) = q.pop() {
            out.push(id(p));
        }
    }

    /// The owner pushes (into runnext and the ring) and pops while a thief
    /// steals: each entry is taken once.
    #[test]
    fn owner_pop_races_with_steal() {
        loom::model(|| {
            let victim: Arc<RunQueue<u64, 4>> = Arc::new(RunQueue::new());
            let thief_q: Arc<RunQueue<u64, 4>> = Arc::new(RunQueue::new());
            victim.push(item(0), |_| unreachable!());
            victim.push(item(1), |_| unreachable!());
            victim.push_next(item(2), |_| unreachable!());
            let thief = {
                let (victim, thief_q) = (victim.clone(), thief_q.clone());
                thread::spawn(move || {
                    let mut got = Vec::new();
                    if let Some((p, _)) = victim.steal_into(&thief_q, true) {
                        got.push(id(p));
                        drain(&thief_q, &mut got);
                    }
                    got
                })
            };
            let mut got = Vec::new();
            got.extend(victim.pop().map(|(p, _)| id(p)));
            victim.push(item(3), |_| unreachable!());
            drain(&victim, &mut got);
            got.extend(thief.join().unwrap());
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2, 3]);
        });
    }

    /// A full ring spills half while a thief steals from it.
    #[test]
    fn overflow_races_with_steal() {
        loom::model(|| {
            let victim: Arc<RunQueue<u64, 2>> = Arc::new(RunQueue::new());
            let thief_q: Arc<RunQueue<u64, 2>> = Arc::new(RunQueue::new());
            victim.push(item(0), |_| unreachable!());
            victim.push(item(1), |_| unreachable!());
            let thief = {
                let (victim, thief_q) = (victim.clone(), thief_q.clone());
                thread::spawn(move || {
                    let mut got = Vec::new();
                    if let Some((p, _)) = victim.steal_into(&thief_q, false) {
                        got.push(id(p));
                        drain(&thief_q, &mut got);
                    }
                    got
                })
            };
            let mut got = Vec::new();
            victim.push(item(2), |spill| got.extend(spill.map(id)));
            drain(&victim, &mut got);
            got.extend(thief.join().unwrap());
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2]);
        });
    }

    /// Two thieves steal from the same victim at once.
    #[test]
    fn two_thieves_race() {
        loom::model(|| {
            let victim: Arc<RunQueue<u64, 4>> = Arc::new(RunQueue::new());
            for n in 0..3 {
                victim.push(item(n), |_| unreachable!());
            }
            let thieves: Vec<_> = (0..2)
                .map(|_| {
                    let victim = victim.clone();
                    thread::spawn(move || {
                        let mine: RunQueue<u64, 4> = RunQueue::new();
                        let mut got = Vec::new();
                        if let Some((p, _)) = victim.steal_into(&mine, true) {
                            got.push(id(p));
                            drain(&mine, &mut got);
                        }
                        got
                    })
                })
                .collect();
            let mut got = Vec::new();
            for t in thieves {
                got.extend(t.join().unwrap());
            }
            drain(&victim, &mut got);
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2]);
        });
    }
}
