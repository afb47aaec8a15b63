//! Reading QEMU `dump-guest-memory` ELF dumps (the `elf` format), over [`ReadAt`].
//!
//! A QEMU ELF dump is an `ET_CORE` file: one `PT_NOTE` segment (per vCPU an `NT_PRSTATUS` "CORE" note and a
//! "QEMU" note, then the guest's VMCOREINFO note when `-device vmcoreinfo` is used) and one `PT_LOAD` per
//! guest RAM block, whose `p_paddr` is the guest-physical address. This module reads ELF64 and ELF32, little-
//! and big-endian, and QEMU's own quirks:
//!
//! - QEMU writes the section header table *before* the program headers (`e_shoff` = 64, `e_phoff` after
//!   it), because with more than 65534 segments the real count lives in section 0's `sh_info`
//!   (`e_phnum` = `PN_XNUM` = 0xffff). Headers are found through `e_phoff`/`e_shoff`, never assumed at 64.
//! - QEMU sets `e_ehsize` to 8 (not 64/52); the field is not checked.
//! - A guest that never left real mode gets `e_machine` = `EM_386` in an ELF64 file when a RAM block ends
//!   at or above 4 GiB (the BIOS ROM does).
//!
//! Memory is bounded: tables and notes are read only after their extent is checked against the file size and
//! against fixed limits ([`MAX_PROGRAM_HEADERS`], [`MAX_NOTE_BYTES`]).

use std::io;

use crate::readat::ReadAt;

/// `e_type` of a core file.
pub const ET_CORE: u16 = 4;
/// `p_type` of a loadable segment (guest RAM block).
pub const PT_LOAD: u32 = 1;
/// `p_type` of a note segment.
pub const PT_NOTE: u32 = 4;
/// `e_phnum` value meaning "the real count is in section 0's `sh_info`".
pub const PN_XNUM: u16 = 0xffff;
/// `e_machine` of i386.
pub const EM_386: u16 = 3;
/// `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of 64-bit PowerPC.
pub const EM_PPC64: u16 = 21;
/// `e_machine` of s390.
pub const EM_S390: u16 = 22;
/// `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;
/// `e_machine` of RISC-V.
pub const EM_RISCV: u16 = 243;
/// `e_machine` of LoongArch.
pub const EM_LOONGARCH: u16 = 258;
/// Most program headers accepted (QEMU writes one per RAM block plus one note).
pub const MAX_PROGRAM_HEADERS: u64 = 1 << 20;
/// Most note bytes accepted over all `PT_NOTE` segments (QEMU writes about 1 KiB per vCPU + VMCOREINFO).
pub const MAX_NOTE_BYTES: u64 = 64 << 20;

/// ELF file class: the size of addresses and offsets in the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ElfClass {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

/// Byte order of every multi-byte header field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Endian {
    /// `ELFDATA2LSB`.
    Little,
    /// `ELFDATA2MSB`.
    Big,
}

impl Endian {
    /// Decodes a u16 in this byte order.
    pub fn u16(self, bytes: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(bytes),
            Endian::Big => u16::from_be_bytes(bytes),
        }
    }

    /// Decodes a u32 in this byte order.
    pub fn u32(self, bytes: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(bytes),
            Endian::Big => u32::from_be_bytes(bytes),
        }
    }

    /// Decodes a u64 in this byte order.
    pub fn u64(self, bytes: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(bytes),
            Endian::Big => u64::from_be_bytes(bytes),
        }
    }
}

