//! Every page codec on arbitrary input; the checks live in `kdump_flat::fuzzing::decompress`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::decompress::run(data);
});
