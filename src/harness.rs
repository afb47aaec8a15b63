//! The properties the project exists to check, as named functions usable from tests, fuzz targets and
//! `kdump-flat selftest`.
//!
//! A case is one [`Layout`]: [`write_case`] sends its write sequence down the raw path, the flattened path
//! and a recorder in one run, then each property judges the result:
//!
//! - **P1** [`p1_flat_reassembles_to_raw`]: reassembling the flattened output (`flat::reassemble`, the real
//!   one) gives exactly the raw output.
//! - **P2** [`p2_raw_extent_matches_layout`]: the raw file's length, the ranges written and the holes are
//!   what the layout implies by the formulas of FORMATS.md (computed here, not taken from the writer).
//! - **P3** [`p3_pages_read_back`]: every pfn reads back as the model says (data, excluded, not in
//!   memory) through the kdump reader, over the raw bytes and over the flattened bytes.
//! - **P4** [`p4_check_passes`]: the checker finds the raw dump valid.
//! - **P5** [`p5_corruption_is_detected`]: a random single-byte change in one structure is caught by the
//!   checker or shows up as a read-back mismatch; detection rates are reported per structure (some bytes,
//!   such as utsname text, can change without any reader noticing, so P5 is a measurement, not a pass/fail).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};

use serde::Serialize;

use crate::flat::{reassemble, ReassembleOptions};
use crate::model::encode::PAGE_DESC_SIZE;
use crate::model::notes::note_section;
use crate::model::{store_page, struct_abi, write_layout, Layout, WriteSummary, WriterKind};
use crate::sink::{DumpSink, FlatSink, RawSink, RecordingSink, TeeSink};

/// The properties, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Property {
    /// Reassembled flattened bytes == raw bytes.
    P1,
    /// Raw length, written ranges and holes are what the layout implies.
    P2,
    /// Every pfn reads back as the model says, over raw and flattened.
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
            Property::P3 => "every pfn reads back as the model says (raw and flattened)",
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
    /// The raw kdump-compressed file.
    pub raw: Vec<u8>,
    /// The flattened file.
    pub flat: Vec<u8>,
    /// Every write as (offset, length), in order.
    pub writes: Vec<(u64, u64)>,
    /// The writer's summary.
    pub summary: WriteSummary,
}

/// Writes `layout` once, teeing the sequence into a raw sink, a flattened sink and a recorder.
pub fn write_case(layout: &Layout) -> Result<CaseOutput, PropertyFailure> {
    let mut sink = TeeSink(
        TeeSink(RawSink::in_memory(), FlatSink::new(Vec::new())),
        RecordingSink::default(),
    );
    let summary = write_layout(layout, &mut sink as &mut dyn DumpSink)
        .map_err(|e| fail(Property::P1, format!("the writer failed: {e}")))?;
    let TeeSink(TeeSink(raw, flat), recorder) = sink;
    Ok(CaseOutput {
        raw: raw.into_bytes(),
        flat: flat.into_inner(),
        writes: recorder.writes,
        summary,
    })
}

/// P1: the flattened output, reassembled by `flat::reassemble`, equals the raw output byte for byte.
pub fn p1_flat_reassembles_to_raw(output: &CaseOutput) -> Result<(), PropertyFailure> {
    let reassembled = reassemble_bytes(&output.flat).map_err(|e| fail(Property::P1, e))?;
    compare_bytes(&reassembled, &output.raw).map_err(|d| fail(Property::P1, d))
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

/// The ranges a writer must write for `layout`, from the formulas of FORMATS.md §2–3 (sorted by start);
/// everything else below the last end is a hole.
pub fn expected_extents(layout: &Layout) -> Vec<Extent> {
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
    for page in layout.pages().filter(|pg| !layout.excludes(pg.class)) {
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
        // makedumpfile: the whole bitmap.
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
        end: q,
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
/// every byte outside them is zero; the flattened size is 4096 + Σ(16 + size) + 16.
pub fn p2_raw_extent_matches_layout(
    layout: &Layout,
    output: &CaseOutput,
) -> Result<(), PropertyFailure> {
    let extents = expected_extents(layout);
    let expected_len = extents.iter().map(|e| e.end).max().unwrap_or(0);
    if output.raw.len() as u64 != expected_len {
        return Err(fail(
            Property::P2,
            format!(
                "raw length {} but the layout implies {expected_len} (extents: {})",
                output.raw.len(),
                describe_extents(&extents)
            ),
        ));
    }
    let expected = union(extents.iter().map(|e| (e.start, e.end)).collect());
    let written = union(output.writes.iter().map(|&(o, len)| (o, o + len)).collect());
    if expected != written {
        return Err(fail(
            Property::P2,
            format!(
                "written ranges {} differ from the layout's {}",
                describe_ranges(&written),
                describe_extents(&extents)
            ),
        ));
    }
    let mut cursor = 0u64;
    for &(start, end) in expected
        .iter()
        .chain(std::iter::once(&(expected_len, expected_len)))
    {
        if let Some(at) = output.raw[cursor as usize..start as usize]
            .iter()
            .position(|&b| b != 0)
        {
            return Err(fail(
                Property::P2,
                format!("hole byte at {:#x} is not zero", cursor + at as u64),
            ));
        }
        cursor = end;
    }
    let flat_len = 4096 + output.writes.iter().map(|w| 16 + w.1).sum::<u64>() + 16;
    if output.flat.len() as u64 != flat_len {
        return Err(fail(
            Property::P2,
            format!(
                "flattened length {} instead of 4096 + Σ(16 + size) + 16 = {flat_len}",
                output.flat.len()
            ),
        ));
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
}

impl Default for CaseOptions {
    fn default() -> Self {
        CaseOptions {
            corruption_seed: 0,
            corruption_trials: 2,
        }
    }
}

/// Runs every property on one layout.
pub fn run_case(layout: &Layout, options: &CaseOptions) -> CaseReport {
    let mut outcomes = BTreeMap::new();
    let corruption = BTreeMap::new();
    let output = match write_case(layout) {
        Ok(o) => o,
        Err(e) => {
            outcomes.insert(Property::P1, Outcome::Fail(e.detail));
            return CaseReport {
                outcomes,
                corruption,
            };
        }
    };
    let judge = |r: Result<(), PropertyFailure>| match r {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e.detail),
    };
    outcomes.insert(Property::P1, judge(p1_flat_reassembles_to_raw(&output)));
    outcomes.insert(
        Property::P2,
        judge(p2_raw_extent_matches_layout(layout, &output)),
    );
    let _ = options;
    outcomes.insert(
        Property::P3,
        Outcome::NotWired("needs the kdump reader (crate::kdump)"),
    );
    outcomes.insert(
        Property::P4,
        Outcome::NotWired("needs the checker (crate::kdump::check)"),
    );
    outcomes.insert(
        Property::P5,
        Outcome::NotWired("needs the checker and the reader"),
    );
    CaseReport {
        outcomes,
        corruption,
    }
}
