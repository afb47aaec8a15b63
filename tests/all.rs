//! Every integration test, as one test binary: one link instead of one per file, and a fraction of the
//! disk. Each file of tests/ is a module; run one with `cargo test --test all FILE::` (e.g. `kdump_cli::`).

// Support modules, shared by the test modules through `use crate::…`.
mod common;
#[path = "support/elf_gz.rs"]
mod elf_gz;
mod kdump_common;
#[path = "support/libkdumpfile.rs"]
mod libkdumpfile;
mod real_support;

// The tests, one module per file.

mod campaign_regressions;
mod cli_flat;
mod cli_from_elf;
mod flat_corpus;
mod flat_index;
mod flat_index_real;
mod flat_invariants;
mod flat_io_faults;
mod flat_reader;
mod flat_reassemble;
mod from_elf_real;
mod fuzz_smoke;
mod hostile;
mod kdump_cli;
mod kdump_corruption;
mod kdump_join;
mod kdump_join_cli;
mod kdump_join_model;
mod kdump_oracle;
mod kdump_reader;
mod kdump_set;
mod model_boundaries;
mod model_cli;
mod model_harness_modes;
mod model_kernel_oracle;
mod model_makedumpfile_modes;
mod model_makedumpfile_oracle;
mod model_properties;
mod model_qemu_oracle;
mod model_real_readers;
mod model_snapshots;
mod real_dumps;
mod real_elf;
mod real_info;
mod real_regenerate;
mod selftest_failures;
