//! The properties the project exists to check, as named functions usable from tests, fuzz targets and
//! `kdump-flat selftest`.
//!
//! A case is one [`Layout`]: [`write_case`] sends its write sequence down the raw path, the flattened path
//! and a recorder in one run, then each property judges the result. makedumpfile layouts come in its
//! write modes ([`Layout::mode`]): non-cyclic or cyclic (one or many cycles), `--num-threads`, `-b`, and
//! `--split`, for which the case is the dump written as one file *and* each file of the set
//! ([`CaseOutput::parts`]):
//!
//! - **P1** [`p1_flat_reassembles_to_raw`]: reassembling the flattened output (`flat::reassemble`, the real
//!   one) gives exactly the raw output (each file of a split set too); [`p1_set_joins_to_one_file`]:
//!   `kdump::join` of a split set gives the model's one-file dump byte for byte (eraseinfo once per file).
//! - **P2** [`p2_raw_extent_matches_layout`]: the raw file's length, the ranges written and the holes are
//!   what the layout implies by the formulas of FORMATS.md (computed here, not taken from the writer), for
//!   each file of a split set its own ([`expected_file_extents`]); and whatever the mode, the file is the
//!   one makedumpfile's default sequence writes (a split file without pages may stop inside its bitmaps).
//! - **P3** [`p3_pages_read_back`]: every header and sub-header field the kdump reader decodes (utsname,
//!   timestamp, status, sizes, nr_cpus, phys_base, dump_level, split fields, offsets and sizes), the note
//!   section (bytes and parsed notes), VMCOREINFO and eraseinfo equal what the layout implies, and every
//!   pfn reads back as the model says (data, excluded, not in memory), over the raw bytes and over the
//!   flattened bytes; for a split set also through `kdump::KdumpSet` over its raw files and over its
//!   flattened files read in place (every file's split range and eraseinfo, every pfn).
//! - **P4** [`p4_check_passes`]: the checker finds the raw and flattened dump valid (a split set as one
//!   set; warnings allowed).
//! - **P5** [`p5_corruption_is_detected`]: a random single-byte change in one structure is caught by the
//!   checker or shows up as a read-back mismatch (P3's comparisons); detection rates are reported per
//!   structure (some bytes, such as utsname bytes after the terminating NUL or header padding, can change
//!   without any reader noticing, so P5 is a measurement, not a pass/fail). On a split set each trial
//!   changes one file and the set is checked and read as a whole; its rates are counted apart ("split …").

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};

use serde::Serialize;

use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::flat::index::FlatIndex;
use crate::flat::{reassemble, ReassembleOptions};
use crate::kdump::check::check;
use crate::kdump::{
    join, ByteOrder, Class, KdumpError, KdumpFile, KdumpSet, PageContent, Signature,
    SubHeaderLayout, Utsname,
};
use crate::model::encode::{StructAbi, PAGE_DESC_SIZE, UTS_FIELD};
use crate::model::layout::{Endian, PageRef};
use crate::model::makedumpfile::{
    makedumpfile_default_options, makedumpfile_options, write_makedumpfile_kdump_with,
};
use crate::model::notes::{note_section, NT_PRSTATUS};
use crate::model::{
    store_page, struct_abi, write_layout, write_layout_part, Layout, WriteError, WriteSummary,
    WriterKind,
};
use crate::readat::ReadAt;
use crate::sink::{DumpSink, FlatSink, RawSink, RecordingSink, TeeSink};

/// The properties, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Property {
    /// Reassembled flattened bytes == raw bytes.
    P1,
    /// Raw length, written ranges and holes are what the layout implies.
    P2,
    /// Headers, notes, eraseinfo and every pfn read back as the model says, over raw and flattened.
    P3,
    /// `check` passes.
    P4,
    /// Single-byte corruption is detected (a rate).
    P5,
}

impl Property {
    /// Every property, in order.
    pub const ALL: [Property; 5] = [
        Property::P1,
        Property::P2,
        Property::P3,
        Property::P4,
        Property::P5,
    ];

    /// One-line description.
    pub fn description(self) -> &'static str {
        match self {
            Property::P1 => "reassembled flattened == raw",
            Property::P2 => "raw length, written ranges and holes match the layout",
            Property::P3 => "headers, notes and every pfn read back as the model says",
            Property::P4 => "check finds the dump valid",
            Property::P5 => "single-byte corruption detected by check or read-back",
        }
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// A property that did not hold, with what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyFailure {
    /// Which property.
    pub property: Property,
    /// What went wrong, with offsets / pfns.
    pub detail: String,
}

impl fmt::Display for PropertyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.property, self.detail)
    }
}

impl std::error::Error for PropertyFailure {}

fn fail(property: Property, detail: impl Into<String>) -> PropertyFailure {
    PropertyFailure {
        property,
        detail: detail.into(),
    }
}

/// The outputs of one layout's write sequence, written once down every path.
#[derive(Debug, Clone)]
pub struct CaseOutput {
    /// The raw kdump-compressed file (for a `--split` layout: the dump written as one file, in the
    /// layout's bitmap mode: what joining the set must give).
    pub raw: Vec<u8>,
    /// The flattened file.
    pub flat: Vec<u8>,
    /// Every write as (offset, length), in order.
    pub writes: Vec<(u64, u64)>,
    /// The writer's summary.
    pub summary: WriteSummary,
    /// For a `--split` layout, the files of the set in pfn order; empty otherwise.
    pub parts: Vec<PartOutput>,
}

