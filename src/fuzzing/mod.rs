//! The logic of the fuzz targets in `fuzz/`, as library functions so that `cargo test` runs them too
//! (on the seed corpus) and a crash found by the fuzzer can be replayed in a normal test.

mod parse_flat;

pub use parse_flat::parse_flat;
