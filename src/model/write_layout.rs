//! Writing a [`Layout`] with its writer's sequence: the dispatch between QEMU's and makedumpfile's
//! writers ([`write_layout`]), one file of a `--split` set ([`write_layout_part`]), and what each writer
//! needs from a layout ([`qemu_options`], [`struct_abi`]).

use crate::sink::DumpSink;

use super::deviation::part_timestamp;
use super::encode::StructAbi;
use super::makedumpfile::{
    makedumpfile_abi, makedumpfile_part_options, write_makedumpfile_kdump,
    write_makedumpfile_kdump_with, MakedumpfileOptions,
};
use super::memory::{block_memories, guest_blocks};
use super::notes::note_section;
use super::qemu::{write_qemu_kdump, QemuDumpOptions};
use super::qemu_elf::qemu_writes_64bit;
use super::variant_writer::write_variant_kdump;
use super::write::{WriteError, WriteSummary};
use super::{Layout, WriterKind};

/// QEMU's view of a layout: options and the note section.
pub fn qemu_options(layout: &Layout) -> QemuDumpOptions {
    QemuDumpOptions {
        is_64bit: qemu_writes_64bit(layout),
        endian: layout.machine.endian(),
        page_size: layout.page_bytes(),
        compression: layout.compression,
        nr_cpus: layout.notes.cpus,
        phys_base: layout.phys_base,
        uts_machine: layout.uts_machine().to_string(),
    }
}

/// Writes `layout` with its writer's sequence through `sink` (and finishes the sink).
pub fn write_layout(layout: &Layout, sink: &mut dyn DumpSink) -> Result<WriteSummary, WriteError> {
    layout
        .validate()
        .map_err(|e| WriteError::Input(e.to_string()))?;
    match layout.writer {
        WriterKind::Qemu => {
            let memories = block_memories(layout);
            let blocks = guest_blocks(layout, &memories);
            let notes = note_section(layout);
            write_qemu_kdump(&blocks, &notes, &qemu_options(layout), sink)
        }
        WriterKind::Makedumpfile if layout.deviations.changes_file_layout() => {
            write_variant_kdump(layout, sink)
        }
        WriterKind::Makedumpfile => write_makedumpfile_kdump(layout, sink),
    }
}

/// Writes file `index` (0-based, in pfn order) of a split layout's `--split` set (ranges from
/// [`Layout::part_ranges`]: makedumpfile's, or trimmed; the timestamp from
/// [`part_timestamp`](super::deviation::part_timestamp)) with makedumpfile's sequence through `sink` (and
/// finishes the sink).
/// Fails for a layout written as one file or an index beyond the set.
pub fn write_layout_part(
    layout: &Layout,
    index: usize,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    layout
        .validate()
        .map_err(|e| WriteError::Input(e.to_string()))?;
    let ranges = layout
        .part_ranges()
        .ok_or_else(|| WriteError::Input("the layout is not written with --split".into()))?;
    let range = *ranges.get(index).ok_or_else(|| {
        WriteError::Input(format!(
            "file {index} of a set of {} files does not exist",
            ranges.len()
        ))
    })?;
    let (sec, usec) = part_timestamp(layout, index);
    let options = MakedumpfileOptions {
        timestamp: (u64::from(sec), u64::from(usec)),
        ..makedumpfile_part_options(layout, range)
    };
    write_makedumpfile_kdump_with(layout, &options, sink)
}

/// The structure ABI the layout's writer uses (QEMU: packed 32-bit structures on every guest it writes
/// as 32-bit, [`qemu_writes_64bit`]).
pub fn struct_abi(layout: &Layout) -> StructAbi {
    match layout.writer {
        WriterKind::Qemu if qemu_writes_64bit(layout) => StructAbi::Lp64,
        WriterKind::Qemu => StructAbi::Ilp32Packed,
        WriterKind::Makedumpfile => makedumpfile_abi(layout),
    }
}
