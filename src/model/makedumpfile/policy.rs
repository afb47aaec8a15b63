//! makedumpfile's policies: how it resolves its command line into the cyclic buffer each cycle uses
//! (`calculate_cyclic_buffer_size`) and into the pfn ranges of the files of a `--split` set
//! (`setup_splitting`). Pure functions of the dump's numbers, so [`Layout`](crate::model::Layout)'s
//! validation can use them without depending on the writer.

use crate::model::CyclicMode;

/// makedumpfile's cap on its automatic cyclic buffer (`calculate_cyclic_buffer_size`): 4 MiB.
pub const MAX_AUTOMATIC_CYCLIC_BUFFER: u64 = 4 << 20;

/// The [`MakedumpfileOptions::cyclic_buffer`](super::MakedumpfileOptions::cyclic_buffer) makedumpfile picks
/// itself when run without `--cyclic-buffer` (`initial`, `calculate_cyclic_buffer_size`) for `files` output
/// files (1, or the number of `--split` files), with `free_memory` bytes of MemFree: the buffer is the
/// smallest of 60 % of the free memory, 4 MiB and `max_mapnr·2/8` bytes (both bitmaps at once, integer
/// division; divided by the number of files with `--split`); when that holds `2·max_mapnr` bits, the
/// non-cyclic mode (`None`). So with enough memory a single file is written non-cyclic exactly when
/// `max_mapnr` is a multiple of 4 and at most 16 Mi pfns; otherwise cyclic, usually in one cycle (bitmaps
/// written at once), with several cycles beyond 16 Mi pfns (64 GiB of 4 KiB pages), and with `--split` always
/// cyclic.
pub fn automatic_cyclic_buffer(max_mapnr: u64, files: u64, free_memory: u64) -> Option<u64> {
    let limit = (free_memory as f64 * 0.6) as u64;
    let mut bitmap_size = max_mapnr.saturating_mul(2) / 8;
    if files > 1 {
        bitmap_size /= files;
    }
    let buffer = limit.min(MAX_AUTOMATIC_CYCLIC_BUFFER).min(bitmap_size);
    if buffer.saturating_mul(8) >= max_mapnr.saturating_mul(2) {
        None
    } else {
        Some(buffer)
    }
}

/// The bitmap bytes per cycle makedumpfile uses in the bitmap mode `mode` for a dump of `max_mapnr` pfns
/// written as `files` files
/// ([`MakedumpfileOptions::cyclic_buffer`](super::MakedumpfileOptions::cyclic_buffer)): `None` for the
/// non-cyclic mode (and for an automatic buffer that holds both bitmaps).
pub fn cyclic_buffer(mode: CyclicMode, max_mapnr: u64, files: u64) -> Option<u64> {
    match mode {
        CyclicMode::NonCyclic => None,
        CyclicMode::Automatic { free_memory } => {
            automatic_cyclic_buffer(max_mapnr, files, free_memory)
        }
        CyclicMode::Buffer { bytes } => Some(bytes),
    }
}

/// `DEFAULT_SPLITBLOCK_SIZE`: `--split` balances its files in whole splitblocks of this many bytes
/// (`--splitblock-size K` sets `K·1024`, a multiple of the page size).
pub const DEFAULT_SPLITBLOCK_SIZE: u64 = 1 << 30;

/// The pfn range of each of `files` files of makedumpfile's `--split` (`setup_splitting`,
/// `calculate_end_pfn_by_splitblock`), from the pfns in bitmap 2 (`dumpable_pfns`, ascending, zero pages
/// included: zero pages are found only while writing) and `pages_per_splitblock` (splitblock size / page
/// size).
///
/// makedumpfile counts the dumpable pages of every whole splitblock (the last, partial one keeps a count of
/// 0), then gives each file but the last whole splitblocks until it holds at least `D / files` pages (D:
/// all dumpable pages, integer division; a file may get more, or nothing); the last file gets the rest,
/// up to `max_mapnr`. Ranges are contiguous from 0 to `max_mapnr`. For `files < 2` (which makedumpfile
/// refuses) the single range `[0, max_mapnr)`.
pub fn split_ranges(
    dumpable_pfns: impl IntoIterator<Item = u64>,
    max_mapnr: u64,
    files: usize,
    pages_per_splitblock: u64,
) -> Vec<(u64, u64)> {
    if files < 2 || pages_per_splitblock == 0 {
        return vec![(0, max_mapnr)];
    }
    let whole_blocks = max_mapnr / pages_per_splitblock;
    let block_count = max_mapnr.div_ceil(pages_per_splitblock);
    let mut counts = std::collections::BTreeMap::<u64, u64>::new();
    let mut dumpable = 0u64;
    for pfn in dumpable_pfns.into_iter().filter(|&pfn| pfn < max_mapnr) {
        dumpable += 1;
        let block = pfn / pages_per_splitblock;
        if block < whole_blocks {
            *counts.entry(block).or_default() += 1;
        }
    }
    let needed_per_file = dumpable / files as u64;
    let mut ranges = Vec::with_capacity(files);
    let (mut end, mut next_block) = (0u64, 0u64);
    for _ in 0..files - 1 {
        let start = end;
        if start < max_mapnr {
            let mut needed = needed_per_file;
            while next_block < block_count && needed > 0 {
                // Blocks without dumpable pages do not change `needed`: jump to the next counted one.
                match counts.range(next_block..).next() {
                    Some((&block, &count)) => {
                        needed = needed.saturating_sub(count);
                        next_block = block + 1;
                    }
                    None => next_block = block_count,
                }
            }
            end = (next_block * pages_per_splitblock).min(max_mapnr);
        } else {
            end = max_mapnr;
        }
        ranges.push((start, end));
    }
    ranges.push((end, max_mapnr));
    ranges
}
