//! The structural comparison of P3: every header and sub-header field the reader decodes, the note
//! section, VMCOREINFO and eraseinfo against what the layout implies for its writer (docs/FORMATS.md §2–3).
//!
//! Table-driven: `ModelFacts` derives what the layout implies once; `header_rows` and
//! `sub_header_rows` are tables of (field, value read, value the model says), one row per field in
//! file order; `note_rows` reads the note section, VMCOREINFO and eraseinfo in order. The first row
//! that differs is the answer.

use std::fmt;

use crate::kdump::{
    ByteOrder, Class, DiskDumpHeader, KdumpFile, KdumpSubHeader, Signature, SubHeaderLayout,
    Utsname,
};
use crate::model::deviation::sub_hdr_blocks;
use crate::model::encode::{StructAbi, UTS_FIELD};
use crate::model::notes::{note_section, NT_PRSTATUS};
use crate::model::{struct_abi, Endian, Layout, WriterKind};
use crate::readat::ReadAt;

use super::bytes::compare_bytes;
use super::extents::expected_extents;
use super::p3_read_back::FileExpectation;

/// One row of a comparison table: `Err` naming the field when it does not read as the model says.
type Row = Result<(), String>;

/// The row of `field`: `Err` naming the field when `got` differs from the model's `want`.
fn row<T: PartialEq + fmt::Debug>(field: &str, got: T, want: T) -> Row {
    if got == want {
        Ok(())
    } else {
        Err(format!("{field} reads {got:?}, the model says {want:?}"))
    }
}

/// The first row that differs, in table order.
fn first_difference(rows: impl IntoIterator<Item = Row>) -> Row {
    rows.into_iter().collect()
}

/// A utsname string as the writer stores it (at most 64 bytes, NUL-terminated) and a reader decodes it.
fn stored_uts(text: &str) -> String {
    let bytes = &text.as_bytes()[..text.len().min(UTS_FIELD - 1)];
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// What the layout implies for its writer, derived once per comparison.
struct ModelFacts<'a> {
    layout: &'a Layout,
    /// Page size, PS.
    ps: u64,
    /// The writer's structure layout.
    abi: StructAbi,
    /// The note section's bytes.
    notes: Vec<u8>,
    /// Bytes of each bitmap, rounded to whole blocks.
    bitmap_len: u64,
    /// QEMU's sequence (fills only `utsname.machine`, no timestamp, `offset_note` even without notes).
    is_qemu: bool,
    /// A C `long` of the file's structures keeps these low bits (64 for a 32-bit guest QEMU writes as
    /// 64-bit, `qemu_writes_64bit`).
    long_mask: u64,
}

impl<'a> ModelFacts<'a> {
    fn new(layout: &'a Layout) -> Self {
        let ps = layout.page_bytes();
        ModelFacts {
            layout,
            ps,
            abi: struct_abi(layout),
            notes: note_section(layout),
            bitmap_len: layout.max_mapnr().div_ceil(8).div_ceil(ps) * ps,
            is_qemu: layout.writer == WriterKind::Qemu,
            long_mask: if struct_abi(layout) == StructAbi::Lp64 {
                u64::MAX
            } else {
                u64::from(u32::MAX)
            },
        }
    }

    /// Size of the note section, N.
    fn note_bytes(&self) -> u64 {
        self.notes.len() as u64
    }

