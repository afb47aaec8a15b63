//! Fuzz target `model_roundtrip`: an arbitrary dump layout ([`arbitrary_layout`]) written once down both
//! paths (raw and flattened, by QEMU's or makedumpfile's write sequence), then the harness properties:
//! - P1 the flattened output reassembles to the raw output byte for byte, P2 the raw output's extents are
//!   the ones the layout's formulas give ([`run_case`]);
//! - the checker finds no violation in the raw file, nor in the flattened file read through its index;
//! - every pfn reads back, from both forms, exactly as the layout says (data, excluded, not in memory).

use arbitrary::Unstructured;

use crate::flat::index::FlatIndex;
use crate::harness::{run_case, write_case, CaseOptions, Outcome};
use crate::kdump::check::check;
use crate::kdump::{KdumpFile, PageContent};
use crate::model::gen::{arbitrary_layout, SizeClass};
use crate::model::layout::{ExpectedPage, Layout};
use crate::readat::ReadAt;

/// Largest number of pfns compared per layout.
const MAX_PFNS: u64 = 1 << 14;

/// Builds a layout from `data` (small size class) and checks every property; panics if one fails.
pub fn run(data: &[u8]) {
    let mut input = Unstructured::new(data);
    let Ok(layout) = arbitrary_layout(&mut input, SizeClass::Small) else {
        return;
    };
    let report = run_case(
        &layout,
        &CaseOptions {
            corruption_seed: 0,
            corruption_trials: 0,
        },
    );
    for (property, outcome) in &report.outcomes {
        if let Outcome::Fail(detail) = outcome {
            panic!("{property} fails for {}: {detail}", layout.summary());
        }
    }
    let output = match write_case(&layout) {
        Ok(output) => output,
        Err(e) => panic!("the writer failed for {}: {e}", layout.summary()),
    };
    check_reads_back(&layout, &output.raw, "raw");
    let index = FlatIndex::open(output.flat.as_slice()).expect("the flattened output indexes");
    check_reads_back(&layout, &index, "flattened");
}

/// The checker accepts `reader`, and every pfn reads as `layout` says.
fn check_reads_back<R: ReadAt>(layout: &Layout, reader: &R, form: &str) {
    let report = check(&[reader as &dyn ReadAt]);
    assert!(
        report.is_valid() && report.io_errors.is_empty(),
        "{form} output of {} fails the check: {:?} {:?}",
        layout.summary(),
        report.violations,
        report.io_errors
    );
    let dump = KdumpFile::open(reader).expect("a valid dump opens");
    for pfn in 0..layout.max_mapnr().min(MAX_PFNS) {
        let read = dump
            .read_page(pfn)
            .unwrap_or_else(|e| panic!("{form}: pfn {pfn:#x} of {}: {e}", layout.summary()));
        let matches = match (&read, layout.expected_page(pfn)) {
            (PageContent::Data(page), ExpectedPage::Data(expected)) => *page == expected,
            (PageContent::Excluded, ExpectedPage::Excluded) => true,
            (PageContent::NotInMemory, ExpectedPage::NotInMemory) => true,
            _ => false,
        };
        assert!(
            matches,
            "{form}: pfn {pfn:#x} of {} reads wrong",
            layout.summary()
        );
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    #[test]
    fn smoke() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        for _ in 0..100 {
            let len = rng.gen_range(0..512);
            let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            super::run(&data);
        }
    }
}
