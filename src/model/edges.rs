//! Boundaries the layout generator draws on purpose rather than by luck: bitmap byte and bitmap block
//! edges of `max_mapnr` and of the first pfn, extreme partial last pages, blocks that touch. About half
//! of the generated layouts are moved onto one of them ([`draw_boundary`]); [`boundaries_of`] says which
//! a layout sits on, however it was made (the README's frequencies come from it).

use arbitrary::{Result as ArbResult, Unstructured};
use serde::Serialize;

use super::layout::Layout;
use super::machine::Machine;

/// 4 GiB, the end of 32-bit physical memory.
const FOUR_GIB: u64 = 1 << 32;

/// A boundary of the format that a layout can sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Boundary {
    /// `max_mapnr` = 8k − 1, 8k or 8k + 1: the bitmaps' last byte one bit short, exactly full, or one bit
    /// into a new byte.
    MaxMapnrAtBitmapByte,
    /// `max_mapnr` = c·B − 1, c·B or c·B + 1 with B = 8·page size pfns: each bitmap one bit short of,
    /// exactly, or one bit past a whole number of blocks.
    MaxMapnrAtBitmapBlock,
    /// The first block starts at pfn 0, or at 8k − 1, 8k or 8k + 1 of a bitmap block (k ≥ 1) or at a bitmap
    /// block edge ± 1.
    FirstPfnAtBitmapEdge,
    /// The last page is partial by one byte, or holds one valid byte.
    ExtremeShortTail,
    /// Two blocks touch (no pfn between them) or are one pfn apart.
    AdjacentBlocks,
    /// Memory ends one page short of 4 GiB, at 4 GiB, or one page past it (its last page, maybe partial,
    /// ends there): where QEMU starts writing an x86 guest outside long mode as 64-bit
    /// (`qemu_writes_64bit`), and where an ELF32 dump of another 32-bit machine stops being possible (such
    /// a move is not made).
    MemoryEndAt4GiB,
}

/// Every boundary, in the order of [`Boundary`].
pub const ALL_BOUNDARIES: [Boundary; 6] = [
    Boundary::MaxMapnrAtBitmapByte,
    Boundary::MaxMapnrAtBitmapBlock,
    Boundary::FirstPfnAtBitmapEdge,
    Boundary::ExtremeShortTail,
    Boundary::AdjacentBlocks,
    Boundary::MemoryEndAt4GiB,
];

/// Pfns per bitmap block of `layout` (one bit per pfn).
fn pfns_per_bitmap_block(layout: &Layout) -> u64 {
    8 * layout.page_bytes()
}

/// True if `value` is within one of a multiple of `step` (never for 0 unless `zero` counts).
fn near_multiple(value: u64, step: u64) -> bool {
    value > 1 && [value - 1, value, value + 1].iter().any(|v| v % step == 0)
}

/// The boundaries `layout` sits on.
pub fn boundaries_of(layout: &Layout) -> Vec<Boundary> {
    let mut found = Vec::new();
    let block = pfns_per_bitmap_block(layout);
    let max_mapnr = layout.max_mapnr();
    if near_multiple(max_mapnr, 8) {
        found.push(Boundary::MaxMapnrAtBitmapByte);
    }
    if near_multiple(max_mapnr, block) {
        found.push(Boundary::MaxMapnrAtBitmapBlock);
    }
    let first = layout.blocks.first().map_or(0, |b| b.start_pfn);
    if first == 0 || near_multiple(first, 8) || near_multiple(first, block) {
        found.push(Boundary::FirstPfnAtBitmapEdge);
    }
    let page = layout.page_bytes() as u32;
    if layout
        .blocks
        .last()
        .is_some_and(|b| b.short_tail == 1 || b.short_tail == page - 1)
    {
        found.push(Boundary::ExtremeShortTail);
    }
    if layout
        .blocks
        .windows(2)
        .any(|pair| pair[1].start_pfn - pair[0].end_pfn() <= 1)
    {
        found.push(Boundary::AdjacentBlocks);
    }
    // in pages, as the move counts it: the last (maybe partial) page ends one page short of 4 GiB, at
    // it or one page past it
    let page = layout.page_bytes();
    if layout.memory_end().div_ceil(page).abs_diff(FOUR_GIB / page) <= 1 {
        found.push(Boundary::MemoryEndAt4GiB);
    }
    found
}

