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
//! - **P3** [`p3_pages_read_back`]: every header and sub-header field the kdump reader decodes (utsname,
//!   timestamp, status, sizes, nr_cpus, phys_base, dump_level, split fields, offsets and sizes), the note
//!   section (bytes and parsed notes), VMCOREINFO and eraseinfo equal what the layout implies, and every
//!   pfn reads back as the model says (data, excluded, not in memory), over the raw bytes and over the
//!   flattened bytes.
//! - **P4** [`p4_check_passes`]: the checker finds the raw dump valid.
//! - **P5** [`p5_corruption_is_detected`]: a random single-byte change in one structure is caught by the
//!   checker or shows up as a read-back mismatch (P3's comparisons); detection rates are reported per
//!   structure (some bytes, such as utsname bytes after the terminating NUL or header padding, can change
//!   without any reader noticing, so P5 is a measurement, not a pass/fail).

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
use crate::kdump::{ByteOrder, Class, KdumpFile, PageContent, Signature, SubHeaderLayout, Utsname};
use crate::model::encode::{StructAbi, PAGE_DESC_SIZE, UTS_FIELD};
use crate::model::layout::{Endian, PageRef};
use crate::model::notes::{note_section, NT_PRSTATUS};
use crate::model::{store_page, struct_abi, write_layout, Layout, WriteSummary, WriterKind};
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
    let mut corruption = BTreeMap::new();
    let mut undetected = Vec::new();
    let output = match write_case(layout) {
        Ok(o) => o,
        Err(e) => {
            outcomes.insert(Property::P1, Outcome::Fail(e.detail));
            return CaseReport {
                outcomes,
                corruption,
                undetected,
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
    outcomes.insert(Property::P3, judge(p3_pages_read_back(layout, &output)));
    outcomes.insert(Property::P4, judge(p4_check_passes(&output)));
    if options.corruption_trials > 0 {
        match p5_corruption_is_detected(
            layout,
            &output,
            options.corruption_seed,
            options.corruption_trials,
        ) {
            Ok(stats) => {
                corruption = stats.per_structure;
                undetected = stats.undetected;
                outcomes.insert(Property::P5, Outcome::Pass);
            }
            Err(e) => {
                outcomes.insert(Property::P5, Outcome::Fail(e.detail));
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

/// Compares every pfn read through `dump` with the model; the first disagreement is returned.
fn compare_read_back<R: ReadAt>(
    layout: &Layout,
    expected: &[Option<PageRef>],
    dump: &KdumpFile<R>,
) -> Result<(), String> {
    if dump.max_mapnr() != layout.max_mapnr() {
        return Err(format!(
            "max_mapnr {:#x} read, the layout has {:#x}",
            dump.max_mapnr(),
            layout.max_mapnr()
        ));
    }
    compare_structures(layout, dump)?;
    let ps = layout.page_bytes();
    for (pfn, page) in expected.iter().enumerate() {
        let pfn = pfn as u64;
        let read = dump
            .read_page(pfn)
            .map_err(|e| format!("pfn {pfn:#x}: read failed: {e}"))?;
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
    match dump.read_page(layout.max_mapnr()) {
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
fn compare_structures<R: ReadAt>(layout: &Layout, dump: &KdumpFile<R>) -> Result<(), String> {
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
        (0, 0, 0, 0, 0),
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
    let eraseinfo_range = expected_extents(layout)
        .iter()
        .find(|e| e.name == "eraseinfo")
        .map_or((0, 0), |e| (e.start, e.end - e.start));
    expect_field(
        "offset_eraseinfo, size_eraseinfo",
        (sub.offset_eraseinfo, sub.size_eraseinfo),
        eraseinfo_range,
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
/// not in memory).
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
        .map_err(|d| fail(Property::P3, format!("flattened: {d}")))
}

/// P4: `kdump::check::check` finds the raw dump and the flattened dump (read in place) valid.
pub fn p4_check_passes(output: &CaseOutput) -> Result<(), PropertyFailure> {
    let report = check(&[&output.raw.as_slice() as &dyn ReadAt]);
    if !report.is_valid() {
        return Err(fail(
            Property::P4,
            format!("raw: {}", describe_violations(&report)),
        ));
    }
    let index = FlatIndex::open(output.flat.as_slice())
        .map_err(|e| fail(Property::P4, format!("flattened: cannot index: {e}")))?;
    let report = check(&[&index as &dyn ReadAt]);
    if !report.is_valid() {
        return Err(fail(
            Property::P4,
            format!("flattened: {}", describe_violations(&report)),
        ));
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

/// P5: flips one random byte (XOR with a random non-zero value) `trials` times in each structure of the
/// raw dump (header, sub-header, notes, bitmap 1, bitmap 2, descriptors, page data, eraseinfo) and of the
/// flattened file (its header, a record header, the end marker) and records whether the flattened index,
/// `check` or a read-back against the model notices. Fails only if a reader panics on the
/// corrupted input; the detection rates are the measurement.
pub fn p5_corruption_is_detected(
    layout: &Layout,
    output: &CaseOutput,
    seed: u64,
    trials: u32,
) -> Result<CorruptionStats, PropertyFailure> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let expected = expected_pages(layout);
    let mut stats = CorruptionStats::default();
    for extent in expected_extents(layout) {
        // Only the bitmap bytes that cover pfns below max_mapnr carry meaning for every writer.
        let end = match extent.name {
            "bitmap 1" | "bitmap 2" => extent.start + layout.max_mapnr().div_ceil(8),
            _ => extent.end,
        };
        for _ in 0..trials {
            let at = rng.gen_range(extent.start..end);
            let flip: u8 = rng.gen_range(1..=255);
            let mut corrupted = output.raw.clone();
            corrupted[at as usize] ^= flip;
            let verdict = catch_unwind(AssertUnwindSafe(|| {
                if !check(&[&corrupted.as_slice() as &dyn ReadAt]).is_valid() {
                    return true;
                }
                match KdumpFile::open(corrupted.as_slice()) {
                    Err(_) => true,
                    Ok(dump) => compare_read_back(layout, &expected, &dump).is_err(),
                }
            }));
            let detected = verdict.map_err(|_| {
                fail(
                    Property::P5,
                    format!(
                        "a reader panicked on the dump with byte {at:#x} ({}) XOR {flip:#04x}",
                        extent.name
                    ),
                )
            })?;
            let entry = stats
                .per_structure
                .entry(extent.name.to_string())
                .or_default();
            entry.1 += 1;
            if detected {
                entry.0 += 1;
            } else {
                stats.undetected.push((extent.name.to_string(), at));
            }
        }
    }
    corrupt_flattened(layout, output, &expected, &mut rng, trials, &mut stats)?;
    Ok(stats)
}

/// Chooses a byte offset to corrupt.
type BytePicker<'a> = Box<dyn Fn(&mut ChaCha8Rng) -> u64 + 'a>;

/// The flattened side of P5: one byte of the flattened file header (its first 32 bytes), of a record
/// header, or of the end marker changes; the index, `check` over the index or a read-back must notice.
fn corrupt_flattened(
    layout: &Layout,
    output: &CaseOutput,
    expected: &[Option<PageRef>],
    rng: &mut ChaCha8Rng,
    trials: u32,
    stats: &mut CorruptionStats,
) -> Result<(), PropertyFailure> {
    let mut record_headers = Vec::with_capacity(output.writes.len());
    let mut position = 4096u64;
    for &(_, len) in &output.writes {
        record_headers.push(position);
        position += 16 + len;
    }
    let end_marker = position;
    let targets: [(&str, BytePicker<'_>); 3] = [
        (
            "flat header",
            Box::new(|rng: &mut ChaCha8Rng| rng.gen_range(0..32)),
        ),
        (
            "flat record header",
            Box::new(|rng: &mut ChaCha8Rng| {
                record_headers[rng.gen_range(0..record_headers.len())] + rng.gen_range(0..16)
            }),
        ),
        (
            "flat end marker",
            Box::new(move |rng: &mut ChaCha8Rng| end_marker + rng.gen_range(0..16)),
        ),
    ];
    for (name, pick) in &targets {
        for _ in 0..trials {
            let at = pick(rng);
            let flip: u8 = rng.gen_range(1..=255);
            let mut corrupted = output.flat.clone();
            corrupted[at as usize] ^= flip;
            let verdict = catch_unwind(AssertUnwindSafe(|| {
                let Ok(index) = FlatIndex::open(corrupted.as_slice()) else {
                    return true;
                };
                if !check(&[&index as &dyn ReadAt]).is_valid() {
                    return true;
                }
                match KdumpFile::open(index) {
                    Err(_) => true,
                    Ok(dump) => compare_read_back(layout, expected, &dump).is_err(),
                }
            }));
            let detected = verdict.map_err(|_| {
                fail(
                    Property::P5,
                    format!("a reader panicked on the flattened dump with byte {at:#x} ({name}) XOR {flip:#04x}"),
                )
            })?;
            let entry = stats.per_structure.entry(name.to_string()).or_default();
            entry.1 += 1;
            if detected {
                entry.0 += 1;
            } else {
                stats.undetected.push((name.to_string(), at));
            }
        }
    }
    Ok(())
}
