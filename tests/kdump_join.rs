//! `kdump::join` (and `kdump-flat join`) against the real tool: the file joined from a `makedumpfile
//! --split` set must be byte-identical to what `makedumpfile --reassemble` makes of it (and to what
//! makedumpfile writes from the same input without `--split`), `check` must call it valid, and every page
//! must read as the set reads it.
//!
//! Sets: the committed corpus set (corpus/real/fw-mdf-split-d1.*, `-d 1 -l`, 2 parts) and sets made at
//! test time by makedumpfile 1.7.2 from QEMU 7.2's firmware ELF (corpus/real/fw-q72.elf.gz, program
//! headers moved as scripts/make-real-dumps.sh does): dump levels 0 and 1, no compression, zlib and lzo,
//! 2 to 5 parts, with and without a small `--splitblock-size` (the default, 1 GiB, puts most pages in the
//! first part). A set with eraseinfo is made by appending a text to each part (makedumpfile writes
//! eraseinfo only with `--config` and kernel debug information). A part without pages that ends inside
//! bitmap 2 (`-d 0` on a small ELF) is joined too, and truncated parts are refused naming the part. Needs
//! makedumpfile (scripts/install-test-tools.sh); the `#[ignore]`d tests need the kernel dumps of
//! scripts/make-real-dumps.sh (KDUMP_REAL_DIR), makedumpfile 1.7.6 (scripts/fetch-extras.sh), or check
//! the fuzz seeds of corpus/join.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use kdump_flat::kdump::check::check;
use kdump_flat::kdump::{join, JoinError, KInvariant, KdumpError, KdumpFile, KdumpSet};
use kdump_flat::readat::ReadAt;
use kdump_flat::sink::{DumpSink, RawSink};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/real")
        .join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs makedumpfile (1.7.2 from PATH, or `program`) with `args`; panics with its output on failure.
fn run_makedumpfile(program: &str, args: &[&std::ffi::OsStr]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} (install it: scripts/install-test-tools.sh): {e}")
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `makedumpfile --reassemble PARTS... OUT`, as bytes.
fn makedumpfile_reassembled(program: &str, parts: &[PathBuf], dir: &Path) -> Vec<u8> {
    let out = dir.join("reassembled-by-makedumpfile");
    let _ = std::fs::remove_file(&out);
    let mut args: Vec<&std::ffi::OsStr> = vec!["--reassemble".as_ref()];
    args.extend(parts.iter().map(|p| p.as_os_str()));
    args.push(out.as_os_str());
    run_makedumpfile(program, &args);
    read(&out)
}

/// Opens `parts` (in the order given) as one set, each file read into memory.
fn open_set(parts: &[Vec<u8>]) -> KdumpSet<Vec<u8>> {
    let files = parts
        .iter()
        .map(|bytes| KdumpFile::open(bytes.clone()).expect("a part opens"))
        .collect();
    KdumpSet::new(files).expect("a complete set")
}

/// Our join of `parts` (given in that order), as bytes.
fn joined(parts: &[Vec<u8>]) -> Vec<u8> {
    let set = open_set(parts);
    let mut sink = RawSink::in_memory();
    let summary = join(&set, &mut sink).expect("join");
    sink.finish().unwrap();
    let bytes = sink.into_bytes();
    assert_eq!(summary.output_len, bytes.len() as u64);
    assert_eq!(summary.parts, parts.len());
    bytes
}

/// `check` calls `bytes` valid, and every pfn reads from it as from the set of `parts`.
fn assert_valid_and_reads_like_the_set(bytes: &[u8], parts: &[Vec<u8>]) {
    let report = check(&[&bytes as &dyn ReadAt]);
    assert!(
        report.is_valid(),
        "check: {:?}",
        report.violations.iter().take(5).collect::<Vec<_>>()
    );
    let set = open_set(parts);
    let joined = KdumpFile::open(bytes).unwrap();
    assert!(!joined.sub_header().unwrap().is_split());
    assert_eq!(joined.max_pfn(), set.max_pfn());
    for pfn in 0..set.max_pfn() {
        assert_eq!(
            joined.read_page(pfn).unwrap(),
            set.read_page(pfn).unwrap(),
            "pfn {pfn:#x}"
        );
    }
}

