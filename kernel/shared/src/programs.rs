//! The programs Spindle can run, selected by name on the command line.
//!
//! The table itself is `kernel/src/programs/list.rs`, read here for the
//! names, descriptions and kinds (what `--list` prints and the parser
//! accepts), and by the kernel for the modules that run them: one list, so
//! that a program cannot be known to one side and not the other. It is read
//! here through the link `program_list.rs` beside this file: rust-analyzer
//! expands an `include!` only of a file inside the crate's own directory
//! (its "failed to load file" would spread to every user of [`Program`]). `kinds`
//! lists the values the `kind=` option accepts for a program (empty: it
//! takes none).

/// One row of the program table: what `--list` prints and the parser accepts.
#[derive(Debug)]
pub struct ProgramInfo {
    pub program: Program,
    pub name: &'static str,
    pub about: &'static str,
    /// Values accepted by `kind=`; the first is the default.
    pub kinds: &'static [&'static str],
    /// Written against the routine API alone, for people to read and run;
    /// `false` for the kernel's own checks and benchmarks.
    pub user: bool,
}

/// Makes [`Program`] and [`PROGRAMS`] from the list (the kernel's side of
/// the same macro makes the modules and the dispatch).
macro_rules! programs {
    (
        user { $($uname:literal $uvariant:ident $umodule:ident: $uabout:literal, [$($ukind:literal),* $(,)?],)* }
        internal { $($iname:literal $ivariant:ident $imodule:ident: $iabout:literal, [$($ikind:literal),* $(,)?],)* }
    ) => {
        /// A runnable program.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Program {
            $($uvariant,)*
            $($ivariant,)*
        }

        /// Every program, in the order `--list` shows them.
        pub const PROGRAMS: &[ProgramInfo] = &[
            $(ProgramInfo { program: Program::$uvariant, name: $uname, about: $uabout, kinds: &[$($ukind),*], user: true },)*
            $(ProgramInfo { program: Program::$ivariant, name: $iname, about: $iabout, kinds: &[$($ikind),*], user: false },)*
        ];
    };
}

include!("program_list.rs");

/// The program `cargo run` starts when none is named.
pub const DEFAULT_PROGRAM: Program = Program::Hello;

impl Program {
    /// The program called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Program> {
        PROGRAMS.iter().find(|p| p.name == name).map(|p| p.program)
    }

    /// This program's row in [`PROGRAMS`].
    pub fn info(self) -> &'static ProgramInfo {
        PROGRAMS.iter().find(|p| p.program == self).expect("every Program has a row in PROGRAMS")
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Guest memory the program needs unless `--memory` says otherwise,
    /// where the runner's default will not do: `bench` measures how many
    /// parked routines fit in 1 GiB.
    pub fn memory_mib(self) -> Option<u32> {
        match self {
            Program::Bench => Some(1024),
            _ => None,
        }
    }

    /// Whether the program measures the kernel's own speed, so the runner
    /// boots the kernel built as one codegen unit (profile `kernel-bench`),
    /// whose hot paths an unrelated edit cannot move.
    pub fn measures_the_kernel(self) -> bool {
        matches!(self, Program::Bench)
    }

    /// Seconds the program may run under `--icount` unless `--timeout` says
    /// otherwise, where the runner's default will not do: `bench` runs every
    /// benchmark on one host thread (measured: 3 min at `--smp 1`, 13.5 min
    /// at `--smp 2` on a busy 2-core host).
    pub fn icount_timeout_s(self) -> Option<f64> {
        match self {
            Program::Bench => Some(1800.0),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_has_exactly_one_row() {
        for row in PROGRAMS {
            let same = PROGRAMS.iter().filter(|p| p.program == row.program).count();
            assert_eq!(same, 1, "{} listed {same} times", row.name);
            assert_eq!(Program::from_name(row.name), Some(row.program));
        }
    }

    #[test]
    fn names_are_single_lowercase_tokens() {
        for row in PROGRAMS {
            assert!(!row.name.is_empty());
            assert!(
                row.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{:?} is not a plain name",
                row.name
            );
        }
    }
}
