//! Test support shared by the test modules of tests/all.rs, one submodule per concern. Each is written
//! from the format definition or drives a real tool, never from the code under test:
//! - [`cli`]: running the binary (`run`, `stdout`, `stderr`) and the corpus/real directory;
//! - [`flat`]: builders of flattened streams (docs/FORMATS.md §1) and a reader that returns short reads;
//! - [`flat_orders`]: the record orders of the reassembly benchmark (benches/support/flat_orders.rs);
//! - [`kdump`]: an independent writer of synthetic kdump-compressed files (§2) and the corpus file list;
//! - [`real`]: the real dumps of corpus/real and the real tools (makedumpfile -R) run with a time limit;
//! - [`elf_gz`]: a gzipped QEMU ELF dump of corpus/real parsed into what the model's writers take;
//! - [`libkdumpfile`]: the libkdumpfile oracle (tests/oracle/libkdumpfile_pages.py).

pub mod cli;
pub mod elf_gz;
pub mod flat;
#[path = "../../benches/support/flat_orders.rs"]
pub mod flat_orders;
pub mod kdump;
pub mod libkdumpfile;
pub mod real;