/// Moves about half of the layouts onto one boundary, chosen from `u`, and returns it; a move that would
/// make the layout invalid (too large, or memory past 4 GiB on a 32-bit machine other than x86), or that
/// the layout cannot make (adjacent blocks of a one-block layout), is not made, and `None` returned. The
/// page contents and classes are never changed.
pub fn draw_boundary(u: &mut Unstructured<'_>, layout: &mut Layout) -> ArbResult<Option<Boundary>> {
    if !u.ratio(1u8, 2)? {
        return Ok(None);
    }
    let boundary = ALL_BOUNDARIES[u.choose_index(ALL_BOUNDARIES.len()).unwrap_or(0)];
    let off_by: u64 = u.int_in_range(0..=2)?; // the edge − 1, the edge, the edge + 1
    let block = pfns_per_bitmap_block(layout);
    let mut moved = layout.clone();
    let first = layout.blocks[0].start_pfn;
    // pfns from the first block's start to max_mapnr: a shift of every block keeps it
    let span = layout.max_mapnr() - first;
    match boundary {
        Boundary::MaxMapnrAtBitmapByte => {
            shift_blocks(&mut moved, span.next_multiple_of(8) + 7 + off_by - span)
        }
        Boundary::MaxMapnrAtBitmapBlock => {
            let edge = (span + 1).next_multiple_of(block);
            shift_blocks(&mut moved, edge + off_by - 1 - span)
        }
        Boundary::FirstPfnAtBitmapEdge => {
            let starts = [0, 7, 8, 9, block - 1, block, block + 1];
            shift_blocks(
                &mut moved,
                starts[u.choose_index(starts.len()).unwrap_or(0)],
            )
        }
        Boundary::ExtremeShortTail => {
            let page = layout.page_bytes() as u32;
            if let Some(last) = moved.blocks.last_mut() {
                last.short_tail = if off_by == 0 { 1 } else { page - 1 };
            }
        }
        Boundary::AdjacentBlocks => {
            if moved.blocks.len() < 2 {
                return Ok(None);
            }
            let i = u.choose_index(moved.blocks.len() - 1).unwrap_or(0);
            let gap = moved.blocks[i + 1].start_pfn - moved.blocks[i].end_pfn();
            let wanted = off_by.min(1);
            for later in &mut moved.blocks[i + 1..] {
                later.start_pfn = later.start_pfn - gap + wanted;
            }
        }
        Boundary::MemoryEndAt4GiB => {
            let page = moved.page_bytes();
            let last_start = moved.blocks.last().map_or(0, |b| b.start_pfn);
            // the last block's end pfn at 4 GiB / page - 1, + 0 or + 1
            let end_pfn = FOUR_GIB / page + off_by - 1;
            let last_pages = moved.blocks.last().map_or(0, |b| b.page_count());
            let Some(new_last_start) = end_pfn.checked_sub(last_pages) else {
                return Ok(None);
            };
            if new_last_start < last_start {
                return Ok(None);
            }
            shift_blocks(&mut moved, first + (new_last_start - last_start));
        }
    }
    // a 32-bit machine's memory stays within 4 GiB (its ELF32 dump, P6, cannot hold more), but for an x86
    // guest, which QEMU then writes as 64-bit
    let addressable = moved.machine.is_64bit()
        || moved.machine == Machine::I386
        || moved.memory_end() <= FOUR_GIB;
    if !addressable || moved.validate().is_err() {
        return Ok(None);
    }
    *layout = moved;
    Ok(Some(boundary))
}

