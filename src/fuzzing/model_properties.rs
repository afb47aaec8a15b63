//! Fuzz target `model_properties`: the fuzzer's bytes choose a model layout (through
//! [`arbitrary_layout`]); the layout is written down both paths and every harness property P1–P5 must hold.
//! Panics with the layout (as JSON) and the failed property.

use arbitrary::Unstructured;

use crate::harness::{run_case, CaseOptions};
use crate::model::gen::{arbitrary_layout, SizeClass};
use crate::model::Layout;

/// The layout `data` describes (small size class).
pub fn layout_of(data: &[u8]) -> Option<Layout> {
    arbitrary_layout(&mut Unstructured::new(data), SizeClass::Small).ok()
}

/// Runs every property on the layout `data` describes; panics on a failure.
pub fn run(data: &[u8]) {
    let Some(layout) = layout_of(data) else {
        return;
    };
    let options = CaseOptions {
        corruption_seed: data.len() as u64,
        corruption_trials: 1,
    };
    if let Some(failure) = run_case(&layout, &options).first_failure() {
        panic!(
            "{failure}\nlayout: {}",
            serde_json::to_string(&layout).unwrap_or_default()
        );
    }
}
