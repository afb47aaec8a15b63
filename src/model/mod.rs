//! The reference model of kdump-compressed dumps.
//!
//! A [`Layout`] describes a dump completely: machine (32/64-bit, byte order), page size, memory blocks with
//! gaps and partial last pages, what every page contains and what it was used for, compression, CPUs and
//! notes, VMCOREINFO, dump level, eraseinfo, and whose write sequence produces it. From a layout the model
//!
//! - writes the dump through a [`DumpSink`] with QEMU's sequence ([`qemu::write_qemu_kdump`]) or
//!   makedumpfile's ([`makedumpfile::write_makedumpfile_kdump`]) — [`write_layout`] picks by
//!   [`Layout::writer`] — so one sequence goes down the flattened and the raw path in the same run;
//! - writes makedumpfile's dumps in the write mode the layout asks for ([`Layout::mode`]: non-cyclic or
//!   cyclic bitmaps, `--num-threads`, `-b`; the file is the same whatever the mode) and, for a `--split`
//!   layout, each file of the set ([`write_layout_part`], ranges from [`Layout::split_ranges`];
//!   [`write_layout`] writes such a layout's dump as one file);
//! - knows what every pfn must read back as ([`Layout::expected_page`]).
//!
//! **Independence.** The structures are encoded by this module's own encoder ([`encode`]), written from
//! the byte tables of FORMATS.md, not with the reader's decoding structs in `crate::kdump`. This is
//! deliberate: the harness checks the reader against the model and the model against the reader, and a
//! field misplaced in a shared definition would be misplaced on both sides and never caught. Only the
//! compression codecs (`crate::compress`) and the sinks are shared.
//!
//! Random layouts come from [`arbitrary`] ([`gen::arbitrary_layout`], for fuzzing) and from proptest
//! strategies that shrink towards small layouts ([`gen::layout_strategy`]).
//!
//! ```
//! use kdump_flat::model::gen::{layout_from_seed, SizeClass};
//! use kdump_flat::model::{write_layout, ExpectedPage};
//! use kdump_flat::sink::{FlatSink, RawSink, TeeSink};
//!
//! let layout = layout_from_seed(1, SizeClass::Small);
//! let mut both = TeeSink(RawSink::in_memory(), FlatSink::new(Vec::new()));
//! let summary = write_layout(&layout, &mut both).unwrap();
//! let TeeSink(raw, flat) = both;
//! assert_eq!(raw.into_bytes().len() as u64, summary.end);
//! assert_eq!(&flat.into_inner()[..12], b"makedumpfile");
//! let first = layout.blocks[0].start_pfn;
//! assert!(matches!(layout.expected_page(first), ExpectedPage::Data(_) | ExpectedPage::Excluded));
//! ```

pub mod edges;
pub mod encode;
#[cfg(feature = "harness")]
pub mod gen;
pub mod layout;
pub mod makedumpfile;
pub mod notes;
pub mod qemu;

use std::borrow::Cow;
use std::io;

pub use layout::{
    CyclicMode, Endian, ExpectedPage, Layout, LayoutError, Machine, MakedumpfileMode, MemoryBlock,
    NoteSpec, PageClass, PageContent, PageRun, PageSize, SplitSpec, Utsname, WriterKind,
};
pub use qemu::{write_qemu_kdump, GuestBlock, QemuDumpOptions, WriteError, WriteSummary};

use crate::compress::{compress, Compression};
use crate::readat::ReadAt;
use crate::sink::DumpSink;

/// How both writers store one page that is not shared as the zero page: compressed when the result is
/// strictly smaller than the page (flags = the method's bit), raw otherwise (flags = 0).
pub fn store_page(method: Compression, page: &[u8]) -> (u32, Cow<'_, [u8]>) {
    if method == Compression::None {
        return (0, Cow::Borrowed(page));
    }
    let packed = compress(method, page);
    if packed.len() < page.len() {
        (method.flag(), Cow::Owned(packed))
    } else {
        (0, Cow::Borrowed(page))
    }
}

/// The bytes of one memory block of a layout, generated on demand (a [`ReadAt`] over the block).
pub struct BlockMemory<'a> {
    layout: &'a Layout,
    block: &'a MemoryBlock,
}

impl<'a> BlockMemory<'a> {
    /// The memory of `block` (one of `layout.blocks`).
    pub fn new(layout: &'a Layout, block: &'a MemoryBlock) -> Self {
        BlockMemory { layout, block }
    }

    /// Length in bytes (a partial last page counts only its valid bytes).
    pub fn len(&self) -> u64 {
        self.block.page_count() * self.layout.page_bytes() - u64::from(self.block.short_tail)
    }

