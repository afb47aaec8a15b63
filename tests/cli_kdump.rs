//! The `check`, `info` and `read` subcommands: output under insta snapshots, exit codes, output files.

use crate::support::cli::{corpus, run, stderr, stdout};
use crate::support::kdump::{Page, Synth};

use assert_cmd::Command;
use kdump_flat::compress::Compression;
use kdump_flat::kdump::{KdumpFile, PageContent};

#[test]
fn info_on_real_dumps() {
    for name in [
        "fw-q10.kdump-raw-zlib",
        "fw-mdf-lzo-d1",
        "fw-mdf-split-d1.1",
        "mdf-split-d31.2",
    ] {
        let output = run(&corpus(), &["info", name]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        insta::assert_snapshot!(format!("info_{name}"), stdout(&output));
    }
}

#[test]
fn info_json_on_a_dump_with_vmcoreinfo() {
    let output = run(&corpus(), &["info", "mdf-split-d31.2", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["osrelease"], "6.1.0-56-cloud-amd64");
    assert_eq!(value["vmcoreinfo_page_size"], 4096);
    insta::assert_json_snapshot!(value);
}

/// `info` on the two files of a real `makedumpfile --split` set, given in reverse order: the parts in pfn
/// order, and page counts for the whole set equal to those of makedumpfile's own dump of the same ELF
/// without --split (fw-mdf-lzo-d1, which `makedumpfile --reassemble` of this set reproduces byte for byte).
#[test]
fn info_on_a_split_set() {
    let set = run(
        &corpus(),
        &["info", "fw-mdf-split-d1.2", "fw-mdf-split-d1.1"],
    );
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    insta::assert_snapshot!("info_split_set_fw-mdf-split-d1", stdout(&set));

    let json = |args: &[&str]| -> serde_json::Value {
        let output = run(&corpus(), args);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let set = json(&["info", "fw-mdf-split-d1.2", "fw-mdf-split-d1.1", "--json"]);
    let whole = json(&["info", "fw-mdf-lzo-d1", "--json"]);
    assert_eq!(set["pages"], whole["pages"]);
    let files: Vec<&str> = set["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["fw-mdf-split-d1.1", "fw-mdf-split-d1.2"]);
    assert_eq!(
        set["parts"][1]["pfn_range"],
        serde_json::json!([0x40000, 0x100000])
    );
}

#[test]
fn info_refuses_files_that_are_not_one_set() {
    for (name, args, code) in [
        (
            "parts_of_two_dumps",
            &["info", "fw-mdf-split-d1.1", "mdf-split-d31.2"][..],
            1,
        ),
        (
            "part_and_unsplit_dump",
            &["info", "fw-mdf-split-d1.1", "fw-mdf-lzo-d1"],
            1,
        ),
        ("stdin_in_a_set", &["info", "fw-mdf-split-d1.1", "-"], 2),
    ] {
        let output = run(&corpus(), args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            stderr(&output)
        );
        insta::assert_snapshot!(format!("info_set_refused_{name}"), stderr(&output));
    }
}

#[test]
fn check_on_real_dumps_and_split_sets() {
    for args in [
        &["check", "fw-q10.kdump-raw-zlib"][..],
        &["check", "fw-mdf-lzo-d1"],
        &["check", "fw-mdf-split-d1.1", "fw-mdf-split-d1.2"],
    ] {
        let output = run(&corpus(), args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stdout(&output)
        );
    }
    // One part alone: readers read it (the other part's pfns are not in the dump), makedumpfile would
    // not reassemble it: a K18 deviation, which --strict rejects.
    let output = run(&corpus(), &["check", "fw-mdf-split-d1.2"]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("check_one_part_of_a_split_set", stdout(&output));
    let strict = run(&corpus(), &["check", "--strict", "fw-mdf-split-d1.2"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn check_reports_every_violation_with_offset_and_pfn() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(corpus().join("fw-mdf-lzo-d1")).unwrap();
    // Descriptor 5 (pfn 5): two compression flags (K13). Bitmap 1 bit of pfn 3 cleared (K11).
    let desc5 = 0x42000 + 5 * 24;
    bytes[desc5 + 12..desc5 + 16].copy_from_slice(&3u32.to_le_bytes());
    bytes[0x2000] &= !(1 << 3);
    std::fs::write(dir.path().join("broken"), &bytes).unwrap();
    let output = run(dir.path(), &["check", "broken"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("check_broken_text", stdout(&output));
    let output = run(dir.path(), &["check", "broken", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["valid"], false);
    insta::assert_json_snapshot!("check_broken_json", value["report"]["violations"]);
}

#[test]
fn usage_and_io_errors_exit_2_invalid_input_exits_1() {
    let output = run(&corpus(), &["check", "no-such-file"]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&corpus(), &["check"]);
    assert_eq!(output.status.code(), Some(2), "no file is a usage error");
    let output = run(&corpus(), &["info", "README.md"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("info_not_a_dump", stderr(&output));
    let output = run(&corpus(), &["read", "fw-mdf-lzo-d1"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "read needs --pfn, --phys or --offset"
    );
}

#[test]
fn read_pages_addresses_and_file_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let synth = Synth::x86_64(Compression::Zstd, 64);
    let built = synth.build();
    std::fs::write(dir.path().join("dump"), &built.bytes).unwrap();
    let dump = KdumpFile::open(built.bytes.as_slice()).unwrap();
    let dumped: Vec<u64> = (0..64)
        .filter(|p| matches!(synth.pages.get(p), Some(Page::Dumped(_))))
        .collect();
    // --pfn: one whole page, as the model says.
    let pfn = dumped[3];
    let output = run(dir.path(), &["read", "dump", "--pfn", &pfn.to_string()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let Some(Page::Dumped(expected)) = synth.pages.get(&pfn) else {
        unreachable!()
    };
    assert_eq!(&output.stdout, expected);
    // --phys across a page boundary, hexadecimal arguments.
    let pair = dumped.windows(2).find(|w| w[1] == w[0] + 1).unwrap()[0];
    let addr = pair * 4096 + 4000;
    let output = run(
        dir.path(),
        &[
            "read",
            "dump",
            "--phys",
            &format!("{addr:#x}"),
            "--len",
            "0x200",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let mut expected = vec![0u8; 0x200];
    dump.read_phys(addr, &mut expected, false).unwrap();
    assert_eq!(output.stdout, expected);
    // An excluded page fails unless zeros are asked for.
    let excluded = (0..64)
        .find(|p| matches!(synth.pages.get(p), Some(Page::Excluded)))
        .unwrap();
    let output = run(
        dir.path(),
        &["read", "dump", "--pfn", &excluded.to_string()],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(
        "read_excluded_page",
        stderr(&output).replace(&format!("{excluded:#x}"), "PFN")
    );
    let output = run(
        dir.path(),
        &[
            "read",
            "dump",
            "--pfn",
            &excluded.to_string(),
            "--zero-excluded",
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(output.stdout, vec![0u8; 4096]);
    assert_eq!(dump.read_page(excluded).unwrap(), PageContent::Excluded);
    // --offset: bytes of the file; -o writes a file, refuses to overwrite without --force.
    let output = run(
        dir.path(),
        &[
            "read", "dump", "--offset", "0", "--len", "464", "-o", "header",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(dir.path().join("header")).unwrap(),
        &built.bytes[..464]
    );
    let output = run(
        dir.path(),
        &[
            "read", "dump", "--offset", "8", "--len", "8", "-o", "header",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let output = run(
        dir.path(),
        &[
            "read", "dump", "--offset", "8", "--len", "8", "-o", "header", "--force",
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        std::fs::read(dir.path().join("header")).unwrap(),
        &built.bytes[8..16]
    );
    let too_far = (built.bytes.len() - 4).to_string();
    let output = run(
        dir.path(),
        &["read", "dump", "--offset", &too_far, "--len", "8"],
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn flattened_files_are_checked_and_read_in_place() {
    for (flat, raw) in [
        ("fw-q10.kdump-zlib.flat", "fw-q10.kdump-raw-zlib"),
        ("fw-mdf-lzo-d1.flat", "fw-mdf-lzo-d1"),
    ] {
        let output = run(&corpus(), &["check", flat]);
        assert_eq!(output.status.code(), Some(0), "{flat}: {}", stdout(&output));
        let raw_bytes = std::fs::read(corpus().join(raw)).unwrap();
        let dump = KdumpFile::open(raw_bytes.as_slice()).unwrap();
        // Pages with data in the raw file: the first few and the last.
        let mut pfns: Vec<u64> = (0..dump.max_pfn())
            .filter(|&p| matches!(dump.read_page(p), Ok(PageContent::Data(_))))
            .take(3)
            .collect();
        pfns.push(dump.max_pfn() - 1);
        for pfn in pfns {
            let output = run(&corpus(), &["read", flat, "--pfn", &format!("{pfn:#x}")]);
            assert_eq!(output.status.code(), Some(0), "{flat} {pfn:#x}");
            let PageContent::Data(expected) = dump.read_page(pfn).unwrap() else {
                panic!("{raw} pfn {pfn:#x} has no data")
            };
            assert_eq!(output.stdout, expected, "{flat} pfn {pfn:#x}");
        }
        let len = raw_bytes.len().to_string();
        let output = run(&corpus(), &["read", flat, "--offset", "0", "--len", &len]);
        assert_eq!(output.status.code(), Some(0));
        assert!(
            output.stdout == raw_bytes,
            "{flat}: reassembled bytes differ from {raw}"
        );
    }
}

#[test]
fn standard_input_is_accepted_as_dash() {
    let flat = std::fs::read(corpus().join("fw-mdf-lzo-d1.flat")).unwrap();
    let output = Command::cargo_bin("kdump-flat")
        .unwrap()
        .args(["check", "-"])
        .write_stdin(flat.clone())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let output = Command::cargo_bin("kdump-flat")
        .unwrap()
        .args(["read", "-", "--pfn", "0"])
        .write_stdin(flat)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let raw = std::fs::read(corpus().join("fw-mdf-lzo-d1")).unwrap();
    let dump = KdumpFile::open(raw.as_slice()).unwrap();
    assert_eq!(PageContent::Data(output.stdout), dump.read_page(0).unwrap());
}
