//! `diff`: how two dumps differ, structure by structure.
//!
//! Where `cmp` gives a byte offset, [`diff`] names what differs, in the order of the format: the file
//! (kind, length, parts), every `disk_dump_header` and `kdump_sub_header` field by name, the notes one by
//! one, VMCOREINFO key by key, the bitmaps as pfn ranges, the descriptors of pfns dumped on both sides as
//! pfn ranges, the pages after decompression (identical memory stored differently is said so, not reported
//! as a content difference), eraseinfo and trailing bytes. [`DiffMode::Memory`] compares only guest memory
//! and notes, so an ELF dump can be compared with a kdump one. Both sides are read in place (a flattened
//! file through its record index), pages are decompressed on all cores a window of pfns at a time, and the
//! bytes after reassembly are compared first: the same bytes in two forms are reported as such.
//!
//! ```
//! use kdump_flat::diff::{diff, DiffMode, DiffOptions, Side};
//! use kdump_flat::model::gen::{layout_from_seed, SizeClass};
//! use kdump_flat::model::write_layout;
//! use kdump_flat::sink::RawSink;
//! use kdump_flat::source::{DumpForm, DumpSource};
//!
//! let mut sink = RawSink::in_memory();
//! write_layout(&layout_from_seed(7, SizeClass::Small), &mut sink).unwrap();
//! let bytes = sink.into_bytes();
//! let side = |label: &'static str, bytes: Vec<u8>| {
//!     let source = DumpSource { reader: Box::new(bytes), form: DumpForm::Raw };
//!     Side::open(label, vec![(label.to_string(), source)]).unwrap()
//! };
//! let (a, b) = (side("A", bytes.clone()), side("B", bytes));
//! let options = DiffOptions { mode: DiffMode::Structure, limit: 10 };
//! let report = diff(&a, &b, &options, &|_, _| {}).unwrap();
//! assert!(report.same_bytes && report.same_memory && report.is_same());
//! ```

mod bitmaps;
mod fields;
mod memory;
mod notes;
mod pages;
pub mod report;
mod side;
mod text;

use std::fmt;

pub use self::report::{
    DiffMode, DiffReport, Difference, DumpKind, FirstByteDifference, SideInfo, Structure, Summary,
};
pub use self::side::{SharedReader, Side, SideContent, SideTrouble};
pub use self::text::render_text;

use self::fields::{byte_value, first_byte_difference};
use self::memory::MemoryView;
use self::notes::{elf_notes, kdump_notes, SideNotes};
use self::pages::{compare_pages, DataEnds, PageWalk};
use self::report::Collector;
use crate::kdump::KdumpFile;
use crate::readat::ReadAt;

/// Bytes compared at once when comparing whole files.
const FILE_CHUNK: usize = 1 << 20;
/// Page size given to an ELF dump compared with another ELF dump.
const ELF_PAGE_SIZE: u64 = 4096;

/// What to compare and how much to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffOptions {
    /// Every structure, or guest memory and notes only.
    pub mode: DiffMode,
    /// Differences listed per structure (all are counted).
    pub limit: usize,
}

/// Why a comparison could not be made (exit status 2).
#[derive(Debug)]
pub enum DiffError {
    /// A side could not be opened.
    Side(SideTrouble),
    /// Reading a side failed during the comparison.
    Read {
        /// "A" or "B".
        side: &'static str,
        /// What failed.
        message: String,
    },
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffError::Side(trouble) => write!(f, "{trouble}"),
            DiffError::Read { side, message } => {
                write!(f, "side {side} cannot be compared: {message}")
            }
        }
    }
}

impl std::error::Error for DiffError {}

impl From<SideTrouble> for DiffError {
    fn from(trouble: SideTrouble) -> Self {
        DiffError::Side(trouble)
    }
}