    /// True if the block has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReadAt for BlockMemory<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.len();
        if offset >= len || buf.is_empty() {
            return Ok(0);
        }
        let ps = self.layout.page_bytes();
        let index = offset / ps;
        let mut pfn = self.block.start_pfn;
        let mut found = None;
        for run in &self.block.runs {
            let next = pfn + u64::from(run.count);
            if self.block.start_pfn + index < next {
                let pfn = self.block.start_pfn + index;
                let is_last = pfn + 1 == self.block.end_pfn();
                found = Some(layout::PageRef {
                    pfn,
                    content: run.content,
                    class: run.class,
                    valid_bytes: if is_last {
                        ps - u64::from(self.block.short_tail)
                    } else {
                        ps
                    },
                });
                break;
            }
            pfn = next;
        }
        let Some(page) = found else { return Ok(0) };
        let bytes = page.bytes(ps);
        let within = (offset % ps) as usize;
        let n = buf
            .len()
            .min(ps as usize - within)
            .min((len - offset) as usize);
        buf[..n].copy_from_slice(&bytes[within..within + n]);
        Ok(n)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len())
    }
}

/// QEMU's view of a layout: options and the note section.
pub fn qemu_options(layout: &Layout) -> QemuDumpOptions {
    QemuDumpOptions {
        is_64bit: layout.machine.is_64bit(),
        endian: layout.machine.endian(),
        page_size: layout.page_bytes(),
        compression: layout.compression,
        nr_cpus: layout.notes.cpus,
        phys_base: layout.phys_base,
        uts_machine: layout.uts_machine().to_string(),
    }
}

/// The memory of every block of `layout`, generated on demand.
pub(crate) fn block_memories(layout: &Layout) -> Vec<BlockMemory<'_>> {
    layout
        .blocks
        .iter()
        .map(|b| BlockMemory::new(layout, b))
        .collect()
}

/// The blocks of `layout` as the writers take them (guest-physical start, length, memory).
pub(crate) fn guest_blocks<'a>(
    layout: &Layout,
    memories: &'a [BlockMemory<'a>],
) -> Vec<GuestBlock<'a>> {
    layout
        .blocks
        .iter()
        .zip(memories)
        .map(|(b, m)| GuestBlock {
            start: b.start_pfn * layout.page_bytes(),
            len: m.len(),
            data: m,
            data_offset: 0,
        })
        .collect()
}

/// Writes `layout` with its writer's sequence through `sink` (and finishes the sink).
pub fn write_layout(layout: &Layout, sink: &mut dyn DumpSink) -> Result<WriteSummary, WriteError> {
    layout
        .validate()
        .map_err(|e| WriteError::Input(e.to_string()))?;
    match layout.writer {
        WriterKind::Qemu => {
            let memories = block_memories(layout);
            let blocks = guest_blocks(layout, &memories);
            let notes = notes::note_section(layout);
            write_qemu_kdump(&blocks, &notes, &qemu_options(layout), sink)
        }
        WriterKind::Makedumpfile => makedumpfile::write_makedumpfile_kdump(layout, sink),
    }
}

/// Writes file `index` (0-based, in pfn order) of a split layout's `--split` set (ranges from
/// [`Layout::split_ranges`]) with makedumpfile's sequence through `sink` (and finishes the sink).
/// Fails for a layout written as one file or an index beyond the set.
pub fn write_layout_part(
    layout: &Layout,
    index: usize,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    layout
        .validate()
        .map_err(|e| WriteError::Input(e.to_string()))?;
    let ranges = layout
        .split_ranges()
        .ok_or_else(|| WriteError::Input("the layout is not written with --split".into()))?;
    let range = *ranges.get(index).ok_or_else(|| {
        WriteError::Input(format!(
            "file {index} of a set of {} files does not exist",
            ranges.len()
        ))
    })?;
    let options = makedumpfile::makedumpfile_part_options(layout, range);
    makedumpfile::write_makedumpfile_kdump_with(layout, &options, sink)
}

/// The structure ABI the layout's writer uses (QEMU: packed 32-bit structures on every 32-bit guest).
pub fn struct_abi(layout: &Layout) -> encode::StructAbi {
    match layout.writer {
        WriterKind::Qemu if layout.machine.is_64bit() => encode::StructAbi::Lp64,
        WriterKind::Qemu => encode::StructAbi::Ilp32Packed,
        WriterKind::Makedumpfile => makedumpfile::makedumpfile_abi(layout),
    }
}
