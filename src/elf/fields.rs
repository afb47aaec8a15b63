//! Decoding header fields: the file's class and byte order (from `e_ident`), the header sizes of each
//! class, and a bounds-checked read of a header-sized structure.

use super::error::ElfError;
use crate::readat::ReadAt;

/// ELF file class: the size of addresses and offsets in the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ElfClass {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

/// Byte order of every multi-byte field of an ELF file (`e_ident[EI_DATA]`). Not the kdump reader's
/// [`crate::kdump::ByteOrder`] (detected from a kdump header) nor the model's byte order: each format
/// reader decodes its own fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ElfByteOrder {
    /// `ELFDATA2LSB`.
    Little,
    /// `ELFDATA2MSB`.
    Big,
}

impl ElfByteOrder {
    /// Decodes a u16 in this byte order.
    pub fn u16(self, bytes: [u8; 2]) -> u16 {
        match self {
            ElfByteOrder::Little => u16::from_le_bytes(bytes),
            ElfByteOrder::Big => u16::from_be_bytes(bytes),
        }
    }

    /// Decodes a u32 in this byte order.
    pub fn u32(self, bytes: [u8; 4]) -> u32 {
        match self {
            ElfByteOrder::Little => u32::from_le_bytes(bytes),
            ElfByteOrder::Big => u32::from_be_bytes(bytes),
        }
    }

    /// Decodes a u64 in this byte order.
    pub fn u64(self, bytes: [u8; 8]) -> u64 {
        match self {
            ElfByteOrder::Little => u64::from_le_bytes(bytes),
            ElfByteOrder::Big => u64::from_be_bytes(bytes),
        }
    }
}

/// Sizes of the ELF header and of one program/section header for one class.
pub(super) struct ClassSizes {
    pub(super) class: ElfClass,
    pub(super) ehdr_size: u64,
    pub(super) phdr_size: u16,
    pub(super) shdr_size: u16,
}

/// `Elf32_Ehdr`, `Elf32_Phdr`, `Elf32_Shdr`.
pub(super) const ELF32: ClassSizes = ClassSizes {
    class: ElfClass::Elf32,
    ehdr_size: 52,
    phdr_size: 32,
    shdr_size: 40,
};
/// `Elf64_Ehdr`, `Elf64_Phdr`, `Elf64_Shdr`.
pub(super) const ELF64: ClassSizes = ClassSizes {
    class: ElfClass::Elf64,
    ehdr_size: 64,
    phdr_size: 56,
    shdr_size: 64,
};

/// A little cursor over a header's bytes, decoding fields in the file's byte order and class.
pub(super) struct Fields<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) byte_order: ElfByteOrder,
    pub(super) class: ElfClass,
}

impl Fields<'_> {
    pub(super) fn u16(&self, at: usize) -> u16 {
        self.byte_order.u16([self.bytes[at], self.bytes[at + 1]])
    }
    pub(super) fn u32(&self, at: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[at..at + 4]);
        self.byte_order.u32(b)
    }
    pub(super) fn u64(&self, at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[at..at + 8]);
        self.byte_order.u64(b)
    }
    /// An address-sized field: at `at32` in ELF32 (4 bytes), at `at64` in ELF64 (8 bytes).
    pub(super) fn word(&self, at32: usize, at64: usize) -> u64 {
        match self.class {
            ElfClass::Elf32 => u64::from(self.u32(at32)),
            ElfClass::Elf64 => self.u64(at64),
        }
    }
}

/// Reads `len` bytes at `offset` after checking that they lie inside the file (`what` names them in the
/// error). Callers bound `len` by fixed limits as well.
pub(super) fn read_checked<R: ReadAt + ?Sized>(
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
