//! The `reassemble`, `flatten` and `records` subcommands, run as a user would, in temporary directories:
//! outputs, exit codes (0 ok, 1 invalid input, 2 usage or I/O), refusal to overwrite, no output after an
//! error, standard input, `--keep-partial`, and the human-facing text under insta snapshots.

use crate::support::flat::StreamBuilder;

use std::fs;
use std::path::Path;

use assert_cmd::Command;

fn kdump_flat(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("kdump-flat").unwrap();
    command.current_dir(dir);
    command
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Records (0, 5 × 'a'), (8, 4 × 'b'), (2, 2 × 'c'): reassembled "aaccs\0\0\0bbbb" with s = 'a'.
fn small_stream() -> (Vec<u8>, Vec<u8>) {
    let flat = StreamBuilder::new()
        .record(0, 5, b"aaaaa")
        .record(8, 4, b"bbbb")
        .record(2, 2, b"cc")
        .end()
        .build();
    (flat, b"aacca\0\0\0bbbb".to_vec())
}

#[test]
fn reassemble_writes_the_raw_file() {
    let dir = tempfile::tempdir().unwrap();
    let (flat, raw) = small_stream();
    fs::write(dir.path().join("in.flat"), &flat).unwrap();
    let output = kdump_flat(dir.path())
        .args(["reassemble", "in.flat", "out.raw"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(fs::read(dir.path().join("out.raw")).unwrap(), raw);
    insta::assert_snapshot!(stderr_of(&output), @"kdump-flat: 3 records, 11 payload bytes -> out.raw (12 bytes)");
}

#[test]
fn reassemble_reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let (flat, raw) = small_stream();
    kdump_flat(dir.path())
        .args(["reassemble", "-", "out.raw"])
        .write_stdin(flat)
        .assert()
        .code(0);
    assert_eq!(fs::read(dir.path().join("out.raw")).unwrap(), raw);
}

#[test]
fn reassemble_refuses_an_existing_output_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let (flat, raw) = small_stream();
    fs::write(dir.path().join("in.flat"), &flat).unwrap();
    fs::write(dir.path().join("out.raw"), b"precious").unwrap();
    let output = kdump_flat(dir.path())
        .args(["reassemble", "in.flat", "out.raw"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(fs::read(dir.path().join("out.raw")).unwrap(), b"precious");
    assert_eq!(entries(dir.path()), ["in.flat", "out.raw"]);
    insta::assert_snapshot!(stderr_of(&output), @"kdump-flat: error: out.raw exists; refusing to overwrite it (use --force)");
    kdump_flat(dir.path())
        .args(["reassemble", "--force", "in.flat", "out.raw"])
        .assert()
        .code(0);
    assert_eq!(fs::read(dir.path().join("out.raw")).unwrap(), raw);
}

#[test]
fn invalid_input_exits_1_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let flat = StreamBuilder::new()
        .record(0, 5, b"aaaaa")
        .record(-8, 4, b"bbbb")
        .end()
        .build();
    fs::write(dir.path().join("in.flat"), &flat).unwrap();
    let output = kdump_flat(dir.path())
        .args(["reassemble", "in.flat", "out.raw"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(entries(dir.path()), ["in.flat"]);
    insta::assert_snapshot!(stderr_of(&output), @"kdump-flat: error: F8: record 1 at offset 0x1015: offset -8 is negative");
}

#[test]
fn truncated_input_is_reported_at_once_and_keep_partial_keeps_what_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let mut flat = StreamBuilder::new()
        .record(0, 5, b"aaaaa")
        .data(8, 4096, b'b')
        .build();
    flat.truncate(flat.len() - 96);
    fs::write(dir.path().join("cut.flat"), &flat).unwrap();
    let output = kdump_flat(dir.path())
        .args(["reassemble", "cut.flat", "out.raw"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(entries(dir.path()), ["cut.flat"]);
    let stderr_without = stderr_of(&output);

    let output = kdump_flat(dir.path())
        .args(["reassemble", "--keep-partial", "cut.flat", "out.raw"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let kept = fs::read(dir.path().join("out.raw")).unwrap();
    assert_eq!(kept.len(), 8 + 4000);
    assert_eq!(&kept[..5], b"aaaaa");
    assert!(kept[8..].iter().all(|&b| b == b'b'));
    insta::assert_snapshot!(format!("{stderr_without}---\n{}", stderr_of(&output)));
}

#[test]
fn lenient_accepts_trailing_bytes_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (mut flat, raw) = small_stream();
    flat.extend_from_slice(b"junk");
    fs::write(dir.path().join("in.flat"), &flat).unwrap();
    kdump_flat(dir.path())
        .args(["reassemble", "in.flat", "strict.raw"])
        .assert()
        .code(1);
    let output = kdump_flat(dir.path())
        .args(["reassemble", "--lenient", "in.flat", "lenient.raw"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(fs::read(dir.path().join("lenient.raw")).unwrap(), raw);
    insta::assert_snapshot!(stderr_of(&output));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    kdump_flat(dir.path())
        .args(["reassemble", "only-one-arg"])
        .assert()
        .code(2);
    kdump_flat(dir.path())
        .args(["reassemble", "missing.flat", "out.raw"])
        .assert()
        .code(2);
    kdump_flat(dir.path())
        .args(["reassemble", "-", "-"])
        .write_stdin(small_stream().0)
        .assert()
        .code(2);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn help_shows_examples() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["reassemble", "flatten", "records"] {
        let output = kdump_flat(dir.path())
            .args([command, "--help"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(text.contains("Examples:"), "{command} --help");
        insta::assert_snapshot!(format!("help_{command}"), text);
    }
}

#[test]
fn records_lists_offsets_sizes_and_overwrites() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/flat");
    let output = kdump_flat(&corpus)
        .args(["records", "valid-overlap-backward.flat"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stdout));
    let output = kdump_flat(&corpus)
        .args(["records", "--json", "valid-overlap-backward.flat"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["records"][2]["overwrites"], serde_json::json!([0, 1]));
    assert_eq!(json["records"][3]["overwrites"], serde_json::json!([2]));
    insta::assert_json_snapshot!(json);
}

#[test]
fn records_on_invalid_input_lists_what_came_before_and_exits_1() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/flat");
    let output = kdump_flat(&corpus)
        .args(["records", "--json", "f8-negative-offset.flat"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["error"]["invariant"], "F8");
    assert_eq!(json["record_count"], 1);
}

#[test]
fn records_on_a_cut_or_bad_stream_prints_the_rows_read_then_where_the_list_stops() {
    // Rows are printed as records are read: those whose header was read stay, the cut record included;
    // then one line saying where the list stops and no totals (no reassembled length of a cut stream).
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/flat");
    let mut shown = Vec::new();
    for name in ["f7-truncated-payload.flat", "f2-signature.flat"] {
        let output = kdump_flat(&corpus)
            .args(["records", name])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(!stdout.contains("reassembled length"), "{name}: {stdout}");
        shown.push(format!("{name}:\n{stdout}---\n{}", stderr_of(&output)));
    }
    insta::assert_snapshot!(shown.join("\n"));
}

#[test]
fn records_prints_rows_while_the_stream_is_still_arriving() {
    // 2,000 records (about 100 KB of rows, more than any output buffer) go into a pipe that stays open:
    // rows must come out before the stream ends, so they are not collected first.
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command as Process, Stdio};
    let mut stream = StreamBuilder::new();
    for i in 0..2000 {
        stream = stream.data(i, 1, 0x5a);
    }
    let mut child = Process::new(env!("CARGO_BIN_EXE_kdump-flat"))
        .args(["records", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&stream.build()).unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first_row = lines.nth(1).map(|line| line.unwrap());
        sender.send(first_row).unwrap();
        lines.map(|line| line.unwrap()).collect::<Vec<String>>()
    });
    let first_row = receiver.recv_timeout(std::time::Duration::from_secs(60));
    drop(stdin); // the stream ends here, without an end marker
    assert_eq!(
        first_row.expect("no row before the stream ended"),
        Some("       0          0x1000             0x0         0x1".to_string())
    );
    let rest = reader.join().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert_eq!(
        rest.last().map(String::as_str),
        Some("the stream is invalid (error below): the list stops at record 1999")
    );
}

#[test]
fn flatten_skips_holes_and_reassembles_to_the_same_file() {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.raw");
    let mut file = fs::File::create(&path).unwrap();
    file.seek(SeekFrom::Start(3 << 20)).unwrap();
    file.write_all(&[7u8; 8192]).unwrap();
    file.set_len(10 << 20).unwrap();
    drop(file);

    kdump_flat(dir.path())
        .args(["flatten", "sparse.raw", "sparse.flat"])
        .assert()
        .code(0);
    let flat_len = fs::metadata(dir.path().join("sparse.flat")).unwrap().len();
    assert!(flat_len < 64 << 10, "holes were written: {flat_len} bytes");
    let output = kdump_flat(dir.path())
        .args(["records", "sparse.flat"])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stdout));

    kdump_flat(dir.path())
        .args(["reassemble", "sparse.flat", "back.raw"])
        .assert()
        .code(0);
    assert!(fs::read(dir.path().join("back.raw")).unwrap() == fs::read(&path).unwrap());

    // to standard output, through a pipe, back through standard input
    let flat = kdump_flat(dir.path())
        .args(["flatten", "sparse.raw", "-"])
        .output()
        .unwrap();
    assert_eq!(flat.status.code(), Some(0));
    kdump_flat(dir.path())
        .args(["reassemble", "-", "piped.raw"])
        .write_stdin(flat.stdout)
        .assert()
        .code(0);
    assert!(fs::read(dir.path().join("piped.raw")).unwrap() == fs::read(&path).unwrap());

    kdump_flat(dir.path())
        .args(["flatten", "sparse.raw", "sparse.flat"])
        .assert()
        .code(2);
}

#[test]
fn flatten_of_a_real_dump_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let raw = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/flat/qemu10-16M.kdump-raw-zlib");
    kdump_flat(dir.path())
        .arg("flatten")
        .arg(&raw)
        .arg("q.flat")
        .assert()
        .code(0);
    kdump_flat(dir.path())
        .args(["reassemble", "q.flat", "q.raw"])
        .assert()
        .code(0);
    assert!(fs::read(dir.path().join("q.raw")).unwrap() == fs::read(&raw).unwrap());
}

#[test]
fn flatten_of_an_empty_file_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("empty"), b"").unwrap();
    let output = kdump_flat(dir.path())
        .args(["flatten", "empty", "out.flat"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(entries(dir.path()), ["empty"]);
}
