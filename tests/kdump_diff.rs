//! `diff` on model dumps, with expected values from the model: the flattened and raw forms of any layout
//! are the same bytes; a page changed in the layout is reported at exactly the pfns whose expected bytes
//! change (pages present on one side only counted as such); another
//! compression is the same memory, stored differently.

use kdump_flat::compress::ALL_COMPRESSIONS;
use kdump_flat::diff::{diff, DiffMode, DiffOptions, DiffReport, Side, Structure};
use kdump_flat::flat::index::FlatIndex;
use kdump_flat::kdump::KdumpFile;
use kdump_flat::model::gen::{layout_from_seed, SizeClass};
use kdump_flat::model::write_layout;
use kdump_flat::model::{ExpectedPage, Layout, PageContent};
use kdump_flat::sink::{FlatSink, RawSink};
use kdump_flat::source::{DumpForm, DumpSource};

fn raw(layout: &Layout) -> Vec<u8> {
    let mut sink = RawSink::in_memory();
    write_layout(layout, &mut sink).unwrap();
    sink.into_bytes()
}

fn flat(layout: &Layout) -> Vec<u8> {
    let mut sink = FlatSink::new(Vec::new());
    write_layout(layout, &mut sink).unwrap();
    sink.into_inner()
}

fn side(label: &'static str, bytes: Vec<u8>, form: DumpForm) -> Side {
    let reader: Box<dyn kdump_flat::readat::ReadAt + Send> = match form {
        DumpForm::Raw => Box::new(bytes),
        DumpForm::Flattened => Box::new(FlatIndex::open(bytes).unwrap()),
    };
    let source = DumpSource { reader, form };
    Side::open(label, vec![(label.to_string(), source)]).unwrap()
}

fn compare(a: &Side, b: &Side, mode: DiffMode) -> DiffReport {
    let options = DiffOptions {
        mode,
        limit: usize::MAX,
    };
    diff(a, b, &options, &|_, _| {}).unwrap()
}

/// Layouts written as one file (split sets are compared in the CLI tests).
fn layouts() -> impl Iterator<Item = (u64, Layout)> {
    let small = (0..60).map(|seed| (seed, layout_from_seed(seed, SizeClass::Small)));
    let medium = (1000..1008).map(|seed| (seed, layout_from_seed(seed, SizeClass::Medium)));
    small.chain(medium).filter(|(_, l)| l.file_count() == 1)
}

#[test]
fn flattened_and_raw_of_any_layout_are_the_same_bytes() {
    let mut cases = 0;
    for (seed, layout) in layouts() {
        let a = side("A", flat(&layout), DumpForm::Flattened);
        let b = side("B", raw(&layout), DumpForm::Raw);
        let report = compare(&a, &b, DiffMode::Structure);
        assert!(
            report.same_bytes && report.same_memory && report.is_same(),
            "seed {seed}"
        );
        assert_eq!(
            report.summary.pfns_compared,
            layout.dumped_pages(),
            "seed {seed}"
        );
        cases += 1;
    }
    assert!(cases > 40, "{cases}");
}

/// The first run of the first block, with other contents.
fn with_changed_run(layout: &Layout) -> Layout {
    let mut changed = layout.clone();
    let run = &mut changed.blocks[0].runs[0];
    run.content = match run.content {
        PageContent::Fill { byte: 0xa5 } => PageContent::Fill { byte: 0x5a },
        _ => PageContent::Fill { byte: 0xa5 },
    };
    changed
}

fn inside(ranges: &[[u64; 2]], pfn: u64) -> bool {
    ranges
        .iter()
        .any(|[first, last]| (*first..=*last).contains(&pfn))
}

