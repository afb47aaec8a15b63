//! QEMU's ELF dump (`dump-guest-memory` with `format: elf`, `create_vmcore` in QEMU's `dump/dump.c`), the
//! third form QEMU writes of one guest state beside its flattened and raw kdump files.
//!
//! The file, in the order QEMU writes it (one sequential `write` after another, never a seek):
//!
//! | offset | content |
//! |---|---|
//! | 0 | ELF header: `ET_CORE`, `e_machine` of the guest, `e_ehsize` = **8** (QEMU takes `sizeof` of a pointer) |
//! | `e_shoff` = ehdr size | section headers: the null section (its `sh_info` holds the program header count when that reaches `PN_XNUM`) and `.shstrtab` |
//! | `e_phoff` = after them | program headers: one `PT_NOTE`, then one `PT_LOAD` per `GuestPhysBlock` (`p_vaddr` = `p_paddr`, `p_flags` = `p_align` = 0) |
//! | after them | the notes (the same bytes QEMU writes as the kdump notes) |
//! | after the notes | every block's memory, block after block, `p_filesz` = `p_memsz` = the block's length |
//! | after the memory | the section string table `"\0.shstrtab\0"` |
//!
//! [`QemuElfLayout`] computes this layout for any list of segments (also segments with `p_filesz` <
//! `p_memsz`, which `to-elf` uses for excluded pages); [`write_qemu_elf`] writes QEMU's sequence for the
//! model's blocks. Facts checked against QEMU 7.2's and QEMU 10's ELF files of `corpus/real`.

use crate::sink::DumpSink;

use super::encode::Encoder;
use super::{Endian, Layout, Machine};
use super::{GuestBlock, WriteError};

/// `e_machine` of i386.
pub const EM_386: u16 = 3;
/// `e_machine` of 32-bit PowerPC.
pub const EM_PPC: u16 = 20;
/// `e_machine` of 64-bit PowerPC.
pub const EM_PPC64: u16 = 21;
/// `e_machine` of s390.
pub const EM_S390: u16 = 22;
/// `e_machine` of 32-bit ARM.
pub const EM_ARM: u16 = 40;
/// `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;
/// `e_phnum` meaning "the count is in section 0's `sh_info`".
pub const PN_XNUM: u64 = 0xffff;
/// QEMU's section string table: an empty name, then `.shstrtab`.
pub const SHSTRTAB: &[u8] = b"\0.shstrtab\0";
/// `e_ehsize` as QEMU writes it: `sizeof(elf_header)` where `elf_header` is a pointer (64-bit host).
pub const QEMU_EHSIZE: u16 = 8;

/// The `e_machine` QEMU gives a guest of this model machine. On x86-64 QEMU writes `EM_386` and the 144-byte
/// i386 `NT_PRSTATUS` when the first vCPU is not in long mode (a guest that has not booted), `EM_X86_64`
/// and the 336-byte x86-64 one otherwise; the model ties the two together the same way.
pub fn qemu_elf_machine(machine: Machine, prstatus_size: u32) -> u16 {
    match machine {
        Machine::X86_64 if prstatus_size == 144 => EM_386,
        Machine::X86_64 => EM_X86_64,
        Machine::I386 => EM_386,
        Machine::Aarch64 => EM_AARCH64,
        Machine::Ppc64 | Machine::Ppc64le => EM_PPC64,
        Machine::S390x => EM_S390,
        Machine::Arm => EM_ARM,
        Machine::Ppc => EM_PPC,
    }
}

/// Whether QEMU writes a guest with ELF `e_machine` `elf_machine` whose memory ends at `memory_end` as
/// 64-bit: ELFCLASS64, and the 64-bit `disk_dump_header` and sub-header in kdump-compressed files.
/// QEMU's `cpu_get_dump_info` gives an x86 guest outside long mode (`EM_386`) ELFCLASS32 unless a memory
/// block ends above 4 GiB − 1 (`target_end > UINT_MAX`) — as the firmware ROM of a PC, mapped up to
/// 4 GiB, already does (corpus/real's dumps, docs/FORMATS.md §3); arm and ppc guests always ELFCLASS32,
/// 64-bit machines ELFCLASS64.
pub fn qemu_class_is_64bit(elf_machine: u16, memory_end: u64) -> bool {
    match elf_machine {
        EM_386 => memory_end > u64::from(u32::MAX),
        EM_ARM | EM_PPC => false,
        _ => true,
    }
}

