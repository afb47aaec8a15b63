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
    for (property, name) in [
        ("P1", "flat-reassembles-to-raw"),
        ("P2", "raw-extents-match-layout"),
        ("P3", "pages-read-back"),
        ("P4", "check-passes"),
        ("P5", "corruption-detected"),
        ("P6", "elf-raw-flat-agree"),
    ] {
        assert_eq!(summary["properties"][property]["pass"], 10, "{property}");
        assert_eq!(summary["properties"][property]["name"], name, "{property}");
    }
    assert!(summary["corruption"]["descriptors"][1].as_u64().unwrap() > 0);
}

/// The first small seed whose layout is written with `--split` (without eraseinfo, so the joined set is
/// the model's one-file dump byte for byte).
fn split_layout_seed() -> u64 {
    (0..)
        .find(|&seed| {
            let layout = layout_from_seed(seed, SizeClass::Small);
            layout.mode.split.is_some() && layout.eraseinfo.is_none()
        })
        .unwrap()
}

#[test]
fn gen_writes_a_split_set_as_numbered_files() {
    let seed = split_layout_seed();
    let layout = layout_from_seed(seed, SizeClass::Small);
    let expected = write_case(&layout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("set");
    for flat in [false, true] {
        let mut cmd = kdump_flat();
        cmd.args(["gen", "--seed", &seed.to_string()]).arg(&out);
        if flat {
            cmd.args(["--flat", "--force"]);
        }
        cmd.assert().success();
        for (i, part) in expected.parts.iter().enumerate() {
            let path = dir.path().join(format!("set.{}", i + 1));
            let want = if flat { &part.flat } else { &part.raw };
            assert!(std::fs::read(&path).unwrap() == *want, "{}", path.display());
        }
        assert!(!dir
            .path()
            .join(format!("set.{}", expected.parts.len() + 1))
            .exists());
        assert!(!out.exists());
    }
    // The set joins into the model's one-file dump (eraseinfo once per file).
    let joined = dir.path().join("joined");
    let mut set_files: Vec<_> = (1..=expected.parts.len())
        .map(|i| dir.path().join(format!("set.{i}")))
        .collect();
    kdump_flat()
        .arg("gen")
        .args(["--seed", &seed.to_string(), "--force"])
        .arg(&out)
        .assert()
        .success();
    set_files.reverse();
    kdump_flat()
        .arg("join")
        .args(&set_files)
        .arg(&joined)
        .assert()
        .success();
    assert!(std::fs::read(&joined).unwrap() == expected.raw);
}

#[test]
fn gen_refuses_to_overwrite_any_file_of_a_set_and_writes_none() {
    let seed = split_layout_seed();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("set");
    std::fs::write(dir.path().join("set.2"), b"keep").unwrap();
    kdump_flat()
        .args(["gen", "--seed", &seed.to_string()])
        .arg(&out)
        .assert()
        .code(2);
    assert_eq!(std::fs::read(dir.path().join("set.2")).unwrap(), b"keep");
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["set.2"]);
    kdump_flat()
        .args(["gen", "--seed", &seed.to_string(), "-"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--split"));
}

#[test]
fn selftest_json_counts_cases_per_mode() {
    let assert = kdump_flat()
        .args([
            "selftest",
            "--cases",
            "40",
            "--seed",
            "1",
            "--json",
            "--corruptions",
            "0",
        ])
        .assert()
        .success();
    let summary: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let modes = &summary["modes"];
    let count = |key: &str| modes[key].as_u64().unwrap();
    assert_eq!(count("qemu") + count("makedumpfile"), 40);
    assert_eq!(
        count("non_cyclic") + count("cyclic_one_cycle") + count("cyclic_several_cycles"),
        count("makedumpfile")
    );
    // Seeds 1..=40 hold split sets (seed 5 is one).
    assert!(count("split_sets") > 0, "{modes}");
    assert!(count("split_files") >= 2 * count("split_sets"));
}
