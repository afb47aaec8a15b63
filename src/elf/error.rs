//! [`ElfError`]: what went wrong reading an ELF dump, and where.

use std::io;

use super::header::MAX_PROGRAM_HEADERS;
use super::notes::MAX_NOTE_BYTES;

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
