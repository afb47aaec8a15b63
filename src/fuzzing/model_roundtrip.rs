//! Fuzz target `model_roundtrip`: an arbitrary dump layout ([`arbitrary_layout`]) written once down both
//! paths (raw and flattened, by QEMU's or makedumpfile's write sequence), then every harness property
//! ([`run_case`]): P1 the flattened output reassembles to the raw output byte for byte; P2 the raw extents
//! are the ones the layout's formulas give; P3 headers, notes and every pfn read back from both forms
//! exactly as the layout says; P4 the checker finds both forms valid; P5 one single-byte corruption per
//! structure, where a reader panic fails the case. makedumpfile layouts take its write mode from the last
//! bytes (cyclic buffer, `--num-threads`, `-b`, `--split`; short inputs keep the default mode), and a
//! `--split` layout is checked as a set (per-file P1/P2, join, `KdumpSet` read-back, `check` of the set).
//! Panics with the layout (as JSON) and the failed property.

use arbitrary::Unstructured;

use crate::harness::{run_case, CaseOptions, Outcome};
use crate::model::gen::{arbitrary_layout, SizeClass};

/// Builds a layout from `data` (small size class) and checks every property; panics if one fails.
pub fn run(data: &[u8]) {
    let mut input = Unstructured::new(data);
    let Ok(layout) = arbitrary_layout(&mut input, SizeClass::Small) else {
        return;
    };
    let report = run_case(
        &layout,
        &CaseOptions {
            corruption_seed: data.len() as u64,
            corruption_trials: 1,
            fault: None,
        },
    );
    for (property, outcome) in &report.outcomes {
        if let Outcome::Fail(detail) = outcome {
            panic!(
                "{property} fails for {}: {detail}\nlayout: {}",
                layout.summary(),
                serde_json::to_string(&layout).unwrap_or_default()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::fuzzing::smoke::{random_bytes, SmokeLoop};

    #[test]
    fn smoke() {
        let smoke = SmokeLoop {
            target: "model_roundtrip",
            seed: 17,
            rounds: 100,
        };
        smoke.run(super::run, |rng, _| vec![random_bytes(rng, 512)]);
    }
}
