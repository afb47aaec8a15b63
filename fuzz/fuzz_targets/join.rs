//! Arbitrary bytes cut into up to four files and joined as a makedumpfile --split set; the checks live in `kdump_flat::fuzzing::join`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::join::run(data);
});