#[test]
fn a_changed_page_is_reported_at_exactly_the_pfns_the_model_says() {
    let mut total_differing = 0;
    for (seed, layout) in layouts() {
        let changed = with_changed_run(&layout);
        if changed.validate().is_err() {
            continue;
        }
        let report = compare(
            &side("A", raw(&layout), DumpForm::Raw),
            &side("B", raw(&changed), DumpForm::Raw),
            DiffMode::Structure,
        );
        let content: Vec<[u64; 2]> = report
            .differences
            .iter()
            .filter(|d| d.structure == Structure::Page && d.field == "content")
            .filter_map(|d| d.pfns)
            .collect();
        let (mut differing, mut only_a, mut only_b) = (0, 0, 0);
        for pfn in 0..layout.max_mapnr().max(changed.max_mapnr()) {
            match (layout.expected_page(pfn), changed.expected_page(pfn)) {
                (ExpectedPage::Data(x), ExpectedPage::Data(y)) => {
                    assert_eq!(inside(&content, pfn), x != y, "seed {seed} pfn {pfn:#x}");
                    differing += (x != y) as u64;
                }
                (ExpectedPage::Data(_), _) => only_a += 1,
                (_, ExpectedPage::Data(_)) => only_b += 1,
                _ => {}
            }
        }
        let s = report.summary;
        assert_eq!(
            (s.pfns_differing, s.only_in_a, s.only_in_b),
            (differing, only_a, only_b),
            "seed {seed}"
        );
        assert_eq!(
            report.same_memory,
            differing + only_a + only_b == 0,
            "seed {seed}"
        );
        assert!(!report.is_same() || report.same_bytes, "seed {seed}");
        total_differing += differing;
    }
    assert!(total_differing > 100, "{total_differing}");
}

#[test]
fn another_compression_is_the_same_memory_stored_differently() {
    let mut reencoded = 0;
    for (seed, layout) in layouts().take(30) {
        for compression in ALL_COMPRESSIONS {
            let mut other = layout.clone();
            other.compression = compression;
            if compression == layout.compression || other.validate().is_err() {
                continue;
            }
            let report = compare(
                &side("A", raw(&layout), DumpForm::Raw),
                &side("B", flat(&other), DumpForm::Flattened),
                DiffMode::Structure,
            );
            assert!(
                report.same_memory && !report.same_bytes,
                "seed {seed} {compression:?}"
            );
            assert!(
                report
                    .differences
                    .iter()
                    .any(|d| d.structure == Structure::Header && d.field == "status"),
                "seed {seed} {compression:?}"
            );
            assert_eq!(report.summary.pfns_differing, 0);
            reencoded += report.summary.pfns_reencoded;
            let memory = compare(
                &side("A", raw(&layout), DumpForm::Raw),
                &side("B", raw(&other), DumpForm::Raw),
                DiffMode::Memory,
            );
            assert!(
                memory.is_same(),
                "seed {seed} {compression:?}: {:?}",
                memory.differences
            );
        }
    }
    assert!(reencoded > 0);
}

#[test]
fn a_cut_real_dump_is_a_difference_or_trouble_never_a_panic() {
    let whole = crate::support::real::read_corpus("fw-q10.kdump-raw-zlib");
    let original = || side("A", whole.clone(), DumpForm::Raw);
    let (mut differences, mut trouble) = (0, 0);
    for cut in (0..whole.len()).step_by(4093).chain([whole.len() - 1]) {
        let source = DumpSource {
            reader: Box::new(whole[..cut].to_vec()),
            form: DumpForm::Raw,
        };
        let Ok(b) = Side::open("B", vec![("cut".into(), source)]) else {
            trouble += 1;
            continue;
        };
        for mode in [DiffMode::Structure, DiffMode::Memory] {
            let report = compare(&original(), &b, mode);
            assert!(!report.is_same() && !report.same_bytes, "cut at {cut}");
            differences += 1;
        }
    }
    // cut in the headers or bitmaps: trouble; in the descriptors or data: named differences
    assert!(differences > 0 && trouble > 0, "{differences} {trouble}");
}

#[test]
fn a_failing_harness_property_prints_the_structural_diff() {
    use kdump_flat::harness::{p1_flat_reassembles_to_raw, write_case};
    let (seed, layout) = layouts().next().unwrap();
    let mut output = write_case(&layout).unwrap();
    assert!(p1_flat_reassembles_to_raw(&output).is_ok(), "seed {seed}");
    // nr_cpus, the header's last field (4 bytes before its end, 32- or 64-bit), changed in the raw file
    let header_size = KdumpFile::open(output.raw.as_slice())
        .unwrap()
        .header()
        .size();
    for byte in &mut output.raw[header_size - 4..header_size] {
        *byte ^= 0x01;
    }
    let failure = p1_flat_reassembles_to_raw(&output).unwrap_err();
    let detail = failure.detail;
    assert!(detail.contains("first difference at offset"), "{detail}");
    assert!(
        detail.contains("structural diff (kdump-flat diff reassembled raw)"),
        "{detail}"
    );
    assert!(
        detail.contains("\n    header: 1 difference\n      nr_cpus: A "),
        "{detail}"
    );
}
