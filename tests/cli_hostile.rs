//! The hostile-input catalogue: inputs built to break each invariant, cut-off real dumps, absurd size and
//! offset fields, a full disk, a read-only target directory, directories and devices as input.
//!
//! Every case asserts the outcome the format definition (docs/FORMATS.md) or the CLI contract (exit 1 for bad
//! input, 2 for I/O, nothing left behind) requires, and snapshots the human-facing error text.
//!
//! Flattened-format invariants already have one breaking input each elsewhere, and are not repeated here:
//! F1–F13, F16 and F17 in `tests/flat_invariants.rs` (`each_invariant_yields_its_specific_error_or_warning`,
//! strict and lenient, snapshotted), F14 in `tests/flat_invariants.rs`
//! (`f14_overlaps_are_reported_with_the_records_overwritten`), F15 (holes read as zero, length =
//! max(offset + size); a property of the reader, no input "breaks" it) in `tests/flat_reassemble.rs` and
//! `tests/flat_index.rs` (proptests against a model). The K1–K18 catalogue is here.

use crate::support::kdump::Synth;

use std::fs;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use kdump_flat::compress::Compression;
use kdump_flat::flat::index::FlatIndex;
use kdump_flat::flat::{reassemble, FlatInvariant, ReadError, ReassembleOptions};
use kdump_flat::kdump::check::{check, CheckReport};
use kdump_flat::kdump::{KInvariant, KdumpFile};
use kdump_flat::readat::ReadAt;

fn real(name: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus/real")
            .join(name),
    )
    .expect(name)
}

fn report_of(bytes: &[u8]) -> CheckReport {
    check(&[&bytes as &dyn ReadAt])
}

