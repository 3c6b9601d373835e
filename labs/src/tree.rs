//! A project tree: its files, its marked regions, and the student tree a
//! lab starts from.
//!
//! The files of a tree are what git would commit (tracked, or untracked and
//! not ignored), so `target/` and editor leftovers never reach a student.
//! A tree that is not a git repository is walked instead, leaving out
//! `target/` and `.git`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::catalog;
use crate::markers::{self, Region};

/// Where marked regions may be: the kernel and what it shares with the host.
pub const MARKED_DIR: &str = "kernel";

/// Every file of the tree at `root`, relative to it, sorted.
pub fn files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let listed = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output();
    let mut found: Vec<PathBuf> = match listed {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .filter(|p| root.join(p).is_file())
            .collect(),
        _ => walk(root)?,
    };
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(root.join(&dir)).map_err(|e| format!("reading {}: {e}", root.join(&dir).display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| e.to_string())?;
            let rel = dir.join(entry.file_name());
            let name = entry.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
                stack.push(rel);
            } else {
                found.push(rel);
            }
        }
    }
    Ok(found)
}

/// The marked regions of every Rust file under `kernel/`, by file. A marker
/// that cannot be used, or one naming a lab the catalog does not have, is an
/// error naming the file and line.
pub fn all_regions(root: &Path) -> Result<BTreeMap<PathBuf, Vec<Region>>, String> {
    let known: Vec<&str> = catalog::LABS.iter().map(|l| l.name).collect();
    let mut found = BTreeMap::new();
    for file in files(root)? {
        if !file.starts_with(MARKED_DIR) || file.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = read(&root.join(&file))?;
        if !text.contains(markers::PREFIX) {
            continue;
        }
        let regions = markers::regions(&text).map_err(|e| format!("{}:{}: {}", file.display(), e.line, e.message))?;
        for region in &regions {
            if !known.contains(&region.lab.as_str()) {
                return Err(format!(
                    "{}:{}: marker for unknown lab {:?}; the labs are: {}",
                    file.display(),
                    region.line,
                    region.lab,
                    known.join(", ")
                ));
            }
        }
        if !regions.is_empty() {
            found.insert(file, regions);
        }
    }
    Ok(found)
}

/// The regions of one lab, by file; an error if it has none.
pub fn lab_regions(root: &Path, lab: &str) -> Result<BTreeMap<PathBuf, Vec<Region>>, String> {
    let mut all = all_regions(root)?;
    all.values_mut().for_each(|regions| regions.retain(|r| r.lab == lab));
    all.retain(|_, regions| !regions.is_empty());
    if all.is_empty() {
        return Err(format!("lab {lab} has no marked regions under {}/ in {}", MARKED_DIR, root.display()));
    }
    Ok(all)
}

