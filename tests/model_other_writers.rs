//! The model's other-writer layouts (`model::deviation`: notes after the data, data reversed or shuffled,
//! `sub_hdr_size` 0, split files with their own timestamps or with gaps) against the real programs, each
//! variant on several seeds and machines:
//!
//! - libkdumpfile 0.5.1 reads every pfn below `max_mapnr` of the raw file (or split set) as the model says
//!   (data, or no data for excluded pages, pfns not in memory and pfns in no split file's range);
//! - `makedumpfile -R` of each flattened file gives exactly the raw file, and libkdumpfile reads the
//!   reassembled file (or set) the same way;
//! - every selftest property holds on them (P1–P4, P6), and `check --strict` exits 1 where `check` exits 0.
//!
//! The tests fail, not skip, when makedumpfile or python3-libkdumpfile is missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kdump_flat::harness::{run_case, write_case, CaseOptions, Outcome};
use kdump_flat::model::deviation::{split_gaps, sub_header_zero_first_pfn};
use kdump_flat::model::gen::{layout_from_seed, SizeClass};
use kdump_flat::model::{
    struct_abi, CyclicMode, DataOrder, ExpectedPage, Layout, Machine, MakedumpfileMode,
    NotesPlacement, PageClass, SplitCoverage, SplitSpec, SplitStamps, SubHeaderBlocks, WriterKind,
    PLENTY_OF_FREE_MEMORY,
};

use crate::support::cli::run;
use crate::support::libkdumpfile::{sha256_hex, try_libkdumpfile_report, OraclePfns};