/// [`qemu_class_is_64bit`] for a model layout.
pub fn qemu_writes_64bit(layout: &Layout) -> bool {
    qemu_class_is_64bit(
        qemu_elf_machine(layout.machine, layout.notes.prstatus_size),
        layout.memory_end(),
    )
}

/// One `PT_LOAD`: `mem_size` bytes of guest memory at `phys_addr`, of which the first `file_size` are
/// stored in the file (the rest reads as zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfSegment {
    /// `p_paddr` (and `p_vaddr`).
    pub phys_addr: u64,
    /// `p_memsz`.
    pub mem_size: u64,
    /// `p_filesz` (≤ `mem_size`).
    pub file_size: u64,
}

/// Everything of a QEMU-style ELF dump except the memory bytes: class, byte order, machine, notes and
/// segments, and the file offsets that follow from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuElfLayout {
    /// ELFCLASS64 (true) or ELFCLASS32.
    pub is_64bit: bool,
    /// Byte order of every field.
    pub endian: Endian,
    /// `e_machine`.
    pub machine: u16,
    /// The `PT_NOTE` segment's bytes.
    pub notes: Vec<u8>,
    /// The `PT_LOAD` segments, in file order.
    pub segments: Vec<ElfSegment>,
}

impl QemuElfLayout {
    fn ehdr_size(&self) -> u64 {
        if self.is_64bit {
            64
        } else {
            52
        }
    }

    fn shdr_size(&self) -> u64 {
        if self.is_64bit {
            64
        } else {
            40
        }
    }

    fn phdr_size(&self) -> u64 {
        if self.is_64bit {
            56
        } else {
            32
        }
    }

    /// Number of program headers: the note and the loads.
    pub fn program_header_count(&self) -> u64 {
        1 + self.segments.len() as u64
    }

    /// `e_phoff`: after the ELF header and the two section headers.
    pub fn program_headers_offset(&self) -> u64 {
        self.ehdr_size() + 2 * self.shdr_size()
    }

    /// File offset of the notes.
    pub fn notes_offset(&self) -> u64 {
        self.program_headers_offset() + self.program_header_count() * self.phdr_size()
    }

    /// File offset of the first segment's bytes.
    pub fn memory_offset(&self) -> u64 {
        self.notes_offset() + self.notes.len() as u64
    }

    /// `p_offset` of every segment: the segments' stored bytes follow each other.
    pub fn segment_offsets(&self) -> Vec<u64> {
        let mut at = self.memory_offset();
        self.segments
            .iter()
            .map(|s| {
                let offset = at;
                at += s.file_size;
                offset
            })
            .collect()
    }

    /// File offset of the section string table: after the last segment's bytes.
    pub fn string_table_offset(&self) -> u64 {
        self.memory_offset() + self.segments.iter().map(|s| s.file_size).sum::<u64>()
    }

    /// Length of the whole file.
    pub fn file_len(&self) -> u64 {
        self.string_table_offset() + SHSTRTAB.len() as u64
    }

    /// Checks what a 32-bit file cannot hold and that no segment stores more than it holds.
    pub fn validate(&self) -> Result<(), WriteError> {
        for (index, s) in self.segments.iter().enumerate() {
            if s.file_size > s.mem_size {
                return Err(WriteError::Input(format!(
                    "segment {index}: p_filesz {:#x} > p_memsz {:#x}",
                    s.file_size, s.mem_size
                )));
            }
            if s.phys_addr.checked_add(s.mem_size).is_none() {
                return Err(WriteError::Input(format!(
                    "segment {index} at {:#x} wraps around",
                    s.phys_addr
                )));
            }
        }
        if !self.is_64bit {
            let highest = self
                .segments
                .iter()
                .map(|s| s.phys_addr + s.mem_size)
                .max()
                .unwrap_or(0)
                .max(self.file_len());
            // the last byte's address or offset must fit 32 bits: an end of exactly 4 GiB still does
            if highest > 1 << 32 {
                return Err(WriteError::Input(format!(
                    "an ELF32 file cannot hold addresses or offsets up to {highest:#x} (more than 4 GiB)"
                )));
            }
        }
        Ok(())
    }

