//! The logic of the fuzz targets in `fuzz/`, as library functions: each `fuzz/fuzz_targets/*.rs` is a thin
//! wrapper over one of these, so `cargo test` runs them too and a crash found by the fuzzer can be replayed
//! in a normal test (`tests/fuzz_corpus.rs` replays every seed and regression input).

mod check_kdump;
pub mod decompress;
pub mod index_vs_replay;
pub mod join;
pub mod model_roundtrip;
mod parse_elf;
mod parse_flat;
pub mod parse_kdump;
pub mod reassemble;
pub mod smoke;

pub use check_kdump::check_kdump;
pub use parse_elf::parse_elf;
pub use parse_flat::parse_flat;

/// A fuzz target's entry point: takes the fuzzer's bytes, panics if a property fails.
pub type Target = fn(&[u8]);

/// Every fuzz target by name, as `cargo fuzz` knows it.
pub const TARGETS: [(&str, Target); 8] = [
    ("parse_flat", parse_flat),
    ("index_vs_replay", index_vs_replay::run),
    ("reassemble", reassemble::run),
    ("parse_kdump", parse_kdump::run),
    ("decompress", decompress::run),
    ("model_roundtrip", model_roundtrip::run),
    ("parse_elf", parse_elf),
    ("join", join::run),
];
