//! What `diff` reports: the differences found, structure by structure, with the JSON shape scripts rely on
//! (`same_bytes`, `same_memory`, `summary`, `differences`), and the collector that keeps the first N
//! differences of each structure while counting all of them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::source::DumpForm;

/// The structure a difference is in, in the order of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    /// The file as a whole: kind, length, number of parts, bytes not explained by any structure.
    File,
    /// A `disk_dump_header` field.
    Header,
    /// A `kdump_sub_header` field.
    SubHeader,
    /// An ELF note (name, type, descriptor bytes), by index.
    Note,
    /// A VMCOREINFO key.
    Vmcoreinfo,
    /// Bitmap 1 (`in_memory`) or bitmap 2 (`dumped`), as pfn ranges.
    Bitmap,
    /// Page descriptors of pfns dumped on both sides, as pfn ranges.
    Descriptor,
    /// Page contents after decompression, as pfn ranges (and, with `--memory`, pages on one side only).
    Page,
    /// The eraseinfo text.
    Eraseinfo,
}

impl Structure {
    /// The name used in the JSON and the text (`sub_header`, …).
    pub fn name(self) -> &'static str {
        match self {
            Structure::File => "file",
            Structure::Header => "header",
            Structure::SubHeader => "sub_header",
            Structure::Note => "note",
            Structure::Vmcoreinfo => "vmcoreinfo",
            Structure::Bitmap => "bitmap",
            Structure::Descriptor => "descriptor",
            Structure::Page => "page",
            Structure::Eraseinfo => "eraseinfo",
        }
    }
}

/// One difference: a field of a structure, or a range of pfns sharing the same difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The structure.
    pub structure: Structure,
    /// The field (`max_mapnr`, `utsname.machine`, `note[1].desc`, `dumped`, `offset,size,flags`, `content`, …).
    pub field: String,
    /// `[first, last]` pfn of the range, where pfns apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pfns: Option<[u64; 2]>,
    /// Pfns in the range that have this difference (pfns inside it that were not compared are not counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The value on side A (for a range: at its first pfn).
    pub a: Value,
    /// The value on side B (for a range: at its first pfn).
    pub b: Value,
    /// More words for people (where a difference starts, what it means).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Difference {
    /// A difference of one field, without pfns.
    pub fn field(
        structure: Structure,
        field: impl Into<String>,
        a: impl Into<Value>,
        b: impl Into<Value>,
    ) -> Difference {
        Difference {
            structure,
            field: field.into(),
            pfns: None,
            count: None,
            a: a.into(),
            b: b.into(),
            detail: None,
        }
    }

    /// The same difference with a detail for people.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Difference {
        self.detail = Some(detail.into());
        self
    }
}

/// Page counts of the memory comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Pfns whose page is present on both sides (dumped in a kdump file, covered by a `PT_LOAD` of an ELF
    /// dump) and were compared after decompression.
    pub pfns_compared: u64,
    /// Compared pfns whose pages differ, or could not be decoded on one side or both.
    pub pfns_differing: u64,
    /// Pfns present in A only.
    pub only_in_a: u64,
    /// Pfns present in B only.
    pub only_in_b: u64,
    /// Compared pfns with identical pages stored differently (other descriptor size or flags, or other
    /// stored bytes): the memory is the same, the encoding is not.
    pub pfns_reencoded: u64,
}

/// What kind of dump a side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DumpKind {
    /// kdump-compressed (one file or a split set).
    Kdump,
    /// An ELF core dump (QEMU's `dump-guest-memory` ELF, or makedumpfile -E).
    Elf,
}

/// One side of the comparison, as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideInfo {
    /// The files (several for a split set).
    pub files: Vec<String>,
    /// The form of each file on disk.
    pub forms: Vec<DumpForm>,
    /// The kind of dump.
    pub kind: DumpKind,
    /// Length of each file as reassembled (the file length for a raw file).
    pub lengths: Vec<u64>,
}

/// What was compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffMode {
    /// Every structure of the format, in order.
    Structure,
    /// Guest memory and notes only (`--memory`).
    Memory,
}

/// Where the bytes of the two sides first differ (after reassembly), like `cmp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirstByteDifference {
    /// Index of the file in its side (0 unless split sets are compared).
    pub part: usize,
    /// Offset in the (reassembled) file.
    pub offset: u64,
    /// The structure of side A that holds the offset (`header`, `bitmap 2`, `page data`, …).
    pub region: String,
}

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    /// Side A.
    pub a: SideInfo,
    /// Side B.
    pub b: SideInfo,
    /// What was compared.
    pub mode: DiffMode,
    /// The two sides hold the same bytes once reassembled (whatever their forms).
    pub same_bytes: bool,
    /// Where the bytes first differ, when they do.
    pub first_byte_difference: Option<FirstByteDifference>,
    /// Same pages present, with the same contents, and the same notes.
    pub same_memory: bool,
    /// Page counts.
    pub summary: Summary,
    /// Number of differences per structure (all of them, listed or not).
    pub counts: BTreeMap<Structure, u64>,
    /// The differences, in the order of the format: at most `limit` per structure.
    pub differences: Vec<Difference>,
    /// Differences per structure listed at most.
    pub limit: usize,
}

