//! The labs' own tests: that the grader is right about the reference and
//! about the skeletons (the tests of the tests, as course tools run each
//! grader against both the solution and the handout).
//!
//! For every lab: restoring the marked regions of a skeleton gives back the
//! reference byte for byte; a student tree holds no line of the removed
//! code, in its files or its git history; the skeleton builds, and its
//! grader fails every check with the lab's `todo!`; with the regions
//! written back, the same tree gets full marks. The default run does the
//! whole loop for `runqueue` (graded mostly on the host) and `deadlock`
//! (graded in QEMU, with a begin/end region); `cargo test -- --ignored`
//! does it for the others and grades the reference tree for every lab.
//!
//! Student trees live in target/lab-trees/NAME. Their host crates are
//! checked in the reference's target directory (the bootloader's build
//! script is shared); the grader builds their kernel and host tests in
//! target/lab-build, shared by all of them (the kernel's dependencies and
//! loom build once), so the loops take turns through a lock.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use spindle_labs::{catalog, markers, tree};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One student tree at a time: they share a build directory.
static TREES: Mutex<()> = Mutex::new(());

fn spindle(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spindle")).args(args).output().expect("the spindle binary runs")
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn every_lab_has_marked_regions_a_handout_and_its_transcripts() {
    let sections = [
        "## Goal",
        "## Background",
        "## What to write",
        "## Difficulty",
        "## Hints",
        "## From the timeline",
        "## Challenges",
    ];
    for lab in catalog::LABS {
        let regions = tree::lab_regions(&root(), lab.name).unwrap();
        assert!(!regions.is_empty());
        let handout = std::fs::read_to_string(root().join("labs").join(lab.name).join("README.md"))
            .unwrap_or_else(|e| panic!("labs/{}/README.md: {e}", lab.name));
        for section in sections {
            assert!(handout.contains(section), "labs/{}/README.md has no {section:?} section", lab.name);
        }
        for check in lab.checks {
            if let catalog::How::Boot(boot) = &check.how
                && let Some(file) = boot.transcript
            {
                let path = root().join("labs").join(file);
                assert!(path.is_file(), "{}/{}: no transcript {}", lab.name, check.name, path.display());
            }
        }
    }
    let instructors = std::fs::read_to_string(root().join("labs/README.md")).unwrap();
    for lab in catalog::LABS {
        assert!(instructors.contains(&format!("`{}`", lab.name)), "labs/README.md does not list {}", lab.name);
    }
}

#[test]
fn restoring_each_labs_regions_gives_back_the_reference_byte_for_byte() {
    for lab in catalog::LABS {
        for (file, regions) in tree::lab_regions(&root(), lab.name).unwrap() {
            let reference = std::fs::read_to_string(root().join(&file)).unwrap();
            let skeleton = markers::skeleton(&reference, lab.name).unwrap();
            assert_ne!(skeleton, reference, "{}: {}", lab.name, file.display());
            for region in &regions {
                assert!(
                    skeleton.contains(&markers::todo_message(region).replace('{', "{{").replace('}', "}}")),
                    "{}: {}",
                    lab.name,
                    region.function
                );
                let body = &reference[region.span.clone()];
                if body.lines().count() > 2 {
                    assert!(!skeleton.contains(body), "{}: the body of {} is still there", lab.name, region.function);
                }
            }
            let restored = markers::restore(&skeleton, &reference, lab.name).unwrap();
            assert!(restored == reference, "{}: restoring {} does not give it back", lab.name, file.display());
        }
    }
}

#[test]
fn a_marker_binding_to_nothing_or_an_unknown_lab_is_an_error_naming_it() {
    let out = spindle(&["lab", "start", "no-such-lab", "--out", "/tmp/never-written"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("unknown lab \"no-such-lab\"; the labs are: programs, switch"), "{}", text(&out));
    let out = spindle(&["lab", "grade", "no-such-lab"]);
    assert!(text(&out).contains("unknown lab \"no-such-lab\""), "{}", text(&out));

    let dir = std::env::temp_dir().join(format!("spindle-lab-markers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("kernel/src")).unwrap();
    std::fs::write(dir.join("kernel/src/a.rs"), "// lab(switch): hint\n\nfn f() {}\n").unwrap();
    let error = tree::all_regions(&dir).unwrap_err();
    assert!(error.contains("kernel/src/a.rs:1") && error.contains("binds to nothing"), "{error}");
    std::fs::write(dir.join("kernel/src/a.rs"), "// lab(nosuch): hint\nfn f() {}\n").unwrap();
    let error = tree::all_regions(&dir).unwrap_err();
    assert!(error.contains("kernel/src/a.rs:1") && error.contains("unknown lab \"nosuch\""), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The grader's JSON for `lab` graded on `tree`.
fn grade(lab: &str, tree: &Path, build: &Path) -> (serde_json::Value, String) {
    let json = tree.join("target/grade.json");
    std::fs::create_dir_all(tree.join("target")).unwrap();
    let mut args = vec!["lab", "grade", lab, "--json"];
    let json_arg = json.display().to_string();
    args.push(&json_arg);
    let tree_arg = tree.display().to_string();
    let build_arg = build.display().to_string();
    if tree != root() {
        args.extend(["--tree", &tree_arg, "--target-dir", &build_arg]);
    }
    let out = spindle(&args);
    let printed = text(&out);
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}:\n{printed}")))
            .unwrap_or_else(|e| panic!("{e}:\n{printed}"));
    assert_eq!(out.status.success(), value["score"] == value["max"], "exit status and score disagree:\n{printed}");
    (value, printed)
}

/// The whole loop for one lab: skeleton (no leak, one commit, builds, every
/// check fails with the lab's todo!), then the regions written back (byte
/// for byte) and full marks.
fn skeleton_fails_and_restored_tree_passes(lab: &str) {
    let _turn = TREES.lock().unwrap_or_else(|e| e.into_inner());
    let student = root().join("target/lab-trees").join(lab);
    let build = root().join("target/lab-build");
    let _ = std::fs::remove_dir_all(&student);
    let out = spindle(&["lab", "start", lab, "--out", &student.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out));

    let leaks = tree::find_leaks(&root(), lab, &student).unwrap();
    assert!(leaks.leaks.is_empty(), "lab {lab}: removed code found in the student tree:\n{}", leaks.leaks.join("\n"));
    assert!(leaks.removed > leaks.shared, "lab {lab}: nothing removed that the kept code does not also have");
    let log = Command::new("git").arg("-C").arg(&student).args(["rev-list", "--all", "--count"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&log.stdout).trim(), "1", "lab {lab}: the student tree has one commit");

    // The host side builds. Checked in the reference tree's own target
    // directory: the bootloader's build script (minutes) is shared, and
    // `check` writes no binary that the reference's could be mistaken for.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let check = Command::new(&cargo)
        .current_dir(&student)
        .args(["check", "--quiet", "--target-dir"])
        .arg(root().join("target"))
        .output()
        .unwrap();
    assert!(check.status.success(), "lab {lab}: the skeleton's host crates do not build:\n{}", text(&check));

    let (graded, printed) = grade(lab, &student, &build);
    assert_eq!(graded["score"], 0, "lab {lab}: the skeleton scored:\n{printed}");
    let todo = format!("lab {lab}: ");
    for check in graded["checks"].as_array().unwrap() {
        let reasons = check["reasons"].to_string();
        assert!(
            reasons.contains(&todo),
            "lab {lab}: check {} failed without the todo! message:\n{printed}",
            check["name"]
        );
    }

    for (file, _) in tree::lab_regions(&root(), lab).unwrap() {
        let reference = std::fs::read_to_string(root().join(&file)).unwrap();
        let skeleton = std::fs::read_to_string(student.join(&file)).unwrap();
        let restored = markers::restore(&skeleton, &reference, lab).unwrap();
        assert!(restored == reference, "lab {lab}: {} restored differs", file.display());
        std::fs::write(student.join(&file), restored).unwrap();
    }
    let (graded, printed) = grade(lab, &student, &build);
    assert_eq!(
        graded["score"], graded["max"],
        "lab {lab}: the reference code written back did not get full marks:\n{printed}"
    );
}

#[test]
fn runqueue_skeleton_fails_and_written_back_passes() {
    skeleton_fails_and_restored_tree_passes("runqueue");
}

#[test]
fn deadlock_skeleton_fails_and_written_back_passes() {
    skeleton_fails_and_restored_tree_passes("deadlock");
}

macro_rules! ignored_loops {
    ($($test:ident $lab:literal,)*) => {$(
        #[test]
        #[ignore = "slow: one lab's whole grader loop (cargo test -- --ignored)"]
        fn $test() {
            skeleton_fails_and_restored_tree_passes($lab);
        }
    )*};
}

ignored_loops! {
    programs_skeleton_fails_and_written_back_passes "programs",
    switch_skeleton_fails_and_written_back_passes "switch",
    findwork_skeleton_fails_and_written_back_passes "findwork",
    preempt_skeleton_fails_and_written_back_passes "preempt",
    channels_skeleton_fails_and_written_back_passes "channels",
    select_skeleton_fails_and_written_back_passes "select",
}

#[test]
#[ignore = "slow: grades the reference tree for every lab (cargo test -- --ignored)"]
fn the_reference_tree_gets_full_marks_in_every_lab() {
    let _turn = TREES.lock().unwrap_or_else(|e| e.into_inner());
    for lab in catalog::LABS {
        let (graded, printed) = grade(lab.name, &root(), &root().join("target"));
        assert_eq!(
            graded["score"], graded["max"],
            "lab {}: the reference did not get full marks:\n{printed}",
            lab.name
        );
    }
}
