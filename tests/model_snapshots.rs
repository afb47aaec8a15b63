//! Snapshots of the record list (offset, size) of a handful of fixed layouts per writer, so that a change
//! to a write sequence shows up in review.

use kdump_flat::compress::Compression;
use kdump_flat::model::{
    write_layout, DataOrder, Deviations, Layout, Machine, MakedumpfileMode, MemoryBlock, NoteSpec,
    NotesPlacement, PageClass, PageContent, PageRun, PageSize, SubHeaderBlocks, Utsname,
    WriterKind,
};
use kdump_flat::sink::{DumpSink, RecordingSink};

fn run(count: u32, content: PageContent, class: PageClass) -> PageRun {
    PageRun {
        count,
        content,
        class,
    }
}

fn base(
    writer: WriterKind,
    machine: Machine,
    page_size: PageSize,
    compression: Compression,
) -> Layout {
    Layout {
        writer,
        machine,
        page_size,
        compression,
        blocks: vec![
            MemoryBlock {
                start_pfn: 0,
                runs: vec![
                    run(3, PageContent::Text { seed: 1 }, PageClass::Kernel),
                    run(2, PageContent::Zero, PageClass::Kernel),
                    run(2, PageContent::Random { seed: 2 }, PageClass::User),
                ],
                short_tail: 0,
            },
            MemoryBlock {
                start_pfn: 40,
                runs: vec![
                    run(
                        4,
                        PageContent::Pattern { period: 7, seed: 3 },
                        PageClass::Cache,
                    ),
                    run(1, PageContent::Fill { byte: 0x5a }, PageClass::Free),
                ],
                short_tail: 100,
            },
        ],
        notes: NoteSpec {
            cpus: 2,
            prstatus_size: if machine.is_64bit() { 336 } else { 144 },
            qemu_cpu_state_size: (writer == WriterKind::Qemu).then_some(440),
            vmcoreinfo: Some("OSRELEASE=6.1.0-model\nPAGESIZE=4096\n".into()),
        },
        dump_level: 1,
        eraseinfo: None,
        phys_base: 0,
        timestamp: (0, 0),
        utsname: Utsname::default(),
        max_mapnr_beyond_memory: 0,
        mode: MakedumpfileMode::default(),
        deviations: Deviations::default(),
    }
}

fn records(layout: &Layout) -> String {
    let mut sink = RecordingSink::default();
    write_layout(layout, &mut sink as &mut dyn DumpSink).unwrap();
    let mut out = format!("{}\n", layout.summary());
    for (i, (offset, size)) in sink.writes.iter().enumerate() {
        out.push_str(&format!("{i:4} {offset:#10x} {size:6}\n"));
    }
    out
}

#[test]
fn qemu_x86_64_4k_zlib() {
    insta::assert_snapshot!(records(&base(
        WriterKind::Qemu,
        Machine::X86_64,
        PageSize::K4,
        Compression::Zlib
    )));
}

#[test]
fn qemu_i386_16k_none_no_vmcoreinfo() {
    let mut layout = base(
        WriterKind::Qemu,
        Machine::I386,
        PageSize::K16,
        Compression::None,
    );
    layout.notes.vmcoreinfo = None;
    insta::assert_snapshot!(records(&layout));
}

#[test]
fn qemu_ppc64_64k_none_one_cpu() {
    let mut layout = base(
        WriterKind::Qemu,
        Machine::Ppc64,
        PageSize::K64,
        Compression::None,
    );
    layout.notes.cpus = 1;
    insta::assert_snapshot!(records(&layout));
}

/// 1500 incompressible pages: several 4·PS cache flushes and two bitmap chunks (pfns past 32768).
#[test]
fn qemu_x86_64_4k_none_many_pages() {
    let mut layout = base(
        WriterKind::Qemu,
        Machine::X86_64,
        PageSize::K4,
        Compression::None,
    );
    layout.blocks[1].start_pfn = 40_000;
    layout.blocks[1].runs[0].count = 1500;
    insta::assert_snapshot!(records(&layout));
}

#[test]
fn makedumpfile_x86_64_4k_zlib_level_31_with_eraseinfo() {
    let mut layout = base(
        WriterKind::Makedumpfile,
        Machine::X86_64,
        PageSize::K4,
        Compression::Zlib,
    );
    layout.dump_level = 31;
    layout.eraseinfo = Some("erase modelsym size 4\nerase other.field nullify\n".into());
    insta::assert_snapshot!(records(&layout));
}

#[test]
fn makedumpfile_arm_4k_none_level_0() {
    let mut layout = base(
        WriterKind::Makedumpfile,
        Machine::Arm,
        PageSize::K4,
        Compression::None,
    );
    layout.dump_level = 0;
    insta::assert_snapshot!(records(&layout));
}

/// 1500 incompressible pages: `write_kdump_page` flushing both caches together.
#[test]
fn makedumpfile_x86_64_4k_none_many_pages() {
    let mut layout = base(
        WriterKind::Makedumpfile,
        Machine::X86_64,
        PageSize::K4,
        Compression::None,
    );
    layout.blocks[1].runs[0].count = 1500;
    layout.blocks[1].runs[0].class = PageClass::Kernel;
    insta::assert_snapshot!(records(&layout));
}

/// Another writer's file layout (libkdumpfile's mkdiskdump): data first in reverse pfn order with the
/// descriptors in pfn order, then the bitmaps, eraseinfo and notes after the data, header and sub-header
/// last; `sub_hdr_size` 0, so the sub-header (at 0x1000) is written over bitmap 1's first bytes and the
/// memory starts above pfn 8 × 104.
#[test]
fn other_writer_x86_64_4k_zlib_sub_hdr_size_0_notes_after_data_reversed() {
    let mut layout = base(
        WriterKind::Makedumpfile,
        Machine::X86_64,
        PageSize::K4,
        Compression::Zlib,
    );
    layout.eraseinfo = Some("erase modelsym size 4\n".into());
    for block in &mut layout.blocks {
        block.start_pfn += 1000;
    }
    layout.deviations = Deviations {
        notes: NotesPlacement::AfterData,
        data_order: DataOrder::Reversed,
        sub_header_blocks: SubHeaderBlocks::Zero,
        ..Deviations::default()
    };
    insta::assert_snapshot!(records(&layout));
}
