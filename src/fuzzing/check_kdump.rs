//! Part of the fuzz target `parse_kdump`: arbitrary bytes as a kdump-compressed file, through `check` and
//! the reader.
//!
//! Checks, beyond "no panic, no hang, no allocation sized by an input field":
//! - the report keeps at most [`KEPT_PER_INVARIANT`] violations per invariant and counts at least as many
//!   as it keeps;
//! - the reader agrees with the bitmaps: `read_page` gives data of exactly one page only for a dumped pfn,
//!   `Excluded`/`NotInMemory` exactly as `page_state` says;
//! - a file `check` calls valid reads back every dumped page (bounded) without an error, and `info`'s page
//!   counts equal the checker's.

use crate::kdump::check::{check, KEPT_PER_INVARIANT};
use crate::kdump::walk::page_counts;
use crate::kdump::{KdumpError, KdumpFile, PageContent, PageState};
use crate::readat::ReadAt;

/// Pfns read per input at most (keeps one case fast).
const MAX_PFNS: u64 = 1 << 14;

/// Runs the target on one input.
pub fn check_kdump(data: &[u8]) {
    let readers: [&dyn ReadAt; 1] = [&data];
    let report = check(&readers);
    for (id, &count) in &report.violation_counts {
        let kept = report.violations.iter().filter(|v| v.id == *id).count() as u64;
        assert!(
            kept <= KEPT_PER_INVARIANT as u64 && kept <= count,
            "{id}: {kept} kept of {count}"
        );
    }
    let Ok(dump) = KdumpFile::open(data) else {
        assert!(!report.is_valid(), "a valid file must open");
        return;
    };
    let page_size = dump.page_size() as usize;
    for pfn in 0..dump.max_pfn().min(MAX_PFNS) {
        let state = dump.page_state(pfn);
        match (dump.read_page(pfn), state) {
            (Ok(PageContent::Data(bytes)), Ok(PageState::Dumped)) => {
                assert_eq!(bytes.len(), page_size)
            }
            (Ok(PageContent::Excluded), Ok(PageState::Excluded)) => {}
            (Ok(PageContent::NotInMemory), Ok(PageState::NotInMemory)) => {}
            (
                Err(KdumpError::Invalid { .. } | KdumpError::PfnInOtherSplitFile { .. }),
                Ok(PageState::Dumped),
            ) => {
                assert!(
                    !report.is_valid() || dump.sub_header().is_some_and(|s| s.is_split()),
                    "pfn {pfn:#x}: a dumped page of a valid file must read"
                );
            }
            (Err(KdumpError::Invalid { .. }), Err(_)) => {}
            (result, state) => panic!("pfn {pfn:#x}: read {result:?} but page_state {state:?}"),
        }
    }
    if report.is_valid() {
        let counts = page_counts(&dump).expect("counts of a valid file");
        assert_eq!(counts.dumped, report.stats.pages.dumped);
        assert_eq!(counts.zero, report.stats.pages.zero);
        assert_eq!(counts.compressed + counts.raw + counts.zero, counts.dumped);
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use crate::fuzzing::smoke::{flip_random_bit, SmokeLoop};

    /// The target on a real dump and on bit-flipped copies of it, as `cargo test` runs it.
    #[test]
    fn smoke() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real/fw-mdf-lzo-d1");
        let real = std::fs::read(path).expect("corpus/real/fw-mdf-lzo-d1");
        super::check_kdump(&real);
        let smoke = SmokeLoop {
            target: "check_kdump",
            seed: 11,
            rounds: 40,
        };
        smoke.run(super::check_kdump, |rng, _| {
            let mut bytes = real.clone();
            for _ in 0..rng.gen_range(1..6u32) {
                // Headers, bitmaps and descriptors end at 0x5a300.
                flip_random_bit(rng, &mut bytes, 0..0x5a300);
            }
            vec![bytes]
        });
    }
}
