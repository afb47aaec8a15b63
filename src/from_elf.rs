//! Converting a QEMU `dump-guest-memory` ELF dump into a kdump-compressed dump, through QEMU's own write
//! sequence ([`crate::model::write_qemu_kdump`]), so that the result is what QEMU would have written with
//! `format: kdump-*` for the same guest state.
//!
//! Everything QEMU's kdump writer takes from the guest is in the ELF dump: the machine class and byte order
//! (`e_ident`), the RAM blocks (one `PT_LOAD` per `GuestPhysBlock`, in QEMU's order), the note section (per
//! vCPU `NT_PRSTATUS`, per vCPU "QEMU", then the guest's VMCOREINFO note: the same bytes QEMU writes as the
//! kdump notes), the number of vCPUs (`NT_PRSTATUS` notes) and `phys_base`, which QEMU reads from the
//! VMCOREINFO note. What the ELF does not say is chosen by [`FromElfOptions`]: the page size (the target's,
//! 4096 on x86) and `utsname.machine`, which QEMU ≤ 7.2 sets to the target's name ("x86_64" for
//! qemu-system-x86_64) and QEMU ≥ 8.0 to "Unknown".

use crate::compress::Compression;
use crate::elf::{ElfDump, ElfError, MemoryBlock, EM_AARCH64, EM_X86_64};
use crate::model::notes::strtoull_base16;
use crate::model::{write_qemu_kdump, GuestBlock, QemuDumpOptions, WriteError, WriteSummary};
use crate::readat::ReadAt;
use crate::sink::DumpSink;

/// `utsname.machine` written by QEMU since 8.0 (`ELF_MACHINE_UNAME` is no longer defined for dump.c).
pub const QEMU_UNKNOWN_MACHINE: &str = "Unknown";

/// Choices the ELF dump does not determine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromElfOptions {
    /// Page compression (`kdump-zlib` = [`Compression::Zlib`]).
    pub compression: Compression,
    /// Target page size = kdump block size (4096 on x86).
    pub page_size: u64,
    /// `utsname.machine`: "Unknown" like QEMU ≥ 8.0; "x86_64" to match QEMU 7.2's qemu-system-x86_64.
    pub uts_machine: String,
    /// `phys_base` of the sub-header; `None` derives it as QEMU does ([`qemu_phys_base`]).
    pub phys_base: Option<u64>,
}

