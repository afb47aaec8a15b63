//! `kdump-flat gen` and `kdump-flat selftest` from the outside: exit codes, refusal to overwrite, output
//! equal to the library's, JSON summaries.

use assert_cmd::Command;
use kdump_flat::harness::write_case;
use kdump_flat::model::gen::{layout_from_seed, SizeClass};

fn kdump_flat() -> Command {
    Command::cargo_bin("kdump-flat").unwrap()
}

#[test]
fn gen_writes_what_the_library_writes_raw_and_flattened() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("dump.raw");
    let flat = dir.path().join("dump.flat");
    let layout_file = dir.path().join("layout.json");
    kdump_flat()
        .args(["gen", "--seed", "42"])
        .arg(&raw)
        .arg("--save-layout")
        .arg(&layout_file)
        .assert()
        .success();
    kdump_flat()
        .args(["gen", "--flat", "--layout"])
        .arg(&layout_file)
        .arg(&flat)
        .assert()
        .success();
    let expected = write_case(&layout_from_seed(42, SizeClass::Small)).unwrap();
    assert_eq!(std::fs::read(&raw).unwrap(), expected.raw);
    assert_eq!(std::fs::read(&flat).unwrap(), expected.flat);
}

#[test]
fn gen_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dump");
    std::fs::write(&out, b"keep").unwrap();
    kdump_flat()
        .args(["gen", "--seed", "1"])
        .arg(&out)
        .assert()
        .code(2);
    assert_eq!(std::fs::read(&out).unwrap(), b"keep");
    kdump_flat()
        .args(["gen", "--seed", "1", "--force"])
        .arg(&out)
        .assert()
        .success();
    assert_ne!(std::fs::read(&out).unwrap(), b"keep");
}

#[test]
fn gen_to_stdout() {
    let expected = write_case(&layout_from_seed(7, SizeClass::Small)).unwrap();
    let assert = kdump_flat()
        .args(["gen", "--seed", "7", "--flat", "-"])
        .assert()
        .success();
    assert_eq!(assert.get_output().stdout, expected.flat);
}

#[test]
fn gen_rejects_a_bad_layout_file_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, br#"{"writer":"qemu"}"#).unwrap();
    let out = dir.path().join("dump");
    kdump_flat()
        .args(["gen", "--layout"])
        .arg(&bad)
        .arg(&out)
        .assert()
        .code(1);
    assert!(!out.exists());
    let mut layout = layout_from_seed(1, SizeClass::Small);
    layout.blocks.clear();
    std::fs::write(&bad, serde_json::to_string(&layout).unwrap()).unwrap();
    let assert = kdump_flat()
        .args(["gen", "--layout"])
        .arg(&bad)
        .arg(&out)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("no memory blocks"), "{stderr}");
}

#[test]
fn gen_needs_a_seed_or_a_layout() {
    kdump_flat().args(["gen", "out"]).assert().code(2);
}

#[test]
fn selftest_json_summary_counts_every_case() {
    let assert = kdump_flat()
        .args(["selftest", "--cases", "10", "--seed", "100", "--json"])
        .assert()
        .success();
    let summary: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(summary["cases"], 10);
    assert_eq!(summary["ok"], true);
    for property in ["P1", "P2", "P3", "P4", "P5"] {
        assert_eq!(summary["properties"][property]["pass"], 10, "{property}");
    }
    assert!(summary["corruption"]["descriptors"][1].as_u64().unwrap() > 0);
}