    /// The ELF header, section headers, program headers and notes: the file's first
    /// [`memory_offset`](Self::memory_offset) bytes.
    pub fn headers(&self) -> Vec<u8> {
        let wide = self.is_64bit;
        let mut e = Encoder::new(self.memory_offset() as usize, self.endian);
        let phnum = self.program_header_count();
        let shoff = self.ehdr_size();
        // e_ident
        e.bytes_at(0, b"\x7fELF");
        e.bytes_at(4, &[if wide { 2 } else { 1 }]);
        e.bytes_at(
            5,
            &[match self.endian {
                Endian::Little => 1,
                Endian::Big => 2,
            }],
        );
        e.bytes_at(6, &[1]);
        e.u16(16, 4); // ET_CORE
        e.u16(18, self.machine);
        e.u32(20, 1); // EV_CURRENT
        let word = |e: &mut Encoder, at32: usize, at64: usize, value: u64| {
            if wide {
                e.u64(at64, value)
            } else {
                e.u32(at32, value as u32)
            }
        };
        word(&mut e, 28, 32, self.program_headers_offset());
        word(&mut e, 32, 40, shoff);
        let (ehsize_at, rest) = if wide { (52, 54) } else { (40, 42) };
        e.u16(ehsize_at, QEMU_EHSIZE);
        e.u16(rest, self.phdr_size() as u16);
        e.u16(rest + 2, phnum.min(PN_XNUM) as u16);
        e.u16(rest + 4, self.shdr_size() as u16);
        e.u16(rest + 6, 2); // e_shnum: null section + .shstrtab
        e.u16(rest + 8, 1); // e_shstrndx

        // Section 0: all zero, except sh_info = the real program header count past PN_XNUM.
        let sh0 = shoff as usize;
        if phnum >= PN_XNUM {
            let count = u32::try_from(phnum).unwrap_or(u32::MAX);
            e.u32(sh0 + if wide { 44 } else { 28 }, count);
        }
        // Section 1: .shstrtab (sh_name 1, SHT_STRTAB).
        let sh1 = sh0 + self.shdr_size() as usize;
        e.u32(sh1, 1);
        e.u32(sh1 + 4, 3);
        if wide {
            e.u64(sh1 + 24, self.string_table_offset());
            e.u64(sh1 + 32, SHSTRTAB.len() as u64);
        } else {
            e.u32(sh1 + 16, self.string_table_offset() as u32);
            e.u32(sh1 + 20, SHSTRTAB.len() as u32);
        }

        let phoff = self.program_headers_offset() as usize;
        let note = ElfSegment {
            phys_addr: 0,
            mem_size: self.notes.len() as u64,
            file_size: self.notes.len() as u64,
        };
        self.put_phdr(&mut e, phoff, 4, self.notes_offset(), &note, 0);
        for (i, (segment, offset)) in self.segments.iter().zip(self.segment_offsets()).enumerate() {
            let at = phoff + (i + 1) * self.phdr_size() as usize;
            self.put_phdr(&mut e, at, 1, offset, segment, segment.phys_addr);
        }
        e.bytes_at(self.notes_offset() as usize, &self.notes);
        e.bytes
    }

    fn put_phdr(
        &self,
        e: &mut Encoder,
        at: usize,
        p_type: u32,
        offset: u64,
        segment: &ElfSegment,
        vaddr: u64,
    ) {
        e.u32(at, p_type);
        if self.is_64bit {
            e.u64(at + 8, offset);
            e.u64(at + 16, vaddr);
            e.u64(at + 24, segment.phys_addr);
            e.u64(at + 32, segment.file_size);
            e.u64(at + 40, segment.mem_size);
        } else {
            e.u32(at + 4, offset as u32);
            e.u32(at + 8, vaddr as u32);
            e.u32(at + 12, segment.phys_addr as u32);
            e.u32(at + 16, segment.file_size as u32);
            e.u32(at + 20, segment.mem_size as u32);
        }
    }
}