impl Default for FromElfOptions {
    fn default() -> Self {
        FromElfOptions {
            compression: Compression::Zlib,
            page_size: 4096,
            uts_machine: QEMU_UNKNOWN_MACHINE.to_string(),
            phys_base: None,
        }
    }
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum FromElfError {
    /// The ELF dump is malformed.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// The memory blocks cannot be written as QEMU would (unaligned, overlapping), or I/O failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// `phys_base` as QEMU computes it for the kdump sub-header: the value of the `NUMBER(phys_base)=` line
/// (x86-64) or `NUMBER(PHYS_OFFSET)=` line (AArch64) of the guest's VMCOREINFO note, **parsed as
/// hexadecimal** (`qemu_strtou64(…, 16)` in `vmcoreinfo_update_phys_base`), else 0. Linux prints x86-64's
/// `phys_base` in decimal (`VMCOREINFO_NUMBER` uses `%ld`), so QEMU misreads every non-zero x86-64 value;
/// the conversion reproduces QEMU, not the kernel. QEMU only looks at the guest note, which is the last
/// note of the section.
pub fn qemu_phys_base(dump: &ElfDump) -> u64 {
    let prefix: &[u8] = match dump.machine {
        EM_X86_64 => b"NUMBER(phys_base)=",
        EM_AARCH64 => b"NUMBER(PHYS_OFFSET)=",
        _ => return 0,
    };
    let Some(note) = dump.notes.last().filter(|n| n.name == b"VMCOREINFO") else {
        return 0;
    };
    // QEMU terminates the text at the descriptor's end and splits it at '\n'; the first matching line wins.
    let text = note.desc.split(|&b| b == 0).next().unwrap_or(&[]);
    for line in text.split(|&b| b == b'\n') {
        if let Some(value) = line.strip_prefix(prefix) {
            return std::str::from_utf8(value)
                .ok()
                .and_then(strtoull_base16)
                .unwrap_or(0);
        }
    }
    0
}

/// The options QEMU's writer gets for this dump.
pub fn qemu_dump_options(dump: &ElfDump, options: &FromElfOptions) -> QemuDumpOptions {
    QemuDumpOptions {
        is_64bit: dump.class == crate::elf::ElfClass::Elf64,
        endian: match dump.byte_order {
            crate::elf::ElfByteOrder::Little => crate::model::Endian::Little,
            crate::elf::ElfByteOrder::Big => crate::model::Endian::Big,
        },
        page_size: options.page_size,
        compression: options.compression,
        nr_cpus: dump.cpu_count().max(1) as u32,
        phys_base: options.phys_base.unwrap_or_else(|| qemu_phys_base(dump)),
        uts_machine: options.uts_machine.clone(),
    }
}

/// Bytes read from the ELF file at once: QEMU's writer asks for one page at a time, the file is read in
/// windows of this size (one `pread` per MiB instead of one per page).
const READ_AHEAD: usize = 1 << 20;

/// A read-ahead window over a source read mostly sequentially.
struct ReadAhead<'a, R: ReadAt + ?Sized> {
    source: &'a R,
    window: std::sync::Mutex<(u64, Vec<u8>)>,
}

impl<'a, R: ReadAt + ?Sized> ReadAhead<'a, R> {
    fn new(source: &'a R) -> Self {
        ReadAhead {
            source,
            window: std::sync::Mutex::new((0, Vec::new())),
        }
    }
}

impl<R: ReadAt + ?Sized> ReadAt for ReadAhead<'_, R> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() >= READ_AHEAD {
            return self.source.read_at(offset, buf);
        }
        let mut window = self
            .window
            .lock()
            .map_err(|_| std::io::Error::other("read-ahead window poisoned"))?;
        let (start, bytes) = &mut *window;
        let inside = offset >= *start && offset + buf.len() as u64 <= *start + bytes.len() as u64;
        if !inside {
            bytes.resize(READ_AHEAD, 0);
            let n = self.source.read_at(offset, bytes)?;
            bytes.truncate(n);
            *start = offset;
        }
        let from = (offset - *start) as usize;
        let n = buf.len().min(bytes.len().saturating_sub(from));
        buf[..n].copy_from_slice(&bytes[from..from + n]);
        Ok(n)
    }

    fn size(&self) -> std::io::Result<u64> {
        self.source.size()
    }
}

/// One `PT_LOAD` as guest memory: the file bytes, then zeros up to `p_memsz`.
struct BlockMemory<'a, R: ReadAt + ?Sized> {
    source: &'a R,
    block: MemoryBlock,
}

impl<R: ReadAt + ?Sized> ReadAt for BlockMemory<'_, R> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if offset >= self.block.mem_size {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(self.block.mem_size - offset) as usize;
        if offset >= self.block.file_size {
            buf[..n].fill(0);
            return Ok(n);
        }
        let in_file = (n as u64).min(self.block.file_size - offset) as usize;
        self.source
            .read_exact_at(self.block.file_offset + offset, &mut buf[..in_file])?;
        buf[in_file..n].fill(0);
        Ok(n)
    }

    fn size(&self) -> std::io::Result<u64> {
        Ok(self.block.mem_size)
    }
}

