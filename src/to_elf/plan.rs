//! What the ELF file of a kdump dump looks like before any page is read: `e_machine`, the notes, the
//! memory blocks and the `PT_LOAD` segments, from the headers and the two bitmaps.

use crate::kdump::{ByteOrder, Class, KdumpFile, KdumpSet, Which};
use crate::model::notes::encode_note;
use crate::model::qemu_elf::{
    ElfSegment, QemuElfLayout, EM_386, EM_AARCH64, EM_ARM, EM_PPC, EM_PPC64, EM_S390, EM_X86_64,
};
use crate::model::Endian;
use crate::readat::ReadAt;

use super::{ToElfError, ToElfOptions};

/// `EM_RISCV`.
const EM_RISCV: u16 = 243;
/// `EM_LOONGARCH`.
const EM_LOONGARCH: u16 = 258;
/// makedumpfile's `PFN_EXCLUDED`: a run of at least this many excluded pages ends a `PT_LOAD` (its
/// `p_memsz` covers the run, its `p_filesz` stops before it); shorter runs stay inside `p_filesz`.
pub const PFN_EXCLUDED: u64 = 256;
/// Most `PT_LOAD` segments written (56 bytes of program header each): a dump whose bitmap alternates
/// page by page would otherwise grow the headers with its size.
pub const MAX_SEGMENTS: usize = 1 << 20;
/// Largest VMCOREINFO text copied into a note.
const MAX_VMCOREINFO: u64 = 16 << 20;

/// The ELF file to write for a dump, and where its pages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfPlan {
    /// Headers, notes and segments of the output.
    pub layout: QemuElfLayout,
    /// The dump's page size.
    pub page_size: u64,
    /// The memory blocks the segments were cut from, as [start, end) byte ranges.
    pub blocks: Vec<(u64, u64)>,
    /// Pages in memory (bitmap 1, or inside the given blocks) that the dump left out.
    pub excluded_pages: u64,
    /// Of those, the ones inside some `p_filesz` (runs shorter than [`PFN_EXCLUDED`]): zeros in the file.
    pub excluded_pages_in_file: u64,
}

/// The `e_machine` for a dump: from `utsname.machine` (QEMU ≤ 7.2 and makedumpfile write the machine's
/// name, QEMU ≥ 8.0 "Unknown") and, where that is not enough, the size of the `NT_PRSTATUS` descriptors
/// (QEMU's x86 target writes the 144-byte i386 one with `EM_386` for a guest not in long mode, the
/// 336-byte x86-64 one with `EM_X86_64` otherwise). `None` when neither tells.
pub fn infer_machine<R: ReadAt>(dump: &KdumpFile<R>) -> Option<u16> {
    let prstatus: Vec<u64> = dump
        .notes()
        .notes
        .iter()
        .filter(|n| n.name == "CORE" && n.note_type == 1)
        .map(|n| n.desc_size)
        .collect();
    let only = |size: u64| !prstatus.is_empty() && prstatus.iter().all(|&s| s == size);
    let x86 = if only(144) { EM_386 } else { EM_X86_64 };
    let machine = dump.header().utsname.machine.as_str();
    let little = dump.byte_order() == ByteOrder::Little;
    let wide = dump.class() == Class::Bits64;
    match machine {
        "x86_64" => Some(x86),
        "i386" | "i486" | "i586" | "i686" => Some(EM_386),
        "aarch64" | "arm64" => Some(EM_AARCH64),
        "ppc64" | "ppc64le" => Some(EM_PPC64),
        "ppc" => Some(EM_PPC),
        "s390x" | "s390" => Some(EM_S390),
        "riscv64" | "riscv32" => Some(EM_RISCV),
        "loongarch64" => Some(EM_LOONGARCH),
        m if m.starts_with("armv") || m == "arm" => Some(EM_ARM),
        // QEMU >= 8.0 writes "Unknown": the prstatus size of QEMU's targets tells the machine.
        _ if wide && little && (only(336) || only(144)) => Some(x86),
        _ if wide && little && only(392) => Some(EM_AARCH64),
        _ if wide && only(504) => Some(EM_PPC64),
        _ if wide && !little && only(336) => Some(EM_S390),
        _ => None,
    }
}

