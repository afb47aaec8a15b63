//! Arbitrary bytes into the flattened-format parser; the checks live in `kdump_flat::fuzzing::parse_flat`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::parse_flat(data);
});