/// QEMU 7.2's firmware ELF with its program headers moved right behind the ELF header (makedumpfile up
/// to 1.7.x expects them there; QEMU puts section headers there), as scripts/make-real-dumps.sh does.
fn fixed_firmware_elf(dir: &Path) -> PathBuf {
    let mut elf = Vec::new();
    flate2::read::GzDecoder::new(&read(&corpus("fw-q72.elf.gz"))[..])
        .read_to_end(&mut elf)
        .unwrap();
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let phoff = u64_at(&elf, 0x20) as usize;
    let (phentsize, phnum) = (u16_at(&elf, 0x36), u16_at(&elf, 0x38));
    let headers = elf[phoff..phoff + phentsize * phnum].to_vec();
    let first_segment = (0..phnum)
        .map(|i| u64_at(&headers, i * phentsize + 8) as usize)
        .min()
        .unwrap();
    elf[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    elf[0x28..0x30].fill(0); // e_shoff
    elf[0x34..0x36].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    elf[0x3a..0x40].fill(0); // e_shentsize, e_shnum, e_shstrndx
    elf[64..64 + headers.len()].copy_from_slice(&headers);
    elf[64 + headers.len()..first_segment].fill(0);
    let path = dir.join("fw-q72.fixed.elf");
    std::fs::write(&path, elf).unwrap();
    path
}

/// One set made at test time: makedumpfile's options, the number of parts.
struct SetCase {
    name: &'static str,
    options: &'static [&'static str],
    parts: usize,
}

const SET_CASES: &[SetCase] = &[
    SetCase {
        name: "d0-raw-3",
        options: &["-d", "0"],
        parts: 3,
    },
    SetCase {
        name: "d0-zlib-2",
        options: &["-d", "0", "-c"],
        parts: 2,
    },
    SetCase {
        name: "d0-lzo-3-small-blocks",
        options: &["-d", "0", "-l", "--splitblock-size", "128"],
        parts: 3,
    },
    SetCase {
        name: "d1-zlib-3",
        options: &["-d", "1", "-c"],
        parts: 3,
    },
    SetCase {
        name: "d1-raw-4-small-blocks",
        options: &["-d", "1", "--splitblock-size", "64"],
        parts: 4,
    },
    SetCase {
        name: "d1-lzo-5-small-blocks",
        options: &["-d", "1", "-l", "--splitblock-size", "64"],
        parts: 5,
    },
];

/// makedumpfile's split set and its unsplit dump of `elf` with `options`: (part paths, unsplit bytes).
fn make_set(
    program: &str,
    elf: &Path,
    dir: &Path,
    name: &str,
    options: &[&str],
    parts: usize,
) -> (Vec<PathBuf>, Vec<u8>) {
    let single = dir.join(format!("{name}.single"));
    let mut args: Vec<&std::ffi::OsStr> = options.iter().map(|o| o.as_ref()).collect();
    args.push(elf.as_os_str());
    args.push(single.as_os_str());
    run_makedumpfile(program, &args);
    let part_paths: Vec<PathBuf> = (1..=parts)
        .map(|i| dir.join(format!("{name}.{i}")))
        .collect();
    let mut args: Vec<&std::ffi::OsStr> = options.iter().map(|o| o.as_ref()).collect();
    args.push("--split".as_ref());
    args.push(elf.as_os_str());
    args.extend(part_paths.iter().map(|p| p.as_os_str()));
    run_makedumpfile(program, &args);
    (part_paths, read(&single))
}

/// Joins `part_paths` given in reverse order and compares with makedumpfile --reassemble (given in
/// order) and with `unsplit`; returns how many parts hold pages.
fn assert_join_is_makedumpfiles(
    program: &str,
    part_paths: &[PathBuf],
    unsplit: &[u8],
    dir: &Path,
    name: &str,
) -> usize {
    let theirs = makedumpfile_reassembled(program, part_paths, dir);
    assert!(
        theirs == unsplit,
        "{name}: makedumpfile --reassemble differs from its unsplit dump"
    );
    let mut parts: Vec<Vec<u8>> = part_paths.iter().map(|p| read(p)).collect();
    parts.reverse();
    let ours = joined(&parts);
    assert_eq!(ours.len(), theirs.len(), "{name}: length");
    if let Some(at) = ours.iter().zip(&theirs).position(|(a, b)| a != b) {
        panic!("{name}: first difference at byte {at:#x}");
    }
    assert_valid_and_reads_like_the_set(&ours, &parts);
    open_set(&parts)
        .parts()
        .iter()
        .filter(|part| part.descriptor_count() > 0)
        .count()
}

