//! Fuzz-target logic as library functions: each `fuzz/fuzz_targets/*.rs` is a thin wrapper over one of
//! these, and `cargo test` runs every one of them on generated inputs.

pub mod index_vs_replay;
