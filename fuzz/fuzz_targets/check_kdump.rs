//! Arbitrary bytes as a kdump-compressed file through `check` and the page reader; the checks live in
//! `kdump_flat::fuzzing::check_kdump`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::check_kdump(data);
});
