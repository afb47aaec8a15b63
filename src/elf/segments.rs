//! The program header table: one [`MemoryBlock`] per `PT_LOAD` segment (a guest RAM block), and where the
//! `PT_NOTE` segments are.

use super::error::ElfError;
use super::fields::read_checked;
use super::header::{ElfHeader, PT_LOAD, PT_NOTE};
use crate::readat::ReadAt;

/// One guest RAM block: a `PT_LOAD` segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryBlock {
    /// Index of the program header it came from.
    pub header_index: u64,
    /// Guest-physical start (`p_paddr`).
    pub phys_addr: u64,
    /// Guest-virtual start (`p_vaddr`; 0 in QEMU dumps without paging).
    pub virt_addr: u64,
    /// Where its bytes start in the file (`p_offset`).
    pub file_offset: u64,
    /// Bytes present in the file (`p_filesz`).
    pub file_size: u64,
    /// Bytes of guest memory (`p_memsz`); the part beyond `file_size` reads as zeros.
    pub mem_size: u64,
}

impl MemoryBlock {
    /// End of the block in guest-physical memory (exclusive).
    pub fn phys_end(&self) -> u64 {
        self.phys_addr + self.mem_size
    }
}

/// A `PT_NOTE` segment: which program header, where its bytes are and how many.
pub(super) struct NoteSegment {
    pub(super) header_index: u64,
    pub(super) file_offset: u64,
    pub(super) size: u64,
}

/// The segments of the program header table, in program-header order.
pub(super) struct Segments {
    pub(super) blocks: Vec<MemoryBlock>,
    pub(super) notes: Vec<NoteSegment>,
}

/// Reads the program header table and checks every `PT_LOAD` entry (its data inside the file, its
/// guest-physical range without overflow, `p_filesz` ≤ `p_memsz`). Other segment types are ignored.
pub(super) fn read_segments<R: ReadAt + ?Sized>(
    source: &R,
    file_size: u64,
    header: &ElfHeader,
) -> Result<Segments, ElfError> {
    let entry_size = u64::from(header.sizes.phdr_size);
    let count = header.program_header_count;
    let table = read_checked(
        source,
        file_size,
        &format!("program header table ({count} entries)"),
        header.program_header_offset,
        count * entry_size,
    )?;
    let mut segments = Segments {
        blocks: Vec::new(),
        notes: Vec::new(),
    };
    for (index, entry) in (0..count).zip(table.chunks_exact(entry_size as usize)) {
        let ph = header.fields(entry);
        let p_type = ph.u32(0);
        // Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align (all 4 bytes).
        // Elf64_Phdr: type, flags (4 bytes each), offset, vaddr, paddr, filesz, memsz, align (8 bytes each).
        let block = MemoryBlock {
            header_index: index,
            file_offset: ph.word(4, 8),
            virt_addr: ph.word(8, 16),
            phys_addr: ph.word(12, 24),
            file_size: ph.word(16, 32),
            mem_size: ph.word(20, 40),
        };
        match p_type {
            PT_LOAD => {
                check_load_segment(&block, file_size)?;
                segments.blocks.push(block);
            }
            PT_NOTE => segments.notes.push(NoteSegment {
                header_index: index,
                file_offset: block.file_offset,
                size: block.file_size,
            }),
            _ => {}
        }
    }
    Ok(segments)
}

/// Checks one `PT_LOAD` segment against the file (`file_size` bytes).
fn check_load_segment(block: &MemoryBlock, file_size: u64) -> Result<(), ElfError> {
    let index = block.header_index;
    if block.file_size > block.mem_size {
        return Err(ElfError::FileSizeExceedsMemSize {
            index,
            file_size: block.file_size,
            mem_size: block.mem_size,
        });
    }
    if block.phys_addr.checked_add(block.mem_size).is_none() {
        return Err(ElfError::AddressOverflow {
            index,
            phys_addr: block.phys_addr,
            mem_size: block.mem_size,
        });
    }
    if block
        .file_offset
        .checked_add(block.file_size)
        .is_none_or(|end| end > file_size)
    {
        return Err(ElfError::Truncated {
            what: format!("PT_LOAD data of program header {index}"),
            offset: block.file_offset,
            len: block.file_size,
            file_size,
        });
    }
    Ok(())
}
