//! Layouts other writers produce, which every reader reads the same way but neither QEMU nor
//! makedumpfile writes ([`Deviations`]; `check` reports them as *deviations*, docs/validity.md).
//!
//! libkdumpfile's test-suite generator (`tests/mkdiskdump.c`) is the writer these come from: it writes the
//! page data and descriptors first, in the order of its input, and the header and sub-header last; it
//! takes `sub_hdr_size`, the notes' place and each split part's pfn range from its parameter file, and
//! stamps every file it writes with the time of day, so the parts of one set differ in the timestamp.
//! The model writes these variants of a makedumpfile layout ([`super::variant_writer`] for a single
//! file; makedumpfile's own sequence, with other ranges and timestamps, for a split set):
//!
//! - [`NotesPlacement::AfterData`]: the notes (and VMCOREINFO within them) after the page data and the
//!   eraseinfo, `offset_note`/`size_note` pointing there; `sub_hdr_size` then covers the sub-header only.
//! - [`DataOrder`]: page data reversed or shuffled; descriptors stay in pfn order, each pointing at its
//!   page's data, no two overlapping (the shared zero page stays first).
//! - [`SubHeaderBlocks::Zero`]: `sub_hdr_size` 0 with the version-6 sub-header in block 1. Every reader
//!   (libkdumpfile's `read_sub_hdr_64`/`_32`, this crate's `Headers::read`) reads the sub-header at block 1
//!   whatever `sub_hdr_size` says, and puts bitmap 1 at block 1 + `sub_hdr_size` = block 1, on top of it.
//!   **Decision**: the model writes bitmap 1 there and the sub-header last, over bitmap 1's first bytes
//!   (mkdiskdump's order: header last), so the sub-header's bytes *are* bitmap 1's first bits. To keep a
//!   layout every reader reads alike, no memory block may start below pfn 8 × sizeof(sub-header)
//!   ([`sub_header_zero_first_pfn`]): those pfns' bitmap-1 bits come from the sub-header, bitmap 2 has none
//!   of them, so a reader that looks at bitmap 1 (this crate) reads a pfn whose bit the sub-header sets as
//!   excluded and the others as not in memory, and libkdumpfile (which reads pages by bitmap 2 alone)
//!   reads none of them: the same pages, the same data. The notes cannot follow the sub-header (there is
//!   no room): they go after the data.
//! - [`SplitStamps::PerPart`]: each file of a `--split` set stamped with its own time (microseconds + its
//!   index), as mkdiskdump does; everything else in the headers equal.
//! - [`SplitCoverage::Trimmed`]: each file's pfn range ends `pfns` pfns early, so the ranges leave gaps and
//!   stop before `max_mapnr` (libkdumpfile's `diskdump-split` test writes such parts); pages in a gap are
//!   not in the dump and read as excluded. `join` refuses such a set, as `makedumpfile --reassemble` does.
//!
//! The model writes the single-file variants only for single files of makedumpfile layouts in its default
//! write mode, and the split variants only for `--split` layouts (checked by `Layout::validate`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::encode::StructAbi;
use super::makedumpfile::layout_split_ranges;
use super::Layout;

/// Where the notes are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotesPlacement {
    /// Right after the sub-header, inside the `sub_hdr_size` blocks (QEMU, makedumpfile).
    #[default]
    AfterSubHeader,
    /// After the page data and the eraseinfo.
    AfterData,
}

/// The order of the page data in the file (descriptors are always in pfn order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataOrder {
    /// In pfn order (QEMU, makedumpfile).
    #[default]
    Pfn,
    /// Highest pfn first.
    Reversed,
    /// A permutation drawn from `seed`.
    Shuffled {
        /// Seed of the permutation.
        seed: u64,
    },
}

/// How many blocks `sub_hdr_size` says the sub-header (and the notes) take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubHeaderBlocks {
    /// Enough blocks for the sub-header (and the notes when they follow it).
    #[default]
    Covering,
    /// 0, with the sub-header still in block 1 (bitmap 1 starts on top of it).
    Zero,
}

