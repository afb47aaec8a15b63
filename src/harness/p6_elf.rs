//! P6, "elf-raw-flat-agree": QEMU's third output. The model writes every layout also as the ELF dump QEMU
//! would write of the same guest ([`write_layout_elf`]), and:
//!
//! - the ELF file holds the model's memory (every page of every block, read back through the crate's ELF
//!   reader) and the model's notes, so ELF, raw and flattened (P1, P3) hold the same memory and notes;
//! - for a layout QEMU writes, `from-elf` of the model's ELF equals the model's raw file byte for byte;
//! - `to-elf` of the model's raw file (or of its `--split` set) with the model's blocks equals the model's
//!   ELF byte for byte when the dump left no page out; when it did (makedumpfile's dump levels), every
//!   dumped page reads back from the ELF file as the model says, every excluded page as zeros, and the
//!   segments are cut as `makedumpfile -E` cuts them (checked by an independent count here). A split set
//!   whose files have their own timestamps or leave gaps ([`crate::model::Deviations`]) is converted from
//!   its one-file form instead: `to-elf`, like `join`, refuses such a set. With `sub_hdr_size` 0 the
//!   `to-elf` step is skipped: the sub-header's bytes are bitmap 1's first bits, so bitmap 1 claims
//!   memory outside the model's blocks, which `to-elf` refuses by design.

use crate::elf::{guest_phys_read, ElfDump};
use crate::from_elf::{write_kdump_from_elf, FromElfOptions};
use crate::kdump::{KdumpFile, KdumpSet};
use crate::model::notes::note_section;
use crate::model::qemu_elf::{layout_block_ranges, write_layout_elf};
use crate::model::{Layout, SubHeaderBlocks, WriterKind};
use crate::sink::RawSink;
use crate::to_elf::{convert, ToElfOptions, PFN_EXCLUDED};

use super::bytes::compare_bytes;
use super::case::CaseOutput;
use super::property::{fail, Property, PropertyFailure};

fn elf_fail(detail: impl Into<String>) -> PropertyFailure {
    fail(Property::P6, detail)
}

/// The model's ELF file of `layout`.
pub fn model_elf(layout: &Layout) -> Result<Vec<u8>, PropertyFailure> {
    let mut sink = RawSink::in_memory();
    write_layout_elf(layout, &mut sink)
        .map_err(|e| elf_fail(format!("the model's ELF writer failed: {e}")))?;
    Ok(sink.into_bytes())
}

/// Checks that `elf` holds `layout`'s notes and, page by page, its memory: the model's page where
/// `dumped_only` is false or the page is dumped, zeros for a page the dump left out.
fn compare_elf_memory(
    layout: &Layout,
    elf: &[u8],
    dumped_only: bool,
    what: &str,
) -> Result<(), PropertyFailure> {
    let parsed =
        ElfDump::parse(elf).map_err(|e| elf_fail(format!("{what}: the ELF reader fails: {e}")))?;
    if parsed.note_bytes != note_section(layout) {
        return Err(elf_fail(format!(
            "{what}: the PT_NOTE bytes differ from the model's notes"
        )));
    }
    let ps = layout.page_bytes();
    let mut page = vec![0u8; ps as usize];
    for expected in layout.pages() {
        let len = expected.valid_bytes as usize;
        let addr = expected.pfn * ps;
        guest_phys_read(&parsed, elf, addr, &mut page[..len])
            .map_err(|e| elf_fail(format!("{what}: pfn {:#x}: {e}", expected.pfn)))?;
        let excluded = dumped_only && layout.excludes(expected.class);
        let want = if excluded {
            vec![0u8; len]
        } else {
            expected.bytes(ps)[..len].to_vec()
        };
        if page[..len] != want[..] {
            return Err(elf_fail(format!(
                "{what}: pfn {:#x} ({}) reads differently from the model",
                expected.pfn,
                if excluded {
                    "excluded: zeros expected"
                } else {
                    "data"
                }
            )));
        }
    }
    Ok(())
}

