//! The properties the project exists to check, as named functions usable from tests, fuzz targets and
//! `kdump-flat selftest`.
//!
//! A case is one [`Layout`](crate::model::Layout): [`write_case`] sends its write sequence down the raw path,
//! the flattened path and a recorder in one run, then each property judges the result. makedumpfile layouts
//! come in its write modes ([`Layout::mode`](crate::model::Layout::mode)): non-cyclic or cyclic (one or many
//! cycles), `--num-threads`, `-b`, and `--split`, for which the case is the dump written as one file *and*
//! each file of the set ([`CaseOutput::parts`]); and in other writers' layouts
//! ([`Layout::deviations`](crate::model::Layout::deviations): notes after the data, data out of pfn order,
//! `sub_hdr_size` 0, split files with their own timestamps or gaps, which `join` must refuse):
//!
//! - **P1** [`p1_flat_reassembles_to_raw`]: reassembling the flattened output (`flat::reassemble`, the real
//!   one) gives exactly the raw output (each file of a split set too); [`p1_set_joins_to_one_file`]:
//!   `kdump::join` of a split set gives the model's one-file dump byte for byte (eraseinfo once per file).
//! - **P2** [`p2_raw_extent_matches_layout`]: the raw file's length, the ranges written and the holes are
//!   what the layout implies by the formulas of docs/FORMATS.md (computed here, not taken from the writer), for
//!   each file of a split set its own ([`expected_file_extents`]); and whatever the mode, the file is the
//!   one makedumpfile's default sequence writes (a split file without pages may stop inside its bitmaps).
//! - **P3** [`p3_pages_read_back`]: every header and sub-header field the kdump reader decodes (utsname,
//!   timestamp, status, sizes, nr_cpus, phys_base, dump_level, split fields, offsets and sizes), the note
//!   section (bytes and parsed notes), VMCOREINFO and eraseinfo equal what the layout implies, and every
//!   pfn reads back as the model says (data, excluded, not in memory), over the raw bytes and over the
//!   flattened bytes; for a split set also through `kdump::KdumpSet` over its raw files and over its
//!   flattened files read in place (every file's split range and eraseinfo, every pfn).
//! - **P4** [`p4_check_passes`]: the checker finds the raw and flattened dump valid (a split set as one
//!   set; notes allowed), with exactly the K8, K15 and K18 deviations the layout's other-writer features
//!   imply ([`expected_deviations`]; none for QEMU's and makedumpfile's own layouts).
//! - **P5** [`p5_corruption_is_detected`]: a random single-byte change in one structure is caught by the
//!   checker or shows up as a read-back mismatch (P3's comparisons); detection rates are reported per
//!   structure (some bytes, such as utsname bytes after the terminating NUL or header padding, can change
//!   without any reader noticing, so P5 is a measurement, not a pass/fail). On a split set each trial
//!   changes one file and the set is checked and read as a whole; its rates are counted apart ("split …").
//! - **P6** [`p6_elf_agrees_with_raw_and_flat`] ("elf-raw-flat-agree"): QEMU's ELF form of the layout holds
//!   the same memory and notes; `from-elf` of it gives the raw file, `to-elf` of the raw file gives it back
//!   (with excluded pages: as `makedumpfile -E` leaves them out).
//!
//! Where things are: [`case`] (writing a case down every path), one file per property ([`p1_reassembly`],
//! [`p2_extents`], [`p3_read_back`] with its structural comparison [`structures`], [`p4_check`],
//! [`p5_corruption`], [`p6_elf`]), [`extents`] (where each structure lies, by formula), [`run`] (every property on
//! one case, the report), [`property`] (ids and failures) and [`bytes`] (reassembly in memory, first
//! difference).

pub mod bytes;
pub mod case;
pub mod extents;
pub mod p1_reassembly;
pub mod p2_extents;
pub mod p3_read_back;
pub mod p4_check;
pub mod p5_corruption;
pub mod p6_elf;
pub mod property;
pub mod run;
pub mod structures;

pub use bytes::{compare_bytes, compare_dumps, reassemble_bytes};
pub use case::{write_case, CaseOutput, PartOutput};
pub use extents::{expected_extents, expected_file_extents, Extent};
pub use p1_reassembly::{p1_flat_reassembles_to_raw, p1_set_joins_to_one_file};
pub use p2_extents::p2_raw_extent_matches_layout;
pub use p3_read_back::p3_pages_read_back;
pub use p4_check::{expected_deviations, p4_check_passes};
pub use p5_corruption::{p5_corruption_is_detected, CorruptionStats};
pub use p6_elf::p6_elf_agrees_with_raw_and_flat;
pub use property::{Property, PropertyFailure};
pub use run::{panic_message, run_case, CaseOptions, CaseReport, InjectedFault, Outcome};