/// What QEMU's ELF writer takes from the guest besides its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuElfOptions {
    /// ELFCLASS64 or ELFCLASS32.
    pub is_64bit: bool,
    /// The guest's byte order.
    pub endian: Endian,
    /// `e_machine`.
    pub machine: u16,
    /// Target page size: QEMU writes memory one page per `write`.
    pub page_size: u64,
}

/// Writes QEMU's ELF dump of `blocks` (guest-physical order, as QEMU's `GuestPhysBlock` list) with the note
/// section `notes` through `sink`, sequentially, as QEMU's `create_vmcore` does; calls `sink.finish()`.
/// Returns the file's length.
pub fn write_qemu_elf(
    blocks: &[GuestBlock<'_>],
    notes: &[u8],
    options: &QemuElfOptions,
    sink: &mut dyn DumpSink,
) -> Result<u64, WriteError> {
    let layout = QemuElfLayout {
        is_64bit: options.is_64bit,
        endian: options.endian,
        machine: options.machine,
        notes: notes.to_vec(),
        segments: blocks
            .iter()
            .map(|b| ElfSegment {
                phys_addr: b.start,
                mem_size: b.len,
                file_size: b.len,
            })
            .collect(),
    };
    layout.validate()?;
    if options.page_size == 0 {
        return Err(WriteError::Input("page size 0".into()));
    }
    sink.write_at(0, &layout.headers())?;
    let mut page = vec![0u8; options.page_size as usize];
    for (block, offset) in blocks.iter().zip(layout.segment_offsets()) {
        let mut done = 0u64;
        while done < block.len {
            let n = (block.len - done).min(options.page_size) as usize;
            block
                .data
                .read_exact_at(block.data_offset + done, &mut page[..n])?;
            sink.write_at(offset + done, &page[..n])?;
            done += n as u64;
        }
    }
    sink.write_at(layout.string_table_offset(), SHSTRTAB)?;
    sink.finish()?;
    Ok(layout.file_len())
}

/// The options QEMU's ELF writer gets for a model layout.
pub fn qemu_elf_options(layout: &Layout) -> QemuElfOptions {
    QemuElfOptions {
        is_64bit: qemu_writes_64bit(layout),
        endian: layout.machine.endian(),
        machine: qemu_elf_machine(layout.machine, layout.notes.prstatus_size),
        page_size: layout.page_bytes(),
    }
}

/// Writes the ELF dump QEMU would write of `layout`'s guest (every page of every block, whatever the
/// layout's dump level) through `sink`; returns its length.
pub fn write_layout_elf(layout: &Layout, sink: &mut dyn DumpSink) -> Result<u64, WriteError> {
    layout
        .validate()
        .map_err(|e| WriteError::Input(e.to_string()))?;
    let memories = super::block_memories(layout);
    let blocks = super::guest_blocks(layout, &memories);
    let notes = super::notes::note_section(layout);
    write_qemu_elf(&blocks, &notes, &qemu_elf_options(layout), sink)
}

/// The guest-physical blocks of `layout` as (start, end) byte ranges: what `to-elf` needs to be told to
/// rebuild QEMU's program headers, since a kdump file keeps pages, not block boundaries.
pub fn layout_block_ranges(layout: &Layout) -> Vec<(u64, u64)> {
    let memories = super::block_memories(layout);
    layout
        .blocks
        .iter()
        .zip(&memories)
        .map(|(b, m)| {
            let start = b.start_pfn * layout.page_bytes();
            (start, start + m.len())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_x86_guest_is_64bit_once_its_memory_ends_past_4_gib_minus_1() {
        // QEMU: `target_end > UINT_MAX`, the end exclusive
        assert!(!qemu_class_is_64bit(EM_386, u64::from(u32::MAX)));
        assert!(qemu_class_is_64bit(EM_386, 1 << 32));
        assert!(!qemu_class_is_64bit(EM_ARM, 1 << 40));
        assert!(qemu_class_is_64bit(EM_X86_64, 4096));
    }
}