/// One file of a `--split` set, written once down every path.
#[derive(Debug, Clone)]
pub struct PartOutput {
    /// Its pfn range `[start, end)` (from [`Layout::split_ranges`]).
    pub range: (u64, u64),
    /// The raw file.
    pub raw: Vec<u8>,
    /// The flattened file.
    pub flat: Vec<u8>,
    /// Every write as (offset, length), in order.
    pub writes: Vec<(u64, u64)>,
    /// The writer's summary.
    pub summary: WriteSummary,
}

/// Raw bytes, flattened bytes, writes and summary of one write sequence.
type Written = (Vec<u8>, Vec<u8>, Vec<(u64, u64)>, WriteSummary);

/// Runs one write sequence teed into a raw sink, a flattened sink and a recorder.
fn write_all_paths(
    write: impl FnOnce(&mut dyn DumpSink) -> Result<WriteSummary, WriteError>,
) -> Result<Written, WriteError> {
    let mut sink = TeeSink(
        TeeSink(RawSink::in_memory(), FlatSink::new(Vec::new())),
        RecordingSink::default(),
    );
    let summary = write(&mut sink as &mut dyn DumpSink)?;
    let TeeSink(TeeSink(raw, flat), recorder) = sink;
    Ok((
        raw.into_bytes(),
        flat.into_inner(),
        recorder.writes,
        summary,
    ))
}

/// Writes `layout` once, teeing the sequence into a raw sink, a flattened sink and a recorder; for a
/// `--split` layout also each file of the set.
pub fn write_case(layout: &Layout) -> Result<CaseOutput, PropertyFailure> {
    let writer_failed = |e: WriteError| fail(Property::P1, format!("the writer failed: {e}"));
    let (raw, flat, writes, summary) =
        write_all_paths(|sink| write_layout(layout, sink)).map_err(writer_failed)?;
    let mut parts = Vec::new();
    for (index, range) in layout
        .split_ranges()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let (raw, flat, writes, summary) =
            write_all_paths(|sink| write_layout_part(layout, index, sink)).map_err(|e| {
                fail(
                    Property::P1,
                    format!("the writer failed on file {index} of the set: {e}"),
                )
            })?;
        parts.push(PartOutput {
            range,
            raw,
            flat,
            writes,
            summary,
        });
    }
    Ok(CaseOutput {
        raw,
        flat,
        writes,
        summary,
        parts,
    })
}

/// One file a property looks at: the single file, or one file of a `--split` set.
struct FileView<'a> {
    /// "file", or "part i [start, end)".
    name: String,
    /// The pfn range of a file of a split set.
    range: Option<(u64, u64)>,
    raw: &'a [u8],
    flat: &'a [u8],
    writes: &'a [(u64, u64)],
}

/// The files of the dump as the layout writes them: the set's files for a `--split` layout, else the one
/// file.
fn dump_files(output: &CaseOutput) -> Vec<FileView<'_>> {
    if output.parts.is_empty() {
        return vec![FileView {
            name: "file".into(),
            range: None,
            raw: &output.raw,
            flat: &output.flat,
            writes: &output.writes,
        }];
    }
    output
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| FileView {
            name: format!("part {i} [{:#x}, {:#x})", part.range.0, part.range.1),
            range: Some(part.range),
            raw: &part.raw,
            flat: &part.flat,
            writes: &part.writes,
        })
        .collect()
}

/// P1: the flattened output, reassembled by `flat::reassemble`, equals the raw output byte for byte (for
/// a `--split` layout: the one-file form and every file of the set).
pub fn p1_flat_reassembles_to_raw(output: &CaseOutput) -> Result<(), PropertyFailure> {
    let reassembled = reassemble_bytes(&output.flat).map_err(|e| fail(Property::P1, e))?;
    compare_bytes(&reassembled, &output.raw).map_err(|d| fail(Property::P1, d))?;
    if output.parts.is_empty() {
        return Ok(());
    }
    for file in dump_files(output) {
        let reassembled = reassemble_bytes(file.flat)
            .map_err(|e| fail(Property::P1, format!("{}: {e}", file.name)))?;
        compare_bytes(&reassembled, file.raw)
            .map_err(|d| fail(Property::P1, format!("{}: {d}", file.name)))?;
    }
    Ok(())
}

/// P1 for a `--split` layout (nothing to do otherwise): `kdump::join` of the set's raw files, given in
/// reverse order, is the model's one-file dump byte for byte, except that the joined file holds the
/// eraseinfo text once per file (every `--split` file carries the whole text, and joining concatenates
/// them, as `makedumpfile --reassemble` does).
pub fn p1_set_joins_to_one_file(
    layout: &Layout,
    output: &CaseOutput,
) -> Result<(), PropertyFailure> {
    if output.parts.is_empty() {
        return Ok(());
    }
    let files = output
        .parts
        .iter()
        .rev()
        .map(|part| KdumpFile::open(part.raw.as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            fail(
                Property::P1,
                format!("join: a file of the set does not open: {e}"),
            )
        })?;
    let set =
        KdumpSet::new(files).map_err(|e| fail(Property::P1, format!("join: not a set: {e}")))?;
    let mut sink = RawSink::in_memory();
    join(&set, &mut sink).map_err(|e| fail(Property::P1, format!("join failed: {e}")))?;
    sink.finish()
        .map_err(|e| fail(Property::P1, format!("join: {e}")))?;
    let joined = sink.into_bytes();
    let expected = match layout.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
        None => std::borrow::Cow::Borrowed(&output.raw),
        Some(text) => {
            let options = crate::model::makedumpfile::MakedumpfileOptions {
                eraseinfo: Some(text.repeat(output.parts.len())),
                ..makedumpfile_default_options(layout)
            };
            let mut sink = RawSink::in_memory();
            write_makedumpfile_kdump_with(layout, &options, &mut sink).map_err(|e| {
                fail(
                    Property::P1,
                    format!("join: the model's one-file dump: {e}"),
                )
            })?;
            std::borrow::Cow::Owned(sink.into_bytes())
        }
    };
    compare_bytes(&joined, &expected).map_err(|d| {
        fail(
            Property::P1,
            format!("the joined set differs from the model's one-file dump: {d}"),
        )
    })
}

