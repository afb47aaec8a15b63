//! Reading QEMU `dump-guest-memory` ELF dumps (the `elf` format), over [`ReadAt`](crate::readat::ReadAt).
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
//!
//! | file | holds |
//! |---|---|
//! | `dump.rs` | [`ElfDump`] and the parse that ties the parts together |
//! | `header.rs` | the ELF header: class, byte order, `e_type`, the program header count (`PN_XNUM`) |
//! | `segments.rs` | the program header table: [`MemoryBlock`]s (`PT_LOAD`) and the note segments |
//! | `notes.rs` | the `PT_NOTE` segments' [`Note`]s |
//! | `memory.rs` | [`guest_phys_read`] |
//! | `fields.rs` | [`ElfClass`], [`ElfByteOrder`], header sizes and field decoding |
//! | `error.rs` | [`ElfError`] |

mod dump;
mod error;
mod fields;
mod header;
mod memory;
mod notes;
mod segments;

pub use self::dump::ElfDump;
pub use self::error::ElfError;
pub use self::fields::{ElfByteOrder, ElfClass};
pub use self::header::{
    EM_386, EM_AARCH64, EM_LOONGARCH, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64, ET_CORE,
    MAX_PROGRAM_HEADERS, PN_XNUM, PT_LOAD, PT_NOTE,
};
pub use self::memory::guest_phys_read;
pub use self::notes::{parse_notes, Note, MAX_NOTE_BYTES};
pub use self::segments::MemoryBlock;

#[cfg(test)]
mod tests;
