// The programs Spindle runs, in the order `--list` shows them: the one
// table both the kernel and the host read (see the checklist at the top of
// `programs/mod.rs`). Each entry:
//
//     "name" Variant module: "what it shows, in one line", ["kind", ...],
//
// `module` is the file under `user/` or `internal/` whose `main` runs as
// routine 1; the kinds are the values `--kind` accepts, the first being
// the default (none: the program takes no `--kind`).
programs! {
    user {
        "hello" Hello hello: "the default: 4 routines take turns (--cpus 1) or run at once (--cpus 4)", [],
        "main-exits" MainExits main_exits: "main returns without waiting: its routines are cut off", [],
        "waitgroup" Waitgroup waitgroup: "main-exits fixed with a WaitGroup", [],
        "channel-wait" ChannelWait channel_wait: "main-exits fixed with a channel", [],
        "blocking" Blocking blocking: "on one core: sleeping or waiting lets others run; a busy loop is preempted", [],
        "status-check" StatusCheck status_check: "check links concurrently, report over a channel, re-check (--rounds N)", [],
        "sieve" Sieve sieve: "concurrent prime sieve: a chain of filter routines (--n primes, default 100)", [],
        "pingpong" Pingpong pingpong: "two routines bounce a ball over unbuffered channels (--n round trips)", [],
        "fanout" Fanout fanout: "one producer, --n workers, results gathered", [],
        "parallel-sum" ParallelSum parallel_sum: "the same sum on one core, then split over --cpus cores: the speedup", [],
        "fan-in" FanIn fan_in: "four producers' channels merged into one (the programs lab writes the merge)", [],
        "worker-pool" WorkerPool worker_pool: "24 jobs on 3 worker routines: bounded parallelism (the programs lab writes the pool)", [],
        "main-waits" MainWaits main_waits: "main-exits fixed: main waits for every worker's report (the programs lab writes main)", [],
    }
    internal {
        "bench" Bench bench: "scheduling costs: spawn, pingpong, yield, sieve, cpu, wake, steal, preempt, memory (--only NAME; hot: the first three)",
            ["all", "hot", "micro", "boot", "spawn", "pingpong", "yield", "sieve", "cpu", "wake", "steal", "preempt", "trace", "memory"],
        "stress" Stress stress: "a random mix of everything over 1000+ routines, checked (--seed, --n ms)", [],
        "fault" Fault fault: "fail on purpose, to show how each failure is reported (one per --kind)",
            ["panic", "ap-panic", "stack-overflow", "page-fault", "gp-fault", "invalid-opcode", "double-fault", "oom",
             "hang", "panic-in-report", "stopped-mid-line"],
        "selfcheck" Selfcheck selfcheck: "scheduler checks the tests run, one per kind (interleave, parallel, preempt, ...)",
            ["interleave", "parallel", "preempt", "steal", "spawn", "abandon", "deadlock", "panic", "stack-edge",
             "exit-while-allocating", "panic-while-allocating", "unjoined-results", "sleep-forever", "woke-main",
             "timer-woke-main"],
        "synccheck" Synccheck synccheck: "channel, select, WaitGroup, Mutex, Once and timer checks (kind=all, or a misuse)",
            ["all", "send-closed", "close-twice", "waitgroup-negative", "deadlock"],
        "chancheck" Chancheck chancheck: "Go's channel semantics: same-channel select cases, nil channels, len/cap, wide and dynamic select (kind=all, or a blocked run)",
            ["all", "nil-send", "nil-recv", "nil-select", "close-nil", "dropped-sender"],
        "labcheck" Labcheck labcheck: "what the lab grader checks, one behaviour per kind (see labs/)",
            ["first-frame", "recycle", "global-fair", "slices", "sleepers", "select-fair", "mutex-order", "all-asleep", "balance"],
        "ktest" Ktest ktest: "the kernel's unit tests, run inside it the way cargo test runs them (--n K: from the K-th)",
            ["all", "with-failures"],
    }
}