/// The timestamps of a `--split` set's files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitStamps {
    /// All the same (makedumpfile).
    #[default]
    Same,
    /// File i has the layout's timestamp plus i microseconds.
    PerPart,
}

/// Which pfns the files of a `--split` set cover.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitCoverage {
    /// makedumpfile's ranges, `[0, max_mapnr)` without gaps.
    #[default]
    Contiguous,
    /// Each file's range ends `pfns` pfns before makedumpfile's (not below its start).
    Trimmed {
        /// Pfns cut from the end of every range (≥ 1).
        pfns: u32,
    },
}

/// The layout features of other writers a [`Layout`] has (all default: QEMU's or makedumpfile's own
/// layout). Serialised only when one is set; absent in older reproducers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deviations {
    /// Where the notes are.
    #[serde(default)]
    pub notes: NotesPlacement,
    /// The order of the page data.
    #[serde(default)]
    pub data_order: DataOrder,
    /// What `sub_hdr_size` says.
    #[serde(default)]
    pub sub_header_blocks: SubHeaderBlocks,
    /// The split files' timestamps.
    #[serde(default)]
    pub split_stamps: SplitStamps,
    /// The split files' pfn ranges.
    #[serde(default)]
    pub split_coverage: SplitCoverage,
}

impl Deviations {
    /// True when the layout is QEMU's or makedumpfile's own.
    pub fn is_none(&self) -> bool {
        *self == Deviations::default()
    }

    /// True when a single file is laid out as another writer does (notes, data order, `sub_hdr_size`).
    pub fn changes_file_layout(&self) -> bool {
        self.notes != NotesPlacement::default()
            || self.data_order != DataOrder::default()
            || self.sub_header_blocks != SubHeaderBlocks::default()
    }

    /// True when a `--split` set's files differ from makedumpfile's (timestamps, ranges).
    pub fn changes_split_set(&self) -> bool {
        self.split_stamps != SplitStamps::default()
            || self.split_coverage != SplitCoverage::default()
    }

    /// Short names of the deviations set, for summaries and counts: "notes-after-data",
    /// "data-reversed", "data-shuffled", "sub-hdr-size-0", "split-timestamps", "split-gaps".
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.notes == NotesPlacement::AfterData {
            names.push("notes-after-data");
        }
        match self.data_order {
            DataOrder::Pfn => {}
            DataOrder::Reversed => names.push("data-reversed"),
            DataOrder::Shuffled { .. } => names.push("data-shuffled"),
        }
        if self.sub_header_blocks == SubHeaderBlocks::Zero {
            names.push("sub-hdr-size-0");
        }
        if self.split_stamps == SplitStamps::PerPart {
            names.push("split-timestamps");
        }
        if self.split_coverage != SplitCoverage::Contiguous {
            names.push("split-gaps");
        }
        names
    }
}

impl fmt::Display for Deviations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// True when the notes are not right after the sub-header (placed after the data, or pushed there by
/// `sub_hdr_size` 0).
pub fn notes_after_data(layout: &Layout) -> bool {
    layout.deviations.notes == NotesPlacement::AfterData
        || layout.deviations.sub_header_blocks == SubHeaderBlocks::Zero
}

/// `sub_hdr_size` for a sub-header of `sub_header_bytes` and `note_bytes` of notes: the blocks of both
/// (QEMU, makedumpfile), of the sub-header alone when the notes are elsewhere, or 0.
pub fn sub_hdr_blocks(layout: &Layout, sub_header_bytes: u64, note_bytes: u64) -> u64 {
    let ps = layout.page_bytes();
    match layout.deviations.sub_header_blocks {
        SubHeaderBlocks::Zero => 0,
        SubHeaderBlocks::Covering if notes_after_data(layout) => sub_header_bytes.div_ceil(ps),
        SubHeaderBlocks::Covering => (sub_header_bytes + note_bytes).div_ceil(ps),
    }
}

/// The lowest pfn a memory block may start at with `sub_hdr_size` 0: the sub-header's bytes are bitmap 1's
/// first bits, so no memory may lie below 8 × its size.
pub fn sub_header_zero_first_pfn(abi: StructAbi) -> u64 {
    8 * abi.sub_header_size()
}

