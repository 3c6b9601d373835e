//! The kernel's unit tests: functions in the modules they test, run inside
//! the kernel, in QEMU, the way `cargo test` runs a crate's `#[test]`s.
//!
//! A module registers its tests with [`ktest!`], at its bottom:
//!
//! ```ignore
//! mod tests {
//!     use super::*;
//!
//!     crate::ktest! {
//!         /// What the test shows.
//!         fn earliest_deadline_comes_first() {
//!             assert_eq!(...);
//!         }
//!
//!         /// A test that needs routines on four cores at once.
//!         #[cores(4)]
//!         fn ...() { ... }
//!     }
//! }
//! ```
//!
//! Each test is a `fn()` placed in the linker section `ktests`; [`all`]
//! reads them back, so a test is found wherever it is written and nothing
//! lists them by hand. The `ktest` program (`programs/internal/ktest.rs`)
//! runs them, each as its own routine on the running scheduler, and prints
//! `test NAME ... ok` for each. A test fails by panicking (an `assert!`), by
//! faulting or by deadlocking: the run then ends the way any failed run
//! ends, and [`report_failure`], called on the way out, names the test
//! first (`test NAME ... FAILED`). The host (`tests/kernel_tests.rs`)
//! boots again from the next test, so one failure hides none of the others.
//!
//! The tests are in every kernel build: `cargo run -- ktest` runs them in
//! the kernel `cargo run` boots, and the integration tests run them in the
//! kernel they boot anyway (profile `kernel-checked`): no other build.
//!
//! A test module may use any layer of the kernel (a spin-lock test spawns
//! routines): `tests/structure.rs` leaves `mod tests` blocks out of the
//! layer check, as they are not part of the kernel's structure.

use core::fmt;
use core::sync::atomic::{AtomicPtr, Ordering};

/// One registered test. `repr(C)`: the section is read back as an array of them.
#[repr(C)]
pub struct Test {
    /// `module_path!()` where it was written: `kernel::sched::timers::tests`.
    pub module: &'static str,
    pub name: &'static str,
    /// Fewest cores running routines that the test needs.
    pub cores: usize,
    pub run: fn(),
}

impl Test {
    /// Its name as `cargo test` would print it: the module path inside the
    /// crate, then the function (`sched::timers::tests::earliest_first`).
    pub fn path(&self) -> impl fmt::Display + '_ {
        TestPath(self)
    }
}

struct TestPath<'a>(&'a Test);

impl fmt::Display for TestPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = self.0.module.split_once("::").map_or("", |(_, inner)| inner);
        if module.is_empty() { f.write_str(self.0.name) } else { write!(f, "{module}::{}", self.0.name) }
    }
}

/// Registers test functions (see the module docs). Each `fn` may carry doc
/// comments and `#[cores(N)]`, the fewest cores it needs (default 1).
#[macro_export]
macro_rules! ktest {
    ($($(#[doc = $doc:literal])* $(#[cores($cores:literal)])? fn $name:ident() $body:block)*) => {$(
        $(#[doc = $doc])*
        fn $name() $body

        const _: () = {
            // `used`: kept although nothing names it; the section gathers them.
            #[used]
            #[unsafe(link_section = "ktests")]
            static TEST: $crate::ktest::Test = $crate::ktest::Test {
                module: module_path!(),
                name: stringify!($name),
                cores: { let _cores = 1; $(let _cores = $cores;)? _cores },
                run: $name,
            };
        };
    )*};
}

unsafe extern "C" {
    // The linker defines these around the section `ktests` (a section named
    // like a C identifier gets `__start_`/`__stop_` symbols). Declared as
    // bytes: only their addresses are used.
    #[link_name = "__start_ktests"]
    static START: u8;
    #[link_name = "__stop_ktests"]
    static STOP: u8;
}

/// Every registered test, in link order.
pub fn all() -> &'static [Test] {
    let start = (&raw const START).cast::<Test>();
    let stop = (&raw const STOP).cast::<Test>();
    // SAFETY: the section holds nothing but `Test` statics (only `ktest!`
    // places anything there), laid end to end between the two symbols.
    unsafe { core::slice::from_raw_parts(start, stop.offset_from(start) as usize) }
}

/// The test running now, or null.
static RUNNING: AtomicPtr<Test> = AtomicPtr::new(core::ptr::null_mut());

/// Notes that `test` runs from now on (`None`: no test runs), for
/// [`report_failure`].
pub fn set_running(test: Option<&'static Test>) {
    let ptr = test.map_or(core::ptr::null_mut(), |t| t as *const Test as *mut Test);
    RUNNING.store(ptr, Ordering::Release);
}

/// On the way out of a failed run (a panic, a fault, a deadlock): if a
/// test was running, says it failed, as `cargo test` would. Reads an
/// atomic and prints: safe on the stop path.
pub fn report_failure() {
    let running = RUNNING.swap(core::ptr::null_mut(), Ordering::AcqRel);
    // SAFETY: only `set_running` stores here, from a `&'static Test`.
    if let Some(test) = unsafe { running.as_ref() } {
        crate::console::write_report(format_args!("test {} ... FAILED\n", test.path()));
    }
}
