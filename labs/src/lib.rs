//! Spindle's course labs: `cargo run -- lab ...`.
//!
//! - `lab list`: the labs, with difficulty and a line each;
//! - `lab start NAME --out DIR`: a complete project tree, one git commit,
//!   with that lab's marked regions of the kernel replaced by `todo!`;
//! - `lab grade NAME [--json FILE] [--seeds N] [--only CHECK] [--tree DIR] [--target-dir DIR]`:
//!   runs the lab's checks and prints `Score: X/Y`;
//! - `lab regions [NAME]`: where each lab's regions are (file, line, function, lines).
//!
//! The reference solution is the kernel itself, with the regions marked
//! ([`markers`]); the labs and their checks are [`catalog`]; handouts are
//! `labs/NAME/README.md`, and `labs/README.md` is for instructors.

pub mod catalog;
pub mod grade;
mod lex;
pub mod markers;
pub mod props;
pub mod tree;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The `lab` commands (`cargo run -- lab --help`).
#[derive(clap::Subcommand, Debug)]
pub enum LabCommand {
    /// List the labs: name, difficulty, points, one line each
    List,
    /// Write a project tree for a lab (a git repository, one commit) with
    /// the lab's parts of the kernel replaced by todo!; then read labs/NAME/README.md
    Start {
        /// The lab (see `lab list`)
        name: String,
        /// A new directory for the lab's tree
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Run a lab's checks on this tree (or --tree DIR): one line per check,
    /// then Score: X/Y; exits 0 only with full marks. Failed checks keep
    /// their console (and timeline) under target/lab/NAME/
    Grade {
        /// The lab (see `lab list`)
        name: String,
        /// Write the results as JSON to FILE
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Add N random seeds (0 to 100) to the checks that take a seed; the seeds used are printed
        #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
        seeds: u32,
        /// Run only the check called CHECK
        #[arg(long, value_name = "CHECK")]
        only: Option<String>,
        /// Grade the tree at DIR instead of this one
        #[arg(long, value_name = "DIR")]
        tree: Option<PathBuf>,
        /// Build the graded tree in DIR (shared between trees, to build the bootloader once)
        #[arg(long = "target-dir", value_name = "DIR")]
        target_dir: Option<PathBuf>,
    },
    /// List the marked regions of every lab, or of one: file, line, function, lines removed
    Regions {
        /// Only this lab's regions
        name: Option<String>,
    },
}

/// Exit status for bad arguments (as the rest of the CLI).
const USAGE: u8 = 2;

/// The root of the tree this program was built from.
fn own_tree() -> PathBuf {
    spindle_boot::workspace_root()
}

/// Runs one `lab` command. Prints what it does; returns the exit status.
pub fn main(command: LabCommand) -> ExitCode {
    match run(command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(USAGE)
        }
    }
}

fn lab_named(name: &str) -> Result<&'static catalog::Lab, String> {
    catalog::lab(name).ok_or_else(|| catalog::unknown(name))
}

fn run(command: LabCommand) -> Result<ExitCode, String> {
    match command {
        LabCommand::List => {
            let width = catalog::LABS.iter().map(|l| l.name.len()).max().unwrap_or(0);
            for lab in catalog::LABS {
                let points: u32 = lab.checks.iter().map(|c| c.points).sum();
                println!("{:width$}  {:<8}  {:>2} points  {}", lab.name, lab.difficulty.name(), points, lab.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Start { name, out } => {
            let lab = lab_named(&name)?;
            let removed = tree::start(&own_tree(), lab.name, &out)?;
            let functions: usize = removed.values().map(Vec::len).sum();
            println!(
                "lab {}: wrote {} ({} regions in {} files replaced by todo!)",
                lab.name,
                out.display(),
                functions,
                removed.len()
            );
            for (file, regions) in &removed {
                for r in regions {
                    println!("  {}:{}  {}", file.display(), r.line, r.function);
                }
            }
            println!(
                "next: cd {} && cat labs/{}/README.md && cargo run -- lab grade {}",
                out.display(),
                lab.name,
                lab.name
            );
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Grade { name, json, seeds, only, tree: tree_arg, target_dir } => {
            let lab = lab_named(&name)?;
            let own = own_tree();
            let tree = tree_arg.map(|t| absolute(&t)).unwrap_or_else(|| own.clone());
            if !tree.join("kernel").is_dir() {
                return Err(format!("{} is not a Spindle tree (it has no kernel/ directory)", tree.display()));
            }
            let options = grade::Options {
                own_tree: tree == own,
                tree,
                target_dir: target_dir.map(|d| absolute(&d)),
                extra_seeds: random_seeds(seeds),
                json,
                only,
            };
            let results = grade::grade(lab, &options)?;
            let full = results.iter().all(|r| r.reasons.is_empty());
            Ok(if full { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        LabCommand::Regions { name } => {
            let wanted = name.map(|name| lab_named(&name).map(|lab| lab.name)).transpose()?;
            for (file, regions) in tree::all_regions(&own_tree())? {
                let text = tree::read(&own_tree().join(&file))?;
                for r in regions.iter().filter(|r| wanted.is_none_or(|w| w == r.lab)) {
                    let lines = text[r.span.clone()].lines().count();
                    println!("{:<9} {}:{}  {}  ({lines} lines)", r.lab, file.display(), r.line, r.function);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `n` seeds no grader run has used before, different every time (hidden
/// seeds: a solution tuned to the fixed ones does not pass by luck).
fn random_seeds(n: u32) -> Vec<u64> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut x = now ^ (u64::from(std::process::id()) << 32) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 1_000_000 + 2
        })
        .collect()
}
