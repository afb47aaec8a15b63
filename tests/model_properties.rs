//! The harness properties over random layouts: seeded cases of every size class and a proptest that
//! shrinks a failure to a small layout.

use kdump_flat::harness::{
    p1_flat_reassembles_to_raw, p2_raw_extent_matches_layout, run_case, write_case, CaseOptions,
    Outcome,
};
use kdump_flat::model::gen::{layout_from_seed, layout_strategy, SizeClass};
use proptest::prelude::*;

fn assert_properties(seed: u64, size: SizeClass) {
    let layout = layout_from_seed(seed, size);
    let report = run_case(&layout, &CaseOptions::default());
    for (property, outcome) in &report.outcomes {
        if let Outcome::Fail(detail) = outcome {
            panic!(
                "seed {seed} {size:?}: {property} failed: {detail}\nlayout: {}",
                serde_json::to_string(&layout).unwrap()
            );
        }
    }
}

#[test]
fn small_layouts_hold_every_property() {
    for seed in 0..300 {
        assert_properties(seed, SizeClass::Small);
    }
}

#[test]
fn medium_layouts_hold_every_property() {
    for seed in 1000..1040 {
        assert_properties(seed, SizeClass::Medium);
    }
}

#[test]
fn large_layouts_hold_every_property() {
    for seed in 2000..2003 {
        assert_properties(seed, SizeClass::Large);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn flattened_reassembles_to_raw_and_extents_match(layout in layout_strategy(SizeClass::Small)) {
        let output = write_case(&layout).map_err(|e| TestCaseError::fail(e.to_string()))?;
        p1_flat_reassembles_to_raw(&output).map_err(|e| TestCaseError::fail(e.to_string()))?;
        p2_raw_extent_matches_layout(&layout, &output).map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}