/// Compares side `a` with side `b`; `progress(done, total)` is called now and then with pfns walked.
pub fn diff(
    a: &Side,
    b: &Side,
    options: &DiffOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<DiffReport, DiffError> {
    let first_byte_difference = compare_bytes(a, b)?;
    let same_bytes =
        first_byte_difference.is_none() && a.info.lengths.len() == b.info.lengths.len();
    let mut out = Collector::new(options.limit);
    let mut summary = Summary::default();
    let mut same_memory = true;
    if same_bytes {
        summary.pfns_compared = present_pages(a);
    } else {
        let both_kdump = matches!(
            (&a.content, &b.content),
            (SideContent::Kdump(_), SideContent::Kdump(_))
        );
        same_memory = if options.mode == DiffMode::Structure && both_kdump {
            compare_structures(a, b, &mut out, &mut summary, progress)?
        } else {
            if options.mode == DiffMode::Structure && a.info.kind != b.info.kind {
                out.push(Difference::field(
                    Structure::File,
                    "kind",
                    serde_json::to_value(a.info.kind).unwrap_or_default(),
                    serde_json::to_value(b.info.kind).unwrap_or_default(),
                ));
            }
            compare_memory(a, b, &mut out, &mut summary, progress)?
        };
        if options.mode == DiffMode::Structure && out.counts.is_empty() {
            explain_bytes(a, b, first_byte_difference.as_ref(), &mut out)?;
        }
    }
    Ok(DiffReport {
        a: a.info.clone(),
        b: b.info.clone(),
        mode: options.mode,
        same_bytes,
        first_byte_difference,
        same_memory,
        summary,
        counts: out.counts,
        differences: out.differences,
        limit: options.limit,
    })
}

fn read_error(side: &'static str) -> impl Fn(std::io::Error) -> DiffError {
    move |e| DiffError::Read {
        side,
        message: e.to_string(),
    }
}

/// Compares the sides' files byte for byte after reassembly (part by part for split sets, in the order
/// given); the first difference, if any.
fn compare_bytes(a: &Side, b: &Side) -> Result<Option<FirstByteDifference>, DiffError> {
    let (readers_a, readers_b) = (a.readers(), b.readers());
    for (part, (ra, rb)) in readers_a.iter().zip(&readers_b).enumerate() {
        let len = a.info.lengths[part].max(b.info.lengths[part]);
        let found =
            first_byte_difference(*ra, *rb, 0, len, FILE_CHUNK).map_err(|e| DiffError::Read {
                side: "A or B",
                message: format!("comparing the bytes of file {part}: {e}"),
            })?;
        if let Some((offset, _, _)) = found {
            return Ok(Some(FirstByteDifference {
                part,
                offset,
                region: region_of(a, part, offset),
            }));
        }
    }
    Ok(None)
}

/// Pages present on a side (dumped, or covered by a `PT_LOAD`), counted without reading them.
fn present_pages(side: &Side) -> u64 {
    match &side.content {
        SideContent::Kdump(set) => set.parts().iter().map(|p| p.descriptor_count()).sum(),
        SideContent::Elf { dump, .. } => dump
            .blocks
            .iter()
            .map(|b| b.phys_end().div_ceil(ELF_PAGE_SIZE) - b.phys_addr / ELF_PAGE_SIZE)
            .sum(),
    }
}

/// The file of `side` given at position `given`, if it is a kdump file.
fn kdump_part(side: &Side, given: usize) -> Option<&KdumpFile<SharedReader>> {
    let SideContent::Kdump(set) = &side.content else {
        return None;
    };
    (0..set.parts().len())
        .find(|&i| set.given_index(i) == given)
        .map(|i| &set.parts()[i])
}

/// The structure of side `side`'s file `part` that holds byte `offset`, in words.
fn region_of(side: &Side, part: usize, offset: u64) -> String {
    let Some(file) = kdump_part(side, part) else {
        return "ELF dump".into();
    };
    let header_size = file.header().size() as u64;
    let bitmaps = file.bitmaps();
    let sub = file.sub_header();
    let within = |range: Option<(u64, u64)>| {
        range.is_some_and(|(start, size)| offset >= start && offset < start.saturating_add(size))
    };
    if offset < header_size {
        "disk_dump_header".into()
    } else if offset < file.page_size() {
        "block 0 after the header".into()
    } else if within(sub.map(|s| (s.file_offset, s.size() as u64))) {
        "kdump_sub_header".into()
    } else if within(sub.and_then(|s| s.notes_range())) {
        "notes".into()
    } else if within(Some((bitmaps.bitmap1_offset, bitmaps.len))) {
        "bitmap 1".into()
    } else if within(Some((bitmaps.bitmap2_offset, bitmaps.len))) {
        "bitmap 2".into()
    } else if offset < file.descriptors_offset() {
        "sub-header blocks".into()
    } else if offset < file.data_offset() {
        "page descriptors".into()
    } else if within(sub.and_then(|s| s.eraseinfo_range())) {
        "eraseinfo".into()
    } else if offset < file.file_size() {
        "page data".into()
    } else {
        "past the end of A".into()
    }
}

/// Every structure of two kdump sides, in the order of the format. Returns whether the memory is the same.
fn compare_structures(
    a: &Side,
    b: &Side,
    out: &mut Collector,
    summary: &mut Summary,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<bool, DiffError> {
    let (SideContent::Kdump(set_a), SideContent::Kdump(set_b)) = (&a.content, &b.content) else {
        return Ok(false);
    };
    compare_files(a, b, out);
    let (fa, fb) = (set_a.first(), set_b.first());
    fields::compare_headers(fa, fb, out).map_err(read_error("A or B"))?;
    fields::compare_sub_headers(fa, fb, out).map_err(read_error("A or B"))?;
    let notes_differ = notes::compare_notes(&kdump_notes(fa), &kdump_notes(fb), out);
    bitmaps::compare_bitmaps(fa, fb, out).map_err(|e| DiffError::Read {
        side: "A or B",
        message: format!("reading the bitmaps: {e}"),
    })?;
    let walk = PageWalk {
        descriptors: true,
        list_one_sided: false,
    };
    let Some(ends) = walk_pages(a, b, walk, out, summary, progress)? else {
        return Ok(false);
    };
    compare_eraseinfo(fa, fb, out);
    if set_a.parts().len() == 1 && set_b.parts().len() == 1 {
        compare_trailing(fa, fb, &ends, out).map_err(read_error("A or B"))?;
    }
    Ok(!notes_differ && memory_is_same(summary))
}

fn memory_is_same(summary: &Summary) -> bool {
    summary.pfns_differing == 0 && summary.only_in_a == 0 && summary.only_in_b == 0
}

/// Guest memory and notes only. Returns whether they are the same.
fn compare_memory(
    a: &Side,
    b: &Side,
    out: &mut Collector,
    summary: &mut Summary,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<bool, DiffError> {
    let notes_differ = notes::compare_notes(&side_notes(a), &side_notes(b), out);
    let walk = PageWalk {
        descriptors: false,
        list_one_sided: true,
    };
    let walked = walk_pages(a, b, walk, out, summary, progress)?;
    Ok(!notes_differ && walked.is_some() && memory_is_same(summary))
}

fn side_notes(side: &Side) -> SideNotes {
    match &side.content {
        SideContent::Kdump(set) => kdump_notes(set.first()),
        SideContent::Elf { dump, .. } => elf_notes(dump),
    }
}

/// Runs the page walk; `None` (after reporting it) when the page sizes differ and pages cannot be paired.
fn walk_pages(
    a: &Side,
    b: &Side,
    walk: PageWalk,
    out: &mut Collector,
    summary: &mut Summary,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Option<DataEnds>, DiffError> {
    let page_size = a.page_size(b.page_size(ELF_PAGE_SIZE));
    let other = b.page_size(page_size);
    if page_size != other {
        out.push(
            Difference::field(Structure::Page, "page_size", page_size, other)
                .with_detail("pages of different sizes are not compared"),
        );
        return Ok(None);
    }
    let (view_a, view_b) = (
        memory_view("A", a, page_size)?,
        memory_view("B", b, page_size)?,
    );
    compare_pages(&view_a, &view_b, page_size, walk, out, summary, progress)
        .map(Some)
        .map_err(|e| DiffError::Read {
            side: e.side,
            message: e.error.to_string(),
        })
}

fn memory_view<'s>(
    label: &'static str,
    side: &'s Side,
    page_size: u64,
) -> Result<MemoryView<'s>, DiffError> {
    MemoryView::new(side, page_size).map_err(|e| DiffError::Read {
        side: label,
        message: format!("reading its descriptors: {e}"),
    })
}

/// The number of files and their lengths after reassembly.
fn compare_files(a: &Side, b: &Side, out: &mut Collector) {
    let (la, lb) = (&a.info.lengths, &b.info.lengths);
    if la.len() != lb.len() {
        out.push(Difference::field(
            Structure::File,
            "parts",
            la.len(),
            lb.len(),
        ));
        return;
    }
    for (part, (x, y)) in la.iter().zip(lb).enumerate() {
        if x != y {
            let field = if la.len() == 1 {
                "length".to_string()
            } else {
                format!("part[{part}].length")
            };
            out.push(Difference::field(Structure::File, field, *x, *y));
        }
    }
}

fn compare_eraseinfo<R: ReadAt>(a: &KdumpFile<R>, b: &KdumpFile<R>, out: &mut Collector) {
    let text = |file: &KdumpFile<R>| -> serde_json::Value {
        match file.eraseinfo() {
            Ok(None) => serde_json::Value::Null,
            Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned().into(),
            Err(e) => format!("unreadable: {e}").into(),
        }
    };
    let (ta, tb) = (text(a), text(b));
    if ta != tb {
        out.push(Difference::field(Structure::Eraseinfo, "text", ta, tb));
    }
}

/// Bytes after the last structure (page data, eraseinfo): their length, and their bytes.
fn compare_trailing(
    a: &KdumpFile<SharedReader>,
    b: &KdumpFile<SharedReader>,
    ends: &DataEnds,
    out: &mut Collector,
) -> std::io::Result<()> {
    let end_of = |file: &KdumpFile<SharedReader>, data_ends: &[u64]| {
        let data = data_ends
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
            .max(file.data_offset());
        let erase = file
            .sub_header()
            .and_then(|s| s.eraseinfo_range())
            .map_or(0, |(o, s)| o.saturating_add(s));
        data.max(erase).min(file.file_size())
    };
    let (end_a, end_b) = (end_of(a, &ends.a), end_of(b, &ends.b));
    let (len_a, len_b) = (a.file_size() - end_a, b.file_size() - end_b);
    if len_a != len_b {
        out.push(
            Difference::field(Structure::File, "trailing_bytes", len_a, len_b).with_detail(format!(
                "bytes after the last page data or eraseinfo (from {end_a:#x} in A, {end_b:#x} in B)"
            )),
        );
        return Ok(());
    }
    if len_a == 0 {
        return Ok(());
    }
    let tail_a = OffsetReader(a.reader(), end_a);
    let tail_b = OffsetReader(b.reader(), end_b);
    if let Some((at, x, y)) = first_byte_difference(&tail_a, &tail_b, 0, len_a, FILE_CHUNK)? {
        out.push(
            Difference::field(
                Structure::File,
                "trailing_bytes",
                byte_value(x),
                byte_value(y),
            )
            .with_detail(format!("trailing byte {at:#x} differs")),
        );
    }
    Ok(())
}

/// A source seen from `offset` on.
struct OffsetReader<'r>(&'r SharedReader, u64);

impl ReadAt for OffsetReader<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read_at(self.1.saturating_add(offset), buf)
    }

    fn size(&self) -> std::io::Result<u64> {
        Ok(self.0.size()?.saturating_sub(self.1))
    }
}