/// Reassembles flattened bytes with the crate's reassembler (into a temporary file) and returns the result.
pub fn reassemble_bytes(flat: &[u8]) -> Result<Vec<u8>, String> {
    let mut file =
        tempfile::tempfile().map_err(|e| format!("cannot create a temporary file: {e}"))?;
    reassemble(flat, &mut file, ReassembleOptions::default())
        .map_err(|e| format!("reassembly failed: {e}"))?;
    let mut out = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut out))
        .map_err(|e| format!("cannot read the reassembled file: {e}"))?;
    Ok(out)
}

/// Describes the first difference between `actual` and `expected`, if any.
pub fn compare_bytes(actual: &[u8], expected: &[u8]) -> Result<(), String> {
    if let Some(at) = actual.iter().zip(expected).position(|(a, b)| a != b) {
        return Err(format!(
            "first difference at offset {at:#x}: {:#04x} instead of {:#04x} (lengths {} and {})",
            actual[at],
            expected[at],
            actual.len(),
            expected.len()
        ));
    }
    if actual.len() != expected.len() {
        return Err(format!(
            "length {} instead of {} (equal up to the shorter)",
            actual.len(),
            expected.len()
        ));
    }
    Ok(())
}

/// A named byte range of a kdump-compressed file that the writer must fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extent {
    /// What it holds: "header", "sub-header", "notes", "bitmap 1", "bitmap 2", "descriptors",
    /// "page data", "eraseinfo".
    pub name: &'static str,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// The ranges a writer must write for `layout` written as one file, from the formulas of FORMATS.md
/// §2–3 (sorted by start); everything else below the last end is a hole.
pub fn expected_extents(layout: &Layout) -> Vec<Extent> {
    expected_file_extents(layout, None)
}

