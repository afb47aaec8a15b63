//! [`Headers`]: everything of a kdump-compressed file read before the bitmaps (header, sub-header, notes,
//! VMCOREINFO), as one value the checker inspects before [`KdumpFile`](super::KdumpFile) indexes the
//! bitmaps.

use super::error::read_structure;
use super::{
    header, notes, subheader, DiskDumpHeader, KInvariant, KdumpError, KdumpSubHeader, Notes,
    NotesProblem, Vmcoreinfo,
};
use crate::readat::ReadAt;

/// Largest notes or VMCOREINFO area read into memory.
pub const MAX_NOTES_SIZE: u64 = 64 << 20;

/// Reads the `size` bytes at `offset` of a notes-like area (notes, VMCOREINFO, eraseinfo), refusing as
/// `invariant`, before allocating or reading anything, an area that runs past `file_size` or is larger
/// than [`MAX_NOTES_SIZE`].
pub(super) fn read_bounded_area<R: ReadAt + ?Sized>(
    reader: &R,
    offset: u64,
    size: u64,
    file_size: u64,
    invariant: KInvariant,
    what: &str,
) -> Result<Vec<u8>, KdumpError> {
    let refuse = |why: String| Err(KdumpError::invalid(invariant, Some(offset), None, why));
    if size > MAX_NOTES_SIZE {
        return refuse(format!(
            "{what} of {size} bytes at {offset:#x} exceeds the {MAX_NOTES_SIZE} bytes read into memory"
        ));
    }
    if offset.saturating_add(size) > file_size {
        return refuse(format!(
            "{what} of {size} bytes at {offset:#x} does not fit in the file ({file_size:#x} bytes)"
        ));
    }
    let mut bytes = vec![0u8; size as usize];
    read_structure(reader, offset, &mut bytes, invariant, what)?;
    Ok(bytes)
}

/// `max_mapnr_64` of the sub-header when it has one (version 6), else the header's 32-bit `max_mapnr`.
pub(super) fn stated_max_mapnr(
    header: &DiskDumpHeader,
    sub_header: Option<&KdumpSubHeader>,
) -> u64 {
    sub_header
        .and_then(|s| s.max_mapnr_64())
        .unwrap_or(header.max_mapnr as u64)
}

/// The parts of a file read before the bitmaps: header, sub-header, notes and VMCOREINFO.
#[derive(Debug, Clone)]
pub struct Headers {
    /// Size of the (reassembled) file.
    pub file_size: u64,
    /// The decoded `disk_dump_header`.
    pub header: DiskDumpHeader,
    /// The decoded `kdump_sub_header` (`None` for header version 0).
    pub sub_header: Option<KdumpSubHeader>,
    /// The ELF notes (empty when absent or unreadable).
    pub notes: Notes,
    /// Why the notes or VMCOREINFO could not be read, if so.
    pub notes_error: Option<NotesProblem>,
    /// The VMCOREINFO text, when present.
    pub vmcoreinfo: Option<Vmcoreinfo>,
}

impl Headers {
    /// Reads the header (detecting word size and byte order), the sub-header, the notes and VMCOREINFO.
    pub fn read<R: ReadAt + ?Sized>(reader: &R) -> Result<Headers, KdumpError> {
        let file_size = reader
            .size()
            .map_err(|source| KdumpError::Io { offset: 0, source })?;
        let header = header::read_header(reader)?;
        let sub_header = subheader::read_sub_header(reader, &header)?;
        let (notes, notes_error, vmcoreinfo) =
            read_notes_and_vmcoreinfo(reader, &header, sub_header.as_ref(), file_size);
        Ok(Headers {
            file_size,
            header,
            sub_header,
            notes,
            notes_error,
            vmcoreinfo,
        })
    }

    /// One past the highest pfn as the file states it (`max_mapnr_64` from version 6).
    pub fn max_mapnr(&self) -> u64 {
        stated_max_mapnr(&self.header, self.sub_header.as_ref())
    }

    /// Page size (`block_size`).
    pub fn page_size(&self) -> u64 {
        self.header.block_size as u64
    }
}

type NotesAndVmcoreinfo = (Notes, Option<NotesProblem>, Option<Vmcoreinfo>);

/// Reads the notes (v4+) and the VMCOREINFO text (v3+); a problem is returned, not a failure.
fn read_notes_and_vmcoreinfo<R: ReadAt + ?Sized>(
    reader: &R,
    header: &DiskDumpHeader,
    sub_header: Option<&KdumpSubHeader>,
    file_size: u64,
) -> NotesAndVmcoreinfo {
    let Some(sub) = sub_header else {
        return (Notes::default(), None, None);
    };
    let read_area = |offset: u64, size: u64, what: &str| {
        read_bounded_area(reader, offset, size, file_size, KInvariant::K8, what)
    };
    let mut notes = Notes::default();
    let mut problem = None;
    if let Some((offset, size)) = sub.notes_range() {
        match read_area(offset, size, "notes")
            .and_then(|bytes| notes::parse_notes(&bytes, offset, header.byte_order))
        {
            Ok(parsed) => notes = parsed,
            Err(e) => problem = Some(NotesProblem::from(e)),
        }
    }
    let mut vmcoreinfo = None;
    if let Some((offset, size)) = sub.vmcoreinfo_range() {
        match read_area(offset, size, "VMCOREINFO") {
            Ok(bytes) => vmcoreinfo = Some(Vmcoreinfo::from_bytes(offset, &bytes)),
            Err(e) => problem = problem.or(Some(NotesProblem::from(e))),
        }
    } else if let Some(note) = notes.vmcoreinfo_note().cloned() {
        if let Ok(bytes) = read_area(note.desc_offset, note.desc_size, "VMCOREINFO") {
            vmcoreinfo = Some(Vmcoreinfo::from_bytes(note.desc_offset, &bytes));
        }
    }
    (notes, problem, vmcoreinfo)
}
