//! **P4**: the checker (`kdump::check`) finds the raw and the flattened dump valid, with exactly the
//! deviations the layout's [`Deviations`](crate::model::Deviations) imply.

use crate::flat::index::FlatIndex;
use crate::kdump::check::{check, CheckReport, Level};
use crate::kdump::KInvariant;
use crate::model::deviation::{data_slots, notes_after_data};
use crate::model::{Layout, SplitStamps, SubHeaderBlocks};
use crate::readat::ReadAt;

use super::case::{dump_files, CaseOutput};
use super::property::{fail, Property, PropertyFailure};

/// The invariants whose deviations the model's variants produce; P4 compares these exactly. (K5 and K6
/// deviations come from the CPUs and the machine name the layout was drawn with and are allowed, as
/// before.)
const VARIANT_INVARIANTS: [KInvariant; 3] = [KInvariant::K8, KInvariant::K15, KInvariant::K18];

/// P4: `kdump::check::check` finds no violation in the raw dump and the flattened dump (read in place);
/// for a `--split` layout also in the set, raw and flattened (notes allowed: a file without pages at dump
/// level 0 may end inside its bitmaps, a K12 note). The K8, K15 and K18 deviations found are exactly those
/// the layout implies ([`expected_deviations`]): none for QEMU's and makedumpfile's own layouts, so
/// `check --strict` fails on a model dump exactly when the layout has another writer's features.
pub fn p4_check_passes(layout: &Layout, output: &CaseOutput) -> Result<(), PropertyFailure> {
    let single = expected_deviations(layout, false, 1);
    check_files(&[output.raw.as_slice()], &[output.flat.as_slice()], &single)
        .map_err(|d| fail(Property::P4, d))?;
    if output.parts.is_empty() {
        return Ok(());
    }
    let files = dump_files(output);
    let set = expected_deviations(layout, true, files.len());
    let raws: Vec<&[u8]> = files.iter().map(|f| f.raw).collect();
    let flats: Vec<&[u8]> = files.iter().map(|f| f.flat).collect();
    check_files(&raws, &flats, &set).map_err(|d| fail(Property::P4, format!("split set: {d}")))
}

/// The K8, K15 and K18 deviations, as (file index, invariant) in order, that `check` must report for the
/// layout written as one file (`as_set` false) or for its split set of `files` files, derived from the
/// layout (docs/validity.md gives each check):
///
/// - the notes after the data (with notes): K8 "offset_note not right after the sub-header" and K8 "the
///   notes run past the sub-header blocks";
/// - `sub_hdr_size` 0: K8 "too small for the sub-header";
/// - data out of pfn order (a permutation of the stored pages other than the identity): one K15;
/// - split files with their own timestamps: one K18 per file after the first;
/// - split ranges leaving gaps: one K18 per gap (below `max_mapnr` and at its end).
pub fn expected_deviations(
    layout: &Layout,
    as_set: bool,
    files: usize,
) -> Vec<(usize, KInvariant)> {
    let d = &layout.deviations;
    let mut expected = Vec::new();
    if !as_set {
        if d.sub_header_blocks == SubHeaderBlocks::Zero {
            expected.push((0, KInvariant::K8));
        }
        if notes_after_data(layout) && layout.note_bytes() > 0 {
            expected.push((0, KInvariant::K8));
            expected.push((0, KInvariant::K8));
        }
        let stored = layout
            .pages()
            .filter(|p| !layout.excludes(p.class))
            .filter(|p| {
                !(layout.shares_zero_page() && p.bytes(layout.page_bytes()).iter().all(|&b| b == 0))
            })
            .count();
        let slots = data_slots(d.data_order, stored);
        if slots.iter().enumerate().any(|(i, &slot)| i != slot) {
            expected.push((0, KInvariant::K15));
        }
        return expected;
    }
    if d.split_stamps == SplitStamps::PerPart {
        expected.extend((1..files).map(|file| (file, KInvariant::K18)));
    }
    // A gap is reported at the file whose range starts after it, the gap at the end at the last file.
    let ranges = layout.part_ranges().unwrap_or_default();
    let mut covered = 0u64;
    for (file, &(start, end)) in ranges.iter().enumerate() {
        if start > covered {
            expected.push((file, KInvariant::K18));
        }
        covered = covered.max(end);
    }
    if !ranges.is_empty() && covered < layout.max_mapnr() {
        expected.push((ranges.len() - 1, KInvariant::K18));
    }
    expected.sort();
    expected
}

/// `check` over the raw files and over the flattened files read in place.
fn check_files(
    raws: &[&[u8]],
    flats: &[&[u8]],
    expected: &[(usize, KInvariant)],
) -> Result<(), String> {
    let readers: Vec<&dyn ReadAt> = raws.iter().map(|r| r as &dyn ReadAt).collect();
    let report = check(&readers);
    if let Some(problem) = problem_of(&report, expected) {
        return Err(format!("raw: {problem}"));
    }
    let indexes = flats
        .iter()
        .enumerate()
        .map(|(i, flat)| {
            FlatIndex::open(*flat).map_err(|e| format!("flattened file {i}: cannot index: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let readers: Vec<&dyn ReadAt> = indexes.iter().map(|r| r as &dyn ReadAt).collect();
    let report = check(&readers);
    if let Some(problem) = problem_of(&report, expected) {
        return Err(format!("flattened: {problem}"));
    }
    Ok(())
}

/// What keeps a model dump from passing: a violation, or K8/K15/K18 deviations other than `expected`
/// (for makedumpfile's own sets, a gap or another timestamp means a file is missing or changed).
fn problem_of(report: &CheckReport, expected: &[(usize, KInvariant)]) -> Option<String> {
    if !report.is_valid() {
        return Some(describe_violations(report));
    }
    let deviations: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| w.level == Level::Deviation && VARIANT_INVARIANTS.contains(&w.id))
        .collect();
    let mut found: Vec<(usize, KInvariant)> = deviations.iter().map(|w| (w.file, w.id)).collect();
    found.sort();
    if found == expected {
        return None;
    }
    let shown: Vec<String> = deviations
        .iter()
        .map(|w| format!("file {}: {w}", w.file))
        .collect();
    Some(format!(
        "deviations {found:?} found, the layout implies {expected:?}: {}",
        if shown.is_empty() {
            "(none found)".to_string()
        } else {
            shown.join("; ")
        }
    ))
}

fn describe_violations(report: &CheckReport) -> String {
    let shown: Vec<String> = report
        .violations
        .iter()
        .take(3)
        .map(|v| v.to_string())
        .collect();
    format!(
        "{} violation(s): {}{}",
        report.violation_total(),
        shown.join("; "),
        if report.io_errors.is_empty() {
            String::new()
        } else {
            format!("; I/O: {}", report.io_errors.join("; "))
        }
    )
}
