//! `kdump-flat diff`: text under insta snapshots on real corpus pairs and on edited copies of a real dump
//! (a header byte, a descriptor, a page changed), the JSON shape, and the exit status (0 same, 1
//! different, 2 trouble naming the side and what check found).

use crate::support::cli::{corpus, run, stderr, stdout};
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use kdump_flat::kdump::walk::{
    is_zero_page_reference, shared_zero_page, walk_descriptors, DescriptorEntry,
};
use kdump_flat::kdump::KdumpFile;

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(output)))
}

/// Every descriptor of a raw kdump file, and its shared zero page's offset.
fn descriptors(bytes: &[u8]) -> (Vec<DescriptorEntry>, Option<u64>) {
    let dump = KdumpFile::open(bytes).unwrap();
    let mut all = Vec::new();
    walk_descriptors(&dump, |entries| {
        all.extend_from_slice(entries);
        Ok(())
    })
    .unwrap();
    (all, shared_zero_page(&dump).unwrap())
}

/// A copy of corpus file `name` with `edit` applied, written as `copy` in `dir`.
fn edited_copy(dir: &Path, name: &str, copy: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(corpus().join(name)).unwrap();
    edit(&mut bytes);
    std::fs::write(dir.join(copy), bytes).unwrap();
    std::fs::copy(corpus().join(name), dir.join(name)).unwrap();
}