impl DiffReport {
    /// Total number of differences found (listed or not).
    pub fn difference_total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// True if nothing differs at the level compared (exit status 0).
    pub fn is_same(&self) -> bool {
        self.counts.is_empty()
    }

    /// Number of differences found in `structure` (listed or not).
    pub fn count(&self, structure: Structure) -> u64 {
        self.counts.get(&structure).copied().unwrap_or(0)
    }
}

/// Collects differences: counts all, keeps the first `limit` of each structure.
#[derive(Debug, Default)]
pub struct Collector {
    limit: usize,
    /// Differences per structure.
    pub counts: BTreeMap<Structure, u64>,
    /// The kept differences.
    pub differences: Vec<Difference>,
}

impl Collector {
    /// A collector keeping at most `limit` differences per structure.
    pub fn new(limit: usize) -> Collector {
        Collector {
            limit,
            ..Collector::default()
        }
    }

    /// Adds one difference.
    pub fn push(&mut self, difference: Difference) {
        let count = self.counts.entry(difference.structure).or_insert(0);
        *count += 1;
        if *count <= self.limit as u64 {
            self.differences.push(difference);
        }
    }

    /// True if `structure` already has differences.
    pub fn has(&self, structure: Structure) -> bool {
        self.counts.contains_key(&structure)
    }

    /// The limit per structure.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// One pfn's difference, to be merged into ranges: pfns with equal keys in a row form one range.
pub struct PfnDifference<K> {
    /// The pfn.
    pub pfn: u64,
    /// What makes two pfns' differences the same (the differing fields, the kind of difference).
    pub key: K,
    /// Builds the range's difference from its first pfn, when the range is complete.
    pub first: Difference,
}

/// Merges per-pfn differences into ranges of pfns with the same key.
pub struct RangeMerger<K> {
    /// Only consecutive pfns form a range (bitmaps); otherwise a range runs until a pfn with another key
    /// (or no difference) is seen.
    strictly_consecutive: bool,
    open: Option<(K, Difference, u64, u64, u64)>,
}

impl<K: PartialEq> RangeMerger<K> {
    /// A merger; `strictly_consecutive` as in [`RangeMerger`].
    pub fn new(strictly_consecutive: bool) -> RangeMerger<K> {
        RangeMerger {
            strictly_consecutive,
            open: None,
        }
    }

    /// Adds a pfn that differs (pfns must come in ascending order).
    pub fn add(&mut self, item: PfnDifference<K>, out: &mut Collector) {
        if let Some((key, _, _, last, count)) = &mut self.open {
            let adjacent = !self.strictly_consecutive || item.pfn == *last + 1;
            if *key == item.key && adjacent {
                *last = item.pfn;
                *count += 1;
                return;
            }
        }
        self.close(out);
        self.open = Some((item.key, item.first, item.pfn, item.pfn, 1));
    }

    /// Notes a pfn that was compared and does not differ: it ends the open range.
    pub fn same(&mut self, out: &mut Collector) {
        self.close(out);
    }

    /// Ends the open range, if any, and adds it to `out`.
    pub fn close(&mut self, out: &mut Collector) {
        if let Some((_, mut difference, first, last, count)) = self.open.take() {
            difference.pfns = Some([first, last]);
            difference.count = Some(count);
            out.push(difference);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pfn(pfn: u64, key: u8) -> PfnDifference<u8> {
        PfnDifference {
            pfn,
            key,
            first: Difference::field(Structure::Page, "content", pfn, key),
        }
    }

    #[test]
    fn ranges_merge_equal_keys_and_break_on_other_keys_gaps_and_same_pages() {
        let mut out = Collector::new(10);
        let mut strict = RangeMerger::new(true);
        for p in [1, 2, 3, 5] {
            strict.add(pfn(p, 0), &mut out);
        }
        strict.add(pfn(6, 1), &mut out);
        strict.close(&mut out);
        let ranges: Vec<_> = out.differences.iter().map(|d| (d.pfns, d.count)).collect();
        assert_eq!(
            ranges,
            [
                (Some([1, 3]), Some(3)),
                (Some([5, 5]), Some(1)),
                (Some([6, 6]), Some(1))
            ]
        );

        let mut out = Collector::new(10);
        let mut loose = RangeMerger::new(false);
        loose.add(pfn(1, 0), &mut out);
        loose.add(pfn(9, 0), &mut out);
        loose.same(&mut out);
        loose.add(pfn(10, 0), &mut out);
        loose.close(&mut out);
        let ranges: Vec<_> = out.differences.iter().map(|d| (d.pfns, d.count)).collect();
        assert_eq!(ranges, [(Some([1, 9]), Some(2)), (Some([10, 10]), Some(1))]);
        assert_eq!(out.differences[0].a, Value::from(1u64));
    }

    #[test]
    fn the_collector_counts_everything_and_keeps_the_first_n_per_structure() {
        let mut out = Collector::new(2);
        for i in 0..5u64 {
            out.push(Difference::field(Structure::Header, "x", i, i + 1));
        }
        out.push(Difference::field(Structure::Page, "y", 0, 1));
        assert_eq!(out.counts[&Structure::Header], 5);
        assert_eq!(out.counts[&Structure::Page], 1);
        assert_eq!(out.differences.len(), 3);
    }
}
