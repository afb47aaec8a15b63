//! Arbitrary bytes choose a model layout; properties P1–P5 must hold. Logic: `kdump_flat::fuzzing::model_properties`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::model_properties::run(data);
});
