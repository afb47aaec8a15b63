//! `kdump::join` over the makedumpfile model's `--split` sets (src/model/makedumpfile/, checked against
//! the real makedumpfile by tests/model_makedumpfile_oracle.rs): for random layouts of every machine the
//! model knows (32- and 64-bit, both byte orders, every compression, dump levels with and without zero
//! pages, eraseinfo), the set of 2, 3 or 4 files joins into exactly the file the model writes without
//! `--split`, as makedumpfile --reassemble does for makedumpfile's sets (tests/kdump_join.rs). With
//! eraseinfo, every file of a set carries the whole text (each `--split` child writes it), so the joined
//! file holds it once per file, as makedumpfile --reassemble concatenates them.

use kdump_flat::kdump::check::check;
use kdump_flat::kdump::{join, KdumpFile, KdumpSet};
use kdump_flat::model::gen::{layout_from_seed, SizeClass};
use kdump_flat::model::makedumpfile::{
    makedumpfile_options, split_ranges, write_makedumpfile_kdump_with, MakedumpfileOptions,
};
use kdump_flat::model::Layout;
use kdump_flat::readat::ReadAt;
use kdump_flat::sink::{DumpSink, RawSink};

fn raw_file(layout: &Layout, options: &MakedumpfileOptions) -> Vec<u8> {
    let mut sink = RawSink::in_memory();
    write_makedumpfile_kdump_with(layout, options, &mut sink).unwrap();
    sink.into_bytes()
}

/// The files of a `--split` set of `layout`, one per pfn range, each written with `options`.
fn split_files(
    layout: &Layout,
    options: &MakedumpfileOptions,
    ranges: &[(u64, u64)],
) -> Vec<Vec<u8>> {
    ranges
        .iter()
        .map(|&range| {
            let part = MakedumpfileOptions {
                split: Some(range),
                ..options.clone()
            };
            raw_file(layout, &part)
        })
        .collect()
}

/// Joins `parts` given in reverse order.
fn joined(parts: &[Vec<u8>]) -> Vec<u8> {
    let files = parts
        .iter()
        .rev()
        .map(|bytes| KdumpFile::open(bytes.as_slice()).unwrap())
        .collect();
    let set = KdumpSet::new(files).unwrap();
    let mut sink = RawSink::in_memory();
    join(&set, &mut sink).unwrap();
    sink.finish().unwrap();
    sink.into_bytes()
}

fn check_seed(seed: u64, size: SizeClass) -> bool {
    let layout = layout_from_seed(seed, size);
    let base = makedumpfile_options(&layout);
    let max_mapnr = layout.max_mapnr();
    let dumpable: Vec<u64> = layout.dumped_pfns().collect();
    for (files, splitblock_pages) in [(2, 1 << 18), (3, 16), (4, 1)] {
        let ranges = split_ranges(dumpable.iter().copied(), max_mapnr, files, splitblock_pages);
        let in_one_cycle = MakedumpfileOptions {
            cyclic_buffer: Some(max_mapnr.div_ceil(8).max(1)),
            ..base.clone()
        };
        let parts = split_files(&layout, &in_one_cycle, &ranges);
        let unsplit = MakedumpfileOptions {
            eraseinfo: base.eraseinfo.as_ref().map(|text| text.repeat(files)),
            ..base.clone()
        };
        let expected = raw_file(&layout, &unsplit);
        let ours = joined(&parts);
        if let Some(at) = ours.iter().zip(&expected).position(|(a, b)| a != b) {
            panic!(
                "seed {seed} {size:?} ({} {} level {}), {files} files {ranges:x?}: first difference \
                 at byte {at:#x}",
                layout.machine, layout.compression, layout.dump_level
            );
        }
        assert_eq!(ours.len(), expected.len(), "seed {seed}: length");
        assert!(
            check(&[&ours.as_slice() as &dyn ReadAt]).is_valid(),
            "seed {seed}"
        );
    }
    layout.eraseinfo.is_some()
}

#[test]
fn model_split_sets_join_into_the_models_unsplit_file() {
    let mut with_eraseinfo = 0;
    for seed in 0..120 {
        with_eraseinfo += check_seed(seed, SizeClass::Small) as u32;
    }
    for seed in 1000..1006 {
        with_eraseinfo += check_seed(seed, SizeClass::Medium) as u32;
    }
    assert!(with_eraseinfo > 0, "some layouts carry eraseinfo");
}

