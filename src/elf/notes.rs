//! ELF notes: the `PT_NOTE` segments' bytes and the notes in them (per vCPU an `NT_PRSTATUS` "CORE" note
//! and a "QEMU" note, then VMCOREINFO).

use super::error::ElfError;
use super::fields::{read_checked, ElfByteOrder};
use super::segments::NoteSegment;
use crate::readat::ReadAt;

/// Most note bytes accepted over all `PT_NOTE` segments (QEMU writes about 1 KiB per vCPU + VMCOREINFO).
pub const MAX_NOTE_BYTES: u64 = 64 << 20;

/// One ELF note, as found in a `PT_NOTE` segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Offset of the note header within [`ElfDump::note_bytes`](super::ElfDump::note_bytes).
    pub offset: u64,
    /// The name without its terminating NUL (e.g. `CORE`, `QEMU`, `VMCOREINFO`).
    pub name: Vec<u8>,
    /// `n_type` (1 = `NT_PRSTATUS` for "CORE").
    pub note_type: u32,
    /// Offset of the descriptor within [`ElfDump::note_bytes`](super::ElfDump::note_bytes).
    pub desc_offset: u64,
    /// The descriptor bytes.
    pub desc: Vec<u8>,
    /// Size of the whole note with padding: header, name and descriptor each rounded up to 4 bytes.
    pub total_size: u64,
}

/// The note segments' bytes, concatenated in program-header order, and the notes parsed from them (their
/// offsets relative to the concatenation). Refuses more than [`MAX_NOTE_BYTES`] in all before reading any.
pub(super) fn read_note_segments<R: ReadAt + ?Sized>(
    source: &R,
    file_size: u64,
    segments: &[NoteSegment],
    byte_order: ElfByteOrder,
) -> Result<(Vec<u8>, Vec<Note>), ElfError> {
    let total = segments
        .iter()
        .fold(0u64, |total, segment| total.saturating_add(segment.size));
    if total > MAX_NOTE_BYTES {
        return Err(ElfError::NotesTooLarge { total });
    }
    let mut note_bytes = Vec::new();
    let mut notes = Vec::new();
    for segment in segments {
        let bytes = read_checked(
            source,
            file_size,
            &format!("PT_NOTE data of program header {}", segment.header_index),
            segment.file_offset,
            segment.size,
        )?;
        let base = note_bytes.len() as u64;
        for mut note in parse_notes(&bytes, byte_order, segment.file_offset)? {
            note.offset += base;
            note.desc_offset += base;
            notes.push(note);
        }
        note_bytes.extend_from_slice(&bytes);
    }
    Ok((note_bytes, notes))
}

/// Size of a note header: `n_namesz`, `n_descsz`, `n_type` (4 bytes each, in ELF32 and ELF64 alike).
const NOTE_HEADER_SIZE: u64 = 12;

fn align4(n: u64) -> u64 {
    n.div_ceil(4) * 4
}

/// Parses the notes of one `PT_NOTE` segment. Offsets in the result are relative to the segment.
/// Trailing zero padding shorter than a note header ends the list.
pub fn parse_notes(
    bytes: &[u8],
    byte_order: ElfByteOrder,
    segment_offset: u64,
) -> Result<Vec<Note>, ElfError> {
    let len = bytes.len() as u64;
    let bad = |offset: u64, reason: String| ElfError::BadNote {
        segment_offset,
        offset,
        reason,
    };
    let word = |at: u64| {
        let at = at as usize;
        byte_order.u32([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    };
    let mut notes = Vec::new();
    let mut offset = 0u64;
    while offset < len {
        if len - offset < NOTE_HEADER_SIZE {
            if bytes[offset as usize..].iter().all(|&b| b == 0) {
                break;
            }
            return Err(bad(
                offset,
                format!("{} bytes left, a note header needs 12", len - offset),
            ));
        }
        let name_size = u64::from(word(offset));
        let desc_size = u64::from(word(offset + 4));
        let note_type = word(offset + 8);
        let name_start = offset + NOTE_HEADER_SIZE;
        let desc_start = name_start + align4(name_size);
        let end = desc_start + align4(desc_size);
        if end > len {
            return Err(bad(
                offset,
                format!(
                    "n_namesz {name_size} and n_descsz {desc_size} need {} bytes, the segment has {} left",
                    end - offset,
                    len - offset
                ),
            ));
        }
        let raw_name = &bytes[name_start as usize..(name_start + name_size) as usize];
        let name = match raw_name.split_last() {
            Some((0, rest)) => rest.to_vec(),
            _ => raw_name.to_vec(),
        };
        notes.push(Note {
            offset,
            name,
            note_type,
            desc_offset: desc_start,
            desc: bytes[desc_start as usize..(desc_start + desc_size) as usize].to_vec(),
            total_size: end - offset,
        });
        offset = end;
    }
    Ok(notes)
}
