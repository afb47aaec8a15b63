//! selftest on the failures it exists to find, forced with its hidden test hook (`--inject-fault`): a
//! failing property, a panicking property and a panic while shrinking all end in exit status 1 with the
//! seed in the report and a reproducer file (the unshrunk layout when shrinking failed); never exit 101.
//! The report also says what selftest cannot see.

use std::path::Path;

use assert_cmd::Command;
use kdump_flat::model::gen::{layout_from_seed, SizeClass};
use kdump_flat::model::Layout;

/// Runs selftest with the fault on cases `seed`, `seed + 1`; returns (exit code, stdout).
fn selftest_with_fault(fault: &str, seed: u64, dir: &Path) -> (i32, String) {
    let output = Command::cargo_bin("kdump-flat")
        .unwrap()
        .current_dir(dir)
        .args(["selftest", "--cases", "2", "--corruptions", "1", "--seed"])
        .arg(seed.to_string())
        .args(["--inject-fault", fault])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("property failure(s); reproducer: ./selftest-failure-seed-"),
        "{stderr}"
    );
    (output.status.code().unwrap_or(-1), stdout)
}

fn reproducer(dir: &Path, seed: u64) -> Layout {
    let path = dir.join(format!("selftest-failure-seed-{seed}.json"));
    let text = std::fs::read_to_string(&path).expect("the reproducer file");
    serde_json::from_str(&text).unwrap()
}

/// Reruns selftest on a reproducer: exit code.
fn rerun(dir: &Path, seed: u64, fault: Option<&str>) -> i32 {
    let mut command = Command::cargo_bin("kdump-flat").unwrap();
    command
        .current_dir(dir)
        .args(["selftest", "--corruptions", "0", "--layout"])
        .arg(format!("selftest-failure-seed-{seed}.json"))
        .arg("--reproducer-dir")
        .arg("rerun");
    std::fs::create_dir_all(dir.join("rerun")).unwrap();
    if let Some(fault) = fault {
        command.args(["--inject-fault", fault]);
    }
    command.output().unwrap().status.code().unwrap_or(-1)
}

#[test]
fn a_failing_property_is_reported_with_its_seed_and_a_shrunk_reproducer() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout) = selftest_with_fault("fail-p3", 7, dir.path());
    assert_eq!(code, 1, "{stdout}");
    let shrunk = reproducer(dir.path(), 7);
    assert!(shrunk.validate().is_ok());
    let original = layout_from_seed(7, SizeClass::Small);
    assert!(
        shrunk.memory_pages() < original.memory_pages()
            || shrunk.blocks.len() < original.blocks.len(),
        "shrunk: {} from {}",
        shrunk.summary(),
        original.summary()
    );
    // the reproducer fails again with the fault and passes without it
    assert_eq!(rerun(dir.path(), 7, Some("fail-p3")), 1);
    assert_eq!(rerun(dir.path(), 7, None), 0);
    let filters = vec![(r"in \d+\.\d s", "in [time] s")];
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!(stdout);
    });
}

#[test]
fn a_panicking_property_is_a_failure_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout) = selftest_with_fault("panic-in-p5", 11, dir.path());
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAIL P5 seed 11: panicked: injected panic (test hook)"),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL P5 seed 12: panicked"), "{stdout}");
    assert!(reproducer(dir.path(), 11).validate().is_ok());
}

#[test]
fn a_panic_while_shrinking_saves_the_unshrunk_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout) = selftest_with_fault("panic-while-shrinking", 21, dir.path());
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAIL P3 seed 21: injected failure (test hook)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "FAIL P3 seed 21: shrinking panicked: injected panic while shrinking (test hook); the \
             reproducer is the unshrunk layout"
        ),
        "{stdout}"
    );
    assert_eq!(
        reproducer(dir.path(), 21),
        layout_from_seed(21, SizeClass::Small)
    );
}

#[test]
fn the_json_report_lists_what_selftest_cannot_see() {
    let output = Command::cargo_bin("kdump-flat")
        .unwrap()
        .args([
            "selftest",
            "--cases",
            "1",
            "--seed",
            "3",
            "--corruptions",
            "0",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let classes: Vec<&str> = summary["not_seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry[0].as_str().unwrap())
        .collect();
    assert!(classes.contains(&"write order"), "{classes:?}");
    // every covering test module named there exists
    for entry in summary["not_seen"].as_array().unwrap() {
        for module in entry[2]
            .as_str()
            .unwrap()
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        {
            if let Some(name) = module.strip_suffix("::") {
                assert!(
                    Path::new(&format!("tests/{name}.rs")).exists(),
                    "{name} is no test module"
                );
            }
        }
    }
}