/// What went wrong reading an ELF dump, and where.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// The underlying source failed.
    #[error("I/O error reading {what} at offset {offset:#x}: {source}")]
    Io {
        /// The structure being read.
        what: &'static str,
        /// Its file offset.
        offset: u64,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A structure extends past the end of the file.
    #[error("{what} at offset {offset:#x} ({len} bytes) extends past the end of the file ({file_size} bytes)")]
    Truncated {
        /// The structure.
        what: String,
        /// Its file offset.
        offset: u64,
        /// Its length.
        len: u64,
        /// The file size.
        file_size: u64,
    },
    /// The first four bytes are not `\x7fELF`.
    #[error("not an ELF file: bytes 0..4 are {found:02x?}, expected 7f 45 4c 46")]
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// `e_ident[EI_CLASS]` is neither 1 nor 2.
    #[error("unknown ELF class {0} at offset 0x4 (expected 1 = ELF32 or 2 = ELF64)")]
    BadClass(u8),
    /// `e_ident[EI_DATA]` is neither 1 nor 2.
    #[error("unknown ELF byte order {0} at offset 0x5 (expected 1 = little or 2 = big endian)")]
    BadByteOrder(u8),
    /// `e_type` is not `ET_CORE`.
    #[error("e_type is {0}, not ET_CORE (4): not a memory dump")]
    NotCore(u16),
    /// `e_phentsize` does not match the class.
    #[error("e_phentsize is {found}, expected {expected} for this ELF class")]
    BadProgramHeaderSize {
        /// The value in the header.
        found: u16,
        /// The size of `Elf32_Phdr`/`Elf64_Phdr`.
        expected: u16,
    },
    /// `e_shentsize` does not match the class while section 0 is needed.
    #[error("e_shentsize is {found}, expected {expected} for this ELF class (section 0 holds the program header count)")]
    BadSectionHeaderSize {
        /// The value in the header.
        found: u16,
        /// The size of `Elf32_Shdr`/`Elf64_Shdr`.
        expected: u16,
    },
    /// `e_phnum` is `PN_XNUM` but there is no section header to hold the count.
    #[error("e_phnum is PN_XNUM (0xffff) but e_shoff is 0 or e_shnum is 0: no section 0 holds the real count")]
    MissingCountSection,
    /// More program headers than [`MAX_PROGRAM_HEADERS`].
    #[error("{count} program headers: more than the {MAX_PROGRAM_HEADERS} accepted")]
    TooManyProgramHeaders {
        /// The count claimed.
        count: u64,
    },
    /// No program headers at all.
    #[error("no program headers: the dump holds no memory")]
    NoProgramHeaders,
    /// A segment's `p_filesz` exceeds its `p_memsz`.
    #[error("program header {index}: p_filesz {file_size:#x} > p_memsz {mem_size:#x}")]
    FileSizeExceedsMemSize {
        /// Index of the program header.
        index: u64,
        /// `p_filesz`.
        file_size: u64,
        /// `p_memsz`.
        mem_size: u64,
    },
    /// A segment's address range wraps around.
    #[error("program header {index}: p_paddr {phys_addr:#x} + p_memsz {mem_size:#x} overflows")]
    AddressOverflow {
        /// Index of the program header.
        index: u64,
        /// `p_paddr`.
        phys_addr: u64,
        /// `p_memsz`.
        mem_size: u64,
    },
    /// The notes exceed [`MAX_NOTE_BYTES`].
    #[error("PT_NOTE segments hold {total} bytes: more than the {MAX_NOTE_BYTES} accepted")]
    NotesTooLarge {
        /// Sum of the note segments' sizes.
        total: u64,
    },
    /// A note header or its name/descriptor does not fit in its segment.
    #[error("malformed note at offset {offset:#x} of the note segment at file offset {segment_offset:#x}: {reason}")]
    BadNote {
        /// File offset of the `PT_NOTE` segment.
        segment_offset: u64,
        /// Offset of the note within the segment.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Two `PT_LOAD` segments claim the same guest-physical bytes.
    #[error(
        "program headers {first} and {second} overlap in guest-physical memory at {phys_addr:#x}"
    )]
    OverlappingBlocks {
        /// Index (among memory blocks) of the earlier block.
        first: usize,
        /// Index of the later block.
        second: usize,
        /// Start of the later block.
        phys_addr: u64,
    },
    /// A guest-physical read touched an address no `PT_LOAD` covers.
    #[error("guest-physical address {phys_addr:#x} is not in any PT_LOAD segment of the dump")]
    NotInDump {
        /// The first uncovered address.
        phys_addr: u64,
    },
}

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

/// One ELF note, as found in a `PT_NOTE` segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Offset of the note header within [`ElfDump::note_bytes`].
    pub offset: u64,
    /// The name without its terminating NUL (e.g. `CORE`, `QEMU`, `VMCOREINFO`).
    pub name: Vec<u8>,
    /// `n_type` (1 = `NT_PRSTATUS` for "CORE").
    pub note_type: u32,
    /// Offset of the descriptor within [`ElfDump::note_bytes`].
    pub desc_offset: u64,
    /// The descriptor bytes.
    pub desc: Vec<u8>,
    /// Size of the whole note with padding: header, name and descriptor each rounded up to 4 bytes.
    pub total_size: u64,
}