/// kdump/join/copy.rs `holds_zero_page` (campaign 6: `>` → `>=`): at dump level 1 a zero page's descriptor
/// refers to the set's shared zero page, so a part whose dumped pages are all zero pages ends with that
/// page, exactly at the end of its file. Its references to that page still join into references to the
/// joined file's zero page, as in the model's unsplit file (copied as page data, the joined file would be
/// a page per reference longer).
#[test]
fn a_part_of_only_zero_pages_ending_with_the_shared_zero_page_joins_into_the_unsplit_file() {
    use kdump_flat::model::{MemoryBlock, PageClass, PageContent, PageRun, WriterKind};
    let mut layout = (0..)
        .map(|seed| layout_from_seed(seed, SizeClass::Small))
        .find(|layout| layout.writer == WriterKind::Makedumpfile)
        .unwrap();
    let run = |count, content| PageRun {
        count,
        content,
        class: PageClass::Kernel,
    };
    layout.blocks = vec![MemoryBlock {
        start_pfn: 0,
        runs: vec![
            run(8, PageContent::Random { seed: 7 }),
            run(8, PageContent::Zero),
        ],
        short_tail: 0,
    }];
    layout.dump_level = 1;
    layout.eraseinfo = None;
    layout.max_mapnr_beyond_memory = 0;
    layout.validate().unwrap();
    let base = makedumpfile_options(&layout);
    let ranges = split_ranges(layout.dumped_pfns(), layout.max_mapnr(), 2, 1);
    assert_eq!(ranges, vec![(0, 8), (8, 16)]);
    let parts = split_files(&layout, &base, &ranges);
    let second = KdumpFile::open(parts[1].as_slice()).unwrap();
    for pfn in 8..16 {
        let desc = second.descriptor(pfn).unwrap();
        assert_eq!(
            (desc.offset as u64 + desc.size as u64, desc.flags),
            (parts[1].len() as u64, 0),
            "pfn {pfn} refers to the shared zero page at the end of the second part"
        );
    }
    let expected = raw_file(&layout, &base);
    let ours = joined(&parts);
    assert_eq!(ours.len(), expected.len());
    assert!(ours == expected, "the joined file is the unsplit file");
}

/// kdump/join/mod.rs `write_joined` (campaign 7: `size > 0` → `size >= 0`): an empty notes area is nothing
/// to copy, wherever its offset points — here past the end of every part (`size_note` 0, `offset_note`
/// 2^40). The set still joins, and the joined file reads every page as the model's unsplit file does.
#[test]
fn an_empty_notes_area_pointing_past_the_parts_is_not_copied() {
    use kdump_flat::model::{Endian, WriterKind};
    let layout = (0..)
        .map(|seed| layout_from_seed(seed, SizeClass::Small))
        .find(|layout| {
            layout.writer == WriterKind::Makedumpfile
                && layout.machine.is_64bit()
                && layout.machine.endian() == Endian::Little
        })
        .unwrap();
    let base = makedumpfile_options(&layout);
    let ranges = split_ranges(layout.dumped_pfns(), layout.max_mapnr(), 2, 1);
    let page = layout.page_bytes() as usize;
    let mut parts = split_files(&layout, &base, &ranges);
    for bytes in &mut parts {
        // kdump_sub_header (64-bit): offset_note at 48, size_note at 56
        bytes[page + 48..page + 56].copy_from_slice(&(1u64 << 40).to_le_bytes());
        bytes[page + 56..page + 64].copy_from_slice(&0u64.to_le_bytes());
    }
    let ours = joined(&parts);
    let expected = raw_file(&layout, &base);
    let (ours, expected) = (
        KdumpFile::open(ours.as_slice()).unwrap(),
        KdumpFile::open(expected.as_slice()).unwrap(),
    );
    assert_eq!(ours.max_pfn(), expected.max_pfn());
    for pfn in 0..expected.max_pfn() {
        assert_eq!(
            ours.read_page_or_zero(pfn).unwrap(),
            expected.read_page_or_zero(pfn).unwrap(),
            "pfn {pfn:#x}"
        );
    }
}
