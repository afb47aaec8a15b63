//! An arbitrary dump layout written down both paths, then the harness properties; the checks live in `kdump_flat::fuzzing::model_roundtrip`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::model_roundtrip::run(data);
});