/// The ranges a writer must write for `layout` as one file (`split` = `None`) or as the file of a
/// `--split` set holding the pfns of `split` (FORMATS.md §2–3, K18: every file has the header, notes and
/// both whole bitmaps and room for the descriptors of every dumpable page of the dump, but only its own
/// descriptors, then its own data after that room). Sorted by start; everything else below the last end
/// is a hole.
pub fn expected_file_extents(layout: &Layout, split: Option<(u64, u64)>) -> Vec<Extent> {
    let in_file = |pfn: u64| split.is_none_or(|(start, end)| (start..end).contains(&pfn));
    let ps = layout.page_bytes();
    let abi = struct_abi(layout);
    let h = abi.header_size();
    let k = abi.sub_header_size();
    let n = note_section(layout).len() as u64;
    let m = layout.max_mapnr();
    let l = m.div_ceil(8).div_ceil(ps) * ps;
    let s = (k + n).div_ceil(ps);
    let bitmap = (1 + s) * ps;
    let p = bitmap + 2 * l;
    let d = layout.dumped_pages();
    let q = p + PAGE_DESC_SIZE * d;
    let mut data_len = 0u64;
    let mut file_pages = 0u64;
    for page in layout
        .pages()
        .filter(|pg| !layout.excludes(pg.class) && in_file(pg.pfn))
    {
        file_pages += 1;
        let bytes = page.bytes(ps);
        if layout.shares_zero_page() && bytes.iter().all(|&b| b == 0) {
            continue;
        }
        data_len += store_page(layout.compression, &bytes).1.len() as u64;
    }
    // Both writers store the shared zero page whether or not a page uses it.
    if layout.shares_zero_page() {
        data_len += ps;
    }
    let bitmap_written = match layout.writer {
        // QEMU: whole PS-byte chunks, chunk 0 up to the chunk of the last pfn.
        WriterKind::Qemu => (m - 1) / (ps * 8) * ps + ps,
        // makedumpfile: the whole bitmap (non-cyclic), or the bytes of pfns below max_mapnr (cyclic).
        WriterKind::Makedumpfile if layout.cyclic_buffer().is_some() => m.div_ceil(8),
        WriterKind::Makedumpfile => l,
    };
    let mut extents = vec![
        Extent {
            name: "header",
            start: 0,
            end: h,
        },
        Extent {
            name: "sub-header",
            start: ps,
            end: ps + k,
        },
    ];
    if n > 0 {
        extents.push(Extent {
            name: "notes",
            start: ps + k,
            end: ps + k + n,
        });
    }
    extents.push(Extent {
        name: "bitmap 1",
        start: bitmap,
        end: bitmap + bitmap_written,
    });
    extents.push(Extent {
        name: "bitmap 2",
        start: bitmap + l,
        end: bitmap + l + bitmap_written,
    });
    extents.push(Extent {
        name: "descriptors",
        start: p,
        end: p + PAGE_DESC_SIZE * file_pages,
    });
    extents.push(Extent {
        name: "page data",
        start: q,
        end: q + data_len,
    });
    if let Some(text) = layout.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
        extents.push(Extent {
            name: "eraseinfo",
            start: q + data_len,
            end: q + data_len + text.len() as u64,
        });
    }
    extents.retain(|e| e.end > e.start);
    extents
}

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
        let options = crate::model::makedumpfile::MakedumpfileOptions {
            split: file.range,
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
        compare_bytes(file.raw, compared).map_err(|d| {
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

/// The outcome of one property on one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// The property held.
    Pass,
    /// It did not.
    Fail(String),
    /// The property needs a part of the crate that is not there yet.
    NotWired(&'static str),
}

/// The results of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The outcome per property.
    pub outcomes: BTreeMap<Property, Outcome>,
    /// P5 trials per structure: (detected, tried).
    pub corruption: BTreeMap<String, (u64, u64)>,
    /// P5 corruptions nobody noticed: (structure, byte offset in the raw or flattened file).
    pub undetected: Vec<(String, u64)>,
}

impl CaseReport {
    /// The first failure, if any.
    pub fn first_failure(&self) -> Option<PropertyFailure> {
        self.outcomes.iter().find_map(|(p, o)| match o {
            Outcome::Fail(detail) => Some(fail(*p, detail.clone())),
            _ => None,
        })
    }
}

/// Options of [`run_case`].
#[derive(Debug, Clone, Copy)]
pub struct CaseOptions {
    /// Seed for P5's choice of bytes.
    pub corruption_seed: u64,
    /// Corruption trials per structure (0 skips P5).
    pub corruption_trials: u32,
    /// A fault to inject, for the tests of selftest's own failure handling; `None` in every real run.
    pub fault: Option<InjectedFault>,
}

/// A fault the harness injects on purpose (`selftest --inject-fault`, hidden): the tests use it to check
/// that a failing property, a panicking property and a panic while shrinking are all reported with the
/// seed and a reproducer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum InjectedFault {
    /// P3 fails on every layout.
    FailP3,
    /// P5 panics on every layout (as an out-of-bounds index in a corruption step would).
    PanicInP5,
    /// P3 fails on every layout, and checking a shrink candidate panics.
    PanicWhileShrinking,
}

impl Default for CaseOptions {
    fn default() -> Self {
        CaseOptions {
            corruption_seed: 0,
            corruption_trials: 2,
            fault: None,
        }
    }
}

/// Runs every property on one layout.
pub fn run_case(layout: &Layout, options: &CaseOptions) -> CaseReport {
    let mut outcomes = BTreeMap::new();
    let mut corruption = BTreeMap::new();
    let mut undetected = Vec::new();
    let output = match guarded(|| write_case(layout)) {
        Ok(o) => o,
        Err(detail) => {
            outcomes.insert(Property::P1, Outcome::Fail(detail));
            return CaseReport {
                outcomes,
                corruption,
                undetected,
            };
        }
    };
    let judge = |check: &dyn Fn() -> Result<(), PropertyFailure>| match guarded(check) {
        Ok(()) => Outcome::Pass,
        Err(detail) => Outcome::Fail(detail),
    };
    outcomes.insert(
        Property::P1,
        judge(&|| {
            p1_flat_reassembles_to_raw(&output)
                .and_then(|()| p1_set_joins_to_one_file(layout, &output))
        }),
    );
    outcomes.insert(
        Property::P2,
        judge(&|| p2_raw_extent_matches_layout(layout, &output)),
    );
    let injected_p3_failure = matches!(
        options.fault,
        Some(InjectedFault::FailP3 | InjectedFault::PanicWhileShrinking)
    );
    outcomes.insert(
        Property::P3,
        judge(&|| {
            if injected_p3_failure {
                return Err(fail(Property::P3, "injected failure (test hook)"));
            }
            p3_pages_read_back(layout, &output)
        }),
    );
    outcomes.insert(Property::P4, judge(&|| p4_check_passes(&output)));
    if options.corruption_trials > 0 {
        match guarded(|| {
            if options.fault == Some(InjectedFault::PanicInP5) {
                panic!("injected panic (test hook)");
            }
            p5_corruption_is_detected(
                layout,
                &output,
                options.corruption_seed,
                options.corruption_trials,
            )
        }) {
            Ok(stats) => {
                corruption = stats.per_structure;
                undetected = stats.undetected;
                outcomes.insert(Property::P5, Outcome::Pass);
            }
            Err(detail) => {
                outcomes.insert(Property::P5, Outcome::Fail(detail));
            }
        }
    }
    CaseReport {
        outcomes,
        corruption,
        undetected,
    }
}

/// What every pfn below `max_mapnr` must read back as, in pfn order: `Some(page)` for a page in memory,
/// `None` for a pfn in no memory block.
fn expected_pages(layout: &Layout) -> Vec<Option<PageRef>> {
    let mut out = vec![None; layout.max_mapnr() as usize];
    for page in layout.pages() {
        out[page.pfn as usize] = Some(page);
    }
    out
}

/// What one file's sub-header must say beyond what the whole dump implies: its split range and where its
/// eraseinfo is.
#[derive(Debug, Clone, Copy)]
struct FileExpectation {
    /// The pfn range of a file of a `--split` set.
    range: Option<(u64, u64)>,
    /// `offset_eraseinfo`, `size_eraseinfo` ((0, 0) without eraseinfo).
    eraseinfo: (u64, u64),
}

impl FileExpectation {
    fn new(layout: &Layout, range: Option<(u64, u64)>) -> Self {
        let eraseinfo = expected_file_extents(layout, range)
            .iter()
            .find(|e| e.name == "eraseinfo")
            .map_or((0, 0), |e| (e.start, e.end - e.start));
        FileExpectation { range, eraseinfo }
    }
}

/// Compares every pfn read through `dump` (a single file) with the model; the first disagreement is
/// returned.
fn compare_read_back<R: ReadAt>(
    layout: &Layout,
    expected: &[Option<PageRef>],
    dump: &KdumpFile<R>,
) -> Result<(), String> {
    compare_file_structures(layout, dump, &FileExpectation::new(layout, None))?;
    compare_pages(layout, expected, |pfn| dump.read_page(pfn))
}

/// Compares the headers of every file of `set` with the model (`files`: what each file, in pfn order,
/// must say), then every pfn read through the set.
fn compare_set_read_back<R: ReadAt>(
    layout: &Layout,
    expected: &[Option<PageRef>],
    set: &KdumpSet<R>,
    files: &[FileExpectation],
) -> Result<(), String> {
    if set.parts().len() != files.len() {
        return Err(format!(
            "the set has {} files, the model wrote {}",
            set.parts().len(),
            files.len()
        ));
    }
    for (i, (part, file)) in set.parts().iter().zip(files).enumerate() {
        compare_file_structures(layout, part, file).map_err(|d| format!("file {i}: {d}"))?;
    }
    compare_pages(layout, expected, |pfn| set.read_page(pfn))
}

fn compare_file_structures<R: ReadAt>(
    layout: &Layout,
    dump: &KdumpFile<R>,
    file: &FileExpectation,
) -> Result<(), String> {
    if dump.max_mapnr() != layout.max_mapnr() {
        return Err(format!(
            "max_mapnr {:#x} read, the layout has {:#x}",
            dump.max_mapnr(),
            layout.max_mapnr()
        ));
    }
    compare_structures(layout, dump, file)
}

/// Compares every pfn below max_mapnr, read through `read_page`, with the model, and checks that
/// max_mapnr itself is not readable.
fn compare_pages(
    layout: &Layout,
    expected: &[Option<PageRef>],
    read_page: impl Fn(u64) -> Result<PageContent, KdumpError>,
) -> Result<(), String> {
    let ps = layout.page_bytes();
    for (pfn, page) in expected.iter().enumerate() {
        let pfn = pfn as u64;
        let read = read_page(pfn).map_err(|e| format!("pfn {pfn:#x}: read failed: {e}"))?;
        match (page, read) {
            (None, PageContent::NotInMemory) => {}
            (Some(p), PageContent::Excluded) if layout.excludes(p.class) => {}
            (Some(p), PageContent::Data(bytes)) if !layout.excludes(p.class) => {
                let want = p.bytes(ps);
                if bytes != want {
                    let at = bytes.iter().zip(&want).position(|(a, b)| a != b);
                    return Err(format!(
                        "pfn {pfn:#x}: data differs from the model (first at byte {at:?} of the page)"
                    ));
                }
            }
            (want, got) => {
                let want = match want {
                    None => "not in memory",
                    Some(p) if layout.excludes(p.class) => "excluded",
                    Some(_) => "data",
                };
                let got = match got {
                    PageContent::Data(_) => "data",
                    PageContent::Excluded => "excluded",
                    PageContent::NotInMemory => "not in memory",
                };
                return Err(format!(
                    "pfn {pfn:#x}: read as {got}, the model says {want}"
                ));
            }
        }
    }
    match read_page(layout.max_mapnr()) {
        Err(_) => Ok(()),
        Ok(_) => Err(format!(
            "pfn {:#x} (= max_mapnr) was readable",
            layout.max_mapnr()
        )),
    }
}

/// `Err` naming the field when `got` differs from the model's `want`.
fn expect_field<T: PartialEq + fmt::Debug>(field: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{field} reads {got:?}, the model says {want:?}"))
    }
}