/// Writes the kdump-compressed form of the ELF dump `dump` (parsed from `source`) through `sink`, call for
/// call as QEMU's `create_kdump_vmcore` would for the same guest state; calls `sink.finish()`.
///
/// Blocks are taken in guest-physical order (QEMU's list is sorted); empty `PT_LOAD`s are skipped;
/// overlapping blocks are an error.
pub fn write_kdump_from_elf<R: ReadAt + ?Sized>(
    source: &R,
    dump: &ElfDump,
    options: &FromElfOptions,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, FromElfError> {
    dump.check_blocks_disjoint()?;
    let mut blocks: Vec<MemoryBlock> = dump
        .blocks
        .iter()
        .filter(|b| b.mem_size > 0)
        .copied()
        .collect();
    blocks.sort_by_key(|b| b.phys_addr);
    let source = ReadAhead::new(source);
    let memories: Vec<BlockMemory<'_, ReadAhead<'_, R>>> = blocks
        .iter()
        .map(|&block| BlockMemory {
            source: &source,
            block,
        })
        .collect();
    let guest_blocks: Vec<GuestBlock<'_>> = memories
        .iter()
        .map(|memory| GuestBlock {
            start: memory.block.phys_addr,
            len: memory.block.mem_size,
            data: memory,
            data_offset: 0,
        })
        .collect();
    let qemu_options = qemu_dump_options(dump, options);
    Ok(write_qemu_kdump(
        &guest_blocks,
        &dump.note_bytes,
        &qemu_options,
        sink,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block's memory reads as its file bytes, then zeros up to `p_memsz`, and no further: a read
    /// running past the end returns only what is left (the `ReadAt` contract), and nothing at the end;
    /// its size is `p_memsz`.
    #[test]
    fn block_memory_reads_file_bytes_then_zeros_and_stops_at_its_end() {
        let file: Vec<u8> = (0..100u8).map(|i| i | 0x80).collect();
        let memory = BlockMemory {
            source: &file,
            block: MemoryBlock {
                header_index: 0,
                phys_addr: 0x1000,
                virt_addr: 0,
                file_offset: 10,
                file_size: 30,
                mem_size: 50,
            },
        };
        for offset in [0u64, 5, 29, 30, 35, 49] {
            let mut buf = [0xeeu8; 64];
            let n = memory.read_at(offset, &mut buf).unwrap();
            assert_eq!(n as u64, 50 - offset, "at {offset}");
            for (i, &byte) in buf[..n].iter().enumerate() {
                let at = offset + i as u64;
                let expected = if at < 30 { file[10 + at as usize] } else { 0 };
                assert_eq!(byte, expected, "byte {at}");
            }
            assert!(
                buf[n..].iter().all(|&b| b == 0xee),
                "at {offset}: wrote past the end"
            );
        }
        assert_eq!(memory.read_at(50, &mut [0u8; 8]).unwrap(), 0);
        assert_eq!(memory.size().unwrap(), 50, "the size is p_memsz");
    }

    #[test]
    fn read_ahead_reads_what_the_source_holds() {
        let data: Vec<u8> = (0..3 * READ_AHEAD as u64 + 123)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let ahead = ReadAhead::new(&data);
        for (offset, len) in [
            (0u64, 10usize),
            (5, 4096),
            (READ_AHEAD as u64 - 3, 10),
            (0, READ_AHEAD + 5),
        ] {
            let mut buf = vec![0u8; len];
            ahead.read_exact_at(offset, &mut buf).unwrap();
            assert!(
                buf[..] == data[offset as usize..offset as usize + len],
                "{offset} {len}"
            );
        }
        let end = data.len() as u64;
        let mut buf = [0u8; 200];
        assert_eq!(ahead.read_at(end - 100, &mut buf).unwrap(), 100);
        assert_eq!(ahead.read_at(end, &mut buf).unwrap(), 0);
        assert!(ahead.read_exact_at(end - 100, &mut buf).is_err());
    }

    #[test]
    fn strtou64_hex_follows_qemu() {
        let hex = |text: &[u8]| strtoull_base16(std::str::from_utf8(text).unwrap());
        assert_eq!(hex(b"0"), Some(0));
        assert_eq!(hex(b"16777216"), Some(0x1677_7216));
        assert_eq!(hex(b"0x1000000"), Some(0x100_0000));
        assert_eq!(hex(b" ff"), Some(0xff));
        assert_eq!(hex(b"-1"), Some(u64::MAX));
        assert_eq!(hex(b""), None);
        assert_eq!(hex(b"12 "), None);
        assert_eq!(hex(b"xyz"), None);
        // A KASLR guest's VMCOREINFO says NUMBER(phys_base)=-272629760 (decimal, -0x10400000); QEMU 7.2 wrote
        // 0xfffffffd8d9d68a0 into the sub-header: "-272629760" read as hexadecimal.
        assert_eq!(hex(b"-272629760"), Some(0xffff_fffd_8d9d_68a0));
    }
}
