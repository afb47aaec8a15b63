//! The makedumpfile options a [`Layout`] implies: its dump-wide values and the command-line choices of
//! its write mode ([`Layout::mode`]), for the dump as one file, for one file of a `--split` set, and for
//! makedumpfile's default write sequence.

use crate::compress::Compression;
use crate::model::encode::StructAbi;
use crate::model::{Endian, Layout, WriterKind, DEFAULT_BLOCK_ORDER};

use super::policy::{cyclic_buffer, split_ranges};

/// The structure layout makedumpfile built for this machine would use.
pub fn makedumpfile_abi(layout: &Layout) -> StructAbi {
    if layout.machine.is_64bit() {
        StructAbi::Lp64
    } else if layout.machine.packs_u64_to_4() {
        StructAbi::Ilp32Packed
    } else {
        StructAbi::Ilp32Padded
    }
}

/// The dump-wide values makedumpfile writes, whatever the memory, and the command-line choices that shape
/// its write sequence (bitmap mode, split range, threads, block order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakedumpfileOptions {
    /// Structure layout (64-bit, i386-packed or padded 32-bit).
    pub abi: StructAbi,
    /// The dumped machine's byte order.
    pub endian: Endian,
    /// Page size = block size.
    pub page_size: u64,
    /// Page compression.
    pub compression: Compression,
    /// `dump_level` (bit 1: zero pages share one stored zero page).
    pub dump_level: u8,
    /// `nr_cpus` (makedumpfile counts the `NT_PRSTATUS` notes).
    pub nr_cpus: u32,
    /// `phys_base`.
    pub phys_base: u64,
    /// utsname: sysname, nodename, release, version, machine, domainname.
    pub utsname: [String; 6],
    /// Header timestamp (seconds, microseconds).
    pub timestamp: (u64, u64),
    /// Eraseinfo text, written after the page data.
    pub eraseinfo: Option<String>,
    /// `max_mapnr` from the kernel's memory model, when it reaches beyond the last block (`None`: the
    /// end of the last block). Blocks must end at or below it.
    pub max_mapnr: Option<u64>,
    /// Bitmap bytes per cycle in makedumpfile's cyclic mode: `--cyclic-buffer K` gives `K·1024`, taken as is
    /// (no rounding; makedumpfile only lowers it to the free memory, divided by the number of `--split`
    /// files), so each cycle covers `K·1024·8` pfns. `None`: the non-cyclic mode makedumpfile picks without
    /// `--cyclic-buffer` when its automatic buffer holds twice `max_mapnr` bits (bitmaps kept in a temporary
    /// file and copied whole in [`BUFSIZE_BITMAP`](super::BUFSIZE_BITMAP) pieces). With `--split` (and
    /// without `--cyclic-buffer`) makedumpfile runs cyclic with its automatic buffer size.
    pub cyclic_buffer: Option<u64>,
    /// `--split`: the pfn range `[start, end)` of this file of the set (see [`split_ranges`]); `None`
    /// for a single file.
    pub split: Option<(u64, u64)>,
    /// `--num-threads N`: 0 for none. With N ≥ 1 (any N: the writer takes the pages back in pfn order)
    /// the writer puts descriptors and data through plain `write_cache`
    /// (`write_kdump_pages_parallel_cyclic`), without `write_kdump_page`'s early flush of both caches.
    pub num_threads: u32,
    /// `-b ORDER`: both caches hold `page_size << ORDER` bytes ([`DEFAULT_BLOCK_ORDER`] without `-b`).
    pub block_order: u32,
}

impl Default for MakedumpfileOptions {
    /// makedumpfile's defaults on a 64-bit little-endian machine with 4 KiB pages and an ELF without
    /// VMCOREINFO (empty utsname, `phys_base` 0, timestamp 0): one CPU, no compression, `-d 0`,
    /// non-cyclic, no `--split`, no threads, `-b 4`, `max_mapnr` from the last block.
    fn default() -> Self {
        MakedumpfileOptions {
            abi: StructAbi::Lp64,
            endian: Endian::Little,
            page_size: 4096,
            compression: Compression::None,
            dump_level: 0,
            nr_cpus: 1,
            phys_base: 0,
            utsname: Default::default(),
            timestamp: (0, 0),
            eraseinfo: None,
            max_mapnr: None,
            cyclic_buffer: None,
            split: None,
            num_threads: 0,
            block_order: DEFAULT_BLOCK_ORDER,
        }
    }
}

/// The makedumpfile options a layout implies for the dump written as one file: its write mode
/// ([`Layout::mode`]: bitmap mode, threads, block order), without `--split` (see
/// [`makedumpfile_part_options`] for the files of a split layout).
pub fn makedumpfile_options(layout: &Layout) -> MakedumpfileOptions {
    MakedumpfileOptions {
        cyclic_buffer: layout_cyclic_buffer(layout),
        num_threads: layout.mode.num_threads,
        block_order: layout.mode.block_order,
        ..makedumpfile_default_options(layout)
    }
}

/// The options of the file of a split layout's set that holds the pfn range `range` (one of
/// [`layout_split_ranges`]): the layout's write mode and the range.
pub fn makedumpfile_part_options(layout: &Layout, range: (u64, u64)) -> MakedumpfileOptions {
    MakedumpfileOptions {
        split: Some(range),
        ..makedumpfile_options(layout)
    }
}

/// The options of makedumpfile's default write sequence for a layout's dump as one file, whatever the
/// layout's [`Layout::mode`]: non-cyclic, no threads, `-b 4`, no `--split`. Every mode gives the same
/// file.
pub fn makedumpfile_default_options(layout: &Layout) -> MakedumpfileOptions {
    let uts = &layout.utsname;
    MakedumpfileOptions {
        abi: makedumpfile_abi(layout),
        endian: layout.machine.endian(),
        page_size: layout.page_bytes(),
        compression: layout.compression,
        dump_level: layout.dump_level,
        nr_cpus: layout.notes.cpus,
        phys_base: layout.phys_base,
        utsname: [
            uts.sysname.clone(),
            uts.nodename.clone(),
            uts.release.clone(),
            uts.version.clone(),
            layout.uts_machine().to_string(),
            uts.domainname.clone(),
        ],
        timestamp: (u64::from(layout.timestamp.0), u64::from(layout.timestamp.1)),
        eraseinfo: layout.eraseinfo.clone(),
        max_mapnr: Some(layout.max_mapnr()),
        cyclic_buffer: None,
        split: None,
        num_threads: 0,
        block_order: DEFAULT_BLOCK_ORDER,
    }
}

/// The bitmap bytes per cycle makedumpfile's writer uses for this layout
/// ([`MakedumpfileOptions::cyclic_buffer`], from [`cyclic_buffer`]): `None` for the non-cyclic mode (and
/// for QEMU).
pub fn layout_cyclic_buffer(layout: &Layout) -> Option<u64> {
    if layout.writer != WriterKind::Makedumpfile {
        return None;
    }
    cyclic_buffer(
        layout.mode.cyclic,
        layout.max_mapnr(),
        layout.file_count() as u64,
    )
}

/// The pfn range `[start, end)` of each file of the layout's `--split` set, as makedumpfile computes them
/// ([`split_ranges`] over the dumpable pfns); `None` for a dump written as one file.
pub fn layout_split_ranges(layout: &Layout) -> Option<Vec<(u64, u64)>> {
    let split = layout
        .mode
        .split
        .filter(|_| layout.writer == WriterKind::Makedumpfile)?;
    Some(split_ranges(
        layout.dumped_pfns(),
        layout.max_mapnr(),
        split.files as usize,
        split.splitblock_pages,
    ))
}