pub fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// Whether a file of the tree already has `lab`'s regions cut out (it is
/// a student's tree, not the reference).
pub fn is_skeleton_of(root: &Path, lab: &str) -> Result<bool, String> {
    for (file, regions) in lab_regions(root, lab)? {
        let text = read(&root.join(&file))?;
        if regions.iter().any(|r| text[r.span.clone()].contains(&format!("todo!(\"lab {lab}: "))) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes the student tree of `lab` at `out` (which must not exist or be
/// empty): every file of the tree at `root`, the lab's regions cut out,
/// then `git init` and one commit. Returns the regions removed.
pub fn start(root: &Path, lab: &str, out: &Path) -> Result<BTreeMap<PathBuf, Vec<Region>>, String> {
    let regions = lab_regions(root, lab)?;
    if is_skeleton_of(root, lab)? {
        return Err(format!(
            "{} is already a student tree for lab {lab} (its regions hold todo!); start labs from the reference tree",
            root.display()
        ));
    }
    if out.exists() && std::fs::read_dir(out).map_err(|e| e.to_string())?.next().is_some() {
        return Err(format!("{} exists and is not empty; give --out a new directory", out.display()));
    }
    for file in files(root)? {
        let (from, to) = (root.join(&file), out.join(&file));
        std::fs::create_dir_all(to.parent().expect("a file has a parent"))
            .map_err(|e| format!("{}: {e}", to.display()))?;
        if regions.contains_key(&file) {
            let text = markers::skeleton(&read(&from)?, lab)
                .map_err(|e| format!("{}:{}: {}", file.display(), e.line, e.message))?;
            std::fs::write(&to, text).map_err(|e| format!("writing {}: {e}", to.display()))?;
            let mode = std::fs::metadata(&from).map_err(|e| e.to_string())?.permissions();
            std::fs::set_permissions(&to, mode).map_err(|e| e.to_string())?;
        } else if let Ok(target) = std::fs::read_link(&from) {
            // A link stays a link (kernel/shared/src/program_list.rs): a
            // copy would stop following what it points to.
            std::os::unix::fs::symlink(&target, &to)
                .map_err(|e| format!("linking {} to {}: {e}", to.display(), target.display()))?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))?;
        }
    }
    git(out, &["init", "-q", "-b", "main"])?;
    git(out, &["add", "-A"])?;
    let message = format!("lab {lab}: the starting point\n\n{}", catalog::lab(lab).map_or("", |l| l.summary));
    git(
        out,
        &[
            "-c",
            "user.name=Spindle labs",
            "-c",
            "user.email=labs@spindle.invalid",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "-m",
            &message,
        ],
    )?;
    Ok(regions)
}

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| format!("running git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Lines of removed code worth looking for: long enough to say something.
fn telling(line: &str) -> Option<&str> {
    let line = line.trim();
    (line.len() >= 12 && line.chars().any(|c| c.is_ascii_alphanumeric())).then_some(line)
}

/// What a leak check found.
pub struct LeakReport {
    /// Telling lines removed in all.
    pub removed: usize,
    /// Of those, lines the kept Rust code also has (so their presence says
    /// nothing about the removed code).
    pub shared: usize,
    /// Where a removed line was found: file (or `.git` object), line.
    pub leaks: Vec<String>,
}

/// Looks for the removed code of `lab` in the student tree at `student`
/// (its files and every object in its git store): no telling line of a
/// removed region may appear there, unless the reference's kept Rust code
/// has the same line.
pub fn find_leaks(reference: &Path, lab: &str, student: &Path) -> Result<LeakReport, String> {
    let regions = lab_regions(reference, lab)?;
    let mut removed = BTreeSet::new();
    for (file, regions) in &regions {
        let text = read(&reference.join(file))?;
        for region in regions {
            removed.extend(text[region.span.clone()].lines().filter_map(telling).map(String::from));
        }
    }
    let mut kept = BTreeSet::new();
    for file in files(reference)?.into_iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
        let text = read(&reference.join(&file))?;
        let text =
            if regions.contains_key(&file) { markers::skeleton(&text, lab).map_err(|e| e.to_string())? } else { text };
        kept.extend(text.lines().filter_map(telling).map(String::from));
    }
    let total = removed.len();
    removed.retain(|line| !kept.contains(line));
    let mut leaks = Vec::new();
    let mut scan = |place: &str, text: &str| {
        for (n, line) in text.lines().enumerate() {
            if telling(line).is_some_and(|l| removed.contains(l)) {
                leaks.push(format!("{place}:{}: {}", n + 1, line.trim()));
            }
        }
    };
    for file in walk(student)? {
        if let Ok(text) = std::fs::read_to_string(student.join(&file)) {
            scan(&file.display().to_string(), &text);
        }
    }
    let objects = Command::new("git")
        .arg("-C")
        .arg(student)
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .output()
        .map_err(|e| format!("running git: {e}"))?;
    scan(".git objects", &String::from_utf8_lossy(&objects.stdout));
    Ok(LeakReport { removed: total, shared: total - removed.len(), leaks })
}
