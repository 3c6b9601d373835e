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

/// Exit status for bad arguments (as the rest of the CLI).
const USAGE: u8 = 2;

const HELP: &str = "\
usage: cargo run -- lab list
       cargo run -- lab start NAME --out DIR
       cargo run -- lab grade NAME [--json FILE] [--seeds N] [--only CHECK] [--tree DIR] [--target-dir DIR]
       cargo run -- lab regions [NAME]

  start   writes a project tree for the lab (a git repository, one commit) with
          the lab's parts of the kernel replaced by todo!; read labs/NAME/README.md
  grade   runs the lab's checks on this tree (or --tree DIR): one line per check,
          then Score: X/Y; exits 0 only with full marks. --seeds N adds N random
          seeds to the multi-core checks; --json FILE writes the results; failed
          checks keep their console (and timeline) under target/lab/NAME/
  regions lists the marked regions: file, line, function, lines removed";

/// The root of the tree this program was built from.
fn own_tree() -> PathBuf {
    spindle_boot::workspace_root()
}

/// Runs `lab ARGS...` (the words after `lab`). Prints what it does; returns the exit status.
pub fn main(args: impl IntoIterator<Item = String>) -> ExitCode {
    let args: Vec<String> = args.into_iter().collect();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(USAGE)
        }
    }
}

/// The value after `--flag` (or in `--flag=value`), taken out of `args`.
fn take_value(args: &mut Vec<String>, flag: &str) -> Result<Option<String>, String> {
    if let Some(i) = args.iter().position(|a| a == flag) {
        if i + 1 >= args.len() {
            return Err(format!("{flag} needs a value"));
        }
        let value = args.remove(i + 1);
        args.remove(i);
        return Ok(Some(value));
    }
    let prefix = format!("{flag}=");
    if let Some(i) = args.iter().position(|a| a.starts_with(&prefix)) {
        return Ok(Some(args.remove(i)[prefix.len()..].to_string()));
    }
    Ok(None)
}

fn one_name<'a>(args: &'a [String], what: &str) -> Result<&'a str, String> {
    match args {
        [name] if !name.starts_with('-') => Ok(name),
        [] => Err(format!("{what} needs a lab name (`cargo run -- lab list` shows them)")),
        _ => Err(format!("unexpected arguments {args:?}\n{HELP}")),
    }
}

fn lab_named(name: &str) -> Result<&'static catalog::Lab, String> {
    catalog::lab(name).ok_or_else(|| catalog::unknown(name))
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((command, rest)) = args.split_first() else {
        println!("{HELP}");
        return Ok(ExitCode::from(USAGE));
    };
    let mut rest = rest.to_vec();
    match command.as_str() {
        "list" => {
            if !rest.is_empty() {
                return Err(format!("lab list takes no arguments, got {rest:?}"));
            }
            let width = catalog::LABS.iter().map(|l| l.name.len()).max().unwrap_or(0);
            for lab in catalog::LABS {
                let points: u32 = lab.checks.iter().map(|c| c.points).sum();
                println!("{:width$}  {:<8}  {:>2} points  {}", lab.name, lab.difficulty.name(), points, lab.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        "start" => {
            let out = take_value(&mut rest, "--out")?
                .ok_or("lab start needs --out DIR (a new directory for the lab's tree)")?;
            let lab = lab_named(one_name(&rest, "lab start")?)?;
            let out = PathBuf::from(out);
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
        "grade" => {
            let json = take_value(&mut rest, "--json")?.map(PathBuf::from);
            let only = take_value(&mut rest, "--only")?;
            let tree_arg = take_value(&mut rest, "--tree")?.map(PathBuf::from);
            let target_dir = take_value(&mut rest, "--target-dir")?.map(|d| absolute(Path::new(&d)));
            let seeds = match take_value(&mut rest, "--seeds")? {
                None => 0,
                Some(n) => n
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or_else(|| format!("--seeds {n} is not a count from 0 to 100"))?,
            };
            let lab = lab_named(one_name(&rest, "lab grade")?)?;
            let own = own_tree();
            let tree = tree_arg.map(|t| absolute(&t)).unwrap_or_else(|| own.clone());
            if !tree.join("kernel").is_dir() {
                return Err(format!("{} is not a Spindle tree (it has no kernel/ directory)", tree.display()));
            }
            let options = grade::Options {
                own_tree: tree == own,
                tree,
                target_dir,
                extra_seeds: random_seeds(seeds),
                json,
                only,
            };
            let results = grade::grade(lab, &options)?;
            let full = results.iter().all(|r| r.reasons.is_empty());
            Ok(if full { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        "regions" => {
            let wanted = match rest.as_slice() {
                [] => None,
                _ => Some(lab_named(one_name(&rest, "lab regions")?)?.name),
            };
            for (file, regions) in tree::all_regions(&own_tree())? {
                let text = tree::read(&own_tree().join(&file))?;
                for r in regions.iter().filter(|r| wanted.is_none_or(|w| w == r.lab)) {
                    let lines = text[r.span.clone()].lines().count();
                    println!("{:<9} {}:{}  {}  ({lines} lines)", r.lab, file.display(), r.line, r.function);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown lab command {other:?}\n{HELP}")),
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
