//! makedumpfile's kdump-compressed write sequence (`writeout_dumpfile` → `write_kdump_header`,
//! `write_kdump_pages_and_bitmap_cyclic`, `write_kdump_eraseinfo` in makedumpfile.c), in both bitmap modes
//! and for single files as for the files of a `--split` set:
//!
//! 1. `disk_dump_header` at 0; the ELF notes at PS + sizeof(sub-header) (before the sub-header);
//!    `kdump_sub_header` at PS (with `--split`: `split` = 1 and the file's pfn range).
//! 2. The shared zero page goes first into the data cache (dump level bit 1 only).
//! 3. Bitmap 1, cycle by cycle (`for_each_cycle(0, max_mapnr)`, cycles of `cyclic_buffer·8` pfns):
//!    - non-cyclic mode (one cycle): the whole bitmap, trailing zeros up to the block included, in
//!      4096-byte pieces (`BUFSIZE_BITMAP`, copied from makedumpfile's bitmap file);
//!    - cyclic mode (`--cyclic-buffer K`, or makedumpfile's automatic buffer, see
//!      [`automatic_cyclic_buffer`]): one write per cycle of ⌈pfns/8⌉ bytes at `i·K·1024`; the bytes
//!      between ⌈max_mapnr/8⌉ and the end of the bitmap's last block are never written.
//! 4. Per cycle: bitmap 2's part for the cycle (right after the previous part), then the cycle's pages in
//!    pfn order (`write_kdump_pages_cyclic`; with `--split` only those in the file's range, although every
//!    file carries both whole bitmaps and descriptor room for all dumpable pages of the dump):
//!    when the descriptor cache plus 24 bytes, or the data cache plus the stored page, would reach the
//!    cache size, both caches are written out (descriptors first); then the descriptor goes into the
//!    descriptor cache and the data into the data cache. Zero pages (dump level bit 1) only add the
//!    shared zero page's descriptor, through `write_cache`, which writes exactly the cache size when the
//!    buffer reaches it and keeps the overflow. Caches are PS·2^b bytes (`-b b`, 4 by default:
//!    PS·16). The caches carry over from one cycle to the next.
//! 5. The data cache's remainder, then the descriptor cache's remainder.
//! 6. With eraseinfo: its lines through the data cache from the end of the data, the remainder, then the
//!    sub-header again, now with `offset_eraseinfo`/`size_eraseinfo` (a second record over the same range).
//!
//! [`split_ranges`] gives the files' pfn ranges as `--split` computes them (splitblocks). Checked byte for
//! byte against makedumpfile 1.7.2 and 1.7.6 (identical outputs) by tests/model_makedumpfile_oracle.rs:
//! non-cyclic, cyclic with 1 to 200 KiB buffers (up to 128 cycles, cycles ending inside a bitmap byte), split
//! sets of 2 and 3 files, `--num-threads` and `-b`, flattened and raw; by tests/model_kernel_oracle.rs
//! (ignored: needs a booted guest's dumps) at dump level 31, cyclic and split. With `--num-threads`
//! ([`MakedumpfileOptions::num_threads`]) step 4 puts descriptors and data through plain `write_cache`
//! (`write_kdump_pages_parallel_cyclic`), without `write_kdump_page`'s early flush. Not modelled: `-E` (ELF
//! output), a size limit (`-L`) and ENOSPC handling.
//!
//! The module's rooms: [`policy`] (how makedumpfile resolves its command line: the automatic cyclic
//! buffer, the `--split` ranges), [`options`] (the options a layout implies), [`sequence`] (the write
//! sequence, step by step) and `cache` (its `cache_data` pair and page loop).

mod cache;
pub mod options;
pub mod policy;
pub mod sequence;

pub use super::mode::DEFAULT_BLOCK_ORDER;
pub use options::{
    layout_cyclic_buffer, layout_split_ranges, makedumpfile_abi, makedumpfile_default_options,
    makedumpfile_options, makedumpfile_part_options, MakedumpfileOptions,
};
pub use policy::{
    automatic_cyclic_buffer, cyclic_buffer, split_ranges, DEFAULT_SPLITBLOCK_SIZE,
    MAX_AUTOMATIC_CYCLIC_BUFFER,
};
pub use sequence::{
    write_makedumpfile_kdump, write_makedumpfile_kdump_from, write_makedumpfile_kdump_with,
    BUFSIZE_BITMAP,
};