#[test]
fn qemu_flattened_and_raw_of_one_state_are_the_same_bytes() {
    let output = run(
        &corpus(),
        &["diff", "fw-q10.kdump-zlib.flat", "fw-q10.kdump-raw-zlib"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("diff_qemu10_flat_vs_raw", stdout(&output));
    let output = run(
        &corpus(),
        &[
            "diff",
            "fw-q10.kdump-zlib.flat",
            "fw-q10.kdump-raw-zlib",
            "--json",
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    let value = json(&output);
    assert_eq!(value["same_bytes"], true);
    assert_eq!(value["same_memory"], true);
    assert_eq!(value["differences"], serde_json::json!([]));
    assert_eq!(value["summary"]["pfns_compared"], 4128);
}

#[test]
fn qemu_and_makedumpfile_of_one_state_differ_in_encoding_not_memory() {
    let output = run(
        &corpus(),
        &["diff", "fw-q72.kdump-zlib.flat", "fw-mdf-lzo-d1"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("diff_qemu72_vs_makedumpfile", stdout(&output));
    let output = run(
        &corpus(),
        &["diff", "fw-q72.kdump-zlib.flat", "fw-mdf-lzo-d1", "--json"],
    );
    let value = json(&output);
    assert_eq!(value["same_bytes"], false);
    assert_eq!(value["same_memory"], true);
    assert_eq!(value["summary"]["pfns_differing"], 0);
    // every descriptor range decodes to the same pages: zlib (QEMU) against lzo (makedumpfile)
    let differences = value["differences"].as_array().unwrap();
    let status = differences
        .iter()
        .find(|d| d["structure"] == "header" && d["field"] == "status")
        .unwrap();
    assert_eq!((&status["a"], &status["b"]), (&1.into(), &2.into()));
    // --memory: nothing differs (exit 0)
    let output = run(
        &corpus(),
        &[
            "diff",
            "--memory",
            "fw-q72.kdump-zlib.flat",
            "fw-mdf-lzo-d1",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn qemu_7_2_and_10_of_the_firmware_guest() {
    let output = run(
        &corpus(),
        &["diff", "fw-q72.kdump-zlib.flat", "fw-q10.kdump-zlib.flat"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("diff_qemu72_vs_qemu10", stdout(&output));
}

#[test]
fn a_header_byte_changed() {
    let dir = tempfile::tempdir().unwrap();
    // nr_cpus (i32 at 460 in a 64-bit header): 1 -> 2
    edited_copy(
        dir.path(),
        "fw-q10.kdump-raw-zlib",
        "header-edited",
        |bytes| bytes[460] = 2,
    );
    let output = run(
        dir.path(),
        &["diff", "fw-q10.kdump-raw-zlib", "header-edited"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("diff_header_byte_changed", stdout(&output));
    let value = json(&run(
        dir.path(),
        &["diff", "fw-q10.kdump-raw-zlib", "header-edited", "--json"],
    ));
    assert_eq!(
        value["differences"],
        serde_json::json!([{"structure": "header", "field": "nr_cpus", "a": 1, "b": 2}])
    );
    assert_eq!(value["first_byte_difference"]["offset"], 460);
    assert_eq!(value["same_memory"], true);
}

#[test]
fn a_utsname_byte_after_its_nul_is_named_as_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // utsname.release (field 2, at 12 + 2*65) byte 10: after the NUL of an empty string
    edited_copy(
        dir.path(),
        "fw-q10.kdump-raw-zlib",
        "padding-edited",
        |bytes| bytes[12 + 2 * 65 + 10] = b'x',
    );
    let output = run(
        dir.path(),
        &["diff", "fw-q10.kdump-raw-zlib", "padding-edited", "--json"],
    );
    assert_eq!(output.status.code(), Some(1));
    let value = json(&output);
    let differences = value["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 1, "{differences:?}");
    assert_eq!(differences[0]["structure"], "header");
    assert_eq!(differences[0]["field"], "bytes");
    assert!(differences[0]["detail"]
        .as_str()
        .unwrap()
        .contains("utsname.release byte 10"));
}

#[test]
fn a_descriptor_changed() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(corpus().join("fw-q10.kdump-raw-zlib")).unwrap();
    let (entries, zero_page) = descriptors(&bytes);
    let stored: Vec<&DescriptorEntry> = entries
        .iter()
        .filter(|e| !is_zero_page_reference(&e.desc, zero_page, 4096))
        .collect();
    // the first stored page's descriptor now points at the second stored page's data
    let (first, second) = (stored[0], stored[1]);
    edited_copy(
        dir.path(),
        "fw-q10.kdump-raw-zlib",
        "descriptor-edited",
        |bytes| {
            let at = first.desc_offset as usize;
            let second_at = second.desc_offset as usize;
            let replacement = bytes[second_at..second_at + 12].to_vec();
            bytes[at..at + 12].copy_from_slice(&replacement);
        },
    );
    let output = run(
        dir.path(),
        &["diff", "fw-q10.kdump-raw-zlib", "descriptor-edited"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("diff_descriptor_changed", stdout(&output));
    let value = json(&run(
        dir.path(),
        &[
            "diff",
            "fw-q10.kdump-raw-zlib",
            "descriptor-edited",
            "--json",
        ],
    ));
    let pfn = first.pfn;
    let structures: Vec<(&str, &serde_json::Value)> = value["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["structure"].as_str().unwrap(), &d["pfns"]))
        .collect();
    assert_eq!(
        structures,
        [
            ("descriptor", &serde_json::json!([pfn, pfn])),
            ("page", &serde_json::json!([pfn, pfn]))
        ]
    );
    assert_eq!(value["summary"]["pfns_differing"], 1);
}

#[test]
fn a_page_changed() {
    let dir = tempfile::tempdir().unwrap();
    // fw-mdf-lzo-d1 has one page stored raw: a byte of it changed is a content difference
    let bytes = std::fs::read(corpus().join("fw-mdf-lzo-d1")).unwrap();
    let (entries, zero_page) = descriptors(&bytes);
    let raw = entries
        .iter()
        .find(|e| e.desc.flags == 0 && !is_zero_page_reference(&e.desc, zero_page, 4096))
        .expect("fw-mdf-lzo-d1 has a raw page");
    edited_copy(dir.path(), "fw-mdf-lzo-d1", "page-edited", |bytes| {
        bytes[raw.desc.offset as usize + 100] ^= 0xff;
    });
    let output = run(dir.path(), &["diff", "fw-mdf-lzo-d1", "page-edited"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("diff_page_changed", stdout(&output));
    let value = json(&run(
        dir.path(),
        &["diff", "fw-mdf-lzo-d1", "page-edited", "--json"],
    ));
    let page = &value["differences"][0];
    assert_eq!(page["structure"], "page");
    assert_eq!(page["field"], "content");
    assert_eq!(page["pfns"], serde_json::json!([raw.pfn, raw.pfn]));
    assert_eq!(value["differences"].as_array().unwrap().len(), 1);
    assert_eq!(value["summary"]["pfns_differing"], 1);
    assert_eq!(value["same_memory"], false);
}

#[test]
fn a_damaged_compressed_page_is_a_named_difference() {
    let dir = tempfile::tempdir().unwrap();
    // a byte in the middle of a zlib stream (zlib checks an adler32): the page no longer decodes
    let bytes = std::fs::read(corpus().join("fw-q10.kdump-raw-zlib")).unwrap();
    let (entries, _) = descriptors(&bytes);
    let compressed = entries.iter().find(|e| e.desc.flags != 0).unwrap();
    edited_copy(
        dir.path(),
        "fw-q10.kdump-raw-zlib",
        "zlib-edited",
        |bytes| {
            bytes[compressed.desc.offset as usize + compressed.desc.size as usize / 2] ^= 0x55;
        },
    );
    let output = run(
        dir.path(),
        &["diff", "fw-q10.kdump-raw-zlib", "zlib-edited"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("diff_compressed_page_damaged", stdout(&output));
    let value = json(&run(
        dir.path(),
        &["diff", "fw-q10.kdump-raw-zlib", "zlib-edited", "--json"],
    ));
    let page = &value["differences"][0];
    assert_eq!(page["field"], "undecodable");
    assert_eq!(
        page["pfns"],
        serde_json::json!([compressed.pfn, compressed.pfn])
    );
    assert_eq!(page["a"], "decoded");
    assert!(page["b"].as_str().unwrap().starts_with("K16"), "{page}");
}

#[test]
fn the_json_shape() {
    let output = run(
        &corpus(),
        &[
            "diff",
            "fw-q72.kdump-zlib.flat",
            "fw-q10.kdump-raw-zlib",
            "--json",
            "--limit",
            "1",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let value = json(&output);
    for key in ["same_bytes", "same_memory", "summary", "differences"] {
        assert!(value.get(key).is_some(), "no {key}");
    }
    for key in ["pfns_compared", "pfns_differing", "only_in_a", "only_in_b"] {
        assert!(value["summary"][key].is_u64(), "summary.{key}");
    }
    let allowed = [
        "file",
        "header",
        "sub_header",
        "note",
        "vmcoreinfo",
        "bitmap",
        "descriptor",
        "page",
        "eraseinfo",
    ];
    for d in value["differences"].as_array().unwrap() {
        assert!(allowed.contains(&d["structure"].as_str().unwrap()), "{d}");
        assert!(d["field"].is_string() && d.get("a").is_some() && d.get("b").is_some());
        if let Some(pfns) = d.get("pfns") {
            let pfns = pfns.as_array().unwrap();
            assert!(pfns.len() == 2 && pfns[0].as_u64() <= pfns[1].as_u64());
        }
    }
    // --limit 1: one per structure listed, all counted
    assert_eq!(value["counts"]["descriptor"], 4);
    let listed = value["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["structure"] == "descriptor")
        .count();
    assert_eq!(listed, 1);
}

#[test]
fn memory_of_qemu_elf_and_kdump_of_one_state_is_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let elf = crate::support::real::gunzip_corpus("fw-q72.elf.gz");
    std::fs::write(dir.path().join("fw-q72.elf"), elf).unwrap();
    std::fs::copy(
        corpus().join("fw-q72.kdump-zlib.flat"),
        dir.path().join("fw-q72.kdump-zlib.flat"),
    )
    .unwrap();
    let output = run(
        dir.path(),
        &["diff", "--memory", "fw-q72.elf", "fw-q72.kdump-zlib.flat"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    insta::assert_snapshot!("diff_memory_elf_vs_kdump", stdout(&output));
    // without --memory the kinds differ, the memory does not
    let value = json(&run(
        dir.path(),
        &["diff", "fw-q72.elf", "fw-q72.kdump-zlib.flat", "--json"],
    ));
    assert_eq!(value["same_memory"], true);
    assert_eq!(
        value["differences"],
        serde_json::json!([{"structure": "file", "field": "kind", "a": "elf", "b": "kdump"}])
    );
}

#[test]
fn a_split_set_on_one_side() {
    let output = run(
        &corpus(),
        &[
            "diff",
            "--memory",
            "fw-mdf-split-d1.2,fw-mdf-split-d1.1",
            "fw-mdf-lzo-d1",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let value = json(&run(
        &corpus(),
        &[
            "diff",
            "fw-mdf-split-d1.1,fw-mdf-split-d1.2",
            "fw-mdf-lzo-d1",
            "--json",
        ],
    ));
    assert_eq!(value["same_memory"], true);
    assert_eq!(value["summary"]["pfns_compared"], 4128);
    let parts = &value["differences"][0];
    assert_eq!(
        (&parts["field"], &parts["a"], &parts["b"]),
        (&"parts".into(), &2.into(), &1.into())
    );
}

#[test]
fn trouble_names_the_side_and_what_check_found() {
    let dir = tempfile::tempdir().unwrap();
    edited_copy(
        dir.path(),
        "fw-q10.kdump-raw-zlib",
        "bad-signature",
        |bytes| bytes[..8].copy_from_slice(b"NOTKDUMP"),
    );
    let output = run(
        dir.path(),
        &["diff", "fw-q10.kdump-raw-zlib", "bad-signature"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    insta::assert_snapshot!("diff_trouble_bad_signature", stderr(&output));
    let output = run(dir.path(), &["diff", "missing", "fw-q10.kdump-raw-zlib"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("side A cannot be compared"),
        "{}",
        stderr(&output)
    );
    let output = run(dir.path(), &["diff", "-", "-"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn standard_input_as_one_side() {
    let output = Command::cargo_bin("kdump-flat")
        .unwrap()
        .current_dir(corpus())
        .args(["diff", "-", "fw-q10.kdump-raw-zlib"])
        .pipe_stdin(corpus().join("fw-q10.kdump-zlib.flat"))
        .unwrap()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("bytes: identical after reassembly (A is flattened, B is raw)")
    );
}

#[test]
fn help() {
    let output = run(&corpus(), &["help", "diff"]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("help_diff", stdout(&output));
}
