//! **P4**: the checker (`kdump::check`) finds the raw and the flattened dump valid.

use crate::flat::index::FlatIndex;
use crate::kdump::check::{check, CheckReport};
use crate::readat::ReadAt;

use super::case::{dump_files, CaseOutput};
use super::property::{fail, Property, PropertyFailure};

/// P4: `kdump::check::check` finds the raw dump and the flattened dump (read in place) valid; for a
/// `--split` layout also the set, raw and flattened (warnings allowed: a file without pages at dump level
/// 0 may end inside its bitmaps, a K12 warning).
pub fn p4_check_passes(output: &CaseOutput) -> Result<(), PropertyFailure> {
    check_files(&[output.raw.as_slice()], &[output.flat.as_slice()])
        .map_err(|d| fail(Property::P4, d))?;
    if output.parts.is_empty() {
        return Ok(());
    }
    let files = dump_files(output);
    let raws: Vec<&[u8]> = files.iter().map(|f| f.raw).collect();
    let flats: Vec<&[u8]> = files.iter().map(|f| f.flat).collect();
    check_files(&raws, &flats).map_err(|d| fail(Property::P4, format!("split set: {d}")))
}

/// `check` over the raw files and over the flattened files read in place.
fn check_files(raws: &[&[u8]], flats: &[&[u8]]) -> Result<(), String> {
    let readers: Vec<&dyn ReadAt> = raws.iter().map(|r| r as &dyn ReadAt).collect();
    let report = check(&readers);
    if !report.is_valid() {
        return Err(format!("raw: {}", describe_violations(&report)));
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
    if !report.is_valid() {
        return Err(format!("flattened: {}", describe_violations(&report)));
    }
    Ok(())
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
