//! The harness over makedumpfile's write modes: seeded layouts use the cyclic mode, `--num-threads`, `-b`
//! and `--split`; every property holds on them; the split-set properties can fail (a changed file of a
//! set is noticed by P1's join, P3's set read-back and P4's check of the set); layout files without a
//! `mode` still load.

use kdump_flat::harness::{
    p1_set_joins_to_one_file, p2_raw_extent_matches_layout, p3_pages_read_back, p4_check_passes,
    run_case, write_case, CaseOptions, Outcome,
};
use kdump_flat::model::gen::{layout_from_seed, SizeClass};
use kdump_flat::model::makedumpfile::{layout_cyclic_buffer, layout_split_ranges};
use kdump_flat::model::{CyclicMode, Layout, MakedumpfileMode, WriterKind};

/// The first small seed from `from` whose layout is a split set with at least `non_empty` files holding
/// pages (and, if asked, eraseinfo).
fn split_seed(from: u64, non_empty: usize, eraseinfo: bool) -> (u64, Layout) {
    (from..from + 5000)
        .map(|seed| (seed, layout_from_seed(seed, SizeClass::Small)))
        .find(|(_, layout)| {
            layout_split_ranges(layout).is_some_and(|ranges| {
                ranges
                    .iter()
                    .filter(|&&(start, end)| {
                        layout.dumped_pfns().any(|pfn| (start..end).contains(&pfn))
                    })
                    .count()
                    >= non_empty
            }) && layout.eraseinfo.is_some() == eraseinfo
        })
        .expect("some seed gives such a split layout")
}

#[test]
fn seeded_layouts_use_every_mode() {
    let (mut split, mut several_cycles, mut one_cycle, mut threads, mut order, mut automatic) =
        (0, 0, 0, 0, 0, 0);
    for seed in 0..400 {
        let layout = layout_from_seed(seed, SizeClass::Small);
        if layout.writer == WriterKind::Qemu {
            assert!(layout.mode.is_default(), "seed {seed}");
            continue;
        }
        split += u32::from(layout.mode.split.is_some());
        threads += u32::from(layout.mode.num_threads > 0);
        order += u32::from(layout.mode.block_order != MakedumpfileMode::default().block_order);
        automatic += u32::from(matches!(layout.mode.cyclic, CyclicMode::Automatic { .. }));
        match layout_cyclic_buffer(&layout) {
            Some(bytes) if bytes * 8 >= layout.max_mapnr() => one_cycle += 1,
            Some(_) => several_cycles += 1,
            None => {}
        }
    }
    for (what, count) in [
        ("split", split),
        ("several cycles", several_cycles),
        ("one cycle", one_cycle),
        ("--num-threads", threads),
        ("-b", order),
        ("automatic buffer", automatic),
    ] {
        assert!(count >= 10, "{what}: only {count} of 400 seeds");
    }
}

#[test]
fn split_layouts_hold_every_property() {
    let mut sets = 0;
    for seed in 0..2000 {
        let layout = layout_from_seed(seed, SizeClass::Small);
        if layout.mode.split.is_none() {
            continue;
        }
        sets += 1;
        let report = run_case(&layout, &CaseOptions::default());
        for (property, outcome) in &report.outcomes {
            if let Outcome::Fail(detail) = outcome {
                panic!(
                    "seed {seed}: {property} failed: {detail}\nlayout: {}",
                    serde_json::to_string(&layout).unwrap()
                );
            }
        }
        if sets == 60 {
            break;
        }
    }
    assert_eq!(sets, 60);
}

#[test]
fn split_set_properties_notice_a_changed_file() {
    let (seed, layout) = split_seed(0, 2, true);
    let output = write_case(&layout).unwrap();
    let files = output.parts.len();
    assert_eq!(
        files,
        layout.mode.split.unwrap().files as usize,
        "seed {seed}"
    );
    p1_set_joins_to_one_file(&layout, &output).unwrap();
    p2_raw_extent_matches_layout(&layout, &output).unwrap();
    p3_pages_read_back(&layout, &output).unwrap();
    p4_check_passes(&layout, &output).unwrap();

    // A byte of the last non-empty file's page data: the join and the set read-back differ from the model.
    let part = output
        .parts
        .iter()
        .rposition(|p| p.summary.dumped_pages > 0 && p.raw.len() as u64 > p.summary.data_offset)
        .unwrap();
    let mut changed = output.clone();
    let at = changed.parts[part].summary.data_offset as usize
        + changed.parts[part].raw[changed.parts[part].summary.data_offset as usize..]
            .iter()
            .position(|&b| b != 0)
            .unwrap();
    changed.parts[part].raw[at] ^= 0xff;
    let join_failure = p1_set_joins_to_one_file(&layout, &changed).unwrap_err();
    assert!(
        join_failure.detail.contains("differs") || join_failure.detail.contains("join"),
        "{join_failure}"
    );
    let read_failure = p3_pages_read_back(&layout, &changed).unwrap_err();
    assert!(
        read_failure.detail.contains("split set, raw"),
        "{read_failure}"
    );

    // A file of the set missing: check of the set (K18) and KdumpSet refuse it.
    let mut missing = output.clone();
    missing.parts.remove(0);
    assert!(p4_check_passes(&layout, &missing)
        .unwrap_err()
        .detail
        .contains("K18"));
    assert!(p3_pages_read_back(&layout, &missing).is_err());
}

