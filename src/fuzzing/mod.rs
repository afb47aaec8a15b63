//! The logic of the fuzz targets in `fuzz/`, as library functions: each `fuzz/fuzz_targets/*.rs` is a thin
//! wrapper over one of these, so `cargo test` runs them too and a crash found by the fuzzer can be replayed
//! in a normal test.

mod check_kdump;
pub mod index_vs_replay;
pub mod model_properties;
mod parse_elf;
mod parse_flat;

pub use check_kdump::check_kdump;
pub use parse_elf::parse_elf;
pub use parse_flat::parse_flat;