#[test]
fn the_corpus_set_joins_into_makedumpfiles_reassembled_and_unsplit_file() {
    let dir = tempfile::tempdir().unwrap();
    let names = [corpus("fw-mdf-split-d1.1"), corpus("fw-mdf-split-d1.2")];
    let theirs = makedumpfile_reassembled("makedumpfile", &names, dir.path());
    let unsplit = read(&corpus("fw-mdf-lzo-d1"));
    assert!(theirs == unsplit);
    let parts: Vec<Vec<u8>> = names.iter().map(|p| read(p)).collect();
    for order in [[0, 1], [1, 0]] {
        let given: Vec<Vec<u8>> = order.iter().map(|&i| parts[i].clone()).collect();
        assert!(joined(&given) == theirs, "order {order:?}");
    }
    assert_valid_and_reads_like_the_set(&theirs, &parts);
}

#[test]
fn sets_made_by_makedumpfile_at_several_levels_compressions_and_part_counts_join_byte_identically()
{
    let dir = tempfile::tempdir().unwrap();
    let elf = fixed_firmware_elf(dir.path());
    let mut spread_over_several_parts = 0;
    for case in SET_CASES {
        let (part_paths, unsplit) = make_set(
            "makedumpfile",
            &elf,
            dir.path(),
            case.name,
            case.options,
            case.parts,
        );
        let with_pages = assert_join_is_makedumpfiles(
            "makedumpfile",
            &part_paths,
            &unsplit,
            dir.path(),
            case.name,
        );
        if with_pages >= 3 {
            spread_over_several_parts += 1;
        }
        for path in part_paths {
            std::fs::remove_file(path).unwrap();
        }
    }
    assert!(
        spread_over_several_parts >= 2,
        "the small split blocks must spread the pages over at least three parts"
    );
}

#[test]
fn a_part_without_pages_that_ends_inside_bitmap_2_joins_byte_identically() {
    // -d 0 on the small ELF (0xc4 pfns: bitmaps of one block each, 25 bytes of them meaningful) with the
    // default split block (1 GiB): every page goes into the first part, and the second, written in cyclic
    // mode, ends right after the meaningful bytes of bitmap 2.
    let dir = tempfile::tempdir().unwrap();
    let elf = tiny_firmware_elf(dir.path());
    let (paths, unsplit) = make_set(
        "makedumpfile",
        &elf,
        dir.path(),
        "short",
        &["-d", "0", "-l"],
        2,
    );
    let second = read(&paths[1]);
    assert!(
        second.len() < 4 * 4096,
        "the second part ({} bytes) ends inside its bitmaps",
        second.len()
    );
    assert_join_is_makedumpfiles("makedumpfile", &paths, &unsplit, dir.path(), "short");
}

/// Appends an eraseinfo text to each part and points its sub-header at it (64-bit little-endian layout:
/// offset_eraseinfo at block_size + 64, size_eraseinfo at + 72).
fn with_eraseinfo(parts: &[Vec<u8>]) -> Vec<Vec<u8>> {
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let mut bytes = part.clone();
            let text = format!("erase part{i}_symbol size {}\n", 8 * (i + 1)).repeat(i + 1);
            let offset = bytes.len() as u64;
            bytes[4096 + 64..4096 + 72].copy_from_slice(&offset.to_le_bytes());
            bytes[4096 + 72..4096 + 80].copy_from_slice(&(text.len() as u64).to_le_bytes());
            bytes.extend_from_slice(text.as_bytes());
            bytes
        })
        .collect()
}

#[test]
fn eraseinfo_of_every_part_is_concatenated_in_pfn_order_as_makedumpfile_does() {
    let dir = tempfile::tempdir().unwrap();
    let elf = fixed_firmware_elf(dir.path());
    let (paths, _) = make_set(
        "makedumpfile",
        &elf,
        dir.path(),
        "erase",
        &["-d", "1", "-l", "--splitblock-size", "64"],
        3,
    );
    let parts = with_eraseinfo(&paths.iter().map(|p| read(p)).collect::<Vec<_>>());
    for (path, bytes) in paths.iter().zip(&parts) {
        std::fs::write(path, bytes).unwrap();
    }
    let theirs = makedumpfile_reassembled("makedumpfile", &paths, dir.path());
    let ours = joined(&parts);
    assert!(ours == theirs, "parts given in pfn order");
    let reversed: Vec<Vec<u8>> = parts.iter().rev().cloned().collect();
    assert!(
        joined(&reversed) == theirs,
        "ours does not depend on the order"
    );
    let dump = KdumpFile::open(&ours[..]).unwrap();
    let text = String::from_utf8(dump.eraseinfo().unwrap().unwrap()).unwrap();
    assert_eq!(
        text,
        "erase part0_symbol size 8\n\
         erase part1_symbol size 16\nerase part1_symbol size 16\n\
         erase part2_symbol size 24\nerase part2_symbol size 24\nerase part2_symbol size 24\n"
    );
    assert!(check(&[&&ours[..] as &dyn ReadAt]).is_valid());
    // makedumpfile 1.7.2 pairs the eraseinfo offset and size of the i-th file given with the i-th file in
    // pfn order: given out of order, it reads past the end of a part and fails (found here).
    let out = dir.path().join("out-of-order");
    let status = Command::new("makedumpfile")
        .arg("--reassemble")
        .args([&paths[2], &paths[0], &paths[1]])
        .arg(&out)
        .output()
        .unwrap();
    let same = status.status.success() && read(&out) == ours;
    assert!(!same, "makedumpfile now handles eraseinfo of parts given out of order: update the docs of kdump::join");
}