#[test]
fn layouts_without_a_mode_load_with_the_default_mode_and_default_modes_are_not_written() {
    let (_, split) = split_seed(0, 2, false);
    let json = serde_json::to_value(&split).unwrap();
    assert!(json.get("mode").is_some());
    let mut old = json.clone();
    old.as_object_mut().unwrap().remove("mode");
    let loaded: Layout = serde_json::from_value(old).unwrap();
    assert!(loaded.mode.is_default());
    let written = serde_json::to_value(&loaded).unwrap();
    assert!(written.get("mode").is_none(), "{written}");
    // A mode given partly: the rest defaults (-b 4).
    let mut partial = json;
    partial["mode"] = serde_json::json!({"cyclic": {"buffer": {"bytes": 3}}});
    let loaded: Layout = serde_json::from_value(partial).unwrap();
    assert_eq!(loaded.mode.block_order, 4);
    assert_eq!(loaded.mode.cyclic, CyclicMode::Buffer { bytes: 3 });
    loaded.validate().unwrap();
}

#[test]
fn modes_makedumpfile_never_produces_are_refused() {
    let (_, split) = split_seed(0, 2, false);
    let mut threaded = split.clone();
    threaded.mode.num_threads = 2;
    assert!(threaded.validate().is_err(), "--num-threads with --split");
    let mut non_cyclic = split.clone();
    non_cyclic.mode.cyclic = CyclicMode::NonCyclic;
    assert!(non_cyclic.validate().is_err(), "--split is always cyclic");
    let qemu = (0..)
        .map(|seed| layout_from_seed(seed, SizeClass::Small))
        .find(|l| l.writer == WriterKind::Qemu)
        .unwrap();
    let mut qemu_split = qemu;
    qemu_split.mode = split.mode;
    assert!(qemu_split.validate().is_err(), "QEMU has no --split");
}

/// Found by `kdump-flat selftest`'s P5 on split sets (about half the bitmap 1 corruptions went unnoticed):
/// `check` took a set whose files' bitmaps differ, outside the changed file's own pfn range, for valid,
/// although `join` refuses it (K18) and a reader of the set silently uses only each file's own range.
/// Now `check` compares every file's bitmaps with the first's (K18).
#[test]
fn check_notices_bitmaps_that_differ_between_the_files_of_a_set() {
    use kdump_flat::harness::expected_file_extents;
    use kdump_flat::kdump::check::check;
    use kdump_flat::kdump::{join, KInvariant, KdumpFile, KdumpSet};
    use kdump_flat::readat::ReadAt;
    use kdump_flat::sink::RawSink;
    let (seed, layout) = split_seed(0, 2, false);
    let output = write_case(&layout).unwrap();
    let last = output.parts.len() - 1;
    let (start, _) = output.parts[last].range;
    assert!(
        start >= 8,
        "seed {seed}: the last file's range starts at pfn {start}"
    );
    for name in ["bitmap 1", "bitmap 2"] {
        let bitmap = expected_file_extents(&layout, Some(output.parts[last].range))
            .into_iter()
            .find(|e| e.name == name)
            .unwrap();
        let mut raws: Vec<Vec<u8>> = output.parts.iter().map(|p| p.raw.clone()).collect();
        // pfns 0..8 lie in the first file's range, not in the last file's.
        raws[last][bitmap.start as usize] ^= 0x01;
        let readers: Vec<&dyn ReadAt> = raws.iter().map(|r| r as &dyn ReadAt).collect();
        let report = check(&readers);
        let violation = report
            .violations
            .iter()
            .find(|v| v.id == KInvariant::K18)
            .unwrap_or_else(|| panic!("seed {seed} {name}: {report:?}"));
        assert_eq!(
            (violation.file, violation.offset, violation.pfn),
            (last, Some(bitmap.start), Some(0))
        );
        assert!(violation.message.contains(name), "{violation}");
        let files = raws
            .iter()
            .map(|r| KdumpFile::open(r.as_slice()).unwrap())
            .collect();
        let set = KdumpSet::new(files).unwrap();
        assert!(join(&set, &mut RawSink::in_memory()).is_err());
    }
}
