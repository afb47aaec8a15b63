//! Arbitrary bytes into the ELF dump reader and from-elf; the checks live in `kdump_flat::fuzzing::parse_elf`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kdump_flat::fuzzing::parse_elf(data);
});