#[test]
fn an_incomplete_mixed_or_unsplit_set_is_refused() {
    let part1 = read(&corpus("fw-mdf-split-d1.1"));
    let part2 = read(&corpus("fw-mdf-split-d1.2"));
    let unsplit = read(&corpus("fw-mdf-lzo-d1"));
    let join_error = |files: Vec<Vec<u8>>| {
        let set = KdumpSet::new(
            files
                .into_iter()
                .map(|bytes| KdumpFile::open(bytes).unwrap())
                .collect(),
        )?;
        let mut sink = RawSink::in_memory();
        match join(&set, &mut sink) {
            Err(JoinError::Part { error, .. }) => Err(error),
            Err(JoinError::Write(e)) => panic!("write error {e}"),
            Ok(_) => panic!("joined"),
        }
    };
    let k18 = |result: Result<(), KdumpError>| {
        let error = result.unwrap_err();
        assert_eq!(error.invariant(), Some(KInvariant::K18), "{error}");
        error.to_string()
    };
    insta::assert_snapshot!("join_lone_part", k18(join_error(vec![part1.clone()])));
    insta::assert_snapshot!("join_unsplit_file", k18(join_error(vec![unsplit])));
    insta::assert_snapshot!(
        "join_part_twice",
        k18(join_error(vec![part1.clone(), part1.clone()]))
    );
    // parts that agree on the header but not on the bitmaps
    let mut other_bitmap = part2.clone();
    other_bitmap[0x2000 + 5] ^= 0x10;
    insta::assert_snapshot!(
        "join_bitmaps_differ",
        k18(join_error(vec![part1.clone(), other_bitmap]))
    );
    // a different dump level
    let mut other_level = part2.clone();
    other_level[4096 + 8] = 31;
    insta::assert_snapshot!(
        "join_dump_level_differs",
        k18(join_error(vec![part1, other_level]))
    );
}

#[test]
#[ignore = "needs the kernel dumps of scripts/make-real-dumps.sh (KDUMP_REAL_DIR/lk.fixed.elf)"]
fn kernel_sets_at_dump_level_31_join_byte_identically() {
    let elf = PathBuf::from(std::env::var_os("KDUMP_REAL_DIR").expect(
        "set KDUMP_REAL_DIR to the output directory of scripts/make-real-dumps.sh (kernel part)",
    ))
    .join("lk.fixed.elf");
    let dir = tempfile::tempdir().unwrap();
    for (name, options, parts) in [
        (
            "k31-lzo-3",
            &["-d", "31", "-l", "--splitblock-size", "1024"][..],
            3,
        ),
        (
            "k31-zlib-4",
            &["-d", "31", "-c", "--splitblock-size", "2048"][..],
            4,
        ),
        ("k31-lzo-default", &["-d", "31", "-l"][..], 2),
    ] {
        let (paths, unsplit) = make_set("makedumpfile", &elf, dir.path(), name, options, parts);
        assert_join_is_makedumpfiles("makedumpfile", &paths, &unsplit, dir.path(), name);
    }
}

#[test]
#[ignore = "needs makedumpfile 1.7.6 from scripts/fetch-extras.sh (zstd)"]
fn zstd_sets_of_makedumpfile_1_7_6_join_byte_identically() {
    let oracles = std::env::var("ORACLES_DIR").unwrap_or_else(|_| "/tmp/kdump-oracles".into());
    let program = format!("{oracles}/mdf176/usr/bin/makedumpfile");
    let dir = tempfile::tempdir().unwrap();
    let elf = fixed_firmware_elf(dir.path());
    let (paths, unsplit) = make_set(
        &program,
        &elf,
        dir.path(),
        "zstd",
        &["-d", "1", "-z", "--splitblock-size", "64"],
        3,
    );
    assert_join_is_makedumpfiles(&program, &paths, &unsplit, dir.path(), "zstd");
}