fn put_u32(bytes: &mut [u8], at: u64, value: u32) {
    bytes[at as usize..at as usize + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u64(bytes: &mut [u8], at: u64, value: u64) {
    bytes[at as usize..at as usize + 8].copy_from_slice(&value.to_le_bytes());
}

/// One K case: how the valid dump was broken, and the invariant that must be reported.
struct KCase {
    name: &'static str,
    invariant: KInvariant,
    warning: bool,
    files: Vec<Vec<u8>>,
}

/// For each of K1–K18, a small valid 64-bit little-endian x86_64 zlib dump (written by the independent
/// test writer of `tests/support/kdump.rs`) with one field broken, or (K18) an incomplete split set of real
/// makedumpfile files.
fn k_cases() -> Vec<KCase> {
    let mut synth = Synth::x86_64(Compression::Zlib, 64);
    synth.eraseinfo = Some(b"erase modelsym size 4\n".to_vec());
    let built = synth.build();
    let valid = built.bytes.clone();
    assert!(
        report_of(&valid).is_valid(),
        "the unbroken dump must be valid"
    );
    let ps = built.page_size;
    let sub = built.sub_header_offset;
    let descriptor = |k: usize| built.descriptors[k];
    // A compressed page that is not the shared zero page (its data range is its own).
    let zlib_index = built
        .descriptors
        .iter()
        .position(|d| d.4 == 1 && d.3 > 64)
        .expect("a zlib page");
    let (_, zlib_desc_at, zlib_data_at, zlib_size, _) = descriptor(zlib_index);
    let broken = |name, invariant, warning, change: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = valid.clone();
        change(&mut bytes);
        KCase {
            name,
            invariant,
            warning,
            files: vec![bytes],
        }
    };
    use KInvariant::*;
    vec![
        broken("K1 signature \"KDUMQ   \"", K1, false, &|b| {
            b[..8].copy_from_slice(b"KDUMQ   ")
        }),
        broken(
            "K2 block_size 1000 in every word size and byte order",
            K2,
            false,
            &|b| put_u32(b, 428, 1000),
        ),
        broken("K3 header_version -1", K3, false, &|b| {
            put_u32(b, 8, u32::MAX)
        }),
        broken("K4 block_size 6144 (not a power of two)", K4, false, &|b| {
            put_u32(b, 428, 6144)
        }),
        broken("K5 nr_cpus 0", K5, true, &|b| put_u32(b, 460, 0)),
        broken("K6 utsname.machine \"vax\"", K6, true, &|b| {
            b[272..278].copy_from_slice(b"vax\0\0\0")
        }),
        broken("K7 status names zlib and lzo", K7, false, &|b| {
            put_u32(b, 424, 0x3)
        }),
        broken(
            "K8 size_note larger than the sub-header blocks",
            K8,
            false,
            &|b| put_u64(b, sub + 56, 3 * ps),
        ),
        broken("K9 bitmap_blocks 4 instead of 2", K9, false, &|b| {
            put_u32(b, 436, 4)
        }),
        broken(
            "K10 max_mapnr 63 while max_mapnr_64 is 64",
            K10,
            false,
            &|b| put_u32(b, 440, 63),
        ),
        broken(
            "K11 a pfn dumped (bitmap 2) but not in memory (bitmap 1)",
            K11,
            false,
            &|b| {
                // pfn 63: find a pfn absent from bitmap 1, set its bit in bitmap 2 only.
                let absent = (0..64u64)
                    .find(|p| b[(built.bitmap1_offset + p / 8) as usize] & (1 << (p % 8)) == 0)
                    .expect("a pfn not in memory");
                b[(built.bitmap2_offset + absent / 8) as usize] |= 1 << (absent % 8);
            },
        ),
        broken("K12 file cut inside the descriptors", K12, false, &|b| {
            b.truncate(built.descriptors_offset as usize + 30)
        }),
        broken("K13 descriptor flags name zlib and lzo", K13, false, &|b| {
            put_u32(b, zlib_desc_at + 12, 0x3)
        }),
        broken(
            "K14 descriptor offset past the end of the file",
            K14,
            false,
            &|b| {
                let end = b.len() as u64;
                put_u64(b, zlib_desc_at, end + 4096)
            },
        ),
        broken(
            "K15 two descriptors point at the same compressed data",
            K15,
            false,
            &|b| {
                // The next dumped page's descriptor is made a copy of this one's.
                let (_, next_desc_at, _, _, _) = descriptor(zlib_index + 1);
                let copy = b[zlib_desc_at as usize..zlib_desc_at as usize + 24].to_vec();
                b[next_desc_at as usize..next_desc_at as usize + 24].copy_from_slice(&copy);
            },
        ),
        broken("K16 compressed page data overwritten", K16, false, &|b| {
            let start = zlib_data_at as usize + 2;
            for byte in &mut b[start..start + zlib_size as usize - 2] {
                *byte = 0x5a;
            }
        }),
        broken(
            "K17 eraseinfo offset past the end of the file",
            K17,
            false,
            &|b| {
                let end = b.len() as u64;
                put_u64(b, sub + 64, end + 100)
            },
        ),
        KCase {
            name: "K18 split set given without its second part (real makedumpfile --split files)",
            invariant: K18,
            warning: false,
            files: vec![real("fw-mdf-split-d1.1")],
        },
    ]
}

#[test]
fn each_k_invariant_is_reported_when_broken() {
    let mut text = String::new();
    for case in k_cases() {
        let readers: Vec<&dyn ReadAt> = case.files.iter().map(|f| f as &dyn ReadAt).collect();
        let report = check(&readers);
        let found: Vec<String> = if case.warning {
            assert!(
                report.warning_counts.contains_key(&case.invariant),
                "{}: no {} warning in {:?}",
                case.name,
                case.invariant,
                report.warnings
            );
            report
                .warnings
                .iter()
                .filter(|v| v.id == case.invariant)
                .map(|v| v.to_string())
                .collect()
        } else {
            assert!(
                report.has(case.invariant),
                "{}: no {} violation in {:?}",
                case.name,
                case.invariant,
                report.violations
            );
            report
                .violations
                .iter()
                .filter(|v| v.id == case.invariant)
                .map(|v| v.to_string())
                .collect()
        };
        text.push_str(&format!("{}\n", case.name));
        for line in found.iter().take(3) {
            text.push_str(&format!("  {line}\n"));
        }
    }
    insta::assert_snapshot!(text);
}

/// What the library says about `bytes` as a raw dump: the first violation (the check must find one).
fn first_k_violation(bytes: &[u8]) -> Option<KInvariant> {
    let report = report_of(bytes);
    report.violations.first().map(|v| v.id)
}

/// Boundaries worth cutting at: every byte of the first `dense` bytes, every byte within 16 of each of
/// `marks`, and every `stride`-th byte of the rest.
fn cut_points(len: usize, dense: usize, marks: &[u64], stride: usize) -> Vec<usize> {
    let mut points: Vec<usize> = (0..dense.min(len)).collect();
    for &mark in marks {
        let mark = mark as usize;
        points.extend(mark.saturating_sub(16)..(mark + 17).min(len));
    }
    points.extend((dense..len).step_by(stride));
    points.sort_unstable();
    points.dedup();
    points
}

/// Cuts the real raw dump `fw-q10.kdump-raw-zlib` (QEMU 10, 574 KB) at every byte of its first 8 KiB
/// (header, sub-header, notes), at every byte within 16 of each structure boundary (bitmaps, descriptors,
/// page data) and of the first 64 page-data boundaries, and every 4093rd byte elsewhere (every byte of the
/// whole file takes too long in a debug build: each cut runs the full check). Each cut file must fail the
/// check with a K violation; none may panic or hang. Snapshot: how many cuts gave each first violation.
#[test]
fn a_real_raw_dump_cut_anywhere_is_a_clear_error() {
    let bytes = real("fw-q10.kdump-raw-zlib");
    let dump = KdumpFile::open(bytes.as_slice()).expect("the uncut dump opens");
    let mut marks = vec![
        dump.page_size(),
        dump.page_size() * 2,
        dump.descriptors_offset(),
        dump.data_offset(),
        bytes.len() as u64,
    ];
    let (start, end) = dump.pfn_range();
    for pfn in start..end {
        if let Ok(desc) = dump.descriptor(pfn) {
            if marks.len() < 80 {
                marks.push(desc.offset as u64 + desc.size as u64);
            }
        }
    }
    drop(dump);
    let points = cut_points(bytes.len(), 8192, &marks, 4093);
    let mut histogram = std::collections::BTreeMap::<String, u32>::new();
    for &cut in &points {
        let first = first_k_violation(&bytes[..cut]);
        let id = first.unwrap_or_else(|| panic!("cut at {cut} passes the check"));
        *histogram.entry(id.to_string()).or_default() += 1;
    }
    let mut text = format!("{} cuts of {} bytes\n", points.len(), bytes.len());
    for (id, count) in histogram {
        text.push_str(&format!("{id}: {count}\n"));
    }
    insta::assert_snapshot!(text);
}

/// Cuts the real flattened dump `fw-q10.kdump-zlib.flat` at every byte of its header and first record
/// headers (8 KiB), within 16 bytes of every record boundary, and every 4093rd byte elsewhere. Streaming
/// reassembly and the in-place index must both fail with F1 or F7 (the file is cut short); reading the cut
/// file as a kdump dump (`kdump-flat check` path) must fail too.
#[test]
fn a_real_flattened_dump_cut_anywhere_is_a_clear_error() {
    let bytes = real("fw-q10.kdump-zlib.flat");
    let scan =
        kdump_flat::flat::scan_records(bytes.as_slice(), kdump_flat::flat::ParseMode::Strict)
            .expect("the uncut stream is valid");
    let marks: Vec<u64> = scan
        .records
        .iter()
        .flat_map(|r| {
            [
                r.position,
                r.payload_position(),
                r.payload_position() + r.size,
            ]
        })
        .collect();
    let points = cut_points(bytes.len(), 8192, &marks, 4093);
    let mut output = tempfile::tempfile().unwrap();
    let mut histogram = std::collections::BTreeMap::<String, u32>::new();
    for &cut in &points {
        let cut_bytes = &bytes[..cut];
        let streamed = reassemble(cut_bytes, &mut output, ReassembleOptions::default())
            .expect_err("a cut stream reassembles");
        let streamed_id = match &streamed.kind {
            kdump_flat::flat::ReassembleErrorKind::Invalid(e) => e.invariant(),
            other => panic!("cut at {cut}: not a format error: {other}"),
        };
        let indexed_id = match FlatIndex::open(cut_bytes) {
            Err(ReadError::Format(e)) => e.invariant(),
            Err(e) => panic!("cut at {cut}: index I/O error {e}"),
            Ok(_) => panic!("cut at {cut}: the index accepts a cut stream"),
        };
        for id in [streamed_id, indexed_id] {
            assert!(
                matches!(id, FlatInvariant::F1 | FlatInvariant::F7),
                "cut at {cut}: {id}"
            );
        }
        *histogram
            .entry(format!("reassemble {streamed_id}, index {indexed_id}"))
            .or_default() += 1;
    }
    let mut text = format!("{} cuts of {} bytes\n", points.len(), bytes.len());
    for (ids, count) in histogram {
        text.push_str(&format!("{ids}: {count}\n"));
    }
    insta::assert_snapshot!(text);
}

// ---- The CLI on absurd fields, full disks, read-only directories, directories and devices ----

fn bin() -> Command {
    Command::cargo_bin("kdump-flat").expect("the kdump-flat binary")
}

/// Runs the CLI, returns (exit code, stderr with the temporary directory replaced by `$DIR`).
fn run(args: &[&str], dir: &Path) -> (i32, String) {
    let output = bin().args(args).output().expect("running kdump-flat");
    let stderr =
        String::from_utf8_lossy(&output.stderr).replace(&dir.display().to_string(), "$DIR");
    (output.status.code().unwrap_or(-1), stderr)
}

fn flat_stream(records: &[(i64, i64, &[u8])], end: bool) -> Vec<u8> {
    let mut out = kdump_flat::sink::flat_header_bytes().to_vec();
    for (offset, size, payload) in records {
        out.extend_from_slice(&offset.to_be_bytes());
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(payload);
    }
    if end {
        out.extend_from_slice(&[0xff; 16]);
    }
    out
}

fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

/// An expected exit code that depends on the file system holding the output.
const FS_DEPENDENT: i32 = -100;

#[test]
fn absurd_sizes_and_offsets_are_errors_without_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let mut text = String::new();
    // (what, stream, expected exit codes of `reassemble`, `records`, `check`).
    let cases: Vec<(&str, Vec<u8>, [i32; 3])> = vec![
        (
            "size field 2^62, then 16 bytes",
            flat_stream(&[(0, 1 << 62, &[7; 16])], false),
            [1, 1, 1],
        ),
        (
            "offset i64::MAX - 4, size 4 (valid record ending at i64::MAX), after a record at 0",
            flat_stream(&[(0, 4, b"KDUM"), (i64::MAX - 4, 4, b"ABCD")], true),
            // The stream is valid; whether a file that long can exist depends on the file system.
            [FS_DEPENDENT, 0, 1],
        ),
        (
            "offset i64::MAX - 3, size 4 (offset + size overflows)",
            flat_stream(&[(0, 4, b"KDUM"), (i64::MAX - 3, 4, b"ABCD")], true),
            [1, 1, 1],
        ),
        (
            "offset i64::MAX, size i64::MAX",
            flat_stream(&[(i64::MAX, i64::MAX, &[])], true),
            [1, 1, 1],
        ),
        (
            "offset i64::MIN, size 1",
            flat_stream(&[(i64::MIN, 1, b"x")], true),
            [1, 1, 1],
        ),
    ];
    for (name, stream, codes) in cases {
        fs::write(path("in.flat"), &stream).unwrap();
        text.push_str(&format!("== {name}\n"));
        for (expected_code, args) in codes.into_iter().zip([
            vec!["reassemble", "IN", "OUT"],
            vec!["records", "IN"],
            vec!["check", "IN"],
        ]) {
            let args: Vec<String> = args
                .iter()
                .map(|a| match *a {
                    "IN" => path("in.flat"),
                    "OUT" => path("out.raw"),
                    other => other.to_string(),
                })
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, stderr) = run(&args, dir.path());
            if expected_code == FS_DEPENDENT {
                // ext4 refuses a file ending near 2^63 (EFBIG, exit 2, nothing left); XFS and tmpfs hold
                // it sparse (exit 0). Either way no data is written in between.
                let output = dir.path().join("out.raw");
                match code {
                    0 => assert_eq!(fs::metadata(&output).unwrap().len(), i64::MAX as u64),
                    2 => assert!(
                        stderr.contains("cannot write $DIR/out.raw (temporary file"),
                        "{stderr}"
                    ),
                    _ => panic!("{name}: {args:?} exits {code}: {stderr}"),
                }
                let _ = fs::remove_file(output);
                text.push_str(&format!("{} -> exit 0 or 2 (file system)\n", args[0]));
                continue;
            }
            assert_eq!(code, expected_code, "{name}: {args:?}: {stderr}");
            text.push_str(&format!("{} -> exit {code}\n{stderr}", args[0]));
            assert_eq!(
                leftovers(dir.path(), &["in.flat"]),
                Vec::<String>::new(),
                "{name}: {args:?} leaves files behind"
            );
        }
    }
    // The kdump side: a sub-header claiming 2^62 pages, bitmap_blocks at its maximum, a descriptor at
    // an offset near i64::MAX.
    let built = Synth::x86_64(Compression::Zlib, 64).build();
    let mut huge_mapnr = built.bytes.clone();
    put_u64(&mut huge_mapnr, built.sub_header_offset + 96, 1 << 62);
    let mut huge_bitmaps = built.bytes.clone();
    put_u32(&mut huge_bitmaps, 436, u32::MAX - 1);
    put_u32(&mut huge_bitmaps, 440, u32::MAX);
    let mut far_descriptor = built.bytes.clone();
    put_u64(
        &mut far_descriptor,
        built.descriptors[0].1,
        i64::MAX as u64 - 10,
    );
    for (name, bytes) in [
        ("kdump max_mapnr_64 = 2^62", huge_mapnr),
        ("kdump bitmap_blocks 2^32-2, max_mapnr 2^32-1", huge_bitmaps),
        ("kdump descriptor offset i64::MAX - 10", far_descriptor),
    ] {
        let report = report_of(&bytes);
        assert!(!report.is_valid(), "{name}: accepted");
        text.push_str(&format!("== {name}\n"));
        for v in report.violations.iter().take(3) {
            text.push_str(&format!("{v}\n"));
        }
    }
    insta::assert_snapshot!(text);
}

