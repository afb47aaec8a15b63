//! **P2**: the raw file's length, the ranges written and the holes are what the layout implies
//! ([`super::expected_file_extents`]), and every write mode gives the file makedumpfile's default
//! sequence gives.

use crate::model::deviation::part_timestamp;
use crate::model::makedumpfile::{
    makedumpfile_default_options, makedumpfile_options, write_makedumpfile_kdump_with,
    MakedumpfileOptions,
};
use crate::model::{Layout, WriterKind};
use crate::sink::RawSink;

use super::bytes::compare_dumps;
use super::case::{dump_files, CaseOutput, FileView};
use super::extents::{expected_file_extents, Extent};
use super::property::{fail, Property, PropertyFailure};

/// Merges ranges into sorted, disjoint, non-adjacent ones.
fn union(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.retain(|r| r.1 > r.0);
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// P2: the raw length is the end of the last extent; the writes cover exactly the expected extents;
/// every byte outside them is zero; the flattened size is 4096 + Σ(16 + size) + 16; and the raw file is
/// the one makedumpfile's default write sequence (non-cyclic, no threads, `-b 4`) gives, whatever the
/// layout's mode. For a `--split` layout: the one-file form and every file of the set.
pub fn p2_raw_extent_matches_layout(
    layout: &Layout,
    output: &CaseOutput,
) -> Result<(), PropertyFailure> {
    let whole = FileView {
        name: "file".into(),
        range: None,
        part: None,
        raw: &output.raw,
        flat: &output.flat,
        writes: &output.writes,
    };
    let mut files = vec![whole];
    if !output.parts.is_empty() {
        files.extend(dump_files(output));
    }
    for file in &files {
        check_file_extents(layout, file).map_err(|d| {
            fail(
                Property::P2,
                if output.parts.is_empty() {
                    d
                } else {
                    format!("{}: {d}", file.name)
                },
            )
        })?;
    }
    Ok(())
}

/// P2 on one file.
fn check_file_extents(layout: &Layout, file: &FileView<'_>) -> Result<(), String> {
    let extents = expected_file_extents(layout, file.range);
    let expected_len = extents.iter().map(|e| e.end).max().unwrap_or(0);
    if file.raw.len() as u64 != expected_len {
        return Err(format!(
            "raw length {} but the layout implies {expected_len} (extents: {})",
            file.raw.len(),
            describe_extents(&extents)
        ));
    }
    let expected = union(extents.iter().map(|e| (e.start, e.end)).collect());
    let written = union(file.writes.iter().map(|&(o, len)| (o, o + len)).collect());
    if expected != written {
        return Err(format!(
            "written ranges {} differ from the layout's {}",
            describe_ranges(&written),
            describe_extents(&extents)
        ));
    }
    let mut cursor = 0u64;
    for &(start, end) in expected
        .iter()
        .chain(std::iter::once(&(expected_len, expected_len)))
    {
        if let Some(at) = file.raw[cursor as usize..start as usize]
            .iter()
            .position(|&b| b != 0)
        {
            return Err(format!(
                "hole byte at {:#x} is not zero",
                cursor + at as u64
            ));
        }
        cursor = end;
    }
    let flat_len = 4096 + file.writes.iter().map(|w| 16 + w.1).sum::<u64>() + 16;
    if file.flat.len() as u64 != flat_len {
        return Err(format!(
            "flattened length {} instead of 4096 + Σ(16 + size) + 16 = {flat_len}",
            file.flat.len()
        ));
    }
    if layout.writer == WriterKind::Makedumpfile
        && makedumpfile_options(layout) != makedumpfile_default_options(layout)
    {
        let (sec, usec) = part_timestamp(layout, file.part.unwrap_or(0));
        let options = MakedumpfileOptions {
            split: file.range,
            timestamp: (u64::from(sec), u64::from(usec)),
            ..makedumpfile_default_options(layout)
        };
        let mut sink = RawSink::in_memory();
        write_makedumpfile_kdump_with(layout, &options, &mut sink)
            .map_err(|e| format!("the default write sequence failed: {e}"))?;
        let reference = sink.into_bytes();
        // A cyclic file of a set without anything after its bitmaps ends where the written bitmap bytes
        // end; the non-cyclic one goes on with the zeros of bitmap 2's block-rounding tail.
        let compared = if file.range.is_some()
            && file.raw.len() < reference.len()
            && reference[file.raw.len()..].iter().all(|&b| b == 0)
        {
            &reference[..file.raw.len()]
        } else {
            &reference[..]
        };
        compare_dumps(("this mode", file.raw), ("default mode", compared)).map_err(|d| {
            format!(
                "the file written in mode {} differs from the default mode's: {d}",
                layout.mode
            )
        })?;
    }
    Ok(())
}

fn describe_ranges(ranges: &[(u64, u64)]) -> String {
    ranges
        .iter()
        .map(|(s, e)| format!("[{s:#x}, {e:#x})"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe_extents(extents: &[Extent]) -> String {
    extents
        .iter()
        .map(|e| format!("{} [{:#x}, {:#x})", e.name, e.start, e.end))
        .collect::<Vec<_>>()
        .join(", ")
}
