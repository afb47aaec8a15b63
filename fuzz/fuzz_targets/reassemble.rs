//! Streaming reassembly vs the in-place index vs a Vec model on arbitrary record sequences; the checks live in `kdump_flat::fuzzing::reassemble`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::reassemble::run(data);
});
