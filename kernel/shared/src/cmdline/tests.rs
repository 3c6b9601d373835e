//! Host tests of the command-line parser: examples first, then properties
//! over arbitrary bytes (the parser must refuse or accept, never panic) and
//! over generated valid option sets (what the host writes, the kernel reads).

use super::*;
use proptest::prelude::*;

fn err(line: &str) -> String {
    parse(line.as_bytes()).expect_err(line).to_string()
}

#[test]
fn empty_line_runs_the_default_program_with_defaults() {
    assert_eq!(parse(b"").unwrap(), Options::default());
    assert_eq!(parse(b"   ").unwrap(), Options::default());
}

#[test]
fn program_and_options_are_read() {
    let o = parse(b"fault cpus=3 seed=42 slice=5 n=7 rounds=2 kind=panic quiet stats trace trace-buf=64 icount replay")
        .unwrap();
    assert_eq!(o.program, Program::Fault);
    assert_eq!(o.cpus, Some(3));
    assert_eq!(o.seed, 42);
    assert_eq!(o.slice_ms, 5);
    assert_eq!(o.n, Some(7));
    assert_eq!(o.rounds, Some(2));
    assert_eq!(o.kind, "panic");
    assert!(o.quiet && o.stats && o.trace);
    assert_eq!(o.trace_buf, Some(64));
    assert!(o.icount && o.replay);
}

#[test]
fn options_without_a_program_apply_to_the_default_program() {
    let o = parse(b"cpus=2").unwrap();
    assert_eq!(o.program, DEFAULT_PROGRAM);
    assert_eq!(o.cpus, Some(2));
    assert_eq!(parse(b"quiet").unwrap().program, DEFAULT_PROGRAM);
}

#[test]
fn unknown_program_is_named_with_the_valid_ones() {
    let msg = err("nosuchprogram");
    assert!(msg.contains("'nosuchprogram'"), "{msg}");
    for p in PROGRAMS {
        assert!(msg.contains(p.name), "{msg} does not list {}", p.name);
    }
}

#[test]
fn unknown_option_is_named_with_the_valid_ones() {
    let msg = err("hello colour=red");
    assert!(msg.contains("'colour'"), "{msg}");
    assert!(msg.contains("cpus") && msg.contains("slice") && msg.contains("quiet"), "{msg}");
}

#[test]
fn a_second_program_name_is_an_unknown_option() {
    assert!(err("hello hello").contains("unknown option 'hello'"));
}

#[test]
fn zero_cpus_is_out_of_range() {
    assert_eq!(err("cpus=0"), "cpus=0 is out of range; valid: 1 to 255");
}

#[test]
fn zero_slice_is_out_of_range() {
    assert_eq!(err("slice=0"), "slice=0 is out of range; valid: 1 to 1000");
    assert!(err("slice=1001").contains("1 to 1000"));
    assert_eq!(parse(b"slice=1000").unwrap().slice_ms, 1000);
    assert_eq!(parse(b"slice=1").unwrap().slice_ms, 1);
}

#[test]
fn malformed_numbers_are_refused() {
    for bad in ["cpus=abc", "cpus=-1", "cpus=+1", "cpus=1.5", "cpus=0x4", "seed=1e3", "n=5x"] {
        let msg = err(bad);
        assert!(msg.contains("malformed value"), "{bad}: {msg}");
    }
}

#[test]
fn huge_numbers_are_out_of_range_not_wrapped() {
    assert!(err("seed=18446744073709551616").contains("out of range"));
    assert_eq!(parse(b"seed=18446744073709551615").unwrap().seed, u64::MAX);
    assert!(err("cpus=4294967297").contains("out of range"));
    assert!(err(&format!("n={}", "9".repeat(200))).contains("out of range"));
}

#[test]
fn empty_and_missing_values_are_refused() {
    assert_eq!(err("cpus="), "option 'cpus' needs a value: cpus=VALUE");
    assert_eq!(err("cpus"), "option 'cpus' needs a value: cpus=VALUE");
    assert!(err("=4").contains("unknown option ''"));
}

#[test]
fn flags_take_no_value() {
    assert!(err("quiet=1").contains("quiet is a flag"));
}

#[test]
fn repeated_options_are_refused() {
    assert!(err("cpus=1 cpus=2").contains("given twice"));
    assert!(err("stats stats").contains("given twice"));
}

#[test]
fn kind_must_be_one_the_program_accepts() {
    let msg = err("fault kind=nonsense");
    assert!(msg.contains("'nonsense'") && msg.contains("panic"), "{msg}");
    assert!(err("hello kind=panic").contains("takes no kind"));
}

#[test]
fn non_utf8_is_refused_with_its_offset() {
    assert_eq!(parse(b"hello \xff").unwrap_err(), ParseError::NotUtf8 { at: 6 });
}

#[test]
fn very_long_lines_are_refused() {
    let line = "x".repeat(MAX_LEN + 1);
    assert!(err(&line).contains("at most 4096"));
}

#[test]
fn canonical_form_parses_back_to_the_same_options() {
    let o = Options { cpus: Some(4), n: Some(9), quiet: true, ..Options::default() };
    assert_eq!(parse(o.to_string().as_bytes()).unwrap(), o);
}

fn arb_options() -> impl Strategy<Value = Options> {
    let program = proptest::sample::select(PROGRAMS.iter().map(|p| p.program).collect::<Vec<_>>());
    (
        program,
        proptest::option::of(1..=MAX_CPUS),
        any::<u64>(),
        1..=1000u32,
        proptest::option::of(COUNT.0..=COUNT.1),
        proptest::option::of(COUNT.0..=COUNT.1),
        any::<[bool; 5]>(),
        proptest::option::of(TRACE_BUF.0 as u32..=TRACE_BUF.1 as u32),
        any::<proptest::sample::Index>(),
    )
        .prop_map(
            |(program, cpus, seed, slice_ms, n, rounds, [quiet, stats, trace, icount, replay], trace_buf, kind)| {
                let kinds = program.info().kinds;
                let kind = if kinds.is_empty() { "" } else { kinds[kind.index(kinds.len())] };
                Options {
                    program,
                    cpus,
                    seed,
                    slice_ms,
                    n,
                    rounds,
                    kind,
                    quiet,
                    stats,
                    trace,
                    trace_buf,
                    icount,
                    replay,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..6000)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_token_soup_never_panics(
        tokens in proptest::collection::vec("[a-z=0-9 -]{0,12}|cpus=[0-9]{0,25}|slice=.{0,4}|kind=.{0,8}", 0..12)
    ) {
        let line = tokens.join(" ");
        if let Err(e) = parse(line.as_bytes()) {
            // Every refusal is a message a person can act on.
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn what_the_host_writes_the_kernel_reads(options in arb_options()) {
        let line = options.to_string();
        prop_assert!(line.len() <= MAX_LEN);
        prop_assert_eq!(parse(line.as_bytes()).unwrap(), options);
    }

    #[test]
    fn numbers_outside_their_range_are_refused(cpus in (MAX_CPUS as u64 + 1)..u64::MAX) {
        let line = format!("cpus={cpus}");
        let e = parse(line.as_bytes()).unwrap_err();
        let refused_as_out_of_range = matches!(e, ParseError::OutOfRange { key: "cpus", .. });
        prop_assert!(refused_as_out_of_range, "{}", e);
    }
}