/// A flattened file whose one record is 2 GiB + 16 bytes long, written sparse (the payload is a hole on
/// disk, nothing of its size is ever allocated in memory): the index and `records` read only the headers;
/// the F17 warning names the record.
fn sparse_2gib_record(path: &Path) -> u64 {
    let size: u64 = (1 << 31) + 16;
    let file = fs::File::create(path).unwrap();
    let header = flat_stream(&[(0, size as i64, &[])], false);
    file.write_all_at(&header, 0).unwrap();
    file.write_all_at(&[0xff; 16], header.len() as u64 + size)
        .unwrap();
    size
}

#[test]
fn a_record_over_2_gib_is_read_from_its_header_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.flat");
    let size = sparse_2gib_record(&input);
    let index = FlatIndex::open(fs::File::open(&input).unwrap()).expect("a valid stream");
    assert_eq!(index.len(), size);
    let warnings: Vec<String> = index.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(index.warnings()[0].invariant(), FlatInvariant::F17);
    let mut tail = [1u8; 4];
    index.read_exact_at(size - 4, &mut tail).unwrap();
    assert_eq!(tail, [0; 4]);
    let (code, stderr) = run(&["records", input.to_str().unwrap()], dir.path());
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(format!("{}\n---\n{stderr}", warnings.join("\n")));
}

