//! The ELF header (`Elf32_Ehdr`/`Elf64_Ehdr`): identification, class, byte order, `e_type`, where the
//! program and section headers are, and the program header count (through section 0 when `e_phnum` is
//! `PN_XNUM`).

use super::error::ElfError;
use super::fields::{read_checked, ClassSizes, ElfByteOrder, ElfClass, Fields, ELF32, ELF64};
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

/// The facts of the ELF header the rest of the parse needs, checked.
pub(super) struct ElfHeader {
    /// Header sizes of the file's class.
    pub(super) sizes: &'static ClassSizes,
    /// `e_ident[EI_DATA]`.
    pub(super) byte_order: ElfByteOrder,
    /// `e_machine`.
    pub(super) machine: u16,
    /// `e_phoff`.
    pub(super) program_header_offset: u64,
    /// `e_shoff`.
    pub(super) section_header_offset: u64,
    /// The program header count, `PN_XNUM` resolved; between 1 and [`MAX_PROGRAM_HEADERS`].
    pub(super) program_header_count: u64,
}

impl ElfHeader {
    /// A field cursor over `bytes` in this file's class and byte order.
    pub(super) fn fields<'a>(&self, bytes: &'a [u8]) -> Fields<'a> {
        Fields {
            bytes,
            byte_order: self.byte_order,
            class: self.sizes.class,
        }
    }
}

/// Where the 16-bit count and size fields sit in the ELF header of one class.
struct CountFields {
    phentsize: usize,
    phnum: usize,
    shentsize: usize,
    shnum: usize,
}

/// Reads and checks the ELF header of `source` (`file_size` bytes long).
pub(super) fn read_elf_header<R: ReadAt + ?Sized>(
    source: &R,
    file_size: u64,
) -> Result<ElfHeader, ElfError> {
    let ident = read_checked(source, file_size, "ELF identification", 0, 16)?;
    let magic = [ident[0], ident[1], ident[2], ident[3]];
    if &magic != b"\x7fELF" {
        return Err(ElfError::BadMagic { found: magic });
    }
    let sizes = match ident[4] {
        1 => &ELF32,
        2 => &ELF64,
        other => return Err(ElfError::BadClass(other)),
    };
    let byte_order = match ident[5] {
        1 => ElfByteOrder::Little,
        2 => ElfByteOrder::Big,
        other => return Err(ElfError::BadByteOrder(other)),
    };
    let ehdr = read_checked(source, file_size, "ELF header", 0, sizes.ehdr_size)?;
    let eh = Fields {
        bytes: &ehdr,
        byte_order,
        class: sizes.class,
    };
    let e_type = eh.u16(16);
    if e_type != ET_CORE {
        return Err(ElfError::NotCore(e_type));
    }
    let mut header = ElfHeader {
        sizes,
        byte_order,
        machine: eh.u16(18),
        program_header_offset: eh.word(28, 32),
        section_header_offset: eh.word(32, 40),
        program_header_count: 0,
    };
    let at = match sizes.class {
        ElfClass::Elf32 => CountFields {
            phentsize: 42,
            phnum: 44,
            shentsize: 46,
            shnum: 48,
        },
        ElfClass::Elf64 => CountFields {
            phentsize: 54,
            phnum: 56,
            shentsize: 58,
            shnum: 60,
        },
    };
    let phnum = program_header_count(source, file_size, &header, &eh, &at)?;
    if phnum == 0 {
        return Err(ElfError::NoProgramHeaders);
    }
    if phnum > MAX_PROGRAM_HEADERS {
        return Err(ElfError::TooManyProgramHeaders { count: phnum });
    }
    let phentsize = eh.u16(at.phentsize);
    if phentsize != sizes.phdr_size {
        return Err(ElfError::BadProgramHeaderSize {
            found: phentsize,
            expected: sizes.phdr_size,
        });
    }
    header.program_header_count = phnum;
    Ok(header)
}

/// `e_phnum`, or section 0's `sh_info` when `e_phnum` is `PN_XNUM` (QEMU past 65534 segments).
fn program_header_count<R: ReadAt + ?Sized>(
    source: &R,
    file_size: u64,
    header: &ElfHeader,
    eh: &Fields<'_>,
    at: &CountFields,
) -> Result<u64, ElfError> {
    let phnum_field = eh.u16(at.phnum);
    if phnum_field != PN_XNUM {
        return Ok(u64::from(phnum_field));
    }
    if header.section_header_offset == 0 || eh.u16(at.shnum) == 0 {
        return Err(ElfError::MissingCountSection);
    }
    let shentsize = eh.u16(at.shentsize);
    if shentsize != header.sizes.shdr_size {
        return Err(ElfError::BadSectionHeaderSize {
            found: shentsize,
            expected: header.sizes.shdr_size,
        });
    }
    let sh0 = read_checked(
        source,
        file_size,
        "section header 0",
        header.section_header_offset,
        u64::from(header.sizes.shdr_size),
    )?;
    let sh = header.fields(&sh0);
    // sh_info: @28 in Elf32_Shdr, @44 in Elf64_Shdr.
    Ok(u64::from(match header.sizes.class {
        ElfClass::Elf32 => sh.u32(28),
        ElfClass::Elf64 => sh.u32(44),
    }))
}