/// makedumpfile -E's segment count for `layout`, counted here independently of `to-elf`: per block one
/// segment, plus one per run of at least [`PFN_EXCLUDED`] excluded pages followed by a dumped page.
fn expected_segment_count(layout: &Layout) -> u64 {
    let mut count = 0;
    for block in &layout.blocks {
        count += 1;
        let mut run = 0u64;
        let start = block.start_pfn;
        for page in layout
            .pages()
            .filter(|p| p.pfn >= start && p.pfn < block.end_pfn())
        {
            if layout.excludes(page.class) {
                run += 1;
            } else {
                if run >= PFN_EXCLUDED {
                    count += 1;
                }
                run = 0;
            }
        }
    }
    count
}

/// P6 on one case (see the module documentation).
pub fn p6_elf_agrees_with_raw_and_flat(
    layout: &Layout,
    output: &CaseOutput,
) -> Result<(), PropertyFailure> {
    let elf = model_elf(layout)?;
    compare_elf_memory(layout, &elf, false, "the model's ELF")?;

    if layout.writer == WriterKind::Qemu {
        let parsed = ElfDump::parse(&elf[..]).map_err(|e| elf_fail(e.to_string()))?;
        let options = FromElfOptions {
            compression: layout.compression,
            page_size: layout.page_bytes(),
            uts_machine: layout.uts_machine().to_string(),
            phys_base: Some(layout.phys_base),
        };
        let mut sink = RawSink::in_memory();
        write_kdump_from_elf(&elf[..], &parsed, &options, &mut sink)
            .map_err(|e| elf_fail(format!("from-elf of the model's ELF fails: {e}")))?;
        compare_bytes(&sink.into_bytes(), &output.raw).map_err(|d| {
            elf_fail(format!(
                "from-elf of the model's ELF vs the model's raw file: {d}"
            ))
        })?;
    }

    if layout.deviations.sub_header_blocks == SubHeaderBlocks::Zero {
        // With sub_hdr_size 0 the sub-header's bytes are bitmap 1's first bits: bitmap 1 claims memory
        // the model's blocks do not have, and to-elf rightly refuses blocks that contradict the bitmap.
        // The ELF side of such a layout is checked above; its reading is P3's.
        return Ok(());
    }
    // A set whose files have their own timestamps or leave gaps is not one makedumpfile set: to-elf
    // refuses it (as join does), so the one-file form stands for it.
    let files: Vec<&[u8]> = if output.parts.is_empty() || layout.deviations.changes_split_set() {
        vec![&output.raw]
    } else {
        output.parts.iter().map(|p| &p.raw[..]).collect()
    };
    let opened = files
        .iter()
        .map(|bytes| KdumpFile::open(*bytes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| elf_fail(format!("the reader cannot open the raw file: {e}")))?;
    let set = KdumpSet::new(opened).map_err(|e| elf_fail(e.to_string()))?;
    let options = ToElfOptions {
        blocks: Some(layout_block_ranges(layout)),
        machine: None,
    };
    let mut sink = RawSink::in_memory();
    let summary = convert(&set, &options, &mut sink)
        .map_err(|e| elf_fail(format!("to-elf of the model's raw file fails: {e}")))?;
    let converted = sink.into_bytes();
    let excludes_pages = layout.pages().any(|p| layout.excludes(p.class));
    if excludes_pages {
        compare_elf_memory(layout, &converted, true, "to-elf of the raw file")?;
        let want = expected_segment_count(layout);
        if summary.segments != want {
            return Err(elf_fail(format!(
                "to-elf cut {} PT_LOADs, makedumpfile -E would cut {want}",
                summary.segments
            )));
        }
    } else {
        compare_bytes(&converted, &elf).map_err(|d| {
            elf_fail(format!(
                "to-elf of the model's raw file vs the model's ELF: {d}"
            ))
        })?;
    }
    Ok(())
}