/// The note section of the ELF file: the dump's notes as they are, plus a VMCOREINFO note when the dump
/// keeps VMCOREINFO only in the sub-header.
pub fn elf_notes<R: ReadAt>(dump: &KdumpFile<R>) -> Result<Vec<u8>, ToElfError> {
    let mut notes = dump.notes_bytes()?.unwrap_or_default();
    let has_note = dump.notes().vmcoreinfo_note().is_some();
    let range = dump.sub_header().and_then(|s| s.vmcoreinfo_range());
    if let (false, Some((offset, size))) = (has_note, range) {
        if size > MAX_VMCOREINFO || offset.saturating_add(size) > dump.file_size() {
            return Err(ToElfError::Input(format!(
                "K8: VMCOREINFO at offset {offset:#x} ({size} bytes) is not inside the file or larger \
                 than {MAX_VMCOREINFO} bytes"
            )));
        }
        let mut text = vec![0u8; size as usize];
        dump.reader()
            .read_exact_at(offset, &mut text)
            .map_err(|source| ToElfError::Io {
                what: format!("VMCOREINFO at offset {offset:#x}"),
                source,
            })?;
        notes.extend(encode_note(endian(dump), "VMCOREINFO", 0, &text));
    }
    Ok(notes)
}

fn endian<R: ReadAt>(dump: &KdumpFile<R>) -> Endian {
    match dump.byte_order() {
        ByteOrder::Little => Endian::Little,
        ByteOrder::Big => Endian::Big,
    }
}

/// Builds the `PT_LOAD`s of one block as `makedumpfile -E` does from its input's `PT_LOAD`s: pages follow
/// each other; a run of excluded pages shorter than [`PFN_EXCLUDED`] followed by a dumped page stays in
/// the segment (stored as zeros: the dump has no bytes for them); a longer run ends the segment, whose
/// `p_memsz` covers the run while `p_filesz` stops before it, and the next dumped page starts a new one;
/// excluded pages at the end of a block are covered by `p_memsz` only.
struct SegmentBuilder {
    segments: Vec<ElfSegment>,
    start: u64,
    mem_size: u64,
    file_size: u64,
    excluded_run: u64,
    open: bool,
    excluded_in_file: u64,
    excluded: u64,
}

impl SegmentBuilder {
    fn new() -> Self {
        SegmentBuilder {
            segments: Vec::new(),
            start: 0,
            mem_size: 0,
            file_size: 0,
            excluded_run: 0,
            open: false,
            excluded_in_file: 0,
            excluded: 0,
        }
    }

    fn start_block(&mut self, addr: u64) {
        self.end_block();
        self.open = true;
        self.start = addr;
        self.mem_size = 0;
        self.file_size = 0;
        self.excluded_run = 0;
    }

    fn page(&mut self, len: u64, dumped: bool) {
        if !dumped {
            self.excluded += 1;
            self.excluded_run += 1;
            self.mem_size += len;
            return;
        }
        if self.excluded_run >= PFN_EXCLUDED {
            self.segments.push(ElfSegment {
                phys_addr: self.start,
                mem_size: self.mem_size,
                file_size: self.file_size,
            });
            self.start += self.mem_size;
            self.mem_size = 0;
        } else {
            self.excluded_in_file += self.excluded_run;
        }
        self.excluded_run = 0;
        self.mem_size += len;
        self.file_size = self.mem_size;
    }

    /// Fails once more than [`MAX_SEGMENTS`] segments were cut.
    fn check_count(&self, pfn: u64) -> Result<(), ToElfError> {
        if self.segments.len() > MAX_SEGMENTS {
            return Err(ToElfError::Input(format!(
                "more than {MAX_SEGMENTS} PT_LOAD segments by pfn {pfn:#x}: memory too fragmented for \
                 one ELF file"
            )));
        }
        Ok(())
    }