/// One variant: its name and how it changes a makedumpfile layout.
type Variant = (&'static str, fn(&mut Layout));

const VARIANTS: [Variant; 6] = [
    ("notes after the data", |l| {
        l.deviations.notes = NotesPlacement::AfterData
    }),
    ("data reversed", |l| {
        l.deviations.data_order = DataOrder::Reversed
    }),
    ("data shuffled", |l| {
        l.deviations.data_order = DataOrder::Shuffled { seed: 0x5eed }
    }),
    ("sub_hdr_size 0", |l| {
        l.deviations.sub_header_blocks = SubHeaderBlocks::Zero;
        l.deviations.notes = NotesPlacement::AfterData;
        let first = sub_header_zero_first_pfn(struct_abi(l));
        let shift = first.saturating_sub(l.blocks[0].start_pfn);
        for block in &mut l.blocks {
            block.start_pfn += shift;
        }
    }),
    ("split files with their own timestamps", |l| {
        split(l);
        l.deviations.split_stamps = SplitStamps::PerPart;
    }),
    ("split files with gaps", |l| {
        split(l);
        l.deviations.split_coverage = SplitCoverage::Trimmed { pfns: 2 };
    }),
];

/// Makes `layout` a `--split` set of three files with small splitblocks.
fn split(layout: &mut Layout) {
    layout.mode.split = Some(SplitSpec {
        files: 3,
        splitblock_pages: 2,
    });
    layout.mode.cyclic = CyclicMode::Automatic {
        free_memory: PLENTY_OF_FREE_MEMORY,
    };
}

/// A makedumpfile layout from `seed` on `machine` (NT_PRSTATUS of the machine's real size, which
/// libkdumpfile 0.5.1 needs), in the default write mode, with `variant` applied.
fn variant_layout(seed: u64, machine: Machine, variant: fn(&mut Layout)) -> Layout {
    let mut layout = layout_from_seed(seed, SizeClass::Small);
    layout.writer = WriterKind::Makedumpfile;
    layout.machine = machine;
    layout.notes.qemu_cpu_state_size = None;
    layout.notes.prstatus_size = match machine {
        Machine::X86_64 | Machine::S390x => 336,
        Machine::Aarch64 => 392,
        Machine::Ppc64 | Machine::Ppc64le => 504,
        Machine::I386 | Machine::Arm | Machine::Ppc => 144,
    };
    layout.notes.cpus = layout.notes.cpus.max(1);
    layout.mode = MakedumpfileMode::default();
    layout.deviations = Default::default();
    if layout.dumped_pages() == 0 {
        layout.blocks[0].runs[0].class = PageClass::Kernel;
    }
    variant(&mut layout);
    layout
        .validate()
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    layout
}

/// The seeds and machines each variant is tried on.
fn cases() -> Vec<(u64, Machine)> {
    vec![
        (1, Machine::X86_64),
        (2, Machine::X86_64),
        (3, Machine::X86_64),
        (4, Machine::S390x),
        (5, Machine::I386),
        (6, Machine::Aarch64),
    ]
}

/// What libkdumpfile must read for `pfn`: the model's page, or no data (excluded, not in memory, or in
/// no file of a split set: `gaps`).
fn expected_sha256(layout: &Layout, pfn: u64, gaps: &[(u64, u64)]) -> Option<String> {
    if gaps.iter().any(|&(s, e)| (s..e).contains(&pfn)) {
        return None;
    }
    match layout.expected_page(pfn) {
        ExpectedPage::Data(bytes) => Some(sha256_hex(&bytes)),
        ExpectedPage::Excluded | ExpectedPage::NotInMemory => None,
    }
}

/// libkdumpfile's reading of every pfn of the files at `paths` (one file, or a split set) compared with
/// the model; the first disagreement.
fn libkdumpfile_agrees(
    layout: &Layout,
    paths: &[&Path],
    gaps: &[(u64, u64)],
) -> Result<(), String> {
    let report = try_libkdumpfile_report(paths, OraclePfns::EveryPfnBelow(layout.max_mapnr()))?;
    if report.pages.len() as u64 != layout.max_mapnr() {
        return Err(format!(
            "libkdumpfile listed {} pfns of {}",
            report.pages.len(),
            layout.max_mapnr()
        ));
    }
    for (pfn, theirs) in &report.pages {
        let want = expected_sha256(layout, *pfn, gaps);
        if *theirs != want {
            return Err(format!(
                "pfn {pfn:#x}: libkdumpfile reads {theirs:?}, the model says {want:?}"
            ));
        }
    }
    Ok(())
}

/// `makedumpfile -R` of `flat` into `out`.
fn makedumpfile_r(flat: &[u8], out: &Path) -> Result<(), String> {
    let mut child = Command::new("timeout")
        .args(["60", "makedumpfile", "-R"])
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run makedumpfile (it is required)");
    child.stdin.take().unwrap().write_all(flat).unwrap();
    let result = child.wait_with_output().unwrap();
    if result.status.success() {
        Ok(())
    } else {
        Err(format!(
            "makedumpfile -R failed ({}): {}",
            result.status,
            String::from_utf8_lossy(&result.stderr)
        ))
    }
}

/// Every check of the module on one layout; the first failure.
fn check_variant(layout: &Layout) -> Result<(), String> {
    let report = run_case(
        layout,
        &CaseOptions {
            corruption_trials: 0,
            ..Default::default()
        },
    );
    for (property, outcome) in &report.outcomes {
        if let Outcome::Fail(detail) = outcome {
            return Err(format!("{property} fails: {detail}"));
        }
    }
    let output = write_case(layout).map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().unwrap();
    // The files as written (raw and flattened); the set's files for a split layout.
    let files: Vec<(&[u8], &[u8])> = if output.parts.is_empty() {
        vec![(&output.raw, &output.flat)]
    } else {
        output
            .parts
            .iter()
            .map(|p| (&p.raw[..], &p.flat[..]))
            .collect()
    };
    let mut raw_paths: Vec<PathBuf> = Vec::new();
    let mut reassembled_paths: Vec<PathBuf> = Vec::new();
    for (i, (raw, flat)) in files.iter().enumerate() {
        let raw_path = dir.path().join(format!("raw.{i}"));
        std::fs::write(&raw_path, raw).unwrap();
        let reassembled = dir.path().join(format!("reassembled.{i}"));
        makedumpfile_r(flat, &reassembled).map_err(|e| format!("file {i}: {e}"))?;
        if std::fs::read(&reassembled).unwrap() != *raw {
            return Err(format!(
                "file {i}: makedumpfile -R of the flattened file differs from the raw file"
            ));
        }
        raw_paths.push(raw_path);
        reassembled_paths.push(reassembled);
    }
    let gaps = split_gaps(layout);
    let raw: Vec<&Path> = raw_paths.iter().map(PathBuf::as_path).collect();
    libkdumpfile_agrees(layout, &raw, &gaps).map_err(|e| format!("raw: {e}"))?;
    let reassembled: Vec<&Path> = reassembled_paths.iter().map(PathBuf::as_path).collect();
    libkdumpfile_agrees(layout, &reassembled, &gaps)
        .map_err(|e| format!("flattened, after makedumpfile -R: {e}"))?;
    // check passes with warnings; --strict fails on the deviations.
    let names: Vec<String> = raw_paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut args: Vec<&str> = vec!["check"];
    args.extend(names.iter().map(String::as_str));
    let plain = run(dir.path(), &args);
    args.push("--strict");
    let strict = run(dir.path(), &args);
    if plain.status.code() != Some(0) || strict.status.code() != Some(1) {
        return Err(format!(
            "check exits {:?} and check --strict {:?} (want 0 and 1): {}",
            plain.status.code(),
            strict.status.code(),
            String::from_utf8_lossy(&strict.stdout)
        ));
    }
    Ok(())
}

fn check_variants(variants: &[Variant]) {
    let mut failures = Vec::new();
    for (name, variant) in variants {
        for (seed, machine) in cases() {
            let layout = variant_layout(seed, machine, *variant);
            if let Err(e) = check_variant(&layout) {
                failures.push(format!("{name}, seed {seed} ({}): {e}", layout.summary()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn real_readers_read_single_file_variants_as_the_model_says() {
    check_variants(&VARIANTS[..4]);
}

#[test]
fn real_readers_read_split_set_variants_as_the_model_says() {
    check_variants(&VARIANTS[4..]);
}

/// The variants are what P4 says they are: a layout's file checked against the expectations of the same
/// layout without its deviations fails P4 (so P4 can fail on them).
#[test]
fn p4_fails_when_the_expected_deviations_are_not_the_layouts() {
    for (name, variant) in VARIANTS {
        let layout = variant_layout(1, Machine::X86_64, variant);
        let output = write_case(&layout).unwrap();
        let mut plain = layout.clone();
        plain.deviations = Default::default();
        let failure = kdump_flat::harness::p4_check_passes(&plain, &output)
            .expect_err(&format!("{name}: P4 with no deviations expected passed"));
        assert!(failure.detail.contains("deviations"), "{name}: {failure}");
    }
}