/// A parsed ELF dump: the header facts, the memory blocks and the notes. The memory itself stays in the
/// source; read it with [`guest_phys_read`].
#[derive(Debug, Clone)]
pub struct ElfDump {
    /// ELF32 or ELF64.
    pub class: ElfClass,
    /// Byte order.
    pub endian: Endian,
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

/// Reads `buf.len()` guest-physical bytes at `phys_addr` from an ELF dump. The range may span adjacent
/// blocks; bytes past a block's `p_filesz` (within `p_memsz`) read as zeros. Fails with
/// [`ElfError::NotInDump`] naming the first address no block covers.
pub fn guest_phys_read<R: ReadAt + ?Sized>(
    dump: &ElfDump,
    source: &R,
    phys_addr: u64,
    buf: &mut [u8],
) -> Result<(), ElfError> {
    let mut done = 0usize;
    while done < buf.len() {
        let addr = phys_addr
            .checked_add(done as u64)
            .ok_or(ElfError::NotInDump {
                phys_addr: u64::MAX,
            })?;
        let block = dump
            .blocks
            .iter()
            .find(|b| b.phys_addr <= addr && addr < b.phys_end())
            .ok_or(ElfError::NotInDump { phys_addr: addr })?;
        let within = addr - block.phys_addr;
        let n = ((block.mem_size - within).min((buf.len() - done) as u64)) as usize;
        let chunk = &mut buf[done..done + n];
        if within < block.file_size {
            let in_file = ((block.file_size - within) as usize).min(n);
            let offset = block.file_offset + within;
            source
                .read_exact_at(offset, &mut chunk[..in_file])
                .map_err(|source| ElfError::Io {
                    what: "PT_LOAD data",
                    offset,
                    source,
                })?;
            chunk[in_file..].fill(0);
        } else {
            chunk.fill(0);
        }
        done += n;
    }
    Ok(())
}

/// Field positions of the ELF header and program/section headers for one class.
struct Layout {
    class: ElfClass,
    ehdr_size: u64,
    phdr_size: u16,
    shdr_size: u16,
}

const ELF32: Layout = Layout {
    class: ElfClass::Elf32,
    ehdr_size: 52,
    phdr_size: 32,
    shdr_size: 40,
};
const ELF64: Layout = Layout {
    class: ElfClass::Elf64,
    ehdr_size: 64,
    phdr_size: 56,
    shdr_size: 64,
};

/// A little cursor over a header's bytes, decoding fields in the file's byte order and class.
struct Fields<'a> {
    bytes: &'a [u8],
    endian: Endian,
    class: ElfClass,
}

impl Fields<'_> {
    fn u16(&self, at: usize) -> u16 {
        self.endian.u16([self.bytes[at], self.bytes[at + 1]])
    }
    fn u32(&self, at: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[at..at + 4]);
        self.endian.u32(b)
    }
    fn u64(&self, at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[at..at + 8]);
        self.endian.u64(b)
    }
    /// An address-sized field: at `at32` in ELF32 (4 bytes), at `at64` in ELF64 (8 bytes).
    fn word(&self, at32: usize, at64: usize) -> u64 {
        match self.class {
            ElfClass::Elf32 => u64::from(self.u32(at32)),
            ElfClass::Elf64 => self.u64(at64),
        }
    }
}

