//! An unlucky operator's faults, with real processes, real signals and real special files (issue 13,
//! items 1–5): Ctrl-C, `timeout` and a closed terminal during a write; `--force` onto a device, a FIFO or
//! a symlink; a closed standard output and a reader that goes away; output names of 255 bytes; a full disk
//! and inputs that are not files. Every case asserts the outcome the CLI contract promises (exit codes,
//! nothing left behind, special files never replaced) and snapshots the message a user reads.
//!
//! CI runs as root: the device nodes (`mknod`) and the 1 MiB tmpfs of the full-disk case need it, and the
//! tests fail (never skip) without it.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("kdump-flat")
}

fn kdump_flat(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("running kdump-flat")
}

fn stderr_of(output: &Output, dir: &Path) -> String {
    String::from_utf8_lossy(&output.stderr).replace(&dir.display().to_string(), "$DIR")
}

/// Names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A small model dump (raw) and its flattened form in `dir`: (raw, flat).
fn model_dump(dir: &Path) -> (PathBuf, PathBuf) {
    let raw = dir.join("dump.raw");
    let flat = dir.join("dump.flat");
    let out = kdump_flat(&["gen", "--seed", "7", raw.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out, dir));
    let out = kdump_flat(&["flatten", raw.to_str().unwrap(), flat.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out, dir));
    (raw, flat)
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Waits until `dir` holds a file whose name contains `part`; fails after 20 s.
fn wait_for_file(dir: &Path, part: &str, child: &mut Child) -> String {
    let started = Instant::now();
    loop {
        if let Some(name) = names_in(dir).into_iter().find(|n| n.contains(part)) {
            return name;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("kdump-flat ended ({status}) before creating *{part}*");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no *{part}* in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0, "kill {signal}");
}

// ---- 1. Signals remove the temporary file and exit 128 + the signal ----

#[test]
fn a_signal_during_a_write_removes_the_temporary_file_and_exits_128_plus_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, flat) = model_dump(dir.path());
    let stream = fs::read(&flat).unwrap();
    for (signal, status) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
    ] {
        let out_dir = dir.path().join(format!("out-{signal}"));
        fs::create_dir(&out_dir).unwrap();
        let mut child = Command::new(bin())
            .args(["reassemble", "-", path_str(&out_dir.join("vmcore"))])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Half the stream, then the input stalls (the pipe stays open): reassemble is mid-write.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&stream[..stream.len() / 2]).unwrap();
        let temp = wait_for_file(&out_dir, ".tmp", &mut child);
        assert!(temp.starts_with(".vmcore."), "{temp}");
        send(&child, signal);
        let output = child.wait_with_output().unwrap();
        drop(stdin);
        assert_eq!(output.status.code(), Some(status), "signal {signal}");
        assert_eq!(names_in(&out_dir), Vec::<String>::new(), "signal {signal}");
    }
}

#[test]
fn a_signal_while_standard_input_is_spooled_removes_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("tmp");
    fs::create_dir(&spool_dir).unwrap();
    let mut child = Command::new(bin())
        .args(["info", "-"])
        .env("TMPDIR", &spool_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&[0u8; 8192]).unwrap();
    wait_for_file(&spool_dir, "kdump-flat-stdin", &mut child);
    send(&child, libc::SIGTERM);
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(143));
    assert_eq!(names_in(&spool_dir), Vec::<String>::new());
}

// ---- 2. --force never replaces a device, a FIFO or a socket; a symlink's file is replaced ----

fn mknod_null(path: &Path) {
    let status = Command::new("mknod")
        .arg(path)
        .args(["c", "1", "3"])
        .status()
        .expect("running mknod");
    assert!(
        status.success(),
        "mknod c 1 3 failed: these tests need root (CI runs as root)"
    );
}