/// Mounts a 1 MiB tmpfs at `dir` (read-only if asked); `None` with the reason if mounting is not
/// permitted here.
fn mount_tmpfs(dir: &Path, read_only: bool) -> Result<(), String> {
    let options = if read_only { "size=1m,ro" } else { "size=1m" };
    let status = StdCommand::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if status.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&status.stderr).trim().to_string())
    }
}

fn unmount(dir: &Path) {
    let _ = StdCommand::new("umount").arg(dir).status();
}

#[test]
fn a_full_disk_leaves_no_output_behind() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("big.flat");
    sparse_2gib_record(&input);
    let small = work.path().join("small-disk");
    fs::create_dir(&small).unwrap();
    if let Err(reason) = mount_tmpfs(&small, false) {
        println!("SKIPPED: cannot mount a 1 MiB tmpfs ({reason})");
        return;
    }
    let output = small.join("vmcore");
    let result = run(
        &[
            "reassemble",
            input.to_str().unwrap(),
            output.to_str().unwrap(),
        ],
        work.path(),
    );
    let left = leftovers(&small, &[]);
    unmount(&small);
    let (code, stderr) = result;
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(left, Vec::<String>::new(), "files left on the full disk");
    // The message names the temporary file, whose name ends in random characters.
    let filters = vec![(r"\.vmcore\.[A-Za-z0-9]{6}\.tmp", ".vmcore.XXXXXX.tmp")];
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!(stderr);
    });
}

