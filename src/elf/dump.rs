//! [`ElfDump`]: a parsed ELF dump, and the parse that ties the header, the segments and the notes
//! together.

use super::error::ElfError;
use super::fields::{ElfByteOrder, ElfClass};
use super::header::read_elf_header;
use super::notes::{read_note_segments, Note};
use super::segments::{read_segments, MemoryBlock};
use crate::readat::ReadAt;

/// A parsed ELF dump: the header facts, the memory blocks and the notes. The memory itself stays in the
/// source; read it with [`guest_phys_read`](super::guest_phys_read).
#[derive(Debug, Clone)]
pub struct ElfDump {
    /// ELF32 or ELF64.
    pub class: ElfClass,
    /// Byte order.
    pub byte_order: ElfByteOrder,
    /// `e_machine`.
    pub machine: u16,
    /// `e_phoff`.
    pub program_header_offset: u64,
    /// `e_shoff` (0 if none).
    pub section_header_offset: u64,
    /// Number of program headers, after resolving `PN_XNUM`.
    pub program_header_count: u64,
    /// `PT_LOAD` segments in program-header order.
    pub blocks: Vec<MemoryBlock>,
    /// The bytes of all `PT_NOTE` segments, concatenated in program-header order.
    pub note_bytes: Vec<u8>,
    /// The notes parsed from [`ElfDump::note_bytes`].
    pub notes: Vec<Note>,
}

impl ElfDump {
    /// Parses the headers and notes of an ELF dump read from `source`.
    pub fn parse<R: ReadAt + ?Sized>(source: &R) -> Result<ElfDump, ElfError> {
        parse(source)
    }

    /// The descriptor of the first note named `VMCOREINFO`, if any (the guest kernel's key=value text).
    pub fn vmcoreinfo(&self) -> Option<&Note> {
        self.notes.iter().find(|n| n.name == b"VMCOREINFO")
    }

    /// Number of vCPUs, counted as QEMU counts them: `NT_PRSTATUS` notes named "CORE".
    pub fn cpu_count(&self) -> usize {
        self.notes
            .iter()
            .filter(|n| n.name == b"CORE" && n.note_type == 1)
            .count()
    }

    /// End of the highest memory block (exclusive), 0 if there are none.
    pub fn phys_end(&self) -> u64 {
        self.blocks
            .iter()
            .map(MemoryBlock::phys_end)
            .max()
            .unwrap_or(0)
    }

    /// Checks that no two memory blocks overlap in guest-physical memory (QEMU's never do).
    pub fn check_blocks_disjoint(&self) -> Result<(), ElfError> {
        let mut order: Vec<usize> = (0..self.blocks.len()).collect();
        order.sort_by_key(|&i| (self.blocks[i].phys_addr, i));
        for pair in order.windows(2) {
            let (a, b) = (&self.blocks[pair[0]], &self.blocks[pair[1]]);
            if b.mem_size > 0 && a.phys_end() > b.phys_addr {
                return Err(ElfError::OverlappingBlocks {
                    first: pair[0].min(pair[1]),
                    second: pair[0].max(pair[1]),
                    phys_addr: b.phys_addr,
                });
            }
        }
        Ok(())
    }
}

fn parse<R: ReadAt + ?Sized>(source: &R) -> Result<ElfDump, ElfError> {
    let file_size = source.size().map_err(|source| ElfError::Io {
        what: "file size",
        offset: 0,
        source,
    })?;
    let header = read_elf_header(source, file_size)?;
    let segments = read_segments(source, file_size, &header)?;
    let (note_bytes, notes) =
        read_note_segments(source, file_size, &segments.notes, header.byte_order)?;
    Ok(ElfDump {
        class: header.sizes.class,
        byte_order: header.byte_order,
        machine: header.machine,
        program_header_offset: header.program_header_offset,
        section_header_offset: header.section_header_offset,
        program_header_count: header.program_header_count,
        blocks: segments.blocks,
        note_bytes,
        notes,
    })
}