/// Moves every block so that the first starts at `first_pfn`; the gaps stay.
fn shift_blocks(layout: &mut Layout, first_pfn: u64) {
    let old_first = layout.blocks[0].start_pfn;
    for block in &mut layout.blocks {
        block.start_pfn = block.start_pfn - old_first + first_pfn;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gen::{layout_from_seed, SizeClass};

    /// Every boundary a layout is moved onto is one [`boundaries_of`] then finds, and the three
    /// positions around each `max_mapnr` edge (the edge − 1, the edge, the edge + 1) are all drawn
    /// (campaign 7: `+ off_by` → `* off_by` in the bitmap-byte move missed the edge; `value - 1` →
    /// `value / 1` in `near_multiple` missed the edge + 1). A two-block layout can be moved onto
    /// adjacent blocks, and no move takes a 32-bit machine other than x86 past 4 GiB (its ELF32 dump
    /// could not hold the memory), while a 32-bit x86 guest may go past it.
    #[test]
    fn every_boundary_drawn_is_one_the_layout_sits_on() {
        use rand::{RngCore, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut positions: std::collections::BTreeMap<Boundary, std::collections::BTreeSet<u64>> =
            Default::default();
        let (mut two_blocks_made_adjacent, mut x86_32_past_4_gib) = (0, 0);
        for seed in 0..200 {
            let base = layout_from_seed(seed, SizeClass::Small);
            for _ in 0..20 {
                let mut bytes = [0u8; 64];
                rng.fill_bytes(&mut bytes);
                let mut layout = base.clone();
                let Some(boundary) =
                    draw_boundary(&mut Unstructured::new(&bytes), &mut layout).unwrap()
                else {
                    continue;
                };
                assert!(
                    boundaries_of(&layout).contains(&boundary),
                    "seed {seed}: {boundary:?} drawn, max_mapnr {}",
                    layout.max_mapnr()
                );
                let elf32_only = !layout.machine.is_64bit() && layout.machine != Machine::I386;
                assert!(
                    !elf32_only || layout.memory_end() <= FOUR_GIB,
                    "seed {seed}: {} memory ends at {:#x}",
                    layout.machine,
                    layout.memory_end()
                );
                if layout.machine == Machine::I386 && layout.memory_end() > FOUR_GIB {
                    x86_32_past_4_gib += 1;
                }
                if boundary == Boundary::AdjacentBlocks && layout.blocks.len() == 2 {
                    two_blocks_made_adjacent += 1;
                }
                let step = match boundary {
                    Boundary::MaxMapnrAtBitmapByte => 8,
                    Boundary::MaxMapnrAtBitmapBlock => pfns_per_bitmap_block(&layout),
                    _ => continue,
                };
                // 0 for the edge − 1, 1 for the edge, 2 for the edge + 1
                let position = (layout.max_mapnr() + 1) % step;
                positions.entry(boundary).or_default().insert(position);
            }
        }
        for boundary in [
            Boundary::MaxMapnrAtBitmapByte,
            Boundary::MaxMapnrAtBitmapBlock,
        ] {
            assert_eq!(
                positions.get(&boundary).cloned().unwrap_or_default(),
                [0, 1, 2].into(),
                "{boundary:?}"
            );
        }
        assert!(two_blocks_made_adjacent > 0);
        assert!(x86_32_past_4_gib > 0, "QEMU writes those as 64-bit");
    }

    #[test]
    fn every_boundary_is_drawn_in_small_medium_and_large_layouts() {
        for size in [SizeClass::Small, SizeClass::Medium, SizeClass::Large] {
            let mut hits = std::collections::BTreeMap::new();
            for seed in 0..300 {
                for boundary in boundaries_of(&layout_from_seed(seed, size)) {
                    *hits.entry(boundary).or_insert(0u32) += 1;
                }
            }
            for boundary in ALL_BOUNDARIES {
                assert!(
                    hits.get(&boundary).copied().unwrap_or(0) >= 10,
                    "{size:?}: {boundary:?} in {hits:?}"
                );
            }
        }
    }
}