#[test]
fn force_writes_into_a_device_or_fifo_and_never_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, flat) = model_dump(dir.path());
    let mynull = dir.path().join("mynull");
    mknod_null(&mynull);
    let mut text = String::new();

    // A character device: written into by the sequential writers, refused by those that seek.
    for args in [
        vec!["read", path_str(&raw), "--offset", "0", "--len", "4096"],
        vec!["flatten", path_str(&raw)],
        vec!["gen", "--seed", "7"],
        vec!["reassemble", path_str(&flat)],
        vec!["join", path_str(&raw), path_str(&raw)],
    ] {
        let mut args = args.clone();
        if args[0] == "read" {
            args.push("-o");
        }
        args.extend([path_str(&mynull), "--force"]);
        let output = kdump_flat(&args);
        let code = output.status.code().unwrap_or(-1);
        text.push_str(&format!(
            "{} -> exit {code}\n{}",
            args[0],
            stderr_of(&output, dir.path())
        ));
        let kind = fs::symlink_metadata(&mynull).unwrap().file_type();
        assert!(kind.is_char_device(), "{}: mynull was replaced", args[0]);
        let expected = if matches!(args[0], "reassemble" | "join") {
            2
        } else {
            0
        };
        assert_eq!(code, expected, "{args:?}");
    }
    insta::assert_snapshot!(text);

    // A FIFO: the bytes arrive at its reader, and it stays a FIFO.
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        fs::File::open(reader_path)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    });
    let output = kdump_flat(&["flatten", path_str(&raw), path_str(&fifo), "--force"]);
    assert!(
        output.status.success(),
        "{}",
        stderr_of(&output, dir.path())
    );
    assert_eq!(reader.join().unwrap(), fs::read(&flat).unwrap());
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(!names_in(dir.path()).iter().any(|n| n.ends_with(".tmp")));
}

#[test]
fn dev_stdout_and_dev_null_are_written_into() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, _) = model_dump(dir.path());
    let args = ["read", path_str(&raw), "--offset", "0", "--len", "64", "-o"];
    let output = Command::new(bin())
        .args(args)
        .arg("/dev/stdout")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        stderr_of(&output, dir.path())
    );
    assert_eq!(output.stdout, fs::read(&raw).unwrap()[..64]);
    let output = Command::new(bin())
        .args(args)
        .arg("/dev/null")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        stderr_of(&output, dir.path())
    );
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn force_through_a_symlink_replaces_the_file_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, flat) = model_dump(dir.path());
    let real = dir.path().join("real");
    fs::write(&real, b"old").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let refused = kdump_flat(&["flatten", path_str(&raw), path_str(&link)]);
    assert_eq!(refused.status.code(), Some(2));
    let output = kdump_flat(&["flatten", path_str(&raw), path_str(&link), "--force"]);
    assert!(
        output.status.success(),
        "{}",
        stderr_of(&output, dir.path())
    );
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&real).unwrap(), fs::read(&flat).unwrap());

    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("missing"), &dangling).unwrap();
    let output = kdump_flat(&["flatten", path_str(&raw), path_str(&dangling), "--force"]);
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(stderr_of(&output, dir.path()));
    assert!(!dir.path().join("missing").exists());
}

// ---- 3. A closed standard output is exit 2; a reader that goes away is a quiet SIGPIPE ----