/// A utsname string as the writer stores it (at most 64 bytes, NUL-terminated) and a reader decodes it.
fn stored_uts(text: &str) -> String {
    let bytes = &text.as_bytes()[..text.len().min(UTS_FIELD - 1)];
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Compares every header and sub-header field the reader decodes, the note section (raw bytes and parsed
/// notes), VMCOREINFO and eraseinfo with what the layout implies for its writer (FORMATS.md §2–3).
fn compare_structures<R: ReadAt>(
    layout: &Layout,
    dump: &KdumpFile<R>,
    file: &FileExpectation,
) -> Result<(), String> {
    let ps = layout.page_bytes();
    let abi = struct_abi(layout);
    let k = abi.sub_header_size();
    let notes = note_section(layout);
    let n = notes.len() as u64;
    let max_mapnr = layout.max_mapnr();
    let bitmap_len = max_mapnr.div_ceil(8).div_ceil(ps) * ps;
    let is_qemu = layout.writer == WriterKind::Qemu;
    // A C `long` of the dumped machine keeps this many low bits.
    let long_mask = if layout.machine.is_64bit() {
        u64::MAX
    } else {
        u64::from(u32::MAX)
    };

    let h = dump.header();
    expect_field("header signature", h.signature, Signature::Kdump)?;
    expect_field("header_version", h.header_version, 6)?;
    let class = if layout.machine.is_64bit() {
        Class::Bits64
    } else {
        Class::Bits32
    };
    expect_field("word size", h.class, class)?;
    let order = match layout.machine.endian() {
        Endian::Little => ByteOrder::Little,
        Endian::Big => ByteOrder::Big,
    };
    expect_field("byte order", h.byte_order, order)?;
    let uts = &layout.utsname;
    let (sysname, nodename, release, version, domainname) = if is_qemu {
        // QEMU fills only `machine`.
        ("", "", "", "", "")
    } else {
        (
            uts.sysname.as_str(),
            uts.nodename.as_str(),
            uts.release.as_str(),
            uts.version.as_str(),
            uts.domainname.as_str(),
        )
    };
    let want_uts = Utsname {
        sysname: stored_uts(sysname),
        nodename: stored_uts(nodename),
        release: stored_uts(release),
        version: stored_uts(version),
        machine: stored_uts(layout.uts_machine()),
        domainname: stored_uts(domainname),
    };
    expect_field("utsname", &h.utsname, &want_uts)?;
    let timestamp = if is_qemu {
        (0, 0)
    } else {
        (u64::from(layout.timestamp.0), u64::from(layout.timestamp.1))
    };
    expect_field(
        "timestamp",
        (
            h.timestamp_sec as u64 & long_mask,
            h.timestamp_usec as u64 & long_mask,
        ),
        (timestamp.0 & long_mask, timestamp.1 & long_mask),
    )?;
    expect_field("status", h.status, layout.compression.flag())?;
    expect_field("block_size", h.block_size as u64, ps)?;
    expect_field("sub_hdr_size", h.sub_hdr_size as u64, (k + n).div_ceil(ps))?;
    expect_field(
        "bitmap_blocks",
        u64::from(h.bitmap_blocks),
        2 * bitmap_len / ps,
    )?;
    expect_field(
        "max_mapnr (32-bit)",
        u64::from(h.max_mapnr),
        max_mapnr.min(u64::from(u32::MAX)),
    )?;
    expect_field(
        "total_ram_blocks, device_blocks, written_blocks, current_cpu",
        (
            h.total_ram_blocks,
            h.device_blocks,
            h.written_blocks,
            h.current_cpu,
        ),
        (0, 0, 0, 0),
    )?;
    expect_field("nr_cpus", h.nr_cpus as i64, i64::from(layout.notes.cpus))?;

    let sub = dump
        .sub_header()
        .ok_or("no sub-header read, the model writes version 6")?;
    let sub_layout = match abi {
        StructAbi::Lp64 => SubHeaderLayout::Bits64,
        StructAbi::Ilp32Packed => SubHeaderLayout::I386Packed,
        StructAbi::Ilp32Padded => SubHeaderLayout::Padded32,
    };
    expect_field("sub-header layout", sub.layout, sub_layout)?;
    expect_field("sub-header offset", sub.file_offset, ps)?;
    expect_field("sub-header version", sub.header_version, 6)?;
    expect_field("phys_base", sub.phys_base, layout.phys_base & long_mask)?;
    expect_field(
        "dump_level",
        sub.dump_level as i64,
        i64::from(layout.effective_dump_level()),
    )?;
    expect_field(
        "split, start_pfn, end_pfn, start_pfn_64, end_pfn_64",
        (
            sub.split,
            sub.start_pfn,
            sub.end_pfn,
            sub.start_pfn_64,
            sub.end_pfn_64,
        ),
        file.range.map_or((0, 0, 0, 0, 0), |(start, end)| {
            // The legacy 32-bit fields are MIN(pfn, UINT_MAX).
            let legacy = |pfn: u64| pfn.min(u64::from(u32::MAX)) & long_mask;
            (1, legacy(start), legacy(end), start, end)
        }),
    )?;
    expect_field("max_mapnr_64", sub.max_mapnr_64, max_mapnr)?;
    // QEMU points offset_note behind the sub-header even without notes; makedumpfile leaves it 0.
    let note_range = if n > 0 || is_qemu {
        (ps + k, n)
    } else {
        (0, 0)
    };
    expect_field(
        "offset_note, size_note",
        (sub.offset_note, sub.size_note),
        note_range,
    )?;
    // VMCOREINFO is the last note; its descriptor fills the note's last pad4(len) bytes.
    let vmcoreinfo_range = layout.notes.vmcoreinfo.as_ref().map_or((0, 0), |text| {
        let len = text.len() as u64;
        (ps + k + n - len.div_ceil(4) * 4, len)
    });
    expect_field(
        "offset_vmcoreinfo, size_vmcoreinfo",
        (sub.offset_vmcoreinfo, sub.size_vmcoreinfo),
        vmcoreinfo_range,
    )?;
    expect_field(
        "offset_eraseinfo, size_eraseinfo",
        (sub.offset_eraseinfo, sub.size_eraseinfo),
        file.eraseinfo,
    )?;

    if let Some(problem) = dump.notes_error() {
        return Err(format!("the notes could not be read: {problem}"));
    }
    let spec = &layout.notes;
    let mut want_notes: Vec<(String, u32, u64)> = Vec::new();
    for _ in 0..spec.cpus {
        want_notes.push(("CORE".into(), NT_PRSTATUS, u64::from(spec.prstatus_size)));
    }
    if let Some(size) = spec.qemu_cpu_state_size {
        for _ in 0..spec.cpus {
            want_notes.push(("QEMU".into(), 0, u64::from(size)));
        }
    }
    if let Some(text) = &spec.vmcoreinfo {
        want_notes.push(("VMCOREINFO".into(), 0, text.len() as u64));
    }
    let got_notes: Vec<(String, u32, u64)> = dump
        .notes()
        .notes
        .iter()
        .map(|note| (note.name.clone(), note.note_type, note.desc_size))
        .collect();
    expect_field("parsed notes (name, type, size)", got_notes, want_notes)?;
    expect_field(
        "VMCOREINFO text",
        dump.vmcoreinfo().map(|v| v.text.as_str()),
        spec.vmcoreinfo.as_deref().map(|t| t.trim_end_matches('\0')),
    )?;
    let want_eraseinfo = layout
        .eraseinfo
        .as_ref()
        .filter(|t| !t.is_empty() && !is_qemu)
        .map(|t| t.as_bytes().to_vec());
    let got_eraseinfo = dump
        .eraseinfo()
        .map_err(|e| format!("eraseinfo could not be read: {e}"))?;
    expect_field("eraseinfo", got_eraseinfo, want_eraseinfo)?;
    // Last, the note bytes themselves (the NT_PRSTATUS and QEMU descriptors no parser interprets).
    let read_notes = dump
        .notes_bytes()
        .map_err(|e| format!("the notes could not be read: {e}"))?
        .unwrap_or_default();
    compare_bytes(&read_notes, &notes).map_err(|d| format!("note section: {d}"))
}

/// P3: through `kdump::KdumpFile`, over the raw bytes and over the flattened bytes read in place
/// (`flat::index::FlatIndex`), the header, sub-header, notes, VMCOREINFO and eraseinfo read back as the
/// layout implies and every pfn reads back as the model says (data equal to the model's page, excluded,
/// not in memory). For a `--split` layout, also through `kdump::KdumpSet` over the set's raw files and over
/// its flattened files read in place: every file's headers (split range, its eraseinfo) and every pfn.
pub fn p3_pages_read_back(layout: &Layout, output: &CaseOutput) -> Result<(), PropertyFailure> {
    let expected = expected_pages(layout);
    let raw = KdumpFile::open(output.raw.as_slice())
        .map_err(|e| fail(Property::P3, format!("raw: cannot open: {e}")))?;
    compare_read_back(layout, &expected, &raw)
        .map_err(|d| fail(Property::P3, format!("raw: {d}")))?;
    let index = FlatIndex::open(output.flat.as_slice())
        .map_err(|e| fail(Property::P3, format!("flattened: cannot index: {e}")))?;
    let flat = KdumpFile::open(index)
        .map_err(|e| fail(Property::P3, format!("flattened: cannot open: {e}")))?;
    compare_read_back(layout, &expected, &flat)
        .map_err(|d| fail(Property::P3, format!("flattened: {d}")))?;
    if output.parts.is_empty() {
        return Ok(());
    }
    let files = dump_files(output);
    let expectations: Vec<FileExpectation> = files
        .iter()
        .map(|f| FileExpectation::new(layout, f.range))
        .collect();
    let raws: Vec<&[u8]> = files.iter().map(|f| f.raw).collect();
    read_back_set(layout, &expected, &expectations, &raws)
        .map_err(|d| fail(Property::P3, format!("split set, raw: {d}")))?;
    let flats: Vec<&[u8]> = files.iter().map(|f| f.flat).collect();
    read_back_flat_set(layout, &expected, &expectations, &flats)
        .map_err(|d| fail(Property::P3, format!("split set, flattened: {d}")))
}

/// Opens raw files (given in reverse order) as one [`KdumpSet`] and compares it with the model.
fn read_back_set(
    layout: &Layout,
    expected: &[Option<PageRef>],
    expectations: &[FileExpectation],
    raws: &[&[u8]],
) -> Result<(), String> {
    let files = raws
        .iter()
        .enumerate()
        .rev()
        .map(|(i, raw)| KdumpFile::open(*raw).map_err(|e| format!("file {i}: cannot open: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let set = KdumpSet::new(files).map_err(|e| format!("not one set: {e}"))?;
    compare_set_read_back(layout, expected, &set, expectations)
}

/// Indexes flattened files in place (given in reverse order), opens them as one [`KdumpSet`] and
/// compares it with the model.
fn read_back_flat_set(
    layout: &Layout,
    expected: &[Option<PageRef>],
    expectations: &[FileExpectation],
    flats: &[&[u8]],
) -> Result<(), String> {
    let files = flats
        .iter()
        .enumerate()
        .rev()
        .map(|(i, flat)| {
            let index =
                FlatIndex::open(*flat).map_err(|e| format!("file {i}: cannot index: {e}"))?;
            KdumpFile::open(index).map_err(|e| format!("file {i}: cannot open: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let set = KdumpSet::new(files).map_err(|e| format!("not one set: {e}"))?;
    compare_set_read_back(layout, expected, &set, expectations)
}

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

fn describe_violations(report: &crate::kdump::check::CheckReport) -> String {
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

/// P5's measurements on one case.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CorruptionStats {
    /// Per structure: (corruptions detected, corruptions tried).
    pub per_structure: BTreeMap<String, (u64, u64)>,
    /// Corruptions nobody noticed: (structure, byte offset in the raw file).
    pub undetected: Vec<(String, u64)>,
}

/// Runs one step of a case; a failure gives its detail, a panic becomes a failure that says so (a bug in a
/// writer or reader must be reported with its seed, never end the run).
fn guarded<T>(step: impl FnOnce() -> Result<T, PropertyFailure>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(step)) {
        Ok(result) => result.map_err(|e| e.detail),
        Err(panic) => Err(format!("panicked: {}", panic_message(panic.as_ref()))),
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".into())
}

/// P5: flips one random byte (XOR with a random non-zero value) `trials` times in each structure of the
/// raw dump (header, sub-header, notes, bitmap 1, bitmap 2, descriptors, page data, eraseinfo) and of the
/// flattened file (its header, a record header, the end marker) and records whether the flattened index,
/// `check` or a read-back against the model notices. Fails only if a reader panics on the
/// corrupted input; the detection rates are the measurement. For a `--split` layout each trial corrupts
/// one file of the set (chosen at random among those holding the structure) and `check`, `KdumpSet` and
/// the read-back look at the whole set; its structures are counted apart, as "split …".
pub fn p5_corruption_is_detected(
    layout: &Layout,
    output: &CaseOutput,
    seed: u64,
    trials: u32,
) -> Result<CorruptionStats, PropertyFailure> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let expected = expected_pages(layout);
    let mut stats = CorruptionStats::default();
    let files = dump_files(output);
    let is_set = !output.parts.is_empty();
    let expectations: Vec<FileExpectation> = files
        .iter()
        .map(|f| FileExpectation::new(layout, f.range))
        .collect();
    let raws: Vec<&[u8]> = files.iter().map(|f| f.raw).collect();
    let flats: Vec<&[u8]> = files.iter().map(|f| f.flat).collect();
    let label = |name: &str| {
        if is_set {
            format!("split {name}")
        } else {
            name.to_string()
        }
    };
    // Structures in file order, each with the files that hold it and where.
    let mut structures: Vec<(&'static str, Vec<StructureSpan>)> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        for extent in expected_file_extents(layout, file.range) {
            // Only the bitmap bytes that cover pfns below max_mapnr carry meaning for every writer.
            let end = match extent.name {
                "bitmap 1" | "bitmap 2" => extent.start + layout.max_mapnr().div_ceil(8),
                _ => extent.end,
            };
            match structures.iter_mut().find(|(name, _)| *name == extent.name) {
                Some((_, holders)) => holders.push((i, extent.start, end)),
                None => structures.push((extent.name, vec![(i, extent.start, end)])),
            }
        }
    }
    for (name, holders) in &structures {
        for _ in 0..trials {
            let (file, start, end) = holders[rng.gen_range(0..holders.len())];
            let at = rng.gen_range(start..end);
            let flip: u8 = rng.gen_range(1..=255);
            let mut corrupted = raws[file].to_vec();
            flip_byte(&mut corrupted, at, flip, name, &files[file].name)?;
            let mut set = raws.clone();
            set[file] = &corrupted;
            let verdict = catch_unwind(AssertUnwindSafe(|| {
                let readers: Vec<&dyn ReadAt> = set.iter().map(|r| r as &dyn ReadAt).collect();
                !check(&readers).is_valid()
                    || read_back_set(layout, &expected, &expectations, &set).is_err()
            }));
            let detected = verdict.map_err(|_| {
                fail(
                    Property::P5,
                    format!(
                        "a reader panicked on the dump with byte {at:#x} ({name}) of {} XOR {flip:#04x}",
                        files[file].name
                    ),
                )
            })?;
            record_trial(&mut stats, &label(name), detected, at);
        }
    }
    for (name, pick) in flattened_targets(&files) {
        for _ in 0..trials {
            let file = rng.gen_range(0..files.len());
            let at = pick(file, &mut rng);
            let flip: u8 = rng.gen_range(1..=255);
            let mut corrupted = flats[file].to_vec();
            flip_byte(&mut corrupted, at, flip, name, &files[file].name)?;
            let mut set = flats.clone();
            set[file] = &corrupted;
            let verdict = catch_unwind(AssertUnwindSafe(|| {
                let Ok(indexes) = set
                    .iter()
                    .map(|flat| FlatIndex::open(*flat))
                    .collect::<Result<Vec<_>, _>>()
                else {
                    return true;
                };
                let readers: Vec<&dyn ReadAt> = indexes.iter().map(|r| r as &dyn ReadAt).collect();
                !check(&readers).is_valid()
                    || read_back_flat_set(layout, &expected, &expectations, &set).is_err()
            }));
            let detected = verdict.map_err(|_| {
                fail(
                    Property::P5,
                    format!(
                        "a reader panicked on the flattened dump with byte {at:#x} ({name}) of {} XOR {flip:#04x}",
                        files[file].name
                    ),
                )
            })?;
            record_trial(&mut stats, &label(name), detected, at);
        }
    }
    Ok(stats)
}

/// XORs byte `at` of `file` with `flip`; a byte past the end (a writer bug that left the file shorter than
/// the layout says) is a P5 failure, not an out-of-bounds panic.
fn flip_byte(
    file: &mut [u8],
    at: u64,
    flip: u8,
    structure: &str,
    file_name: &str,
) -> Result<(), PropertyFailure> {
    let len = file.len();
    let byte = usize::try_from(at)
        .ok()
        .and_then(|at| file.get_mut(at))
        .ok_or_else(|| {
            fail(
                Property::P5,
                format!(
                    "byte {at:#x} of the {structure} lies past the end of {file_name} ({len} bytes): the file \
                     is shorter than the layout says"
                ),
            )
        })?;
    *byte ^= flip;
    Ok(())
}

/// Where a structure lies in one file of the dump: (file index, first byte, one past the last byte).
type StructureSpan = (usize, u64, u64);

fn record_trial(stats: &mut CorruptionStats, structure: &str, detected: bool, at: u64) {
    let entry = stats
        .per_structure
        .entry(structure.to_string())
        .or_default();
    entry.1 += 1;
    if detected {
        entry.0 += 1;
    } else {
        stats.undetected.push((structure.to_string(), at));
    }
}

/// Chooses a byte offset to corrupt in the flattened form of file `file`.
type BytePicker<'a> = Box<dyn Fn(usize, &mut ChaCha8Rng) -> u64 + 'a>;

/// The flattened side of P5: one byte of the flattened file header (its first 32 bytes), of a record
/// header, or of the end marker.
fn flattened_targets<'a>(files: &'a [FileView<'a>]) -> [(&'static str, BytePicker<'a>); 3] {
    // Per file: the offset of every record header, and of the end marker.
    let layouts: Vec<(Vec<u64>, u64)> = files
        .iter()
        .map(|file| {
            let mut record_headers = Vec::with_capacity(file.writes.len());
            let mut position = 4096u64;
            for &(_, len) in file.writes {
                record_headers.push(position);
                position += 16 + len;
            }
            (record_headers, position)
        })
        .collect();
    let layouts = std::rc::Rc::new(layouts);
    let for_records = layouts.clone();
    [
        (
            "flat header",
            Box::new(|_, rng: &mut ChaCha8Rng| rng.gen_range(0..32)),
        ),
        (
            "flat record header",
            Box::new(move |file, rng: &mut ChaCha8Rng| {
                let headers = &for_records[file].0;
                headers[rng.gen_range(0..headers.len())] + rng.gen_range(0..16)
            }),
        ),
        (
            "flat end marker",
            Box::new(move |file, rng: &mut ChaCha8Rng| layouts[file].1 + rng.gen_range(0..16)),
        ),
    ]
}