    /// The header's utsname: QEMU fills only `machine`.
    fn utsname(&self) -> Utsname {
        let uts = &self.layout.utsname;
        let (sysname, nodename, release, version, domainname) = if self.is_qemu {
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
        Utsname {
            sysname: stored_uts(sysname),
            nodename: stored_uts(nodename),
            release: stored_uts(release),
            version: stored_uts(version),
            machine: stored_uts(self.layout.uts_machine()),
            domainname: stored_uts(domainname),
        }
    }

    /// The header's timestamp (seconds, microseconds) of a file stamped `stamp`, as a `long` keeps it;
    /// QEMU writes zero.
    fn timestamp(&self, stamp: (u32, u32)) -> (u64, u64) {
        let (sec, usec) = if self.is_qemu { (0, 0) } else { stamp };
        (
            u64::from(sec) & self.long_mask,
            u64::from(usec) & self.long_mask,
        )
    }

    /// The sub-header's split fields for the file holding `range` (the legacy 32-bit fields are
    /// MIN(pfn, UINT_MAX)); zero for a single file.
    fn split_fields(&self, range: Option<(u64, u64)>) -> (i32, u64, u64, u64, u64) {
        range.map_or((0, 0, 0, 0, 0), |(start, end)| {
            let legacy = |pfn: u64| pfn.min(u64::from(u32::MAX)) & self.long_mask;
            (1, legacy(start), legacy(end), start, end)
        })
    }

    /// Where the notes start: behind the sub-header, or where the layout's formulas put them after the
    /// data ([`expected_extents`]).
    fn note_offset(&self) -> u64 {
        expected_extents(self.layout)
            .iter()
            .find(|e| e.name == "notes")
            .map_or(self.ps + self.abi.sub_header_size(), |e| e.start)
    }

    /// `offset_note`, `size_note`: QEMU points behind the sub-header even without notes; makedumpfile
    /// leaves them 0.
    fn note_range(&self) -> (u64, u64) {
        let n = self.note_bytes();
        if n > 0 || self.is_qemu {
            (self.note_offset(), n)
        } else {
            (0, 0)
        }
    }

    /// `offset_vmcoreinfo`, `size_vmcoreinfo`: VMCOREINFO is the last note; its descriptor fills the
    /// note's last pad4(len) bytes.
    fn vmcoreinfo_range(&self) -> (u64, u64) {
        let end = self.note_offset() + self.note_bytes();
        self.layout
            .notes
            .vmcoreinfo
            .as_ref()
            .map_or((0, 0), |text| {
                let len = text.len() as u64;
                (end - len.div_ceil(4) * 4, len)
            })
    }

    /// The notes a parser finds, as (name, type, descriptor size), in order.
    fn parsed_notes(&self) -> Vec<(String, u32, u64)> {
        let spec = &self.layout.notes;
        let mut notes: Vec<(String, u32, u64)> = Vec::new();
        for _ in 0..spec.cpus {
            notes.push(("CORE".into(), NT_PRSTATUS, u64::from(spec.prstatus_size)));
        }
        if let Some(size) = spec.qemu_cpu_state_size {
            for _ in 0..spec.cpus {
                notes.push(("QEMU".into(), 0, u64::from(size)));
            }
        }
        if let Some(text) = &spec.vmcoreinfo {
            notes.push(("VMCOREINFO".into(), 0, text.len() as u64));
        }
        notes
    }
}

/// The header table: every `disk_dump_header` field the reader decodes, for the file `file`.
fn header_rows(model: &ModelFacts<'_>, h: &DiskDumpHeader, file: &FileExpectation) -> Vec<Row> {
    let layout = model.layout;
    let ps = model.ps;
    let class = if model.abi == StructAbi::Lp64 {
        Class::Bits64
    } else {
        Class::Bits32
    };
    let order = match layout.machine.endian() {
        Endian::Little => ByteOrder::Little,
        Endian::Big => ByteOrder::Big,
    };
    let mask = model.long_mask;
    vec![
        row("header signature", h.signature, Signature::Kdump),
        row("header_version", h.header_version, 6),
        row("word size", h.class, class),
        row("byte order", h.byte_order, order),
        row("utsname", &h.utsname, &model.utsname()),
        row(
            "timestamp",
            (
                h.timestamp_sec as u64 & mask,
                h.timestamp_usec as u64 & mask,
            ),
            model.timestamp(file.timestamp),
        ),
        row("status", h.status, layout.compression.flag()),
        row("block_size", h.block_size as u64, ps),
        row(
            "sub_hdr_size",
            h.sub_hdr_size as u64,
            sub_hdr_blocks(layout, model.abi.sub_header_size(), model.note_bytes()),
        ),
        row(
            "bitmap_blocks",
            u64::from(h.bitmap_blocks),
            2 * model.bitmap_len / ps,
        ),
        row(
            "max_mapnr (32-bit)",
            u64::from(h.max_mapnr),
            layout.max_mapnr().min(u64::from(u32::MAX)),
        ),
        row(
            "total_ram_blocks, device_blocks, written_blocks, current_cpu",
            (
                h.total_ram_blocks,
                h.device_blocks,
                h.written_blocks,
                h.current_cpu,
            ),
            (0, 0, 0, 0),
        ),
        row("nr_cpus", h.nr_cpus as i64, i64::from(layout.notes.cpus)),
    ]
}

/// The sub-header table: every `kdump_sub_header` field the reader decodes, for the file `file`.
fn sub_header_rows(
    model: &ModelFacts<'_>,
    sub: &KdumpSubHeader,
    file: &FileExpectation,
) -> Vec<Row> {
    let layout = model.layout;
    let sub_layout = match model.abi {
        StructAbi::Lp64 => SubHeaderLayout::Bits64,
        StructAbi::Ilp32Packed => SubHeaderLayout::I386Packed,
        StructAbi::Ilp32Padded => SubHeaderLayout::Padded32,
    };
    vec![
        row("sub-header layout", sub.layout, sub_layout),
        row("sub-header offset", sub.file_offset, model.ps),
        row("sub-header version", sub.header_version, 6),
        row(
            "phys_base",
            sub.phys_base,
            layout.phys_base & model.long_mask,
        ),
        row(
            "dump_level",
            sub.dump_level as i64,
            i64::from(layout.effective_dump_level()),
        ),
        row(
            "split, start_pfn, end_pfn, start_pfn_64, end_pfn_64",
            (
                sub.split,
                sub.start_pfn,
                sub.end_pfn,
                sub.start_pfn_64,
                sub.end_pfn_64,
            ),
            model.split_fields(file.range),
        ),
        row("max_mapnr_64", sub.max_mapnr_64, layout.max_mapnr()),
        row(
            "offset_note, size_note",
            (sub.offset_note, sub.size_note),
            model.note_range(),
        ),
        row(
            "offset_vmcoreinfo, size_vmcoreinfo",
            (sub.offset_vmcoreinfo, sub.size_vmcoreinfo),
            model.vmcoreinfo_range(),
        ),
        row(
            "offset_eraseinfo, size_eraseinfo",
            (sub.offset_eraseinfo, sub.size_eraseinfo),
            file.eraseinfo,
        ),
    ]
}

/// The notes, VMCOREINFO and eraseinfo, read in order (each read only when everything before it
/// matched): the parsed notes, the VMCOREINFO text, the eraseinfo text, and last the note bytes
/// themselves (the NT_PRSTATUS and QEMU descriptors no parser interprets).
fn note_rows<R: ReadAt>(model: &ModelFacts<'_>, dump: &KdumpFile<R>) -> Row {
    if let Some(problem) = dump.notes_error() {
        return Err(format!("the notes could not be read: {problem}"));
    }
    let layout = model.layout;
    let got_notes: Vec<(String, u32, u64)> = dump
        .notes()
        .notes
        .iter()
        .map(|note| (note.name.clone(), note.note_type, note.desc_size))
        .collect();
    row(
        "parsed notes (name, type, size)",
        got_notes,
        model.parsed_notes(),
    )?;
    row(
        "VMCOREINFO text",
        dump.vmcoreinfo().map(|v| v.text.as_str()),
        layout
            .notes
            .vmcoreinfo
            .as_deref()
            .map(|t| t.trim_end_matches('\0')),
    )?;
    let want_eraseinfo = layout
        .eraseinfo
        .as_ref()
        .filter(|t| !t.is_empty() && !model.is_qemu)
        .map(|t| t.as_bytes().to_vec());
    let got_eraseinfo = dump
        .eraseinfo()
        .map_err(|e| format!("eraseinfo could not be read: {e}"))?;
    row("eraseinfo", got_eraseinfo, want_eraseinfo)?;
    let read_notes = dump
        .notes_bytes()
        .map_err(|e| format!("the notes could not be read: {e}"))?
        .unwrap_or_default();
    compare_bytes(&read_notes, &model.notes).map_err(|d| format!("note section: {d}"))
}

/// Compares every header and sub-header field the reader decodes, the note section (raw bytes and parsed
/// notes), VMCOREINFO and eraseinfo with what the layout implies for its writer (docs/FORMATS.md §2–3).
pub(super) fn compare_structures<R: ReadAt>(
    layout: &Layout,
    dump: &KdumpFile<R>,
    file: &FileExpectation,
) -> Result<(), String> {
    let model = ModelFacts::new(layout);
    first_difference(header_rows(&model, dump.header(), file))?;
    let sub = dump
        .sub_header()
        .ok_or("no sub-header read, the model writes version 6")?;
    first_difference(sub_header_rows(&model, sub, file))?;
    note_rows(&model, dump)
}