/// A small ELF for the fuzz seeds: the fixed firmware ELF cut to its notes, the first 640 KiB of RAM
/// (zeros) and the first 16 KiB of the VGA BIOS (0xc0000), so that makedumpfile's parts are a few KiB.
fn tiny_firmware_elf(dir: &Path) -> PathBuf {
    let mut elf = read(&fixed_firmware_elf(dir));
    let header_at = |i: usize| 64 + i * 56;
    let vga = header_at(2);
    let vga_offset = u64::from_le_bytes(elf[vga + 8..vga + 16].try_into().unwrap()) as usize;
    let kept: u64 = 0x4000;
    elf[vga + 32..vga + 40].copy_from_slice(&kept.to_le_bytes()); // p_filesz
    elf[vga + 40..vga + 48].copy_from_slice(&kept.to_le_bytes()); // p_memsz
    elf[0x38..0x3a].copy_from_slice(&3u16.to_le_bytes()); // e_phnum: NOTE and two PT_LOADs
    elf.truncate(vga_offset + kept as usize);
    let path = dir.join("tiny.elf");
    std::fs::write(&path, elf).unwrap();
    path
}

/// The seeds of the fuzz target `join` (corpus/join/): small split sets by makedumpfile, encoded by
/// `kdump_flat::fuzzing::join::encode_parts`. Checks that the committed seeds are what makedumpfile makes
/// today (its output is deterministic); with KDUMP_WRITE_SEEDS=1 writes them instead (run by hand when the
/// generator changes; the output is committed).
#[test]
#[ignore = "regenerates the fuzz seeds of corpus/join (KDUMP_WRITE_SEEDS=1 writes them)"]
fn join_seed_corpus_regenerates() {
    let write = std::env::var_os("KDUMP_WRITE_SEEDS").is_some();
    let dir = tempfile::tempdir().unwrap();
    let elf = tiny_firmware_elf(dir.path());
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/join");
    for (name, options, parts) in [
        (
            "tiny-d1-lzo-3",
            &["-d", "1", "-l", "--splitblock-size", "64"][..],
            3,
        ),
        (
            "tiny-d0-zlib-2",
            &["-d", "0", "-c", "--splitblock-size", "256"][..],
            2,
        ),
        (
            "tiny-d1-raw-4",
            &["-d", "1", "--splitblock-size", "64"][..],
            4,
        ),
    ] {
        let (paths, _) = make_set("makedumpfile", &elf, dir.path(), name, options, parts);
        let bytes: Vec<Vec<u8>> = paths.iter().map(|p| read(p)).collect();
        let slices: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
        let seed = kdump_flat::fuzzing::join::encode_parts(&slices);
        assert!(seed.len() < 128 << 10, "{name}: {} bytes", seed.len());
        if write {
            std::fs::create_dir_all(&out).unwrap();
            std::fs::write(out.join(name), seed).unwrap();
        } else {
            assert!(read(&out.join(name)) == seed, "corpus/join/{name} differs");
        }
    }
}

/// Hostile input: every part of the corpus set cut short at many lengths. Each cut is refused with an
/// input error (at open, by the set's K18 checks, or by the join naming the cut part), never a panic,
/// and never a joined file.
#[test]
fn a_truncated_part_is_an_input_error_naming_it() {
    let parts = [
        read(&corpus("fw-mdf-split-d1.1")),
        read(&corpus("fw-mdf-split-d1.2")),
    ];
    let mut refused_by_join = 0;
    for victim in 0..parts.len() {
        let len = parts[victim].len();
        let cuts = (0..len)
            .step_by(1021)
            .chain([len - 1, len - 4096, 0x42000, 0x42001]);
        for cut in cuts {
            let mut given = parts.to_vec();
            given[victim].truncate(cut);
            let files: Result<Vec<_>, _> = given.into_iter().map(KdumpFile::open).collect();
            let files = match files {
                Ok(files) => files,
                Err(e) => {
                    assert!(e.is_invalid_input(), "cut {cut}: {e}");
                    continue;
                }
            };
            let set = match KdumpSet::new(files) {
                Ok(set) => set,
                Err(e) => {
                    assert!(e.is_invalid_input(), "cut {cut}: {e}");
                    continue;
                }
            };
            match join(&set, &mut RawSink::in_memory()) {
                Err(JoinError::Part { part, error }) => {
                    assert_eq!(set.given_index(part), victim, "cut {cut}: {error}");
                    assert!(error.is_invalid_input(), "cut {cut}: {error}");
                    refused_by_join += 1;
                }
                other => panic!("part {victim} cut at {cut}: {other:?}"),
            }
        }
    }
    assert!(
        refused_by_join > 100,
        "{refused_by_join} cuts reached the join"
    );
}