fn read_checked<R: ReadAt + ?Sized>(
    source: &R,
    file_size: u64,
    what: &str,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, ElfError> {
    let end = offset.checked_add(len);
    if end.is_none_or(|end| end > file_size) {
        return Err(ElfError::Truncated {
            what: what.to_string(),
            offset,
            len,
            file_size,
        });
    }
    // `len` is bounded by the file size here, and by the callers' fixed limits.
    let mut buf = vec![0u8; len as usize];
    source
        .read_exact_at(offset, &mut buf)
        .map_err(|source| ElfError::Io {
            what: "ELF headers",
            offset,
            source,
        })?;
    Ok(buf)
}

fn parse<R: ReadAt + ?Sized>(source: &R) -> Result<ElfDump, ElfError> {
    let file_size = source.size().map_err(|source| ElfError::Io {
        what: "file size",
        offset: 0,
        source,
    })?;
    let ident = read_checked(source, file_size, "ELF identification", 0, 16)?;
    let magic = [ident[0], ident[1], ident[2], ident[3]];
    if &magic != b"\x7fELF" {
        return Err(ElfError::BadMagic { found: magic });
    }
    let layout = match ident[4] {
        1 => ELF32,
        2 => ELF64,
        other => return Err(ElfError::BadClass(other)),
    };
    let endian = match ident[5] {
        1 => Endian::Little,
        2 => Endian::Big,
        other => return Err(ElfError::BadByteOrder(other)),
    };
    let ehdr = read_checked(source, file_size, "ELF header", 0, layout.ehdr_size)?;
    let eh = Fields {
        bytes: &ehdr,
        endian,
        class: layout.class,
    };
    let e_type = eh.u16(16);
    if e_type != ET_CORE {
        return Err(ElfError::NotCore(e_type));
    }
    let machine = eh.u16(18);
    let phoff = eh.word(28, 32);
    let shoff = eh.word(32, 40);
    let (phentsize_at, phnum_at, shentsize_at, shnum_at) = match layout.class {
        ElfClass::Elf32 => (42, 44, 46, 48),
        ElfClass::Elf64 => (54, 56, 58, 60),
    };
    let phentsize = eh.u16(phentsize_at);
    let phnum_field = eh.u16(phnum_at);
    let shentsize = eh.u16(shentsize_at);
    let shnum = eh.u16(shnum_at);

    let phnum = if phnum_field == PN_XNUM {
        if shoff == 0 || shnum == 0 {
            return Err(ElfError::MissingCountSection);
        }
        if shentsize != layout.shdr_size {
            return Err(ElfError::BadSectionHeaderSize {
                found: shentsize,
                expected: layout.shdr_size,
            });
        }
        let sh0 = read_checked(
            source,
            file_size,
            "section header 0",
            shoff,
            u64::from(layout.shdr_size),
        )?;
        let sh = Fields {
            bytes: &sh0,
            endian,
            class: layout.class,
        };
        // sh_info: @28 in Elf32_Shdr, @44 in Elf64_Shdr.
        u64::from(match layout.class {
            ElfClass::Elf32 => sh.u32(28),
            ElfClass::Elf64 => sh.u32(44),
        })
    } else {
        u64::from(phnum_field)
    };
    if phnum == 0 {
        return Err(ElfError::NoProgramHeaders);
    }
    if phnum > MAX_PROGRAM_HEADERS {
        return Err(ElfError::TooManyProgramHeaders { count: phnum });
    }
    if phentsize != layout.phdr_size {
        return Err(ElfError::BadProgramHeaderSize {
            found: phentsize,
            expected: layout.phdr_size,
        });
    }
    let table = read_checked(
        source,
        file_size,
        &format!("program header table ({phnum} entries)"),
        phoff,
        phnum * u64::from(layout.phdr_size),
    )?;

    let mut blocks = Vec::new();
    let mut note_segments = Vec::new();
    for index in 0..phnum {
        let start = (index * u64::from(layout.phdr_size)) as usize;
        let ph = Fields {
            bytes: &table[start..start + layout.phdr_size as usize],
            endian,
            class: layout.class,
        };
        let p_type = ph.u32(0);
        // Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align (all 4 bytes).
        // Elf64_Phdr: type, flags (4 bytes each), offset, vaddr, paddr, filesz, memsz, align (8 bytes each).
        let file_offset = ph.word(4, 8);
        let virt_addr = ph.word(8, 16);
        let phys_addr = ph.word(12, 24);
        let data_size = ph.word(16, 32);
        let mem_size = ph.word(20, 40);
        match p_type {
            PT_LOAD => {
                if data_size > mem_size {
                    return Err(ElfError::FileSizeExceedsMemSize {
                        index,
                        file_size: data_size,
                        mem_size,
                    });
                }
                if phys_addr.checked_add(mem_size).is_none() {
                    return Err(ElfError::AddressOverflow {
                        index,
                        phys_addr,
                        mem_size,
                    });
                }
                if file_offset
                    .checked_add(data_size)
                    .is_none_or(|end| end > file_size)
                {
                    return Err(ElfError::Truncated {
                        what: format!("PT_LOAD data of program header {index}"),
                        offset: file_offset,
                        len: data_size,
                        file_size,
                    });
                }
                blocks.push(MemoryBlock {
                    header_index: index,
                    phys_addr,
                    virt_addr,
                    file_offset,
                    file_size: data_size,
                    mem_size,
                });
            }
            PT_NOTE => note_segments.push((index, file_offset, data_size)),
            _ => {}
        }
    }

    let total_notes = note_segments
        .iter()
        .fold(0u64, |total, segment| total.saturating_add(segment.2));
    if total_notes > MAX_NOTE_BYTES {
        return Err(ElfError::NotesTooLarge { total: total_notes });
    }
    let mut note_bytes = Vec::new();
    let mut notes = Vec::new();
    for (index, offset, size) in note_segments {
        let bytes = read_checked(
            source,
            file_size,
            &format!("PT_NOTE data of program header {index}"),
            offset,
            size,
        )?;
        let base = note_bytes.len() as u64;
        for mut note in parse_notes(&bytes, endian, offset)? {
            note.offset += base;
            note.desc_offset += base;
            notes.push(note);
        }
        note_bytes.extend_from_slice(&bytes);
    }

    Ok(ElfDump {
        class: layout.class,
        endian,
        machine,
        program_header_offset: phoff,
        section_header_offset: shoff,
        program_header_count: phnum,
        blocks,
        note_bytes,
        notes,
    })
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
    endian: Endian,
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
        endian.u32([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a synthetic ELF dump should hold.
    struct Spec {
        class: ElfClass,
        endian: Endian,
        /// (guest-physical address, bytes in the file, extra zero bytes in memory only)
        blocks: Vec<(u64, Vec<u8>, u64)>,
        notes: Vec<(&'static [u8], u32, Vec<u8>)>,
        /// Write e_phnum = PN_XNUM and the count in section 0 (as QEMU does past 65534 segments).
        overflow_count: bool,
    }

    struct Out(Vec<u8>, Endian);
    impl Out {
        fn u16(&mut self, v: u16) {
            let b = match self.1 {
                Endian::Little => v.to_le_bytes(),
                Endian::Big => v.to_be_bytes(),
            };
            self.0.extend_from_slice(&b);
        }
        fn u32(&mut self, v: u32) {
            let b = match self.1 {
                Endian::Little => v.to_le_bytes(),
                Endian::Big => v.to_be_bytes(),
            };
            self.0.extend_from_slice(&b);
        }
        fn u64(&mut self, v: u64) {
            let b = match self.1 {
                Endian::Little => v.to_le_bytes(),
                Endian::Big => v.to_be_bytes(),
            };
            self.0.extend_from_slice(&b);
        }
        fn word(&mut self, class: ElfClass, v: u64) {
            match class {
                ElfClass::Elf32 => self.u32(v as u32),
                ElfClass::Elf64 => self.u64(v),
            }
        }
    }

    /// Lays a file out as QEMU does: ELF header, one section header (null), program headers, notes, data.
    fn build(spec: &Spec) -> Vec<u8> {
        let (eh, ph, sh) = match spec.class {
            ElfClass::Elf32 => (52u64, 32u64, 40u64),
            ElfClass::Elf64 => (64, 56, 64),
        };
        let mut note_seg = Out(Vec::new(), spec.endian);
        for (name, ty, desc) in &spec.notes {
            note_seg.u32(name.len() as u32 + 1);
            note_seg.u32(desc.len() as u32);
            note_seg.u32(*ty);
            note_seg.0.extend_from_slice(name);
            note_seg.0.push(0);
            while note_seg.0.len() % 4 != 0 {
                note_seg.0.push(0);
            }
            note_seg.0.extend_from_slice(desc);
            while note_seg.0.len() % 4 != 0 {
                note_seg.0.push(0);
            }
        }
        let phnum = 1 + spec.blocks.len() as u64;
        let shoff = eh;
        let phoff = eh + sh;
        let note_off = phoff + ph * phnum;
        let mut data_off = note_off + note_seg.0.len() as u64;
        let c = spec.class;
        let mut o = Out(Vec::new(), spec.endian);
        o.0.extend_from_slice(b"\x7fELF");
        o.0.push(if c == ElfClass::Elf32 { 1 } else { 2 });
        o.0.push(if spec.endian == Endian::Little { 1 } else { 2 });
        o.0.push(1);
        o.0.resize(16, 0);
        o.u16(ET_CORE);
        o.u16(EM_X86_64);
        o.u32(1);
        o.word(c, 0); // entry
        o.word(c, phoff);
        o.word(c, shoff);
        o.u32(0); // flags
        o.u16(8); // e_ehsize as QEMU writes it
        o.u16(ph as u16);
        o.u16(if spec.overflow_count {
            PN_XNUM
        } else {
            phnum as u16
        });
        o.u16(sh as u16);
        o.u16(1);
        o.u16(0);
        assert_eq!(o.0.len() as u64, eh);
        // Section 0: all zero but sh_info = the program header count when it overflows.
        let info = if spec.overflow_count { phnum as u32 } else { 0 };
        match c {
            ElfClass::Elf32 => {
                o.0.extend_from_slice(&[0; 28]);
                o.u32(info);
                o.0.extend_from_slice(&[0; 8]);
            }
            ElfClass::Elf64 => {
                o.0.extend_from_slice(&[0; 44]);
                o.u32(info);
                o.0.extend_from_slice(&[0; 16]);
            }
        }
        let phdr = |o: &mut Out, ty: u32, off: u64, paddr: u64, filesz: u64, memsz: u64| match c {
            ElfClass::Elf32 => {
                o.u32(ty);
                for v in [off, 0, paddr, filesz, memsz, 0, 0] {
                    o.u32(v as u32);
                }
            }
            ElfClass::Elf64 => {
                o.u32(ty);
                o.u32(0);
                for v in [off, 0, paddr, filesz, memsz, 0] {
                    o.u64(v);
                }
            }
        };
        phdr(
            &mut o,
            PT_NOTE,
            note_off,
            0,
            note_seg.0.len() as u64,
            note_seg.0.len() as u64,
        );
        for (paddr, bytes, extra) in &spec.blocks {
            let n = bytes.len() as u64;
            phdr(&mut o, PT_LOAD, data_off, *paddr, n, n + extra);
            data_off += n;
        }
        o.0.extend_from_slice(&note_seg.0);
        for (_, bytes, _) in &spec.blocks {
            o.0.extend_from_slice(bytes);
        }
        o.0
    }

    fn spec(class: ElfClass, endian: Endian) -> Spec {
        Spec {
            class,
            endian,
            blocks: vec![
                (0, (0..4096u32).map(|i| i as u8).collect(), 0),
                (0x3000, vec![0xab; 100], 28),
            ],
            notes: vec![
                (b"CORE", 1, vec![1, 2, 3, 4, 5]),
                (b"QEMU", 0, vec![9; 8]),
                (b"VMCOREINFO", 0, b"OSRELEASE=6.1\n".to_vec()),
            ],
            overflow_count: false,
        }
    }

    fn check_parsed(spec: &Spec, file: &[u8]) {
        let dump = ElfDump::parse(file).unwrap();
        assert_eq!(dump.class, spec.class);
        assert_eq!(dump.endian, spec.endian);
        assert_eq!(dump.machine, EM_X86_64);
        assert_eq!(dump.program_header_count, 1 + spec.blocks.len() as u64);
        assert_eq!(dump.blocks.len(), spec.blocks.len());
        for (block, (paddr, bytes, extra)) in dump.blocks.iter().zip(&spec.blocks) {
            assert_eq!(block.phys_addr, *paddr);
            assert_eq!(block.file_size, bytes.len() as u64);
            assert_eq!(block.mem_size, bytes.len() as u64 + extra);
            let mut got = vec![0xee; bytes.len() + *extra as usize];
            guest_phys_read(&dump, file, *paddr, &mut got).unwrap();
            assert_eq!(&got[..bytes.len()], &bytes[..]);
            assert!(got[bytes.len()..].iter().all(|&b| b == 0));
        }
        let names: Vec<&[u8]> = dump.notes.iter().map(|n| n.name.as_slice()).collect();
        assert_eq!(names, [&b"CORE"[..], b"QEMU", b"VMCOREINFO"]);
        assert_eq!(dump.notes[0].desc, [1, 2, 3, 4, 5]);
        assert_eq!(dump.notes[0].total_size, 12 + 8 + 8);
        assert_eq!(dump.cpu_count(), 1);
        assert_eq!(dump.vmcoreinfo().unwrap().desc, b"OSRELEASE=6.1\n");
        let last = dump.notes.last().unwrap();
        assert_eq!(last.offset + last.total_size, dump.note_bytes.len() as u64);
        dump.check_blocks_disjoint().unwrap();
    }

    #[test]
    fn all_classes_and_byte_orders_parse() {
        for class in [ElfClass::Elf32, ElfClass::Elf64] {
            for endian in [Endian::Little, Endian::Big] {
                let s = spec(class, endian);
                check_parsed(&s, &build(&s));
            }
        }
    }

    #[test]
    fn pn_xnum_takes_the_count_from_section_zero() {
        for class in [ElfClass::Elf32, ElfClass::Elf64] {
            let mut s = spec(class, Endian::Big);
            s.overflow_count = true;
            check_parsed(&s, &build(&s));
        }
    }

    #[test]
    fn pn_xnum_without_section_headers_is_an_error() {
        let mut s = spec(ElfClass::Elf64, Endian::Little);
        s.overflow_count = true;
        let mut file = build(&s);
        file[60..62].copy_from_slice(&0u16.to_le_bytes()); // e_shnum = 0
        assert!(matches!(
            ElfDump::parse(&file[..]),
            Err(ElfError::MissingCountSection)
        ));
    }

    #[test]
    fn reads_across_adjacent_blocks_and_fail_on_gaps() {
        let s = Spec {
            blocks: vec![
                (0, vec![1; 10], 0),
                (10, vec![2; 10], 0),
                (0x100, vec![3; 4], 0),
            ],
            ..spec(ElfClass::Elf64, Endian::Little)
        };
        let file = build(&s);
        let dump = ElfDump::parse(&file[..]).unwrap();
        let mut buf = [0u8; 14];
        guest_phys_read(&dump, &file[..], 4, &mut buf).unwrap();
        assert_eq!(buf, [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]);
        let err = guest_phys_read(&dump, &file[..], 15, &mut [0u8; 8]).unwrap_err();
        assert!(
            matches!(err, ElfError::NotInDump { phys_addr: 20 }),
            "{err}"
        );
    }

    #[test]
    fn every_truncation_is_a_typed_error_not_a_panic() {
        let s = spec(ElfClass::Elf64, Endian::Little);
        let file = build(&s);
        for len in 0..file.len() {
            let err = ElfDump::parse(&file[..len]).unwrap_err();
            assert!(
                matches!(err, ElfError::Truncated { .. } | ElfError::BadNote { .. }),
                "length {len}: {err}"
            );
        }
    }

    #[test]
    fn header_corruptions_are_named() {
        let s = spec(ElfClass::Elf64, Endian::Little);
        let good = build(&s);
        let with = |at: usize, bytes: &[u8]| {
            let mut f = good.clone();
            f[at..at + bytes.len()].copy_from_slice(bytes);
            ElfDump::parse(&f[..]).unwrap_err().to_string()
        };
        assert!(with(0, b"\x7fELG").contains("not an ELF file"));
        assert!(with(4, &[3]).contains("unknown ELF class 3"));
        assert!(with(5, &[0]).contains("byte order 0"));
        assert!(with(16, &2u16.to_le_bytes()).contains("not ET_CORE"));
        assert!(with(54, &32u16.to_le_bytes()).contains("e_phentsize is 32"));
        assert!(with(56, &0u16.to_le_bytes()).contains("no program headers"));
        // p_filesz of the first PT_LOAD (program header 1) made larger than the file.
        let ph1 = 64 + 64 + 56;
        assert!(with(ph1 + 32, &u64::MAX.to_le_bytes()).contains("p_filesz"));
        // A note whose n_descsz runs past the segment.
        let note = 64 + 64 + 3 * 56;
        assert!(with(note + 4, &1000u32.to_le_bytes()).contains("malformed note"));
    }

    #[test]
    fn overlapping_blocks_are_reported() {
        let s = Spec {
            blocks: vec![(0, vec![1; 16], 0), (8, vec![2; 16], 0)],
            ..spec(ElfClass::Elf32, Endian::Little)
        };
        let dump = ElfDump::parse(&build(&s)[..]).unwrap();
        let err = dump.check_blocks_disjoint().unwrap_err();
        assert!(matches!(
            err,
            ElfError::OverlappingBlocks {
                first: 0,
                second: 1,
                phys_addr: 8
            }
        ));
    }
}