#[test]
fn a_closed_standard_output_is_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, flat) = model_dump(dir.path());
    let mut text = String::new();
    for args in [
        vec!["read", path_str(&raw), "--offset", "0", "--len", "4096"],
        vec!["flatten", path_str(&raw), "-"],
        vec!["gen", "--seed", "7", "-"],
        vec!["records", path_str(&flat)],
        vec!["join", "--flat", path_str(&raw), path_str(&raw), "-"],
        vec!["info", path_str(&raw)],
    ] {
        // `exec … >&-`: the process starts with descriptor 1 closed.
        let output = Command::new("sh")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" >&-")
            .arg(bin())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        text.push_str(&format!("{}: {}", args[0], stderr_of(&output, dir.path())));
    }
    insta::assert_snapshot!(text);
    // A command that writes no standard output does not care.
    let output = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" >&-")
        .arg(bin())
        .args([
            "reassemble",
            path_str(&flat),
            path_str(&dir.path().join("out")),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        stderr_of(&output, dir.path())
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly_by_sigpipe() {
    let dir = tempfile::tempdir().unwrap();
    // 20,000 one-byte records: a listing far larger than a pipe's buffer.
    let mut stream = kdump_flat::sink::flat_header_bytes().to_vec();
    for offset in 0..20_000i64 {
        stream.extend_from_slice(&offset.to_be_bytes());
        stream.extend_from_slice(&1i64.to_be_bytes());
        stream.push(0x5a);
    }
    stream.extend_from_slice(&[0xff; 16]);
    let flat = dir.path().join("many.flat");
    fs::write(&flat, stream).unwrap();
    let big = dir.path().join("big");
    fs::write(&big, vec![0x5a; 1 << 20]).unwrap();
    for args in [
        vec!["records", path_str(&flat)],
        vec!["read", path_str(&big), "--offset", "0", "--len", "1048576"],
        vec!["flatten", path_str(&big), "-"],
    ] {
        let mut child = Command::new(bin())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 100];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The pipe's read end is closed here, as `| head -c 100` closes it.
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.signal(), Some(libc::SIGPIPE), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{args:?}");
    }
}

// ---- 4. Output names up to NAME_MAX ----

#[test]
fn output_names_of_244_to_255_bytes_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, flat) = model_dump(dir.path());
    for len in [243, 244, 255] {
        let out = dir.path().join("n".repeat(len));
        let output = kdump_flat(&["reassemble", path_str(&flat), path_str(&out)]);
        assert!(
            output.status.success(),
            "{len}: {}",
            stderr_of(&output, dir.path())
        );
        assert_eq!(fs::read(&out).unwrap(), fs::read(&raw).unwrap());
    }
}

// ---- 5. Errors name the path and what was being done ----

fn mount_tmpfs(dir: &Path) {
    let output = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(dir)
        .output()
        .expect("running mount");
    assert!(
        output.status.success(),
        "cannot mount a 1 MiB tmpfs (these tests need root; CI runs as root): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_full_disk_names_the_output_in_every_command() {
    let work = tempfile::tempdir().unwrap();
    let raw = work.path().join("big.raw");
    // 2 MiB of data that does not compress away: more than the 1 MiB disk holds.
    let bytes: Vec<u8> = (0..2u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(&raw, &bytes).unwrap();
    let small = work.path().join("small-disk");
    fs::create_dir(&small).unwrap();
    mount_tmpfs(&small);
    let out = small.join("out");
    let mut text = String::new();
    let cases: Vec<Vec<&str>> = vec![
        vec!["flatten", path_str(&raw), path_str(&out)],
        vec![
            "read",
            path_str(&raw),
            "--offset",
            "0",
            "--len",
            "2097152",
            "-o",
            path_str(&out),
        ],
        vec!["gen", "--seed", "1", "--size", "large", path_str(&out)],
    ];
    let mut left = Vec::new();
    for args in &cases {
        let output = kdump_flat(args);
        left.extend(names_in(&small));
        text.push_str(&format!(
            "{} -> exit {}\n{}",
            args[0],
            output.status.code().unwrap_or(-1),
            stderr_of(&output, work.path())
        ));
    }
    let _ = Command::new("umount").arg(&small).status();
    assert_eq!(left, Vec::<String>::new(), "files left on the full disk");
    let filters = vec![(r"\.out\.[A-Za-z0-9]{6}\.tmp", ".out.XXXXXX.tmp")];
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!(text);
    });
}

#[test]
fn inputs_that_are_not_files_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = dir.path().join("out");
    let d = path_str(dir.path());
    let mut text = String::new();
    for args in [
        vec!["info", path_str(&fifo)],
        vec!["check", path_str(&fifo)],
        vec!["read", path_str(&fifo), "--pfn", "0"],
        vec!["info", "/dev/zero"],
        vec!["from-elf", d, path_str(&out)],
        vec!["from-elf", path_str(&fifo), path_str(&out)],
        vec!["flatten", d, path_str(&out)],
        vec!["reassemble", d, path_str(&out)],
    ] {
        let output = kdump_flat(&args);
        let code = output.status.code().unwrap_or(-1);
        assert_eq!(code, 2, "{args:?}");
        text.push_str(&format!(
            "{} {} -> exit {code}\n{}",
            args[0],
            args[1].replace(d, "$DIR"),
            stderr_of(&output, dir.path())
        ));
    }
    assert_eq!(names_in(dir.path()), vec!["fifo".to_string()]);
    insta::assert_snapshot!(text);
}
