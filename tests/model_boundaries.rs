//! Boundaries of the model that random layouts do not reach by chance:
//! - `max_mapnr` ≥ 2^32: QEMU's write sequence for a guest with memory above 16 TiB (4 KiB pages), kept
//!   header-only (the bitmaps, 1 GiB of zeros and one bit, are counted, not stored): the 32-bit header field
//!   saturates, `max_mapnr_64` holds the full value, read back through the crate's header readers;
//! - a page whose compressed form is exactly the page size, or one byte smaller: stored raw, resp.
//!   compressed (docs/FORMATS.md §5: a page is stored compressed only when that is strictly smaller).

use std::io;

use kdump_flat::compress::{compress, decompress, Compression};
use kdump_flat::kdump::header::read_header;
use kdump_flat::kdump::subheader::read_sub_header;
use kdump_flat::model::{store_page, write_qemu_kdump, Endian, GuestBlock, QemuDumpOptions};
use kdump_flat::sink::DumpSink;

/// Keeps the bytes written below `keep` (the headers), counts the rest.
struct HeadersOnly {
    keep: u64,
    bytes: Vec<u8>,
    writes: u64,
    end: u64,
}

impl DumpSink for HeadersOnly {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.writes += 1;
        self.end = self.end.max(offset + data.len() as u64);
        if offset < self.keep {
            let end = (offset + data.len() as u64).min(self.keep);
            if self.bytes.len() < end as usize {
                self.bytes.resize(end as usize, 0);
            }
            let n = (end - offset) as usize;
            self.bytes[offset as usize..end as usize].copy_from_slice(&data[..n]);
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn max_mapnr_of_2_pow_32_and_more_saturates_the_header_and_fills_max_mapnr_64() {
    let page = vec![0x5au8; 4096];
    for (is_64bit, endian) in [(true, Endian::Little), (false, Endian::Big)] {
        for last_pfn in [(1u64 << 32) - 2, (1 << 32) - 1, 1 << 32, (1 << 32) + 1] {
            let blocks = [
                GuestBlock {
                    start: 0,
                    len: 4096,
                    data: &page,
                    data_offset: 0,
                },
                GuestBlock {
                    start: last_pfn * 4096,
                    len: 4096,
                    data: &page,
                    data_offset: 0,
                },
            ];
            let options = QemuDumpOptions {
                is_64bit,
                endian,
                page_size: 4096,
                compression: Compression::None,
                nr_cpus: 1,
                phys_base: 0,
                uts_machine: "x86_64".into(),
            };
            let mut sink = HeadersOnly {
                keep: 2 * 4096,
                bytes: Vec::new(),
                writes: 0,
                end: 0,
            };
            let summary = write_qemu_kdump(&blocks, &[], &options, &mut sink).unwrap();
            let max_mapnr = last_pfn + 1;
            assert_eq!(summary.max_mapnr, max_mapnr);
            let header = read_header(sink.bytes.as_slice()).unwrap();
            let expected_field = max_mapnr.min(u64::from(u32::MAX)) as u32;
            assert_eq!(header.max_mapnr, expected_field, "max_mapnr {max_mapnr:#x}");
            // both bitmaps, each ⌈⌈max_mapnr/8⌉/4096⌉ blocks
            let bitmap_blocks = 2 * max_mapnr.div_ceil(8).div_ceil(4096);
            assert_eq!(u64::from(header.bitmap_blocks), bitmap_blocks);
            let sub = read_sub_header(sink.bytes.as_slice(), &header)
                .unwrap()
                .unwrap();
            assert_eq!(sub.max_mapnr_64, max_mapnr, "max_mapnr_64 {max_mapnr:#x}");
            // header, sub-header, bitmaps, 2 descriptors, the shared zero page and the 2 pages (raw)
            let descriptors = 4096 * (2 + bitmap_blocks);
            assert_eq!(summary.descriptors_offset, descriptors);
            assert_eq!(summary.end, descriptors + 2 * 24 + 3 * 4096);
            assert_eq!(sink.end, summary.end);
        }
    }
}

/// Deterministic incompressible bytes (xorshift64).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A page of `zeros` zero bytes then noise from `seed`: more zeros, smaller compressed form.
fn page_with_zero_prefix(zeros: usize, seed: u64, page_size: usize) -> Vec<u8> {
    let mut page = noise(page_size, seed);
    page[..zeros].fill(0);
    page
}

/// A page whose compressed form is `page_size + delta` bytes: the zero prefix is searched where the
/// compressed size crosses the page size, over a few noise seeds.
fn page_compressing_to(method: Compression, page_size: usize, delta: isize) -> Vec<u8> {
    let target = (page_size as isize + delta) as usize;
    for seed in 1..200u64 {
        let len = |zeros| compress(method, &page_with_zero_prefix(zeros, seed, page_size)).len();
        let crossing = (0..page_size).find(|&z| len(z) <= page_size + 2);
        let Some(crossing) = crossing else { continue };
        for zeros in crossing.saturating_sub(4)..(crossing + 64).min(page_size) {
            if len(zeros) == target {
                return page_with_zero_prefix(zeros, seed, page_size);
            }
        }
    }
    panic!("{method}: no page compresses to {target} bytes");
}

#[test]
fn a_page_that_compresses_to_exactly_its_size_is_stored_raw() {
    let page_size = 4096;
    // Not zstd: a block that gains less than its minimum gain is stored as a raw block, larger than the
    // page, so its sizes jump over the page size (no page of 199 seeds × 64 prefixes reaches it).
    for method in [Compression::Zlib, Compression::Lzo, Compression::Snappy] {
        let equal = page_compressing_to(method, page_size, 0);
        assert_eq!(compress(method, &equal).len(), page_size);
        let (flags, stored) = store_page(method, &equal);
        assert_eq!(
            flags, 0,
            "{method}: a page compressing to its size is stored raw"
        );
        assert_eq!(&stored[..], &equal[..]);

        let smaller = page_compressing_to(method, page_size, -1);
        let (flags, stored) = store_page(method, &smaller);
        assert_eq!(
            flags,
            method.flag(),
            "{method}: one byte smaller is stored compressed"
        );
        assert_eq!(stored.len(), page_size - 1);
        assert_eq!(decompress(method, &stored, page_size).unwrap(), smaller);
    }
}

/// A `PT_LOAD` whose file part ends mid-page inside a larger `p_memsz`: the rest of that page and the
/// pages after it up to `p_memsz` are zeros, whatever follows the segment in the file.
#[test]
fn from_elf_reads_zeros_after_a_file_part_ending_mid_page() {
    use kdump_flat::elf::{ElfClass, ElfDump, MemoryBlock};
    use kdump_flat::from_elf::{write_kdump_from_elf, FromElfOptions};
    use kdump_flat::kdump::{KdumpFile, PageContent};
    use kdump_flat::sink::RawSink;

    let page = 4096u64;
    for (file_size, mem_size) in [
        (2 * page + 100, 4 * page),
        (2 * page + 1, 3 * page),
        (page - 1, page),
        (3 * page, 5 * page),
        (0, 2 * page),
    ] {
        // the segment's bytes at 0x1000, then other nonzero bytes (a following segment) in the file
        let file_offset = 0x1000u64;
        let mut file = vec![0xeeu8; (file_offset + mem_size + 2 * page) as usize];
        let segment: Vec<u8> = (0..file_size).map(|i| (i % 251) as u8 | 1).collect();
        file[file_offset as usize..(file_offset + file_size) as usize].copy_from_slice(&segment);
        let dump = ElfDump {
            class: ElfClass::Elf64,
            byte_order: kdump_flat::elf::ElfByteOrder::Little,
            machine: 62,
            program_header_offset: 64,
            section_header_offset: 0,
            program_header_count: 1,
            blocks: vec![MemoryBlock {
                header_index: 0,
                phys_addr: 0x10_0000,
                virt_addr: 0,
                file_offset,
                file_size,
                mem_size,
            }],
            note_bytes: Vec::new(),
            notes: Vec::new(),
        };
        for compression in [Compression::None, Compression::Zlib] {
            let options = FromElfOptions {
                compression,
                ..Default::default()
            };
            let mut sink = RawSink::in_memory();
            write_kdump_from_elf(file.as_slice(), &dump, &options, &mut sink).unwrap();
            let raw = sink.into_bytes();
            let kdump = KdumpFile::open(raw.as_slice()).unwrap();
            let mut memory = segment.clone();
            memory.resize(mem_size as usize, 0);
            for (i, expected) in memory.chunks(page as usize).enumerate() {
                let pfn = 0x100 + i as u64;
                let content = kdump.read_page(pfn).unwrap();
                assert_eq!(
                    content,
                    PageContent::Data(expected.to_vec()),
                    "file_size {file_size:#x}, mem_size {mem_size:#x}, {compression}: pfn {pfn:#x}"
                );
            }
        }
    }
}

/// The first small generated layout of `machine` written by `writer`, its memory moved so that its last
/// block ends `pages` pages from 4 GiB (no partial last page).
fn layout_ending_near_4_gib(
    machine: kdump_flat::model::Machine,
    writer: kdump_flat::model::WriterKind,
    pages: i64,
) -> kdump_flat::model::Layout {
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    let mut layout = (0..10_000)
        .map(|seed| layout_from_seed(seed, SizeClass::Small))
        .find(|l| {
            // makedumpfile's default mode: a drawn cyclic buffer may need too many cycles up there
            l.machine == machine && l.writer == writer && l.blocks.len() <= 3 && l.mode.is_default()
        })
        .expect("no such layout among 10,000 seeds");
    let page = layout.page_bytes();
    let last = layout.blocks.last_mut().unwrap();
    last.short_tail = 0;
    let wanted_end_pfn = ((1u64 << 32) / page).checked_add_signed(pages).unwrap();
    let shift = wanted_end_pfn - last.end_pfn();
    for block in &mut layout.blocks {
        block.start_pfn += shift;
    }
    assert_eq!(layout.memory_end(), wanted_end_pfn * page);
    layout.validate().unwrap();
    layout
}

/// QEMU's `cpu_get_dump_info` (docs/FORMATS.md §3): an x86 guest outside long mode is written as 32-bit
/// (ELFCLASS32, the packed 32-bit `disk_dump_header`) unless a memory block ends above 4 GiB − 1, when
/// both become 64-bit — a memory end of exactly 4 GiB already counts (`target_end > UINT_MAX`), as the
/// real QEMU dumps of corpus/real (BIOS ROM up to 4 GiB, `e_machine` EM_386 in ELF64) show. Every
/// property holds on each side of the edge. makedumpfile writes i386 dumps as 32-bit whatever the memory.
#[test]
fn qemu_writes_an_x86_guest_as_64bit_once_its_memory_ends_at_4_gib() {
    use kdump_flat::elf::{ElfClass, ElfDump, EM_386};
    use kdump_flat::harness::p6_elf::model_elf;
    use kdump_flat::harness::{run_case, CaseOptions, Outcome};
    use kdump_flat::kdump::Class;
    use kdump_flat::model::{qemu_writes_64bit, write_layout, Machine, WriterKind};
    use kdump_flat::sink::RawSink;
    for (writer, delta, wide) in [
        (WriterKind::Qemu, -1, false),
        (WriterKind::Qemu, 0, true),
        (WriterKind::Qemu, 1, true),
        (WriterKind::Makedumpfile, 0, false),
    ] {
        let layout = layout_ending_near_4_gib(Machine::I386, writer, delta);
        let what = format!("{writer:?}, memory ending {delta:+} pages from 4 GiB");
        if writer == WriterKind::Qemu {
            assert_eq!(qemu_writes_64bit(&layout), wide, "{what}");
        }
        let mut sink = RawSink::in_memory();
        write_layout(&layout, &mut sink).unwrap();
        let header = read_header(&sink.into_bytes()[..]).unwrap();
        let class = if wide { Class::Bits64 } else { Class::Bits32 };
        assert_eq!(header.class, class, "{what}");
        // the ELF is QEMU's whoever wrote the kdump file
        let elf = model_elf(&layout).unwrap();
        let parsed = ElfDump::parse(&elf[..]).unwrap();
        let elf_class = if delta >= 0 {
            ElfClass::Elf64
        } else {
            ElfClass::Elf32
        };
        assert_eq!(
            (parsed.class, parsed.machine),
            (elf_class, EM_386),
            "{what}"
        );
        let report = run_case(&layout, &CaseOptions::default());
        for (property, outcome) in &report.outcomes {
            assert!(
                !matches!(outcome, Outcome::Fail(_)),
                "{what}: {property}: {outcome:?}"
            );
        }
    }
}

/// An ELF32 file holds memory ending at exactly 4 GiB (the last byte's address fits 32 bits), not one
/// page more: QEMU writes an arm guest as ELF32 whatever its memory, so the model's ELF of an arm guest
/// ending at 4 GiB is ELF32 and one ending a page later cannot be written.
#[test]
fn an_elf32_dump_holds_memory_up_to_exactly_4_gib() {
    use kdump_flat::elf::{ElfClass, ElfDump};
    use kdump_flat::harness::p6_elf::model_elf;
    use kdump_flat::model::{Machine, WriterKind};
    let at_4_gib = layout_ending_near_4_gib(Machine::Arm, WriterKind::Qemu, 0);
    let elf = model_elf(&at_4_gib).unwrap();
    let parsed = ElfDump::parse(&elf[..]).unwrap();
    assert_eq!(parsed.class, ElfClass::Elf32);
    let last = parsed.blocks.last().unwrap();
    assert_eq!(last.phys_addr + last.mem_size, 1 << 32);
    let beyond = layout_ending_near_4_gib(Machine::Arm, WriterKind::Qemu, 1);
    let error = model_elf(&beyond).unwrap_err();
    assert!(error.to_string().contains("more than 4 GiB"), "{error}");
}