#[test]
fn a_read_only_target_directory_is_an_io_error() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("in.flat");
    fs::write(&input, flat_stream(&[(0, 4, b"KDUM")], true)).unwrap();
    let target = work.path().join("ro");
    fs::create_dir(&target).unwrap();
    // As root, permission bits do not stop writes: use a read-only mount then.
    let is_root = unsafe { libc::geteuid() } == 0;
    let mounted = if is_root {
        if let Err(reason) = mount_tmpfs(&target, true) {
            println!("SKIPPED: running as root and cannot mount a read-only tmpfs ({reason})");
            return;
        }
        true
    } else {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&target, fs::Permissions::from_mode(0o555)).unwrap();
        false
    };
    let output = target.join("vmcore");
    let result = run(
        &[
            "reassemble",
            input.to_str().unwrap(),
            output.to_str().unwrap(),
        ],
        work.path(),
    );
    let left = leftovers(&target, &[]);
    if mounted {
        unmount(&target);
    }
    let (code, stderr) = result;
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(left, Vec::<String>::new());
    // The OS error depends on the mechanism: a read-only mount (as root) or permission bits.
    let filters = vec![
        (r"\.vmcore\.[A-Za-z0-9]+\.tmp", ".vmcore.XXXXXX.tmp"),
        (
            r"Read-only file system \(os error 30\)|Permission denied \(os error 13\)",
            "[not writable]",
        ),
    ];
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!(stderr);
    });
}

