//! Every integration test, as one test binary: one link instead of one per file, and a fraction of the
//! disk. Each file of tests/ is a module; run one with `cargo test --test all FILE::` (e.g. `cli_kdump::`).
//!
//! A file's prefix says what it exercises: `cli_*` the binary, run as a user would; `flat_*`, `kdump_*`,
//! `model_*` and `fuzz_*` one part of the library (src/flat, src/kdump, src/model with src/harness,
//! src/fuzzing) against a model or a real tool; `real_*` the real dumps of corpus/real through several
//! parts at once. Support code is in tests/support/, one submodule per concern.

// Support shared by the test modules through `use crate::support::…` (tests/support/mod.rs).
mod support;

// The tests, one module per file.

mod campaign_regressions;
mod cli_diff;
mod cli_flat;
mod cli_from_elf;
mod cli_hostile;
mod cli_join;
mod cli_kdump;
mod cli_model;
mod cli_operator_faults;
mod cli_selftest;
mod cli_to_elf;
mod flat_corpus;
mod flat_index;
mod flat_index_real;
mod flat_invariants;
mod flat_io_faults;
mod flat_overlaps;
mod flat_reader;
mod flat_reassemble;
mod flat_reassemble_orders;
mod fuzz_corpus;
mod kdump_corruption;
mod kdump_diff;
mod kdump_diff_real;
mod kdump_join;
mod kdump_join_model;
mod kdump_oracle;
mod kdump_other_writers;
mod kdump_reader;
mod kdump_set;
mod model_boundaries;
mod model_elf;
mod model_harness_modes;
mod model_kernel_oracle;
mod model_makedumpfile_modes;
mod model_makedumpfile_oracle;
mod model_other_writers;
mod model_properties;
mod model_qemu_oracle;
mod model_real_readers;
mod model_snapshots;
mod real_dumps;
mod real_elf;
mod real_from_elf;
mod real_info;
mod real_regenerate;
mod real_to_elf;
