//! Tests written for mutants that survived the mutation campaign (MUTANTS.md names the mutant each one
//! kills). Expected values come from the format's definition or from an independent construction.

use crate::support::kdump::Synth;

use kdump_flat::compress::{compress, decompress, Compression};
use kdump_flat::elf::{ElfClass, ElfDump, Note, EM_AARCH64, EM_X86_64};
use kdump_flat::from_elf::qemu_phys_base;
use kdump_flat::kdump::KdumpFile;

/// Pages of every kind the readers meet: zeros, one byte, a fill, a short pattern, text, noise.
fn sample_pages(page_size: usize) -> Vec<Vec<u8>> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..page_size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let text: Vec<u8> = b"Linux version 6.1.0 (gcc) #1 SMP PREEMPT_DYNAMIC\n"
        .iter()
        .copied()
        .cycle()
        .take(page_size)
        .collect();
    let mut one_byte = vec![0u8; page_size];
    one_byte[page_size / 2] = 0x42;
    let mut half = noise.clone();
    half[..page_size / 2].fill(0);
    vec![
        vec![0u8; page_size],
        one_byte,
        vec![0xa5; page_size],
        (0..page_size).map(|i| (i % 7) as u8).collect(),
        text,
        noise,
        half,
    ]
}

/// compress.rs `decompress_into`: a zlib stream that ends exactly when the page is full is a whole page
/// (the match arm for "stream end, output full"), for every kind of page and page size.
#[test]
fn zlib_pages_decompress_into_exactly_their_size() {
    for page_size in [4096usize, 16384, 65536] {
        for page in sample_pages(page_size) {
            let packed = compress(Compression::Zlib, &page);
            assert_eq!(
                decompress(Compression::Zlib, &packed, page_size).unwrap(),
                page,
                "{page_size}-byte page, {} bytes packed",
                packed.len()
            );
        }
    }
}

fn note(name: &[u8], desc: &[u8]) -> Note {
    Note {
        offset: 0,
        name: name.to_vec(),
        note_type: 0,
        desc_offset: 0,
        desc: desc.to_vec(),
        total_size: 0,
    }
}

fn elf_with_notes(machine: u16, notes: Vec<Note>) -> ElfDump {
    ElfDump {
        class: ElfClass::Elf64,
        byte_order: kdump_flat::elf::ElfByteOrder::Little,
        machine,
        program_header_offset: 64,
        section_header_offset: 0,
        program_header_count: 0,
        blocks: Vec::new(),
        note_bytes: Vec::new(),
        notes,
    }
}

/// from_elf.rs `qemu_phys_base`: QEMU reads `phys_base` from the last note only when it is VMCOREINFO,
/// and parses the value as hexadecimal.
#[test]
fn qemu_phys_base_comes_from_a_trailing_vmcoreinfo_note_only() {
    let vmcoreinfo = note(b"VMCOREINFO", b"OSRELEASE=6.1\nNUMBER(phys_base)=1000000\n");
    let core = note(b"CORE", b"NUMBER(phys_base)=2000000\n");
    let x86 = |notes| qemu_phys_base(&elf_with_notes(EM_X86_64, notes));
    assert_eq!(x86(vec![core.clone(), vmcoreinfo.clone()]), 0x100_0000);
    assert_eq!(x86(vec![vmcoreinfo.clone(), core.clone()]), 0);
    assert_eq!(x86(vec![core]), 0);
    assert_eq!(x86(vec![]), 0);
    let arm = note(b"VMCOREINFO", b"NUMBER(PHYS_OFFSET)=40000000\n");
    assert_eq!(
        qemu_phys_base(&elf_with_notes(EM_AARCH64, vec![arm])),
        0x4000_0000
    );
}

/// kdump/mod.rs `from_headers`: with an odd `bitmap_blocks` the descriptors start after the extra block
/// (`bitmap_blocks % 2` blocks after both bitmaps). The file with one more block inserted before the
/// descriptors, every data offset moved by one block, reads the same pages as the original.
#[test]
fn an_odd_bitmap_blocks_puts_the_descriptors_one_block_later() {
    let synth = Synth::x86_64(Compression::Zlib, 300);
    let built = synth.build();
    let ps = built.page_size;
    let mut odd = built.bytes[..built.descriptors_offset as usize].to_vec();
    odd.extend(std::iter::repeat_n(0u8, ps as usize));
    odd.extend_from_slice(&built.bytes[built.descriptors_offset as usize..]);
    // bitmap_blocks + 1 (x86_64 header: status at 424, bitmap_blocks at 436)
    let blocks = u32::from_le_bytes(odd[436..440].try_into().unwrap());
    assert_eq!(blocks % 2, 0);
    odd[436..440].copy_from_slice(&(blocks + 1).to_le_bytes());
    for &(_, descriptor, data, _, _) in &built.descriptors {
        let at = (descriptor + ps) as usize;
        assert_eq!(
            u64::from_le_bytes(odd[at..at + 8].try_into().unwrap()),
            data
        );
        odd[at..at + 8].copy_from_slice(&(data + ps).to_le_bytes());
    }
    let original = KdumpFile::open(built.bytes.as_slice()).unwrap();
    let moved = KdumpFile::open(odd.as_slice()).unwrap();
    for pfn in 0..synth.max_mapnr {
        assert_eq!(
            moved.read_page(pfn).unwrap(),
            original.read_page(pfn).unwrap(),
            "pfn {pfn:#x}"
        );
    }
}

/// flat/index `scan_records`: the index's extent list has room for a few extra extents (1/64 of the
/// records, + 64), not a multiple of the records: at most 32 bytes per record, as the README says.
/// And `FlatIndex::warnings` is empty for a clean stream.
#[test]
fn the_index_holds_at_most_32_bytes_per_record_and_no_warning_for_a_clean_stream() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::index::FlatIndex;

    let records = 10_000u64;
    let stream = (0..records)
        .fold(StreamBuilder::new(), |builder, i| {
            builder.data((i * 100) as i64, 100, i as u8)
        })
        .end()
        .build();
    let index = FlatIndex::open(stream.as_slice()).unwrap();
    let stats = index.stats();
    assert_eq!(stats.records, records);
    assert!(
        stats.memory_bytes <= 32 * records,
        "{} bytes for {records} records",
        stats.memory_bytes
    );
    assert!(index.warnings().is_empty(), "{:?}", index.warnings());
}

/// kdump/check `check_on_pool`: the progress of a check over several files counts every file's bytes
/// (its last report is their sum).
#[test]
fn check_progress_over_several_files_reaches_their_total_size() {
    use kdump_flat::kdump::check::check_with_progress;
    use kdump_flat::readat::ReadAt;
    use std::sync::Mutex;

    let one = Synth::x86_64(Compression::Zlib, 64).build().bytes;
    let two = Synth::x86_64(Compression::Lzo, 200).build().bytes;
    let reports = Mutex::new(Vec::new());
    let files: [&dyn ReadAt; 2] = [&one.as_slice(), &two.as_slice()];
    let _ = check_with_progress(&files, &|done| reports.lock().unwrap().push(done));
    let reports = reports.into_inner().unwrap();
    assert!(reports.windows(2).all(|w| w[0] <= w[1]), "{reports:?}");
    assert_eq!(
        reports.last().copied(),
        Some((one.len() + two.len()) as u64),
        "{reports:?}"
    );
}
