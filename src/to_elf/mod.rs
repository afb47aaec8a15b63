//! `to-elf`: a kdump-compressed dump (raw, flattened read in place, or the files of a `--split` set) as an
//! ELF vmcore, the form gdb, crash and drgn read without libkdumpfile, laid out exactly as QEMU's
//! `dump-guest-memory` ELF dump ([`crate::model::qemu_elf`]): for a dump QEMU wrote, the output is QEMU's
//! own ELF dump of the same guest state, byte for byte, given QEMU's memory blocks (the inverse of
//! [`crate::from_elf`]).
//!
//! What the kdump file does not say, and how it is chosen:
//!
//! - **Memory blocks.** A kdump file keeps pages (bitmap 1), not QEMU's `GuestPhysBlock` boundaries: two
//!   blocks that touch (QEMU's PC machine before the guest enables RAM shadowing: option ROMs at 0xc0000,
//!   the BIOS alias at 0xe0000, RAM from 0x100000) read as one run of pages, and a block's partial last page
//!   as a whole one. By default each maximal run of pages in memory is one block;
//!   [`ToElfOptions::blocks`] gives QEMU's blocks instead.
//! - **`e_machine`**: [`plan::infer_machine`], or [`ToElfOptions::machine`].
//!
//! Pages the dump left out (excluded by the dump level) are not stored, as `makedumpfile -E` does it
//! ([`plan::PFN_EXCLUDED`]): a run of 256 or more ends the `PT_LOAD`, whose `p_memsz` still covers the run
//! while `p_filesz` stops before it (ELF readers zero-fill the difference); shorter runs stay inside the
//! segment as zeros. So every reader of the ELF file (gdb, crash, drgn, libkdumpfile) reads an excluded
//! page as zeros, where a kdump reader reports it as excluded. All-zero pages are not written: holes in a
//! file, zeros on a stream.
//!
//! Memory is bounded: two windows of decompressed pages (8 MiB each: one being written while the next is
//! decompressed on every core), the bitmaps in 64 KiB chunks, the segment list (at most
//! [`plan::MAX_SEGMENTS`]).

pub mod pages;
pub mod plan;
pub mod zero_fill;

use std::io;

use crate::kdump::{KdumpError, KdumpSet};
use crate::model::qemu_elf::SHSTRTAB;
use crate::readat::ReadAt;
use crate::sink::DumpSink;

pub use pages::PageTotals;
pub use plan::{infer_machine, plan, ElfPlan, PFN_EXCLUDED};
pub use zero_fill::ZeroFillSink;

/// Choices the kdump file does not determine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToElfOptions {
    /// QEMU's memory blocks as ascending, disjoint [start, end) guest-physical byte ranges (starts
    /// page-aligned); `None`: one block per run of pages in memory.
    pub blocks: Option<Vec<(u64, u64)>>,
    /// `e_machine`; `None`: [`infer_machine`].
    pub machine: Option<u16>,
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum ToElfError {
    /// The dump is invalid where the conversion needs it (with its K invariant, offset and pfn).
    #[error(transparent)]
    Kdump(#[from] KdumpError),
    /// The dump does not allow an ELF file (no page in memory, a dumped page no segment holds).
    #[error("{0}")]
    Input(String),
    /// The options do not fit the dump (blocks that do not cover its pages), or the dump does not say
    /// what an option must then say (`e_machine`).
    #[error("{0}")]
    Options(String),
    /// Reading or writing failed.
    #[error("I/O error {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// What a conversion wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ToElfSummary {
    /// Length of the ELF file.
    pub file_len: u64,
    /// `PT_LOAD` segments.
    pub segments: u64,
    /// Memory blocks the segments were cut from.
    pub blocks: u64,
    /// `e_machine`.
    pub machine: u16,
    /// Bytes of the note segment.
    pub note_bytes: u64,
    /// Pages by kind.
    pub pages: PageTotals,
    /// Pages in memory that the dump left out.
    pub excluded_pages: u64,
    /// Of those, the ones stored as zeros inside a `p_filesz`.
    pub excluded_pages_in_file: u64,
}

/// Writes the ELF file of `set` as `plan` describes it through `sink` (headers, pages, string table, in
/// ascending file order), calls `sink.finish()`; `progress` gets the guest-physical address reached.
pub fn write_elf<R: ReadAt>(
    set: &KdumpSet<R>,
    plan: &ElfPlan,
    sink: &mut dyn DumpSink,
    progress: &dyn Fn(u64),
) -> Result<ToElfSummary, ToElfError> {
    let io_error = |what: &str| {
        let what = what.to_string();
        move |source| ToElfError::Io { what, source }
    };
    let layout = &plan.layout;
    sink.write_at(0, &layout.headers())
        .map_err(io_error("writing the ELF headers"))?;
    let pages = pages::write_pages(set, plan, sink, progress)?;
    sink.write_at(layout.string_table_offset(), SHSTRTAB)
        .map_err(io_error("writing the section string table"))?;
    sink.finish().map_err(io_error("finishing the output"))?;
    Ok(ToElfSummary {
        file_len: layout.file_len(),
        segments: layout.segments.len() as u64,
        blocks: plan.blocks.len() as u64,
        machine: layout.machine,
        note_bytes: layout.notes.len() as u64,
        pages,
        excluded_pages: plan.excluded_pages,
        excluded_pages_in_file: plan.excluded_pages_in_file,
    })
}

/// [`plan`] and [`write_elf`] in one call.
pub fn convert<R: ReadAt>(
    set: &KdumpSet<R>,
    options: &ToElfOptions,
    sink: &mut dyn DumpSink,
) -> Result<ToElfSummary, ToElfError> {
    let plan = plan(set, options)?;
    write_elf(set, &plan, sink, &|_| {})
}