/// Where each of `count` stored pages (in pfn order) goes in the data area: `slots[i]` is the position of
/// the i-th page's data among all stored pages.
pub fn data_slots(order: DataOrder, count: usize) -> Vec<usize> {
    match order {
        DataOrder::Pfn => (0..count).collect(),
        DataOrder::Reversed => (0..count).rev().collect(),
        DataOrder::Shuffled { seed } => {
            let mut slots: Vec<usize> = (0..count).collect();
            let mut state = seed;
            for i in (1..count).rev() {
                let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
                slots.swap(i, j);
            }
            slots
        }
    }
}

/// SplitMix64: a small, fixed pseudo-random sequence (the model needs a reproducible permutation without
/// the harness's random crates).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The pfn range of each file of the layout's `--split` set as written: makedumpfile's ranges, each
/// trimmed at its end with [`SplitCoverage::Trimmed`]; `None` for a dump written as one file.
pub fn part_ranges(layout: &Layout) -> Option<Vec<(u64, u64)>> {
    let ranges = layout_split_ranges(layout)?;
    Some(match layout.deviations.split_coverage {
        SplitCoverage::Contiguous => ranges,
        SplitCoverage::Trimmed { pfns } => ranges
            .into_iter()
            .map(|(start, end)| (start, end.saturating_sub(u64::from(pfns)).max(start)))
            .collect(),
    })
}

/// The header timestamp (seconds, microseconds) of file `index` of a split set (the layout's own for a
/// single file or with [`SplitStamps::Same`]).
pub fn part_timestamp(layout: &Layout, index: usize) -> (u32, u32) {
    let (sec, usec) = layout.timestamp;
    match layout.deviations.split_stamps {
        SplitStamps::Same => (sec, usec),
        SplitStamps::PerPart => (sec, ((u64::from(usec) + index as u64) % 1_000_000) as u32),
    }
}

/// The pfn ranges below `max_mapnr` that no file of the layout's `--split` set covers, ascending (empty
/// for a single file or makedumpfile's own ranges).
pub fn split_gaps(layout: &Layout) -> Vec<(u64, u64)> {
    let Some(mut ranges) = part_ranges(layout) else {
        return Vec::new();
    };
    ranges.sort_unstable();
    let mut gaps = Vec::new();
    let mut covered = 0u64;
    for (start, end) in ranges {
        if start > covered {
            gaps.push((covered, start));
        }
        covered = covered.max(end);
    }
    if covered < layout.max_mapnr() {
        gaps.push((covered, layout.max_mapnr()));
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 is the published generator: its first outputs from seed 0 are the reference
    /// implementation's (0xe220a8397b1dcdaf, …; recomputed from the definition in Python).
    #[test]
    fn splitmix64_gives_the_reference_sequence() {
        let mut state = 0;
        let first: Vec<u64> = (0..3).map(|_| splitmix64(&mut state)).collect();
        assert_eq!(
            first,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f
            ]
        );
        let mut state = 1_234_567;
        assert_eq!(splitmix64(&mut state), 0x599e_d017_fb08_fc85);
    }

    #[test]
    fn data_slots_are_permutations() {
        for order in [
            DataOrder::Pfn,
            DataOrder::Reversed,
            DataOrder::Shuffled { seed: 7 },
        ] {
            for count in [0, 1, 2, 17] {
                let mut slots = data_slots(order, count);
                slots.sort_unstable();
                assert_eq!(slots, (0..count).collect::<Vec<_>>(), "{order:?} {count}");
            }
        }
        assert_eq!(data_slots(DataOrder::Reversed, 3), vec![2, 1, 0]);
        assert_ne!(
            data_slots(DataOrder::Shuffled { seed: 1 }, 10),
            (0..10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn old_reproducers_without_deviations_still_load() {
        let empty: Deviations = serde_json::from_str("{}").unwrap();
        assert!(empty.is_none());
        let some: Deviations =
            serde_json::from_str(r#"{"data_order": {"shuffled": {"seed": 3}}}"#).unwrap();
        assert_eq!(some.names(), vec!["data-shuffled"]);
    }
}