    fn end_block(&mut self) {
        if self.open && self.mem_size > 0 {
            self.segments.push(ElfSegment {
                phys_addr: self.start,
                mem_size: self.mem_size,
                file_size: self.file_size,
            });
        }
        self.open = false;
    }
}

/// Bits of both bitmaps of the set, read in chunks as the pfns go up.
struct BitmapCursor<'a, R: ReadAt> {
    dump: &'a KdumpFile<R>,
    chunk_start: u64,
    in_memory: Vec<u8>,
    dumped: Vec<u8>,
}

const CURSOR_CHUNK: u64 = 1 << 16;

impl<'a, R: ReadAt> BitmapCursor<'a, R> {
    fn new(dump: &'a KdumpFile<R>) -> Self {
        BitmapCursor {
            dump,
            chunk_start: u64::MAX,
            in_memory: vec![0; CURSOR_CHUNK as usize],
            dumped: vec![0; CURSOR_CHUNK as usize],
        }
    }

    /// (in bitmap 1, in bitmap 2) for `pfn`; false beyond the bitmaps.
    fn bits(&mut self, pfn: u64) -> Result<(bool, bool), ToElfError> {
        let byte = pfn / 8;
        let chunk = byte / CURSOR_CHUNK * CURSOR_CHUNK;
        if chunk != self.chunk_start {
            let bitmaps = self.dump.bitmaps();
            bitmaps.read(
                self.dump.reader(),
                Which::InMemory,
                chunk,
                &mut self.in_memory,
            )?;
            bitmaps.read(self.dump.reader(), Which::Dumped, chunk, &mut self.dumped)?;
            self.chunk_start = chunk;
        }
        let at = (byte - chunk) as usize;
        let bit = pfn % 8;
        Ok((
            self.in_memory[at] >> bit & 1 == 1,
            self.dumped[at] >> bit & 1 == 1,
        ))
    }

    /// True if the whole byte holding `pfn` (a multiple of 8) is clear in both bitmaps.
    fn byte_is_empty(&mut self, pfn: u64) -> Result<bool, ToElfError> {
        self.bits(pfn)?;
        let at = (pfn / 8 - self.chunk_start) as usize;
        Ok(self.in_memory[at] == 0 && self.dumped[at] == 0)
    }
}