#[test]
fn directories_and_devices_as_input_are_clear_errors() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let out = out.to_str().unwrap();
    let dir = work.path().to_str().unwrap();
    let mut text = String::new();
    for input in [dir, "/dev/null", "/dev/zero"] {
        for args in [
            vec!["reassemble", input, out],
            vec!["records", input],
            vec!["check", input],
            vec!["info", input],
        ] {
            let (code, stderr) = run(&args, work.path());
            assert!(code == 1 || code == 2, "{args:?} exits {code}: {stderr}");
            assert_eq!(leftovers(work.path(), &[]), Vec::<String>::new());
            text.push_str(&format!(
                "{} {} -> exit {code}\n{stderr}",
                args[0],
                args[1].replace(dir, "$DIR")
            ));
        }
    }
    insta::assert_snapshot!(text);
}

#[test]
fn a_flattened_stream_from_stdin_cut_short_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut stream = real("fw-q10.kdump-zlib.flat");
    stream.truncate(stream.len() / 2);
    let output = bin()
        .args(["reassemble", "-", out.to_str().unwrap()])
        .write_stdin(stream)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(!out.exists());
    let mut stderr = String::from_utf8_lossy(&output.stderr).to_string();
    stderr = stderr.replace(&dir.path().display().to_string(), "$DIR");
    let _ = std::io::stdout().flush();
    insta::assert_snapshot!(stderr);
}
