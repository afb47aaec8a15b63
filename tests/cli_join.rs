//! `kdump-flat join PART... OUT`: exit codes, messages (insta snapshots), output files (refused when they
//! exist, nothing left on failure), parts in any order and flattened. Runs in temporary directories with
//! relative paths, so the messages are stable. Byte identity with makedumpfile on generated sets is in
//! tests/kdump_join.rs; here the expected output is corpus/real/fw-mdf-lzo-d1, which makedumpfile wrote
//! from the same ELF as the split set fw-mdf-split-d1.* (and which `makedumpfile --reassemble` of that
//! set reproduces byte for byte, checked there).

use crate::support::cli::{run, stderr};
use std::path::Path;

use assert_cmd::Command;

const PART1: &str = "fw-mdf-split-d1.1";
const PART2: &str = "fw-mdf-split-d1.2";

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus/real")
            .join(name),
    )
    .unwrap()
}

/// A temporary directory holding copies of the corpus files `names`.
fn dir_with(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        std::fs::write(dir.path().join(name), corpus(name)).unwrap();
    }
    dir
}

/// The names in `dir`, sorted (temporary files included: none may be left).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn join_writes_makedumpfiles_file_from_parts_in_any_order() {
    let dir = dir_with(&[PART1, PART2]);
    let output = run(dir.path(), &["join", PART2, PART1, "vmcore"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(std::fs::read(dir.path().join("vmcore")).unwrap() == corpus("fw-mdf-lzo-d1"));
    insta::assert_snapshot!("join_cli_ok", stderr(&output));
    let checked = run(dir.path(), &["check", "vmcore"]);
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
}

#[test]
fn an_existing_output_is_refused_unless_forced() {
    let dir = dir_with(&[PART1, PART2]);
    std::fs::write(dir.path().join("vmcore"), b"keep me").unwrap();
    let output = run(dir.path(), &["join", PART1, PART2, "vmcore"]);
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!("join_cli_existing_output", stderr(&output));
    assert_eq!(
        std::fs::read(dir.path().join("vmcore")).unwrap(),
        b"keep me"
    );
    assert_eq!(listing(dir.path()), [PART1, PART2, "vmcore"]);
    let output = run(dir.path(), &["join", "--force", PART1, PART2, "vmcore"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(std::fs::read(dir.path().join("vmcore")).unwrap() == corpus("fw-mdf-lzo-d1"));
}

#[test]
fn incomplete_mixed_and_unsplit_sets_are_exit_1_with_k18_and_leave_nothing() {
    let dir = dir_with(&[PART1, PART2, "mdf-split-d31.2", "fw-mdf-lzo-d1"]);
    let cases: [(&str, &[&str]); 5] = [
        ("join_cli_lone_part", &[PART2]),
        ("join_cli_part_twice", &[PART1, PART1]),
        ("join_cli_parts_of_two_dumps", &[PART1, "mdf-split-d31.2"]),
        ("join_cli_unsplit_with_part", &["fw-mdf-lzo-d1", PART2]),
        ("join_cli_unsplit_alone", &["fw-mdf-lzo-d1"]),
    ];
    for (snapshot, parts) in cases {
        let mut args = vec!["join"];
        args.extend_from_slice(parts);
        args.push("vmcore");
        let output = run(dir.path(), &args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{snapshot}: {}",
            stderr(&output)
        );
        let message = stderr(&output);
        assert!(message.contains("K18"), "{snapshot}: {message}");
        insta::assert_snapshot!(snapshot, message);
        assert_eq!(
            listing(dir.path()),
            ["fw-mdf-lzo-d1", PART1, PART2, "mdf-split-d31.2"],
            "{snapshot}: nothing may be left"
        );
    }
}

#[test]
fn a_truncated_part_is_exit_1_naming_it_and_leaves_nothing() {
    let dir = dir_with(&[PART1]);
    let part2 = corpus(PART2);
    std::fs::write(dir.path().join("cut.2"), &part2[..part2.len() - 1000]).unwrap();
    let output = run(dir.path(), &["join", PART1, "cut.2", "vmcore"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("join_cli_truncated_part", stderr(&output));
    assert_eq!(listing(dir.path()), ["cut.2", PART1]);
}

#[test]
fn flattened_parts_join_into_the_same_file() {
    let dir = dir_with(&[PART1, PART2]);
    for part in [PART1, PART2] {
        let flat = format!("{part}.flat");
        let output = run(dir.path(), &["flatten", part, &flat]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(std::fs::read(dir.path().join(&flat))
            .unwrap()
            .starts_with(b"makedumpfile"));
    }
    let flat1 = format!("{PART1}.flat");
    let flat2 = format!("{PART2}.flat");
    let output = run(dir.path(), &["join", &flat2, PART1, "mixed"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = run(dir.path(), &["join", &flat1, &flat2, "flat"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for name in ["mixed", "flat"] {
        assert!(std::fs::read(dir.path().join(name)).unwrap() == corpus("fw-mdf-lzo-d1"));
    }
}

#[test]
fn json_summary_usage_errors_and_help() {
    let dir = dir_with(&[PART1, PART2]);
    let output = run(dir.path(), &["join", "--json", PART2, PART1, "vmcore"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    insta::assert_json_snapshot!("join_cli_json", json);
    // standard output cannot take a file written at offsets; only one part can be standard input
    let output = run(dir.path(), &["join", PART1, PART2, "-"]);
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!("join_cli_stdout_output", stderr(&output));
    let output = run(dir.path(), &["join", "-", "-", "other"]);
    assert_eq!(output.status.code(), Some(2));
    // one path only: no output named
    let output = run(dir.path(), &["join", PART1]);
    assert_eq!(output.status.code(), Some(2));
    let help = run(dir.path(), &["join", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Examples:") && help.contains("makedumpfile --reassemble"));
    assert_eq!(listing(dir.path()), [PART1, PART2, "vmcore"]);
}

#[test]
fn standard_input_can_be_one_part() {
    let dir = dir_with(&[PART1, PART2]);
    let output = Command::cargo_bin("kdump-flat")
        .unwrap()
        .current_dir(dir.path())
        .args(["join", PART1, "-", "vmcore"])
        .write_stdin(corpus(PART2))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(std::fs::read(dir.path().join("vmcore")).unwrap() == corpus("fw-mdf-lzo-d1"));
}

#[test]
fn join_flat_writes_a_stream_that_reassembles_to_the_joined_file() {
    let dir = dir_with(&[PART1, PART2]);
    let output = run(dir.path(), &["join", "--flat", PART2, PART1, "vmcore.flat"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let flat = std::fs::read(dir.path().join("vmcore.flat")).unwrap();
    assert_eq!(&flat[..16], b"makedumpfile\0\0\0\0");
    // the real makedumpfile -R reassembles it to the file makedumpfile wrote without --split
    let reassembled = dir.path().join("vmcore");
    let status = std::process::Command::new("makedumpfile")
        .arg("-R")
        .arg(&reassembled)
        .stdin(std::fs::File::open(dir.path().join("vmcore.flat")).unwrap())
        .output()
        .expect("makedumpfile must be installed (scripts/install-test-tools.sh)");
    assert!(status.status.success(), "makedumpfile -R failed");
    assert!(std::fs::read(&reassembled).unwrap() == corpus("fw-mdf-lzo-d1"));
    // to standard output: the same stream
    let piped = run(dir.path(), &["join", "--flat", PART1, PART2, "-"]);
    assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
    assert!(piped.stdout == flat);
    // without --flat, standard output is refused (message: snapshot join_cli_stdout_output)
    let refused = run(dir.path(), &["join", PART1, PART2, "-"]);
    assert_eq!(refused.status.code(), Some(2));
}