/// Checks user-given blocks: ascending, disjoint, page-aligned starts, non-empty, inside the dump.
fn check_blocks(blocks: &[(u64, u64)], page_size: u64, limit: u64) -> Result<(), ToElfError> {
    let mut previous_end = 0u64;
    for (index, &(start, end)) in blocks.iter().enumerate() {
        let problem = if start % page_size != 0 {
            Some(format!(
                "starts at {start:#x}, not a multiple of the page size {page_size:#x}"
            ))
        } else if end <= start {
            Some(format!("[{start:#x}, {end:#x}) is empty"))
        } else if index > 0 && start < previous_end {
            Some(format!(
                "starts at {start:#x}, before the end {previous_end:#x} of the block before it"
            ))
        } else if end > limit {
            Some(format!(
                "ends at {end:#x}, past the dump's last page frame (max_mapnr · page size = {limit:#x})"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ToElfError::Options(format!("block {index}: {problem}")));
        }
        previous_end = end;
    }
    Ok(())
}

/// Plans the ELF file of `set`: blocks from `options.blocks` or, by default, the runs of pages in memory
/// (bitmap 1); segments as `makedumpfile -E` cuts them; `e_machine` from `options.machine` or
/// [`infer_machine`]; notes from [`elf_notes`].
pub fn plan<R: ReadAt>(set: &KdumpSet<R>, options: &ToElfOptions) -> Result<ElfPlan, ToElfError> {
    let first = set.first();
    if let [only] = set.parts() {
        if only.sub_header().is_some_and(|s| s.is_split()) {
            let (start, end) = only.pfn_range();
            return Err(ToElfError::Input(format!(
                "K18: the file is one part of a makedumpfile --split set (pfns [{start:#x}, {end:#x})): \
                 give every file of the set"
            )));
        }
    }
    let ps = set.page_size();
    let max_pfn = set.max_pfn();
    let limit = max_pfn.saturating_mul(ps);
    let machine = match options.machine.or_else(|| infer_machine(first)) {
        Some(machine) => machine,
        None => {
            return Err(ToElfError::Options(format!(
            "cannot tell e_machine: utsname.machine is {:?} and the NT_PRSTATUS notes do not say \
                 (give --elf-machine)",
            first.header().utsname.machine
        )))
        }
    };
    let mut builder = SegmentBuilder::new();
    let mut cursor = BitmapCursor::new(first);
    let mut blocks = Vec::new();
    match &options.blocks {
        Some(given) => {
            check_blocks(given, ps, limit)?;
            let mut next = 0usize;
            let mut pfn = 0u64;
            while pfn < max_pfn {
                builder.check_count(pfn)?;
                let addr = pfn * ps;
                let block = given.get(next).copied();
                match block {
                    Some((start, end)) if addr >= start && addr < end => {
                        if addr == start {
                            builder.start_block(start);
                        }
                        let (_, dumped) = cursor.bits(pfn)?;
                        builder.page((end - addr).min(ps), dumped);
                        if addr + ps >= end {
                            builder.end_block();
                            next += 1;
                        }
                    }
                    _ => {
                        if pfn % 8 == 0
                            && cursor.byte_is_empty(pfn)?
                            && block.is_none_or(|b| b.0 >= addr + 8 * ps)
                        {
                            pfn += 8;
                            continue;
                        }
                        let (in_memory, dumped) = cursor.bits(pfn)?;
                        if in_memory || dumped {
                            return Err(ToElfError::Options(format!(
                                "pfn {pfn:#x} (address {addr:#x}) is {} but outside every given block",
                                if dumped { "dumped" } else { "in memory" }
                            )));
                        }
                    }
                }
                pfn += 1;
            }
            blocks = given.clone();
        }
        None => {
            let mut pfn = 0u64;
            let mut block_start: Option<u64> = None;
            while pfn < max_pfn {
                if block_start.is_none() && pfn % 8 == 0 && cursor.byte_is_empty(pfn)? {
                    pfn += 8;
                    continue;
                }
                builder.check_count(pfn)?;
                let (in_memory, dumped) = cursor.bits(pfn)?;
                let present = in_memory || dumped;
                match (present, block_start) {
                    (true, None) => {
                        block_start = Some(pfn * ps);
                        builder.start_block(pfn * ps);
                    }
                    (false, Some(start)) => {
                        blocks.push((start, pfn * ps));
                        block_start = None;
                        builder.end_block();
                    }
                    _ => {}
                }
                if present {
                    builder.page(ps, dumped);
                }
                pfn += 1;
            }
            if let Some(start) = block_start {
                blocks.push((start, max_pfn * ps));
                builder.end_block();
            }
        }
    }
    builder.end_block();
    if builder.segments.is_empty() {
        return Err(ToElfError::Input(
            "the dump has no page in memory: nothing to write".into(),
        ));
    }
    // QEMU's choice (`cpu_get_dump_info`): an x86 guest's memory ending above 4 GiB - 1 makes the file
    // ELF64; another 32-bit machine's memory ending above 4 GiB only an ELF64 file can hold
    let memory_end = builder
        .segments
        .iter()
        .map(|s| s.phys_addr + s.mem_size)
        .max()
        .unwrap_or(0);
    let too_high_for_32bit = match machine {
        EM_386 => memory_end > u64::from(u32::MAX),
        _ => memory_end > 1 << 32,
    };
    let layout = QemuElfLayout {
        is_64bit: first.class() == Class::Bits64 || too_high_for_32bit,
        endian: endian(first),
        machine,
        notes: elf_notes(first)?,
        segments: builder.segments,
    };
    layout
        .validate()
        .map_err(|e| ToElfError::Input(e.to_string()))?;
    Ok(ElfPlan {
        layout,
        page_size: ps,
        blocks,
        excluded_pages: builder.excluded,
        excluded_pages_in_file: builder.excluded_in_file,
    })
}
