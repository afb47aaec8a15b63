//! Arbitrary bytes opened, checked and read page by page as a kdump file, raw and flattened; the checks live in `kdump_flat::fuzzing::parse_kdump`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::parse_kdump::run(data);
});