/// When no structure explains why the bytes differ: the first differing byte, as a `file` difference.
fn explain_bytes(
    a: &Side,
    b: &Side,
    first: Option<&FirstByteDifference>,
    out: &mut Collector,
) -> Result<(), DiffError> {
    let Some(first) = first else {
        return Ok(());
    };
    let (ra, rb) = (a.readers()[first.part], b.readers()[first.part]);
    let found = first_byte_difference(ra, rb, first.offset, 1, 1).map_err(read_error("A or B"))?;
    let (x, y) = found.map_or((None, None), |(_, x, y)| (x, y));
    out.push(
        Difference::field(Structure::File, "bytes", byte_value(x), byte_value(y)).with_detail(
            format!(
            "file {} byte {:#x} ({}) differs; every structure compared is equal (a byte no reader \
                 looks at: padding, an unused page, a hole)",
            first.part, first.offset, first.region
        ),
        ),
    );
    Ok(())
}

/// The structural diff of two dumps held in memory (raw or flattened bytes, detected by their signature),
/// as text: what a failing harness property prints beside the first differing offset. A side that cannot
/// be read as a dump gives the trouble instead.
pub fn describe_in_memory(
    (name_a, a): (&str, &[u8]),
    (name_b, b): (&str, &[u8]),
    limit: usize,
) -> String {
    let open = |label: &'static str, name: &str, bytes: &[u8]| {
        let flattened = bytes.starts_with(b"makedumpfile");
        let (reader, form): (Box<dyn ReadAt + Send>, _) = if flattened {
            match crate::flat::index::FlatIndex::open(bytes.to_vec()) {
                Ok(index) => (Box::new(index), crate::source::DumpForm::Flattened),
                Err(e) => {
                    return Err(format!(
                        "side {label} ({name}) cannot be compared: invalid flattened dump: {e}"
                    ))
                }
            }
        } else {
            (Box::new(bytes.to_vec()), crate::source::DumpForm::Raw)
        };
        let source = crate::source::DumpSource { reader, form };
        Side::open(label, vec![(name.to_string(), source)]).map_err(|e| e.to_string())
    };
    let sides = open("A", name_a, a).and_then(|a| Ok((a, open("B", name_b, b)?)));
    let options = DiffOptions {
        mode: DiffMode::Structure,
        limit,
    };
    match sides.and_then(|(a, b)| diff(&a, &b, &options, &|_, _| {}).map_err(|e| e.to_string())) {
        Ok(report) => render_text(&report),
        Err(trouble) => format!("{trouble}\n"),
    }
}
