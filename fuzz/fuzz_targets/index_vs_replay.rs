//! Every read through the in-place index equals the same read of a replay of the records; the checks live
//! in `kdump_flat::fuzzing::index_vs_replay`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::index_vs_replay::run(data);
});
