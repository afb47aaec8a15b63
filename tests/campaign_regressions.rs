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
    // and the figure is the extent list's real size: at least 16 bytes (offset and payload position) per
    // extent held (IndexStats::memory_bytes, capacity × entry size)
    assert!(
        stats.memory_bytes >= 16 * stats.extents,
        "{} bytes for {} extents",
        stats.memory_bytes,
        stats.extents
    );
    assert!(index.warnings().is_empty(), "{:?}", index.warnings());
}

/// flat/index/resolve.rs `ExtentWriter::finish`: records that overwrite one another leave fewer extents
/// than records, and the index keeps only those, with little slack (at most 1/32 of them): 10,000
/// records over the same 100 places keep 100 extents, not room for 10,000.
#[test]
fn an_index_of_overwritten_records_keeps_only_their_extents() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::index::FlatIndex;

    let records = 10_000u64;
    let stream = (0..records)
        .fold(StreamBuilder::new(), |builder, i| {
            builder.data(((i % 100) * 100) as i64, 100, i as u8)
        })
        .end()
        .build();
    let index = FlatIndex::open(stream.as_slice()).unwrap();
    let stats = index.stats();
    assert_eq!((stats.records, stats.extents), (records, 100));
    assert!(
        stats.memory_bytes <= 16 * (stats.extents + stats.extents / 32),
        "{} bytes for {} extents",
        stats.memory_bytes,
        stats.extents
    );
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

/// compress.rs `zlib_total_length`: zlib data that inflates to more than the page is reported with the
/// length it really inflates to, also when that is many times the 16 KiB counting buffer (the loop runs
/// until the stream ends). The lengths are those of the buffers compressed here.
#[test]
fn zlib_data_longer_than_the_page_is_reported_with_its_whole_length() {
    use kdump_flat::compress::{DecompressError, OutputLength};
    for length in [4097usize, 8192, 16 * 1024 + 4096 + 1, 1 << 20, 4 << 20] {
        let data: Vec<u8> = (0..length).map(|i| (i % 251) as u8).collect();
        let packed = compress(Compression::Zlib, &data);
        match decompress(Compression::Zlib, &packed, 4096) {
            Err(DecompressError::WrongLength {
                expected: 4096,
                actual,
                ..
            }) => assert_eq!(actual, OutputLength::Exactly(length), "{length} bytes"),
            other => panic!("{length} bytes of zlib data as a 4096-byte page: {other:?}"),
        }
    }
}

/// Every page of `synth` reads back from `file` as written (data, or excluded).
fn assert_reads_synths_pages(file: &KdumpFile<&[u8]>, synth: &Synth) {
    use crate::support::kdump::Page;
    use kdump_flat::kdump::PageContent;
    for (&pfn, page) in &synth.pages {
        let expected = match page {
            Page::Dumped(bytes) => PageContent::Data(bytes.clone()),
            Page::Excluded => PageContent::Excluded,
        };
        assert_eq!(file.read_page(pfn).unwrap(), expected, "pfn {pfn}");
    }
}

/// kdump/subheader.rs `choose_32bit_layout`: a padded (96-byte) 32-bit sub-header whose fields also read
/// as a plausible packed one — its `size_vmcoreinfo` sits where the packed `offset_note` would be and
/// equals block_size + 80, its `offset_note` (block_size + 96) where the packed `size_note` would be, and
/// both "size" readings are non-zero — is told apart by version 6's `max_mapnr_64`, which must equal the
/// header's `max_mapnr` (K10). The machine name (i686, which otherwise means packed) must not decide.
#[test]
fn a_padded_32bit_sub_header_that_also_fits_the_packed_reading_is_told_apart_by_max_mapnr_64() {
    use crate::support::kdump::{mixed_pages, Layout32};
    use kdump_flat::kdump::{ByteOrder, Class, SubHeaderLayout};
    let page_size = 4096u32;
    let synth = Synth {
        class: Class::Bits32,
        order: ByteOrder::Little,
        layout32: Layout32::Padded,
        machine: "i686".into(),
        header_version: 6,
        max_mapnr: 200,
        pages: mixed_pages(200, page_size as usize, 7),
        // size_vmcoreinfo = block_size + 80: the packed reading's offset_note
        vmcoreinfo: Some("X".repeat(page_size as usize + 80)),
        ..Synth::x86_64(Compression::Zlib, 200)
    };
    let built = synth.build();
    assert_eq!(built.notes_offset, page_size as u64 + 96);
    let file = KdumpFile::open(built.bytes.as_slice()).unwrap();
    assert_eq!(
        file.sub_header().map(|sub| sub.layout),
        Some(SubHeaderLayout::Padded32)
    );
    assert_reads_synths_pages(&file, &synth);
}

/// A reader whose failed reads leave the buffer untouched (the trait allows it: `read_exact_at` says
/// nothing about a partial fill before `UnexpectedEof`; the slice and file readers happen to fill it).
struct AllOrNothingReader(Vec<u8>);

impl kdump_flat::readat::ReadAt for AllOrNothingReader {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.as_slice().read_at(offset, buf)
    }
    fn size(&self) -> std::io::Result<u64> {
        Ok(self.0.len() as u64)
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if offset.saturating_add(buf.len() as u64) > self.0.len() as u64 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.0.as_slice().read_exact_at(offset, buf)
    }
}

/// kdump/subheader.rs `read_sub_header`: a 32-bit file that ends right after an 80-byte packed sub-header
/// (shorter than the 96 bytes of the padded reading) has its sub-header chosen from its real 80 bytes,
/// also through a reader whose failed 96-byte read leaves nothing in the buffer: the error is about what
/// is missing after the sub-header (the bitmaps, K12), not about the sub-header.
#[test]
fn a_32bit_file_cut_after_its_packed_sub_header_reports_what_follows_it() {
    use crate::support::kdump::{mixed_pages, Layout32};
    use kdump_flat::kdump::{ByteOrder, Class};
    let synth = Synth {
        class: Class::Bits32,
        order: ByteOrder::Little,
        layout32: Layout32::Packed,
        machine: "arm".into(),
        header_version: 6,
        max_mapnr: 64,
        pages: mixed_pages(64, 4096, 3),
        vmcoreinfo: Some("OSRELEASE=6.1.0\nPAGESIZE=4096\n".into()),
        ..Synth::x86_64(Compression::Zlib, 64)
    };
    let built = synth.build();
    let cut = built.bytes[..built.sub_header_offset as usize + 80].to_vec();
    for (reader, error) in [
        ("slice", KdumpFile::open(cut.as_slice()).map(|_| ()).err()),
        (
            "all-or-nothing",
            KdumpFile::open(AllOrNothingReader(cut.clone()))
                .map(|_| ())
                .err(),
        ),
    ] {
        let error = error
            .unwrap_or_else(|| panic!("{reader}: a file cut after its sub-header opened"))
            .to_string();
        assert!(
            !error.contains("kdump_sub_header")
                && error.starts_with("K12")
                && error.contains("bitmaps"),
            "{reader}: the error blames the wrong structure: {error}"
        );
    }
}

/// Runs `kdump-flat ARGS` under GNU time and returns whether it succeeded and its peak resident set in
/// KiB. GNU time forks the command from its own small process and reads the child's `wait4` usage; a
/// child spawned from this test process would report this process's peak instead (Linux keeps the
/// pre-exec memory's high-water mark in the child's `ru_maxrss`, and std spawns with `CLONE_VM`).
fn run_measuring_peak_rss(args: &[&std::ffi::OsStr]) -> (bool, u64) {
    let output = std::process::Command::new("/usr/bin/time")
        .args(["-f", "peak-rss-kib=%M"])
        .arg(env!("CARGO_BIN_EXE_kdump-flat"))
        .args(args)
        .output()
        .expect("GNU time (/usr/bin/time, Debian package `time`; scripts/install-test-tools.sh)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let peak = stderr
        .lines()
        .find_map(|line| line.strip_prefix("peak-rss-kib="))
        .unwrap_or_else(|| panic!("no peak from GNU time: {stderr}"))
        .trim()
        .parse()
        .unwrap();
    (output.status.success(), peak)
}

/// flat/gather.rs `Batch::is_full`: the pieces gathered from one 1 MiB input buffer are written out every
/// 16 Ki pieces, so reassembly's memory does not grow with the number of records in a buffer: a million
/// one-byte records (61,680 to a buffer) in descending order, then the same shuffled within windows of
/// 64, reassemble within the 16 MiB peak RSS that docs/reassembly.md promises, and to the bytes written.
#[test]
fn a_million_one_byte_records_reassemble_within_16_mib() {
    use kdump_flat::sink::{DumpSink, FlatSink};
    const RECORDS: u64 = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    let descending: Vec<u64> = (0..RECORDS).rev().collect();
    let mut shuffled: Vec<u64> = (0..RECORDS).collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for window in shuffled.chunks_mut(64) {
        for i in (1..window.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            window.swap(i, (state % (i as u64 + 1)) as usize);
        }
    }
    for (name, order) in [("descending", descending), ("shuffled", shuffled)] {
        let input = dir.path().join(format!("{name}.flat"));
        let mut sink = FlatSink::new(std::io::BufWriter::new(
            std::fs::File::create(&input).unwrap(),
        ));
        for &offset in &order {
            sink.write_at(offset, &[(offset % 251) as u8]).unwrap();
        }
        sink.finish().unwrap();
        drop(sink);
        let output = dir.path().join(format!("{name}.raw"));
        let (succeeded, peak_kib) =
            run_measuring_peak_rss(&["reassemble".as_ref(), input.as_os_str(), output.as_os_str()]);
        assert!(succeeded, "{name}: reassemble failed");
        assert!(
            peak_kib <= 16 * 1024,
            "{name}: peak RSS {peak_kib} KiB > 16 MiB"
        );
        let bytes = std::fs::read(&output).unwrap();
        assert_eq!(bytes.len() as u64, RECORDS, "{name}");
        assert!(
            bytes.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8),
            "{name}: wrong bytes"
        );
    }
}

/// flat/error.rs `FlatError::record`: the error names the record it is about — the third record (index 2)
/// of a stream whose third record has a negative offset (F8), through the streaming reassembler and the
/// index alike — and no record for a broken file header (F2). The stream position is that record's header.
#[test]
fn flat_errors_name_the_record_they_are_about() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::{
        index::FlatIndex, reassemble, FlatInvariant, ReadError, ReassembleErrorKind,
        ReassembleOptions,
    };
    let third_is_negative = StreamBuilder::new()
        .data(0, 10, 1)
        .data(10, 20, 2)
        .record(-8, 4, b"oops")
        .end()
        .build();
    let bad_signature = StreamBuilder::new()
        .patch(0, b"M")
        .data(0, 10, 1)
        .end()
        .build();
    let third_header_at = 4096 + (16 + 10) + (16 + 20);
    for (name, stream, invariant, record, offset) in [
        (
            "negative offset",
            &third_is_negative,
            FlatInvariant::F8,
            Some(2),
            third_header_at,
        ),
        ("bad signature", &bad_signature, FlatInvariant::F2, None, 0),
    ] {
        let mut output = tempfile::tempfile().unwrap();
        let streamed =
            match reassemble(stream.as_slice(), &mut output, ReassembleOptions::default()) {
                Err(error) => match error.kind {
                    ReassembleErrorKind::Invalid(e) => e,
                    other => panic!("{name}: not a format error: {other}"),
                },
                Ok(_) => panic!("{name}: reassembled"),
            };
        let indexed = match FlatIndex::open(stream.as_slice()) {
            Err(ReadError::Format(e)) => e,
            Err(e) => panic!("{name}: I/O error {e}"),
            Ok(_) => panic!("{name}: indexed"),
        };
        for error in [streamed, indexed] {
            assert_eq!(error.invariant(), invariant, "{name}: {error}");
            assert_eq!(error.record(), record, "{name}: {error}");
            assert_eq!(error.offset(), offset as u64, "{name}: {error}");
        }
    }
}

/// Reassembles `stream`, which holds a record at 2^62, into a new file in the build directory's file
/// system (ext4: EFBIG there; not a tmpfs /tmp, whose largest file is 2^63 - 1 bytes): the error, the
/// output as left, and its directory (removed when dropped).
fn reassemble_failing_write(
    stream: &[u8],
) -> (
    kdump_flat::flat::ReassembleError,
    std::fs::File,
    tempfile::TempDir,
) {
    use kdump_flat::flat::{reassemble, ReassembleOptions};
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut output = std::fs::File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.path().join("out"))
        .unwrap();
    let error = reassemble(stream, &mut output, ReassembleOptions::default())
        .expect_err("a record at 2^62 was written");
    (error, output, dir)
}

/// flat/reassemble.rs `BatchWriter::write`: when a write fails, the error names the record whose bytes
/// could not be written, found among the batch's records by output offset — here the third of three
/// records, at 2^62 (past any file system's largest file: EFBIG), after two that were written.
#[test]
fn a_failed_write_names_the_record_it_belongs_to_among_several() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::ReassembleErrorKind;
    let far = 1i64 << 62;
    let stream = StreamBuilder::new()
        .data(0, 10, 1)
        .data(100, 10, 2)
        .data(far, 10, 3)
        .end()
        .build();
    let (error, _output, _dir) = reassemble_failing_write(&stream);
    match error.kind {
        ReassembleErrorKind::WriteRecord { record, offset, .. } => {
            assert_eq!((record.index, record.offset), (2, far as u64));
            assert_eq!(offset, far as u64);
        }
        other => panic!("not a record's write error: {other}"),
    }
}

/// flat/reassemble.rs `READ_BUFFER_SIZE`: the input is read in large blocks (1 MiB, docs/commands.md), not
/// in pieces the size of records: 16 MiB of 4 KiB records take at most one `read` per MiB (plus the
/// end-of-input read), counted through a reader that returns everything asked for.
#[test]
fn reassembly_reads_its_input_in_large_blocks() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::{reassemble, ReassembleOptions};
    struct CountingReader<'a> {
        data: &'a [u8],
        reads: usize,
    }
    impl std::io::Read for CountingReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.reads += 1;
            self.data.read(buf)
        }
    }
    let mut builder = StreamBuilder::new();
    for i in 0..4096i64 {
        builder = builder.data(i * 4096, 4096, (i % 251) as u8);
    }
    let stream = builder.end().build();
    let mut reader = CountingReader {
        data: &stream,
        reads: 0,
    };
    let mut output = tempfile::tempfile().unwrap();
    reassemble(&mut reader, &mut output, ReassembleOptions::default()).unwrap();
    let most = stream.len().div_ceil(1 << 20) + 1;
    assert!(
        reader.reads <= most,
        "{} reads for {} bytes (at most {most})",
        reader.reads,
        stream.len()
    );
}

/// flat/reader.rs `DEFAULT_CHUNK_SIZE`: `FlatReader::new` delivers a payload in pieces of up to 1 MiB (its
/// documented default, read into a buffer of that size), not byte by byte: a 3 MiB record arrives in at
/// most four `Data` events (the first one what the buffer holds after the headers), in order.
#[test]
fn the_flat_reader_delivers_payloads_in_pieces_of_one_mib() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::{FlatEvent, FlatReader, ParseMode};
    let stream = StreamBuilder::new().data(0, 3 << 20, 9).end().build();
    let mut reader = FlatReader::new(stream.as_slice(), ParseMode::Strict);
    let mut pieces = Vec::new();
    while let Some(event) = reader.next_event().unwrap() {
        if let FlatEvent::Data { offset, bytes, .. } = event {
            pieces.push((offset, bytes.len()));
        }
    }
    assert!(pieces.len() <= 4, "{} pieces", pieces.len());
    let mut next = 0;
    for &(offset, len) in &pieces {
        assert!(offset == next && len <= 1 << 20, "{pieces:?}");
        next += len as u64;
    }
    assert_eq!(next, 3 << 20);
}

/// kdump/file.rs `read_area`: an eraseinfo (or notes) area larger than `MAX_NOTES_SIZE` is refused (K17)
/// before anything is allocated for it, also when the file is long enough to hold it — here a sparse file
/// of 72 MiB whose sub-header claims 64 MiB + 1 bytes of eraseinfo.
#[test]
fn an_eraseinfo_larger_than_the_bound_is_refused_even_inside_the_file() {
    use kdump_flat::kdump::{KInvariant, MAX_NOTES_SIZE};
    let synth = Synth {
        eraseinfo: Some(b"erase init_uts_ns.name.nodename size 65\n".to_vec()),
        ..Synth::x86_64(Compression::Zlib, 16)
    };
    let built = synth.build();
    let mut bytes = built.bytes.clone();
    // x86_64 kdump_sub_header: offset_eraseinfo at 64, size_eraseinfo at 72
    let size_at = built.sub_header_offset as usize + 72;
    bytes[size_at..size_at + 8].copy_from_slice(&(MAX_NOTES_SIZE + 1).to_le_bytes());
    let mut file = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    file.set_len(72 << 20).unwrap();
    let dump = KdumpFile::open(file).unwrap();
    match dump.eraseinfo() {
        Err(error) => {
            assert_eq!(error.invariant(), Some(KInvariant::K17), "{error}");
        }
        Ok(area) => panic!(
            "an eraseinfo of {} bytes was read",
            area.map_or(0, |a| a.len())
        ),
    }
}

/// kdump/walk.rs `page_counts` (what `info` prints): pages are counted right in a bitmap longer than one
/// 1 MiB scan chunk (more than 8 Mi pfns, a 32 GiB guest): pages in the first and in a later chunk, and
/// in the last partial byte.
#[test]
fn page_counts_span_several_bitmap_scan_chunks() {
    use crate::support::kdump::Page;
    use kdump_flat::kdump::walk::page_counts;
    let max_mapnr = (9 << 20) + 5;
    let pfns = [
        0u64,
        7,
        8,
        4096,
        (8 << 20) - 1,
        8 << 20,
        (8 << 20) + 9,
        max_mapnr - 1,
    ];
    let synth = Synth {
        max_mapnr,
        pages: pfns
            .iter()
            .enumerate()
            .map(|(i, &pfn)| {
                let page = if i % 3 == 2 {
                    Page::Excluded
                } else {
                    Page::Dumped(vec![i as u8 + 1; 4096])
                };
                (pfn, page)
            })
            .collect(),
        ..Synth::x86_64(Compression::Zlib, 16)
    };
    let dump = KdumpFile::open(synth.build().bytes).unwrap();
    let counts = page_counts(&dump).unwrap();
    let excluded = pfns.len() as u64 / 3;
    assert_eq!(
        (counts.in_memory, counts.dumped, counts.excluded),
        (pfns.len() as u64, pfns.len() as u64 - excluded, excluded)
    );
}

/// model/write.rs `check_page_size`: the writers refuse page sizes that are not a power of two in
/// [4096, 262144] (K4: libkdumpfile refuses other block sizes) before writing anything; the bounds
/// themselves are accepted.
#[test]
fn from_elf_refuses_page_sizes_readers_refuse() {
    use kdump_flat::from_elf::{write_kdump_from_elf, FromElfOptions};
    use kdump_flat::sink::RawSink;
    let mut dump = elf_with_notes(EM_X86_64, Vec::new());
    // 1 MiB of guest memory, all zeros (no file bytes)
    dump.blocks.push(kdump_flat::elf::MemoryBlock {
        header_index: 0,
        phys_addr: 0,
        virt_addr: 0,
        file_offset: 0,
        file_size: 0,
        mem_size: 1 << 20,
    });
    for (page_size, accepted) in [
        (1000, false),
        (2048, false),
        (4096, true),
        (6144, false),
        (262_144, true),
        (524_288, false),
    ] {
        let options = FromElfOptions {
            page_size,
            ..FromElfOptions::default()
        };
        let mut file = Vec::new();
        let result = write_kdump_from_elf(
            &[0u8; 0][..],
            &dump,
            &options,
            &mut RawSink::new(std::io::Cursor::new(&mut file)),
        );
        match result {
            Ok(_) => assert!(accepted, "page size {page_size} accepted"),
            Err(error) => {
                assert!(!accepted, "page size {page_size} refused: {error}");
                assert!(error.to_string().contains("page size"), "{error}");
                assert!(
                    file.is_empty(),
                    "page size {page_size}: bytes written before the refusal"
                );
            }
        }
    }
}

/// flat/index/resolve.rs: `IndexStats::overlapping` says whether any two records overlap (F14) — not
/// whether they touch: adjacent records, in either order, and records with gaps do not overlap.
#[test]
fn the_index_tells_overlapping_records_from_adjacent_ones() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::index::FlatIndex;
    for (name, records, overlapping) in [
        ("adjacent", &[(0, 10), (10, 10), (20, 5)][..], false),
        (
            "adjacent, backward",
            &[(20, 5), (10, 10), (0, 10)][..],
            false,
        ),
        ("gaps", &[(0, 10), (100, 10), (50, 10)][..], false),
        ("overlapping", &[(0, 10), (5, 10)][..], true),
        ("one byte shared, backward", &[(10, 10), (0, 11)][..], true),
        ("the same twice", &[(0, 10), (0, 10)][..], true),
    ] {
        let stream = records
            .iter()
            .fold(StreamBuilder::new(), |builder, &(offset, len)| {
                builder.data(offset, len, 7)
            })
            .end()
            .build();
        let index = FlatIndex::open(stream.as_slice()).unwrap();
        assert_eq!(index.stats().overlapping, overlapping, "{name}");
    }
}

/// model/validate.rs `validate_bounds`: a layout's note sizes may reach `MAX_NOTE_DESC` (the bound is
/// inclusive), and one byte more is refused as too big — for each of the three sizes it bounds.
#[test]
fn layout_note_sizes_reach_their_bound_inclusively() {
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    use kdump_flat::model::{LayoutError, MAX_NOTE_DESC};
    let base = layout_from_seed(3, SizeClass::Small);
    let notes_too_big = |result: Result<(), LayoutError>| matches!(result, Err(LayoutError::TooBig { what }) if what == "notes");
    type Setter = fn(&mut kdump_flat::model::Layout, u32);
    let setters: [(&str, Setter); 3] = [
        ("prstatus_size", |l, n| l.notes.prstatus_size = n),
        ("qemu_cpu_state_size", |l, n| {
            l.notes.qemu_cpu_state_size = Some(n)
        }),
        ("vmcoreinfo", |l, n| {
            l.notes.vmcoreinfo = Some("X".repeat(n as usize))
        }),
    ];
    for (name, set) in setters {
        let mut at_bound = base.clone();
        set(&mut at_bound, MAX_NOTE_DESC);
        assert!(
            !notes_too_big(at_bound.validate()),
            "{name} = MAX_NOTE_DESC refused as too big"
        );
        let mut past = base.clone();
        set(&mut past, MAX_NOTE_DESC + 1);
        assert!(
            notes_too_big(past.validate()),
            "{name} = MAX_NOTE_DESC + 1 not refused as too big"
        );
    }
}

/// model/gen.rs `class`: the generator draws every page class (kernel, cache, cache with private data,
/// user, free) in an ordinary run, so the dump levels' bits 2, 4, 8 and 16 each exclude something (a
/// class never drawn would leave its dump-level bit untested).
#[test]
fn generated_layouts_draw_every_page_class() {
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    use kdump_flat::model::PageClass;
    let mut seen = std::collections::HashSet::new();
    for seed in 0..100 {
        let layout = layout_from_seed(seed, SizeClass::Small);
        for block in &layout.blocks {
            for run in &block.runs {
                seen.insert(format!("{:?}", run.class));
            }
        }
    }
    for class in [
        PageClass::Kernel,
        PageClass::Cache,
        PageClass::CachePrivate,
        PageClass::User,
        PageClass::Free,
    ] {
        assert!(
            seen.contains(&format!("{class:?}")),
            "{class:?} never drawn in 100 seeds"
        );
    }
}

/// flat/index/scan.rs `scan_records`: a stream cut exactly at the end of a record's payload (no end
/// marker) is reported by the index with the same invariant, record and offset as by the streaming reader,
/// and one cut a byte earlier too (the payload then truncated, F7); the streaming reader is the
/// independent oracle.
#[test]
fn a_stream_cut_at_a_payload_end_is_the_same_error_for_the_index_and_the_reader() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::index::FlatIndex;
    use kdump_flat::flat::{reassemble, ReadError, ReassembleErrorKind, ReassembleOptions};
    let whole = StreamBuilder::new()
        .data(0, 100, 1)
        .data(100, 50, 2)
        .data(150, 30, 3)
        .end()
        .build();
    let second_payload_end = 4096 + (16 + 100) + (16 + 50);
    for cut in [second_payload_end, second_payload_end - 1] {
        let bytes = &whole[..cut];
        let mut output = tempfile::tempfile().unwrap();
        let streamed = match reassemble(bytes, &mut output, ReassembleOptions::default()) {
            Err(error) => match error.kind {
                ReassembleErrorKind::Invalid(e) => e,
                other => panic!("cut at {cut}: {other}"),
            },
            Ok(_) => panic!("cut at {cut}: reassembled"),
        };
        let indexed = match FlatIndex::open(bytes) {
            Err(ReadError::Format(e)) => e,
            Err(e) => panic!("cut at {cut}: {e}"),
            Ok(_) => panic!("cut at {cut}: indexed"),
        };
        assert_eq!(
            (indexed.invariant(), indexed.record(), indexed.offset()),
            (streamed.invariant(), streamed.record(), streamed.offset()),
            "cut at {cut}: index says {indexed}, the reader {streamed}"
        );
    }
}

/// flat/index/scan.rs `scan_records`: a zero-size first record (tolerated in lenient mode, as
/// `makedumpfile -R` does) still counts as a record: an error after it names the same record number for
/// the index as for the streaming reader, the independent oracle.
#[test]
fn records_after_a_lenient_zero_size_first_record_are_numbered_as_the_reader_numbers_them() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::index::FlatIndex;
    use kdump_flat::flat::{
        reassemble, ParseMode, ReadError, ReassembleErrorKind, ReassembleOptions,
    };
    let whole = StreamBuilder::new()
        .record(0, 0, &[])
        .data(0, 100, 1)
        .data(100, 50, 2)
        .end()
        .build();
    // cut inside the last record's payload: F7 about that record
    let bytes = &whole[..4096 + 16 + (16 + 100) + 16 + 20];
    let mut output = tempfile::tempfile().unwrap();
    let options = ReassembleOptions {
        mode: ParseMode::Lenient,
        ..Default::default()
    };
    let streamed = match reassemble(bytes, &mut output, options) {
        Err(error) => match error.kind {
            ReassembleErrorKind::Invalid(e) => e,
            other => panic!("{other}"),
        },
        Ok(_) => panic!("reassembled"),
    };
    let indexed = match FlatIndex::open_with_mode(bytes, ParseMode::Lenient) {
        Err(ReadError::Format(e)) => e,
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("indexed"),
    };
    assert_eq!(
        (indexed.invariant(), indexed.record(), indexed.offset()),
        (streamed.invariant(), streamed.record(), streamed.offset()),
        "index says {indexed}, the reader {streamed}"
    );
}

/// compress.rs `Compression::from_flags`: a descriptor's flags name its method; no compression bit is
/// an uncompressed page (`Some(None)`, as `PageDesc::compression` promises: `None` only when several
/// bits are set), and bits outside the compression mask do not matter.
#[test]
fn descriptor_flags_name_their_compression_and_no_bit_is_uncompressed() {
    use kdump_flat::compress::ALL_COMPRESSIONS;
    // ALL_COMPRESSIONS includes Compression::None (flag 0)
    for method in ALL_COMPRESSIONS {
        assert_eq!(
            Compression::from_flags(method.flag()),
            Some(method),
            "{method}"
        );
        assert_eq!(
            Compression::from_flags(method.flag() | 0x8000_0000),
            Some(method),
            "{method} with a bit outside the mask"
        );
    }
    assert_eq!(
        Compression::from_flags(Compression::Zlib.flag() | Compression::Zstd.flag()),
        None
    );
}

/// The bytes of the corpus's makedumpfile split set (x86-64, 4 KiB blocks), its parts in pfn order.
fn corpus_split_set() -> Vec<Vec<u8>> {
    ["fw-mdf-split-d1.1", "fw-mdf-split-d1.2"]
        .iter()
        .map(|name| std::fs::read(crate::support::cli::corpus().join(name)).unwrap())
        .collect()
}

/// kdump/join/copy.rs `copy_pages`: join's progress counts the bytes of page data copied so far, so it
/// never goes down and ends at the summary's `data_bytes` (the corpus's makedumpfile split set).
#[test]
fn join_progress_ends_at_the_page_data_copied() {
    use kdump_flat::kdump::{join_with_progress, KdumpSet};
    use kdump_flat::sink::RawSink;
    let parts = corpus_split_set()
        .into_iter()
        .map(|bytes| KdumpFile::open(bytes).unwrap())
        .collect();
    let set = KdumpSet::new(parts).unwrap();
    let mut sink = RawSink::in_memory();
    let mut seen = Vec::new();
    let summary = join_with_progress(&set, &mut sink, &mut |done| seen.push(done)).unwrap();
    assert!(summary.data_bytes > 0);
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress went down: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&summary.data_bytes), "progress {seen:?}");
}

/// kdump/join/copy.rs `copy_area`: an area longer than join's 1 MiB copy buffer (here each part's
/// eraseinfo, 1.5 MiB, appended to the corpus's split set and pointed at by the 64-bit sub-header's
/// offset_eraseinfo at block_size + 64 and size_eraseinfo at + 72) is copied whole, in buffer-sized
/// pieces, and the joined file's eraseinfo is the parts' texts in pfn order.
#[test]
fn join_copies_areas_longer_than_its_buffer() {
    use kdump_flat::kdump::{join, KdumpSet};
    use kdump_flat::sink::RawSink;
    let mut texts = Vec::new();
    let parts = corpus_split_set()
        .into_iter()
        .enumerate()
        .map(|(i, mut bytes)| {
            let mut text = String::new();
            let mut line = 0;
            while text.len() < 3 << 19 {
                text.push_str(&format!(
                    "erase part{i}_symbol_{line} size {}\n",
                    line % 4096
                ));
                line += 1;
            }
            let offset = bytes.len() as u64;
            bytes[4096 + 64..4096 + 72].copy_from_slice(&offset.to_le_bytes());
            bytes[4096 + 72..4096 + 80].copy_from_slice(&(text.len() as u64).to_le_bytes());
            bytes.extend_from_slice(text.as_bytes());
            texts.push(text);
            KdumpFile::open(bytes).unwrap()
        })
        .collect();
    let set = KdumpSet::new(parts).unwrap();
    let mut sink = RawSink::in_memory();
    join(&set, &mut sink).unwrap();
    let joined = KdumpFile::open(sink.into_inner().into_inner()).unwrap();
    let eraseinfo = joined.eraseinfo().unwrap().expect("an eraseinfo");
    assert!(
        eraseinfo == texts.concat().as_bytes(),
        "eraseinfo of {} bytes",
        eraseinfo.len()
    );
}

/// kdump/join/parts.rs `check_parts`: join refuses (K8, part 0) a part whose notes lie outside its
/// sub-header blocks — here the corpus split set's first part with `offset_note` (64-bit sub-header at
/// block_size + 48) moved onto its bitmaps — since the joined file would copy the notes from there.
#[test]
fn join_refuses_notes_outside_the_sub_header_blocks() {
    use kdump_flat::kdump::{join, KdumpSet};
    use kdump_flat::sink::RawSink;
    let parts: Vec<_> = corpus_split_set()
        .into_iter()
        .enumerate()
        .map(|(i, mut bytes)| {
            if i == 0 {
                let file = KdumpFile::open(bytes.clone()).unwrap();
                let bitmaps_at = file.bitmaps().bitmap1_offset;
                bytes[4096 + 48..4096 + 56].copy_from_slice(&bitmaps_at.to_le_bytes());
            }
            KdumpFile::open(bytes).unwrap()
        })
        .collect();
    let set = KdumpSet::new(parts).unwrap();
    let mut sink = RawSink::in_memory();
    match join(&set, &mut sink) {
        Err(error) => {
            let text = error.to_string();
            assert!(text.contains("K8"), "{text}");
        }
        Ok(_) => panic!("a part with its notes on its bitmaps was joined"),
    }
}

/// kdump/check/pages.rs `check_descriptor_area`: a complete dump in which no page is dumped (every page in
/// memory excluded: no descriptors) gets no K12 finding at all — the note about a file ending inside
/// bitmap 2's padding is for files that do end there.
#[test]
fn a_complete_dump_without_dumped_pages_has_no_k12_finding() {
    use crate::support::kdump::Page;
    use kdump_flat::kdump::check::check;
    use kdump_flat::kdump::KInvariant;
    use kdump_flat::readat::ReadAt;
    let synth = Synth {
        max_mapnr: 64,
        pages: (0..64).map(|pfn| (pfn, Page::Excluded)).collect(),
        ..Synth::x86_64(Compression::Zlib, 64)
    };
    let bytes = synth.build().bytes;
    let report = check(&[&bytes.as_slice() as &dyn ReadAt]);
    let k12: Vec<_> = report
        .violations
        .iter()
        .chain(&report.warnings)
        .filter(|finding| finding.id == KInvariant::K12)
        .collect();
    assert!(k12.is_empty(), "{k12:?}");
}

/// model/notes.rs `parse_notes` (through `count_prstatus`, makedumpfile's `nr_cpus`): a note that ends
/// exactly at the end of the section is read (it is usually the last one); one cut inside its descriptor
/// is not, and neither is one whose padding is cut off — as the crate's kdump reader
/// (`kdump::notes::parse_notes`, written separately) reads the same bytes.
#[test]
fn model_notes_end_where_the_section_ends() {
    use kdump_flat::kdump::notes::parse_notes as reader_parse_notes;
    use kdump_flat::kdump::ByteOrder;
    use kdump_flat::model::notes::{count_prstatus, encode_note, NT_PRSTATUS};
    use kdump_flat::model::Endian;
    let two = [
        encode_note(Endian::Little, "CORE", NT_PRSTATUS, &[1u8; 336]),
        encode_note(Endian::Little, "CORE", NT_PRSTATUS, &[2u8; 336]),
    ]
    .concat();
    assert_eq!(count_prstatus(&two, Endian::Little), 2, "whole section");
    let cut_in_desc = &two[..two.len() - 10];
    assert_eq!(
        count_prstatus(cut_in_desc, Endian::Little),
        1,
        "cut inside the last descriptor"
    );
    let unpadded = [
        encode_note(Endian::Little, "CORE", NT_PRSTATUS, &[1u8; 336]),
        encode_note(Endian::Little, "CORE", NT_PRSTATUS, &[2u8; 337]),
    ]
    .concat();
    let without_padding = &unpadded[..unpadded.len() - 3];
    assert!(
        reader_parse_notes(without_padding, 0, ByteOrder::Little).is_err(),
        "the reader takes a note without its padding"
    );
    assert_eq!(
        count_prstatus(without_padding, Endian::Little),
        1,
        "the last note lacks its padding"
    );
}

/// model/makedumpfile/policy.rs `automatic_cyclic_buffer`: makedumpfile's own choice
/// (`calculate_cyclic_buffer_size`: the smallest of 60 % of MemFree, 4 MiB and both bitmaps' bytes) when
/// free memory is what binds: with 4 MiB free and 16 Mi pfns (4 MiB of bitmaps), 60 % of 4 MiB.
#[test]
fn makedumpfiles_automatic_cyclic_buffer_is_60_percent_of_free_memory_when_that_is_smallest() {
    use kdump_flat::model::makedumpfile::automatic_cyclic_buffer;
    let free = 4u64 << 20;
    assert_eq!(
        automatic_cyclic_buffer(1 << 24, 1, free),
        Some((free as f64 * 0.6) as u64)
    );
    // with plenty of memory the 4 MiB cap binds, and 16 Mi pfns then fit in one buffer: non-cyclic
    assert_eq!(automatic_cyclic_buffer(1 << 24, 1, 1 << 30), None);
}

/// compress.rs `zlib_total_length`: zlib data that inflates to more than 1 GiB (here 1 GiB + 1 MiB of
/// zeros, about 1 MB compressed) is counted only up to that limit and reported as "more than 1 GiB",
/// so a small corrupt page cannot keep the reader inflating for long.
#[test]
fn zlib_data_inflating_past_one_gib_is_reported_as_more_than_the_limit() {
    use flate2::write::ZlibEncoder;
    use kdump_flat::compress::{DecompressError, OutputLength};
    use std::io::Write;
    let mut encoder = ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1025 {
        encoder.write_all(&zeros).unwrap();
    }
    let packed = encoder.finish().unwrap();
    match decompress(Compression::Zlib, &packed, 4096) {
        Err(DecompressError::WrongLength { actual, .. }) => {
            assert_eq!(actual, OutputLength::MoreThan(1 << 30))
        }
        other => panic!("1 GiB + 1 MiB of zlib data as a 4096-byte page: {other:?}"),
    }
}

/// kdump/header.rs `plausibility`: when a header reads as more than one layout, the one whose
/// `bitmap_blocks` fits its `max_mapnr` counts. A 64-bit little-endian header with `nr_cpus` 0 and a
/// `timestamp.tv_usec` of 0x1_0000_1000 also passes libkdumpfile's test read as 32-bit (block_size 4096
/// and sub_hdr_size 1 from the microseconds, bitmap_blocks 1 from the status, max_mapnr 4096 from the
/// block size); it is still read as 64-bit.
#[test]
fn a_64bit_header_that_also_reads_as_32bit_is_told_apart_by_its_bitmap_blocks() {
    use kdump_flat::kdump::Class;
    let synth = Synth::x86_64(Compression::Zlib, 64);
    let mut bytes = synth.build().bytes;
    bytes[416..424].copy_from_slice(&0x1_0000_1000u64.to_le_bytes()); // timestamp.tv_usec
    bytes[460..464].copy_from_slice(&0u32.to_le_bytes()); // nr_cpus
    let dump = KdumpFile::open(bytes).unwrap();
    assert_eq!(dump.header().class, Class::Bits64);
    assert_eq!(dump.header().block_size, 4096);
}

/// flat/reassemble.rs (campaign 3, the mutant `!=` -> `==` in `set_length` led to it): after a write
/// failure the partial summary's length is the output file's, never a length the failed write would have
/// reached. Record 1 (at 2^62: EFBIG on ext4) fails; the 64 KiB of record 2 at 1 MiB, in the same batch,
/// were written before it (a batch is written in offset order). `set_length` used to try to extend the
/// file to 2^62 + 10 bytes (failing silently) and to report that length.
#[test]
fn a_failed_write_reports_the_length_the_output_has() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::ReassembleErrorKind;
    let stream = StreamBuilder::new()
        .data(0, 10, 0x5a)
        .data(1 << 62, 10, 7)
        .data(1 << 20, 65536, 3)
        .end()
        .build();
    let (error, output, _dir) = reassemble_failing_write(&stream);
    assert!(
        matches!(error.kind, ReassembleErrorKind::WriteRecord { offset, .. } if offset == 1 << 62),
        "{error}"
    );
    let len = output.metadata().unwrap().len();
    assert_eq!(error.partial.output_len, len);
    assert!(len < 1 << 62, "the output was extended to {len:#x} bytes");
    let mut head = [0u8; 10];
    std::os::unix::fs::FileExt::read_exact_at(&output, &mut head, 0).unwrap();
    assert_eq!(head, [0x5a; 10]);
}

/// kdump/header.rs `plausibility`: the point for a sub-header is given to a header of version 1 or more
/// only when its `sub_hdr_size` is not 0 (every writer of version ≥ 1 writes a sub-header). A 64-bit
/// little-endian header of version 6 with `nr_cpus` 0 and a `total_ram_blocks` of 1 scores 4 of 6; read as
/// 32-bit it gets `block_size` 4096 from `timestamp.tv_usec`, a `bitmap_blocks` of 2 that fits its
/// `max_mapnr` of 4096 (the 64-bit `status` and `block_size`), the version, and — its `sub_hdr_size`,
/// the high half of `tv_usec`, being 0 — no sub-header point: 3 of 6. Read as 32-bit, it would tie, and
/// ties go to the 32-bit reading (libkdumpfile's first choice).
#[test]
fn a_version_6_header_reading_with_sub_hdr_size_0_loses_its_sub_header_point() {
    use kdump_flat::kdump::Class;
    let synth = Synth::x86_64(Compression::Zlib, 64);
    let mut bytes = synth.build().bytes;
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 6);
    assert!(u32::from_le_bytes(bytes[432..436].try_into().unwrap()) > 0); // sub_hdr_size
    bytes[416..424].copy_from_slice(&0x1000u64.to_le_bytes()); // timestamp.tv_usec
    bytes[424..428].copy_from_slice(&2u32.to_le_bytes()); // status
    bytes[444..448].copy_from_slice(&1u32.to_le_bytes()); // total_ram_blocks
    bytes[460..464].copy_from_slice(&0u32.to_le_bytes()); // nr_cpus
    let dump = KdumpFile::open(bytes).unwrap();
    assert_eq!(dump.header().class, Class::Bits64);
    assert_eq!(dump.header().block_size, 4096);
}

/// compress.rs `zlib_total_length` (campaign 3, shard 4: `>` → `>=`): zlib data that inflates to exactly
/// 1 GiB (the counting limit) is counted exactly; only more is "more than 1 GiB" — also when the stream is
/// cut right after its 1 GiB, so that the inflater stops with a full buffer and no stream end (the case
/// that tells the two apart: a complete stream ends in the same call). The stream is built
/// without compressing 1 GiB: after a full flush a deflate encoder starts afresh, so the block it emits for
/// 1 MiB of zeros is the same each time and can be repeated; then a final empty fixed-Huffman block and
/// the Adler-32 of 2^30 zeros (s1 = 1, s2 = 2^30 mod 65521).
#[test]
fn zlib_data_inflating_to_exactly_one_gib_is_counted_exactly() {
    use flate2::{Compress, FlushCompress};
    use kdump_flat::compress::{DecompressError, OutputLength};
    let zeros = vec![0u8; 1 << 20];
    let mut encoder = Compress::new(flate2::Compression::fast(), true);
    let chunk = |encoder: &mut Compress| {
        let mut out = Vec::with_capacity(1 << 16);
        let before = encoder.total_in();
        encoder
            .compress_vec(&zeros, &mut out, FlushCompress::Full)
            .unwrap();
        assert_eq!(encoder.total_in() - before, 1 << 20);
        out
    };
    let first = chunk(&mut encoder); // the zlib header and the first MiB
    let repeated = chunk(&mut encoder);
    assert_eq!(
        chunk(&mut encoder),
        repeated,
        "a full flush did not restart the encoder"
    );
    let mut packed = first;
    for _ in 1..1024 {
        packed.extend_from_slice(&repeated);
    }
    let mut complete = packed.clone();
    complete.extend_from_slice(&[0x03, 0x00]); // BFINAL, fixed Huffman, end of block
    let adler: u32 = (((1u64 << 30) % 65521) << 16 | 1) as u32;
    complete.extend_from_slice(&adler.to_be_bytes());
    // complete, and cut before its final block (the output stops at 1 GiB without the stream's end)
    for (what, data) in [("complete", &complete), ("cut", &packed)] {
        match decompress(Compression::Zlib, data, 16384) {
            Err(DecompressError::WrongLength { actual, .. }) => {
                assert_eq!(actual, OutputLength::Exactly(1 << 30), "{what}")
            }
            other => panic!("1 GiB of zlib data ({what}) as a 16 KiB page: {other:?}"),
        }
    }
}

/// kdump/walk.rs `CodecCounts::add_all` (campaign 3, shard 3: `+=` → `*=` for zstd): `info` of a split
/// set counts each codec's pages over all its files: the set's count is the sum of what `info` says of
/// each file alone. Model split sets (makedumpfile's `--split` sequence) written with each codec, from the
/// first seeds whose files all hold compressed pages (so that a product or a lost count shows).
#[test]
fn info_of_a_split_set_sums_each_codecs_pages_over_its_files() {
    use crate::support::cli::{run, stdout};
    use kdump_flat::harness::write_case;
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    let dir = tempfile::tempdir().unwrap();
    let info = |files: &[String]| -> serde_json::Value {
        let mut args = vec!["info".to_string(), "--json".to_string()];
        args.extend_from_slice(files);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(dir.path(), &args);
        assert!(output.status.success(), "info {files:?}");
        serde_json::from_str(&stdout(&output)).unwrap()
    };
    for codec in [
        Compression::Zlib,
        Compression::Lzo,
        Compression::Snappy,
        Compression::Zstd,
    ] {
        let name = codec.name();
        let mut found = false;
        for seed in 0..2000 {
            let mut layout = layout_from_seed(seed, SizeClass::Small);
            if layout.file_count() < 2 {
                continue;
            }
            layout.compression = codec;
            let output = write_case(&layout).unwrap();
            let files: Vec<String> = (0..output.parts.len())
                .map(|i| format!("{name}-{seed}.{i}"))
                .collect();
            for (file, part) in files.iter().zip(&output.parts) {
                std::fs::write(dir.path().join(file), &part.raw).unwrap();
            }
            let parts: Vec<_> = files
                .iter()
                .map(|f| info(std::slice::from_ref(f)))
                .collect();
            let count =
                |info: &serde_json::Value| info["pages"]["by_codec"][name].as_u64().unwrap();
            if parts.iter().any(|p| count(p) == 0) {
                continue;
            }
            let set = info(&files);
            for other in ["zlib", "lzo", "snappy", "zstd"] {
                let of =
                    |info: &serde_json::Value| info["pages"]["by_codec"][other].as_u64().unwrap();
                assert_eq!(
                    of(&set),
                    parts.iter().map(of).sum::<u64>(),
                    "{name}, seed {seed}: {other}"
                );
            }
            found = true;
            break;
        }
        assert!(
            found,
            "{name}: no split layout with compressed pages in every file"
        );
    }
}

/// A little-endian 32-bit version-3 dump of 100 pages with the given sub-header layout, machine name and
/// VMCOREINFO (`seed` varies the pages).
fn version_3_32bit_synth(
    layout32: crate::support::kdump::Layout32,
    machine: &str,
    vmcoreinfo: Option<&str>,
    seed: u64,
) -> Synth {
    use crate::support::kdump::mixed_pages;
    use kdump_flat::kdump::{ByteOrder, Class};
    Synth {
        class: Class::Bits32,
        order: ByteOrder::Little,
        layout32,
        machine: machine.into(),
        header_version: 3,
        max_mapnr: 100,
        pages: mixed_pages(100, 4096, seed),
        vmcoreinfo: vmcoreinfo.map(str::to_owned),
        ..Synth::x86_64(Compression::Zlib, 100)
    }
}

/// kdump/subheader.rs `choose_32bit_layout` (campaign 3, shard 3: `+` → `*` in the sub-header area's
/// end): with nothing else to go by (version 3, no `utsname.machine`), a 32-bit sub-header is read packed
/// when its VMCOREINFO lies inside the sub-header blocks, `[block_size, block_size · (1 + sub_hdr_size))`,
/// as libkdumpfile decides — here VMCOREINFO right behind the 80-byte packed sub-header, ending inside the
/// first sub-header block, or none at all.
#[test]
fn a_version_3_packed_sub_header_without_a_machine_name_is_read_packed() {
    use crate::support::kdump::Layout32;
    use kdump_flat::kdump::SubHeaderLayout;
    // Without VMCOREINFO (offset and size 0), packed too (kdump/subheader.rs `choose_32bit_layout`).
    for vmcoreinfo in [Some("OSRELEASE=6.1.0\nPAGESIZE=4096\n"), None] {
        let synth = version_3_32bit_synth(Layout32::Packed, "", vmcoreinfo, 3);
        let built = synth.build();
        let file = KdumpFile::open(built.bytes.as_slice()).unwrap();
        let sub = file.sub_header().unwrap();
        assert_eq!(sub.layout, SubHeaderLayout::I386Packed, "{vmcoreinfo:?}");
        assert_eq!(file.header().sub_hdr_size, 1);
        assert_reads_synths_pages(&file, &synth);
    }
}

/// kdump/set.rs `first_bitmap_difference`: bitmaps of more than its 1 MiB chunk (here 1.5 MiB each: a
/// few pages at pfn 12 Mi of a 12.6 Mi-pfn machine, split in two) are compared chunk by chunk to their
/// end: the parts' equal bitmaps compare equal, and a byte changed past the first chunk is found where
/// it is.
#[test]
fn bitmaps_longer_than_a_chunk_are_compared_to_their_end() {
    use kdump_flat::kdump::set::first_bitmap_difference;
    use kdump_flat::kdump::Which;
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    use kdump_flat::model::makedumpfile::{
        makedumpfile_options, write_makedumpfile_kdump_from, MakedumpfileOptions,
    };
    use kdump_flat::model::GuestBlock;
    use kdump_flat::sink::RawSink;
    let first_pfn = 12u64 << 20;
    let max_mapnr = 12_600_000u64;
    let memory = incompressible(16 * 4096);
    let blocks = [GuestBlock {
        start: first_pfn * 4096,
        len: memory.len() as u64,
        data: &memory,
        data_offset: 0,
    }];
    let part = |range: (u64, u64)| {
        let options = MakedumpfileOptions {
            page_size: 4096,
            compression: Compression::None,
            dump_level: 0,
            max_mapnr: Some(max_mapnr),
            cyclic_buffer: Some(max_mapnr.div_ceil(8)),
            eraseinfo: None,
            split: Some(range),
            ..makedumpfile_options(&layout_from_seed(1, SizeClass::Small))
        };
        let mut sink = RawSink::in_memory();
        write_makedumpfile_kdump_from(&blocks, &|_| true, &[], &options, &mut sink).unwrap();
        sink.into_bytes()
    };
    let split_at = first_pfn + 8;
    let mut parts = [part((0, split_at)), part((split_at, max_mapnr))];
    let open = |bytes: &[u8]| KdumpFile::open(bytes.to_vec()).unwrap();
    let (a, b) = (open(&parts[0]), open(&parts[1]));
    let len = a.bitmaps().len;
    assert!(
        len > 1 << 20 && len % (1 << 20) != 0,
        "bitmap of {len} bytes"
    );
    for which in [Which::InMemory, Which::Dumped] {
        assert_eq!(
            first_bitmap_difference(&a, &b, which).unwrap(),
            None,
            "{which:?}"
        );
    }
    // a byte of part 2's bitmap 2 changed past the first chunk
    let changed = (1u64 << 20) + 1000;
    // bitmap 2 follows bitmap 1, which follows the header block and the sub-header blocks
    let bitmap2 = 4096 * (1 + b.header().sub_hdr_size as u64) + len;
    let at = (bitmap2 + changed) as usize;
    parts[1][at] ^= 0x10;
    let b = open(&parts[1]);
    assert_eq!(
        first_bitmap_difference(&a, &b, Which::Dumped).unwrap(),
        Some(changed)
    );
}

/// kdump/subheader.rs `choose_32bit_layout`: the VMCOREINFO offset of the packed reading must lie past
/// `block_size` (strictly, as libkdumpfile's `read_sub_hdr_32` has it: `off_vmci > page size`) to count
/// as inside the sub-header blocks: at `block_size` itself (the sub-header's own first byte) the padded
/// layout is chosen, one byte further the packed one.
#[test]
fn a_packed_vmcoreinfo_offset_must_lie_past_the_sub_headers_start() {
    use crate::support::kdump::Layout32;
    use kdump_flat::kdump::subheader::choose_32bit_layout;
    use kdump_flat::kdump::SubHeaderLayout;
    let synth = version_3_32bit_synth(Layout32::Packed, "", Some("PAGESIZE=4096\n"), 4);
    let built = synth.build();
    let file = KdumpFile::open(built.bytes.as_slice()).unwrap();
    let block = 4096usize;
    for (offset, expected) in [
        (block as u64, SubHeaderLayout::Padded32),
        (block as u64 + 1, SubHeaderLayout::I386Packed),
    ] {
        // the packed sub-header's offset_vmcoreinfo (8 bytes at 20; size_vmcoreinfo at 28 is 14)
        let mut sub_header = built.bytes[block..block + 96].to_vec();
        sub_header[20..28].copy_from_slice(&offset.to_le_bytes());
        assert_eq!(
            choose_32bit_layout(&sub_header, file.header()),
            expected,
            "offset_vmcoreinfo {offset:#x}"
        );
    }
}

/// flat/reassemble.rs and pipeline.rs `handed_over` (campaign 3, shard 4: `handed_over` → 0): when the
/// write of a record fails and a later input buffer turns out invalid, the error reported is the one
/// that comes first in stream order — here the write: the unwritable record (at 2^62, EFBIG on ext4) is in
/// the first 1 MiB input buffer, the invalid record (a negative offset, F8) in the second, found while the
/// writer works on the first.
#[test]
fn a_write_failure_in_an_earlier_input_buffer_than_an_invalid_record_is_the_one_reported() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::ReassembleErrorKind;
    let stream = StreamBuilder::new()
        .data(0, 700_000, 1)
        .data(1 << 62, 10, 2)
        .data(2 << 20, 400_000, 3) // from the first input buffer into the second
        .record(-4096, 16, &[4; 16])
        .end()
        .build();
    assert!(stream.len() > 1 << 20 && stream.len() < 2 << 20);
    let (error, _output, _dir) = reassemble_failing_write(&stream);
    assert!(
        matches!(error.kind, ReassembleErrorKind::WriteRecord { offset, .. } if offset == 1 << 62),
        "{error}"
    );
}

/// model/qemu.rs `check_blocks` (campaign 3, shard 3: `||` → `&&`): guest memory whose every block is
/// empty is refused as "no guest memory to dump" — not as one empty block — like an empty block list.
#[test]
fn qemus_writer_refuses_guest_memory_without_a_byte() {
    use kdump_flat::model::{write_qemu_kdump, Endian, GuestBlock, QemuDumpOptions};
    use kdump_flat::sink::RawSink;
    let options = QemuDumpOptions {
        is_64bit: true,
        endian: Endian::Little,
        page_size: 4096,
        compression: Compression::None,
        nr_cpus: 1,
        phys_base: 0,
        uts_machine: "x86_64".into(),
    };
    let empty: &[u8] = &[];
    let blocks = [0u64, 4096].map(|start| GuestBlock {
        start,
        len: 0,
        data: &empty,
        data_offset: 0,
    });
    for blocks in [&blocks[..], &blocks[..1], &[]] {
        let mut sink = RawSink::in_memory();
        let error = write_qemu_kdump(blocks, &[], &options, &mut sink).unwrap_err();
        let text = error.to_string();
        assert!(
            text.ends_with("no guest memory to dump"),
            "{} blocks: {text}",
            blocks.len()
        );
    }
}

/// A [`ReadAt`](kdump_flat::readat::ReadAt) over bytes in memory that counts its calls and the bytes it
/// delivers, and keeps the largest read asked for.
struct RecordingReads {
    bytes: Vec<u8>,
    calls: std::sync::atomic::AtomicU64,
    delivered: std::sync::atomic::AtomicU64,
    largest: std::sync::atomic::AtomicUsize,
}

impl RecordingReads {
    fn new(bytes: Vec<u8>) -> Self {
        RecordingReads {
            bytes,
            calls: Default::default(),
            delivered: Default::default(),
            largest: Default::default(),
        }
    }
}

impl kdump_flat::readat::ReadAt for RecordingReads {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::sync::atomic::Ordering::Relaxed;
        self.calls.fetch_add(1, Relaxed);
        self.largest.fetch_max(buf.len(), Relaxed);
        let n = self.bytes.as_slice().read_at(offset, buf)?;
        self.delivered.fetch_add(n as u64, Relaxed);
        Ok(n)
    }

    fn size(&self) -> std::io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }
}

/// flat/index/scan.rs `HeaderWindow::header_at`: indexing a stream of small records reads each byte
/// about once — a header inside the window already read is taken from it, not read again with a new
/// window (which would read up to 1 MiB per record).
#[test]
fn the_index_reads_a_stream_of_small_records_about_once() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::index::FlatIndex;
    let mut builder = StreamBuilder::new();
    for i in 0..3000 {
        builder = builder.data(i * 1000, 1000, i as u8);
    }
    let source = RecordingReads::new(builder.end().build());
    let length = source.bytes.len() as u64;
    let index = FlatIndex::open(&source).unwrap();
    drop(index);
    let read = source.delivered.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        read <= 2 * length,
        "indexing a {length}-byte stream of 3000 records read {read} bytes"
    );
    // And in windows of 1 MiB: a 4 KiB window after every small payload would take one read per four
    // records.
    let calls = source.calls.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        calls <= 16,
        "indexing a {length}-byte stream of 3000 records took {calls} reads"
    );
}

/// flat/index/scan.rs `HeaderWindow::header_at`: after a payload of a window's size or more the next
/// header is read with a small block, not a whole window: indexing records of 2 MiB reads a few KiB per
/// record, not 1 MiB per record.
#[test]
fn the_index_reads_a_small_block_after_a_large_payload() {
    use crate::support::flat::StreamBuilder;
    use kdump_flat::flat::index::FlatIndex;
    let mut builder = StreamBuilder::new();
    for i in 0..8 {
        builder = builder.data(i * (2 << 20), 2 << 20, i as u8);
    }
    let source = RecordingReads::new(builder.end().build());
    let index = FlatIndex::open(&source).unwrap();
    drop(index);
    let read = source.delivered.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        read <= (1 << 20) + 8 * 8192,
        "indexing 8 records of 2 MiB read {read} bytes"
    );
}

/// model/validate.rs `validate_mode`: makedumpfile's `-b` block order may reach `MAX_BLOCK_ORDER` (the
/// bound is inclusive) and one more is refused as too big, as `--num-threads` past `MAX_THREADS` is.
#[test]
fn makedumpfile_block_orders_and_threads_reach_their_bound_inclusively() {
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    use kdump_flat::model::{LayoutError, WriterKind, MAX_BLOCK_ORDER, MAX_THREADS};
    let mut base = layout_from_seed(5, SizeClass::Small);
    base.writer = WriterKind::Makedumpfile;
    base.notes.qemu_cpu_state_size = None;
    base.mode.split = None;
    let too_big = |result: Result<(), LayoutError>| matches!(result, Err(LayoutError::TooBig { what }) if what.contains("--num-threads"));
    let mut at_bound = base.clone();
    at_bound.mode.block_order = MAX_BLOCK_ORDER;
    at_bound.mode.num_threads = MAX_THREADS;
    assert!(!too_big(at_bound.validate()), "{:?}", at_bound.validate());
    let mut order_past = base.clone();
    order_past.mode.block_order = MAX_BLOCK_ORDER + 1;
    assert!(
        too_big(order_past.validate()),
        "{:?}",
        order_past.validate()
    );
    let mut threads_past = base.clone();
    threads_past.mode.num_threads = MAX_THREADS + 1;
    assert!(
        too_big(threads_past.validate()),
        "{:?}",
        threads_past.validate()
    );
    // --split: 2..=MAX_SPLIT_FILES files of splitblocks of at least one page; either bound broken alone
    // is refused.
    use kdump_flat::model::{SplitSpec, MAX_SPLIT_FILES};
    let split_refused = |files: u32, splitblock_pages: u64| {
        let mut l = base.clone();
        l.mode.split = Some(SplitSpec {
            files,
            splitblock_pages,
        });
        l.mode.num_threads = 0;
        matches!(l.validate(), Err(LayoutError::TooBig { what }) if what.starts_with("--split"))
    };
    for (files, splitblock_pages, refused) in [
        (2, 1, false),
        (MAX_SPLIT_FILES, 1, false),
        (1, 1, true),
        (MAX_SPLIT_FILES + 1, 1, true),
        (2, 0, true),
    ] {
        assert_eq!(
            split_refused(files, splitblock_pages),
            refused,
            "{files} files, splitblocks of {splitblock_pages} pages"
        );
    }
}

/// model/makedumpfile/cache.rs `PageWriter::write_page`: the makedumpfile model's summary counts what
/// its file holds — one descriptor per dumped page, and as many compressed pages as descriptors with a
/// compression flag (read back from the file by the kdump reader).
#[test]
fn the_makedumpfile_models_summary_counts_the_pages_its_file_holds() {
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    use kdump_flat::model::makedumpfile::{makedumpfile_options, write_makedumpfile_kdump_with};
    use kdump_flat::sink::RawSink;
    let mut compressed_seen = 0;
    for seed in 0..24 {
        let layout = layout_from_seed(seed, SizeClass::Small);
        let options = makedumpfile_options(&layout);
        let mut sink = RawSink::in_memory();
        let summary = write_makedumpfile_kdump_with(&layout, &options, &mut sink).unwrap();
        let bytes = sink.into_bytes();
        let dump = KdumpFile::open(bytes.as_slice()).unwrap();
        let mut descriptors = 0;
        let mut compressed = 0;
        for pfn in layout.dumped_pfns() {
            let desc = dump.descriptor(pfn).unwrap();
            descriptors += 1;
            compressed += u64::from(desc.flags != 0);
        }
        assert_eq!(
            (summary.dumped_pages, summary.compressed_pages),
            (descriptors, compressed),
            "seed {seed} ({}, level {})",
            layout.compression,
            layout.dump_level
        );
        compressed_seen += compressed;
    }
    assert!(compressed_seen > 0, "no compressed page in 24 layouts");
}

/// The makedumpfile model's file of `pages` pages of `page_size` bytes of incompressible memory (stored
/// uncompressed), one file of a `--split` set if `split` says which pfns, with `eraseinfo` if given.
fn model_file(
    memory: &[u8],
    page_size: u64,
    split: Option<(u64, u64)>,
    eraseinfo: Option<&str>,
) -> Vec<u8> {
    model_file_compressed(memory, page_size, Compression::None, split, eraseinfo)
}

/// [`model_file`] with its pages stored with `compression` (where it shrinks them).
fn model_file_compressed(
    memory: &[u8],
    page_size: u64,
    compression: Compression,
    split: Option<(u64, u64)>,
    eraseinfo: Option<&str>,
) -> Vec<u8> {
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    use kdump_flat::model::makedumpfile::{
        makedumpfile_options, write_makedumpfile_kdump_from, MakedumpfileOptions,
    };
    use kdump_flat::model::GuestBlock;
    use kdump_flat::sink::RawSink;
    let pages = memory.len() as u64 / page_size;
    let blocks = [GuestBlock {
        start: 0,
        len: memory.len() as u64,
        data: &memory,
        data_offset: 0,
    }];
    let options = MakedumpfileOptions {
        page_size,
        compression,
        dump_level: 0,
        max_mapnr: Some(pages),
        cyclic_buffer: Some(pages.div_ceil(8)),
        eraseinfo: eraseinfo.map(str::to_owned),
        split,
        ..makedumpfile_options(&layout_from_seed(1, SizeClass::Small))
    };
    let mut sink = RawSink::in_memory();
    write_makedumpfile_kdump_from(&blocks, &|_| true, &[], &options, &mut sink).unwrap();
    sink.into_bytes()
}

/// `bytes` random bytes (a fixed seed): memory that no codec shrinks.
fn incompressible(bytes: u64) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut memory = vec![0u8; bytes as usize];
    rand::rngs::StdRng::seed_from_u64(7).fill_bytes(&mut memory);
    memory
}

/// A makedumpfile-model `--split` set of two files over `pages` 4 KiB pages of incompressible memory,
/// with `eraseinfo` if given: the memory and the two files.
fn model_split_pair(pages: u64, eraseinfo: Option<&str>) -> (Vec<u8>, Vec<Vec<u8>>) {
    let memory = incompressible(pages * 4096);
    let parts = [(0, pages / 2), (pages / 2, pages)]
        .into_iter()
        .map(|range| model_file(&memory, 4096, Some(range), eraseinfo))
        .collect();
    (memory, parts)
}

/// kdump/check/pages.rs `decompress_batch`: the check reads a batch of 256 pages with one read when
/// their data lies together, wherever in the file it lies (here 6 MiB of 4 KiB pages: a few dozen reads,
/// not one per page past the first 4 MiB), and never reads more than 8 MiB at once (here a batch of 144
/// pages of 64 KiB, 9 MiB together: read page by page).
#[test]
fn the_check_reads_pages_in_batches_of_at_most_8_mib() {
    use kdump_flat::kdump::check::check;
    use kdump_flat::readat::ReadAt;
    use std::sync::atomic::Ordering::Relaxed;
    let small_pages = RecordingReads::new(model_file(&incompressible(6 << 20), 4096, None, None));
    let report = check(&[&small_pages as &dyn ReadAt]);
    assert!(report.is_valid(), "{:#?}", report.violations);
    assert_eq!(report.stats.pages_decompressed, 1536);
    let calls = small_pages.calls.load(Relaxed);
    assert!(calls < 100, "{calls} reads for 1536 pages");
    let large_pages = RecordingReads::new(model_file(&incompressible(9 << 20), 65536, None, None));
    let report = check(&[&large_pages as &dyn ReadAt]);
    assert!(report.is_valid(), "{:#?}", report.violations);
    assert_eq!(report.stats.pages_decompressed, 144);
    let largest = large_pages.largest.load(Relaxed);
    assert!(largest <= 8 << 20, "a read of {largest} bytes");
}

/// kdump/join/copy.rs `PageWriter::push_data`: join copies page data in writes of at most
/// [`kdump_flat::kdump::join::BUFFER`] bytes, so its memory stays bounded however much data the parts
/// hold (here two makedumpfile-model parts of about 1 MiB of compressed pages each), and of about that
/// size, not a write per page.
#[test]
fn join_writes_page_data_in_pieces_of_at_most_its_buffer() {
    use kdump_flat::kdump::join::BUFFER;
    use kdump_flat::kdump::{join, KdumpSet};
    use kdump_flat::sink::{DumpSink, RawSink};

    struct Largest {
        inner: RawSink<std::io::Cursor<Vec<u8>>>,
        largest: usize,
        writes: u64,
    }
    impl DumpSink for Largest {
        fn write_at(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()> {
            self.largest = self.largest.max(data.len());
            self.writes += 1;
            self.inner.write_at(offset, data)
        }
        fn finish(&mut self) -> std::io::Result<()> {
            self.inner.finish()
        }
    }

    // Pages of 0 to 4095 random bytes and zeros after them, compressed: pieces of every size, so the
    // data buffer never fills to exactly its size.
    let pages = 1024;
    let mut memory = incompressible(pages * 4096);
    for (i, page) in memory.chunks_mut(4096).enumerate() {
        page[(i * 997) % 4096..].fill(0);
    }
    let parts: Vec<Vec<u8>> = [(0, pages / 2), (pages / 2, pages)]
        .into_iter()
        .map(|range| model_file_compressed(&memory, 4096, Compression::Zlib, Some(range), None))
        .collect();
    let files = parts
        .iter()
        .map(|bytes| KdumpFile::open(bytes.as_slice()).unwrap())
        .collect();
    let set = KdumpSet::new(files).unwrap();
    let mut sink = Largest {
        inner: RawSink::in_memory(),
        largest: 0,
        writes: 0,
    };
    let summary = join(&set, &mut sink).unwrap();
    assert!(summary.data_bytes > 2 * BUFFER as u64, "{summary:?}");
    assert!(
        sink.largest <= BUFFER,
        "a write of {} bytes (buffer {BUFFER})",
        sink.largest
    );
    // and in pieces of about its buffer, not a write per page: the data's writes, and a few for the
    // headers, bitmaps, descriptors (24 bytes a page, so one buffer) and the eraseinfo
    let most_writes = 2 * summary.data_bytes.div_ceil(BUFFER as u64) + 16;
    assert!(
        sink.writes <= most_writes,
        "{} writes for {} bytes of page data (at most {most_writes})",
        sink.writes,
        summary.data_bytes
    );
    // The join is the unsplit file: its pages read back.
    sink.finish().unwrap();
    let joined = sink.inner.into_bytes();
    let dump = KdumpFile::open(joined.as_slice()).unwrap();
    for pfn in [0, pages / 2 - 1, pages / 2, pages - 1] {
        let at = (pfn * 4096) as usize;
        assert_eq!(
            dump.read_page_or_zero(pfn).unwrap(),
            &memory[at..at + 4096],
            "pfn {pfn}"
        );
    }
}

/// kdump/join/copy.rs `copy_area`: a part whose eraseinfo (after its page data) is cut short is refused
/// by join as K17 (data past the end of the file), naming that part — not as a header area's K12.
#[test]
fn join_refuses_a_part_with_its_eraseinfo_cut_short_as_k17() {
    use kdump_flat::kdump::{join, JoinError, KInvariant, KdumpSet};
    use kdump_flat::sink::RawSink;
    let (_, mut parts) = model_split_pair(16, Some("ERASEINFO filter test\n"));
    let cut = parts[1].len() - 1;
    parts[1].truncate(cut);
    let files = parts
        .iter()
        .map(|bytes| KdumpFile::open(bytes.as_slice()).unwrap())
        .collect();
    let set = KdumpSet::new(files).unwrap();
    match join(&set, &mut RawSink::in_memory()) {
        Err(join_error @ JoinError::Part { .. }) => {
            assert!(join_error.is_invalid_input(), "{join_error}");
            let JoinError::Part { part, error } = join_error else {
                unreachable!()
            };
            assert_eq!(set.given_index(part), 1, "{error}");
            assert_eq!(error.invariant(), Some(KInvariant::K17), "{error}");
        }
        other => panic!("{other:?}"),
    }
}

/// model/makedumpfile/sequence.rs `check_blocks`: the makedumpfile model refuses guest blocks that
/// overlap or descend (makedumpfile's memory map is ascending and disjoint), and each of an unaligned
/// and an empty block alone, and accepts adjacent ones.
#[test]
fn the_makedumpfile_model_refuses_overlapping_or_descending_blocks() {
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    use kdump_flat::model::makedumpfile::{
        makedumpfile_options, write_makedumpfile_kdump_from, MakedumpfileOptions,
    };
    use kdump_flat::model::{GuestBlock, WriteError};
    use kdump_flat::sink::RawSink;
    let memory = vec![0x5au8; 4 * 4096];
    let memory_slice = memory.as_slice();
    let block = |start: u64, len: u64| GuestBlock {
        start,
        len,
        data: &memory_slice,
        data_offset: 0,
    };
    let options = MakedumpfileOptions {
        page_size: 4096,
        max_mapnr: None,
        cyclic_buffer: None,
        split: None,
        ..makedumpfile_options(&layout_from_seed(1, SizeClass::Small))
    };
    let write = |blocks: &[GuestBlock<'_>]| {
        let mut sink = RawSink::in_memory();
        write_makedumpfile_kdump_from(blocks, &|_| true, &[], &options, &mut sink)
    };
    write(&[block(0, 8192), block(8192, 8192)]).expect("adjacent blocks");
    for (name, blocks) in [
        ("overlapping", [block(0, 8192), block(4096, 8192)]),
        ("descending", [block(8192, 8192), block(0, 8192)]),
        ("unaligned", [block(0, 8192), block(8192 + 512, 4096)]),
        ("empty", [block(0, 8192), block(8192, 0)]),
    ] {
        match write(&blocks) {
            Err(WriteError::Input(message)) => assert!(
                message.contains("block 1") && message.contains("out of order"),
                "{name}: {message}"
            ),
            other => panic!("{name} blocks: {other:?}"),
        }
    }
}

/// model/makedumpfile/policy.rs `split_ranges`: only dumpable pfns below `max_mapnr` count towards the
/// pages each file must hold. With 9 pfns, one page a splitblock and two files, the first file needs
/// 9 / 2 = 4 pages, so the split is at pfn 4; a pfn at `max_mapnr` itself (outside the dump) changes
/// nothing (counted, it would ask for 5).
#[test]
fn split_ranges_count_only_pfns_below_max_mapnr() {
    use kdump_flat::model::makedumpfile::split_ranges;
    assert_eq!(split_ranges(0..9, 9, 2, 1), vec![(0, 4), (4, 9)]);
    assert_eq!(split_ranges(0..=9, 9, 2, 1), vec![(0, 4), (4, 9)]);
}

/// kdump/subheader.rs `choose_32bit_layout`: only versions below 3 are read packed without looking
/// further; a version-3 sub-header of a named 32-bit architecture other than i386…i686 (e.g. "arm",
/// whose compiler pads it) is read padded, and one of i386…i686 packed. Only those four names are x86:
/// four characters, `i`, a digit 3 to 6, `86` — a name with three of the four traits is not (campaign 6:
/// `||` for the first `&&` of that test read "x386" and "i3686" packed).
#[test]
fn a_version_3_sub_header_of_a_named_architecture_is_read_padded() {
    use crate::support::kdump::Layout32;
    use kdump_flat::kdump::SubHeaderLayout;
    let padded = ["arm", "mips", "s390", "x86", "x386", "i3686", "i786", "i86"]
        .map(|machine| (machine, Layout32::Padded, SubHeaderLayout::Padded32));
    let packed = ["i386", "i486", "i586", "i686"]
        .map(|machine| (machine, Layout32::Packed, SubHeaderLayout::I386Packed));
    for (machine, written, read) in padded.into_iter().chain(packed) {
        let synth = version_3_32bit_synth(written, machine, None, 5);
        let file = KdumpFile::open(synth.build().bytes).unwrap();
        assert_eq!(
            file.sub_header().map(|sub| sub.layout),
            Some(read),
            "{machine}"
        );
    }
}

/// kdump/set.rs `KdumpSet::page_state`: a complete split set says of each pfn what the part holding it
/// says (dumped pages stay dumped; only pfns in a gap between parts read as excluded).
#[test]
fn a_split_sets_page_states_are_its_parts() {
    use kdump_flat::kdump::{KdumpSet, PageState};
    let parts = corpus_split_set();
    let set = KdumpSet::new(
        parts
            .iter()
            .map(|bytes| KdumpFile::open(bytes.as_slice()).unwrap())
            .collect(),
    )
    .unwrap();
    let mut dumped = 0;
    for part in set.parts() {
        let (start, end) = part.pfn_range();
        for pfn in start..end {
            let state = part.page_state(pfn).unwrap();
            assert_eq!(set.page_state(pfn).unwrap(), state, "pfn {pfn:#x}");
            dumped += u64::from(state == PageState::Dumped);
        }
    }
    assert!(dumped > 0);
}

/// kdump/subheader.rs `choose_32bit_layout`: a padded version-3 sub-header without a machine name but
/// with VMCOREINFO is read padded — its packed reading's `offset_vmcoreinfo` (the padding and the low half
/// of the real offset) lies far past the sub-header blocks.
#[test]
fn a_padded_version_3_sub_header_without_a_machine_name_is_read_padded() {
    use crate::support::kdump::Layout32;
    use kdump_flat::kdump::SubHeaderLayout;
    let synth = version_3_32bit_synth(
        Layout32::Padded,
        "",
        Some("OSRELEASE=6.1.0\nPAGESIZE=4096\n"),
        4,
    );
    let file = KdumpFile::open(synth.build().bytes).unwrap();
    assert_eq!(
        file.sub_header().map(|sub| sub.layout),
        Some(SubHeaderLayout::Padded32)
    );
}

/// kdump/set.rs `KdumpSet::page_state`: in a split set whose second part starts just after its first
/// dumped pfn (a gap that `KdumpSet::new_readable` accepts), that pfn reads as excluded although the
/// bitmaps all parts share call it dumped.
#[test]
fn a_dumped_pfn_in_a_gap_between_split_parts_is_excluded() {
    use kdump_flat::kdump::{KdumpSet, PageState};
    let mut parts = corpus_split_set();
    let second = &mut parts[1];
    let start = u64::from_le_bytes(second[4096 + 80..4096 + 88].try_into().unwrap());
    // the first dumped pfn of part 2 (the bitmaps are the set's): part 2 now starts after it
    let first_dumped = {
        let whole = KdumpFile::open(second.as_slice()).unwrap();
        (start..whole.max_pfn())
            .find(|&pfn| whole.page_state(pfn).unwrap() == PageState::Dumped)
            .unwrap()
    };
    for at in [4096 + 80, 4096 + 16] {
        second[at..at + 8].copy_from_slice(&(first_dumped + 1).to_le_bytes());
    }
    let start = first_dumped;
    let files = parts
        .iter()
        .map(|bytes| KdumpFile::open(bytes.as_slice()).unwrap())
        .collect();
    let (set, problems) = KdumpSet::new_readable(files).unwrap();
    assert!(!problems.is_empty());
    assert_eq!(
        set.parts()[0].page_state(start).unwrap(),
        PageState::Dumped,
        "the bitmaps call pfn {start:#x} dumped"
    );
    assert_eq!(set.page_state(start).unwrap(), PageState::Excluded);
}

/// model/edges.rs `pfns_per_bitmap_block`: layouts drawn at the "max_mapnr at a bitmap block" boundary
/// have max_mapnr within one of a multiple of 8 × the page size (the pfns one bitmap block covers).
#[test]
fn max_mapnr_at_a_bitmap_block_is_a_multiple_of_8_page_sizes() {
    use kdump_flat::model::edges::{boundaries_of, Boundary};
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    let mut seen = 0;
    for seed in 0..400 {
        let layout = layout_from_seed(seed, SizeClass::Small);
        if !boundaries_of(&layout).contains(&Boundary::MaxMapnrAtBitmapBlock) {
            continue;
        }
        let block = 8 * layout.page_bytes();
        let max_mapnr = layout.max_mapnr();
        assert!(
            [max_mapnr - 1, max_mapnr, max_mapnr + 1]
                .iter()
                .any(|v| v % block == 0),
            "seed {seed}: max_mapnr {max_mapnr}, bitmap block {block} pfns"
        );
        seen += 1;
    }
    assert!(seen > 0);
}

/// A dump followed by zeros up to `len` bytes, without holding them (a file far larger than the test's
/// memory budget, for limits on what the reader may read).
struct ZeroExtended<'a> {
    bytes: &'a [u8],
    len: u64,
}

impl kdump_flat::readat::ReadAt for ZeroExtended<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.len.saturating_sub(offset)).min(buf.len() as u64) as usize;
        for (i, byte) in buf[..n].iter_mut().enumerate() {
            let at = offset + i as u64;
            *byte = if at < self.bytes.len() as u64 {
                self.bytes[at as usize]
            } else {
                0
            };
        }
        Ok(n)
    }

    fn size(&self) -> std::io::Result<u64> {
        Ok(self.len)
    }
}

/// kdump/headers.rs `read_notes_and_vmcoreinfo` and kdump/file.rs `read_area` (campaign 6: `||` → `&&`):
/// a notes area is refused (K8) both when it runs past the end of the file, even by one byte and well
/// under the size limit, and when it is larger than `MAX_NOTES_SIZE`, even inside a file that holds it:
/// nothing is allocated or read for it, and the message says which limit it broke.
#[test]
fn notes_past_the_file_end_or_over_the_size_limit_are_refused_without_reading_them() {
    use kdump_flat::kdump::MAX_NOTES_SIZE;
    let built = Synth::x86_64(Compression::Zlib, 64).build();
    let size_note_at = built.sub_header_offset as usize + 56;
    let file_len = built.bytes.len() as u64;
    let past_end = file_len - built.notes_offset + 1;
    let mut bytes = built.bytes.clone();
    bytes[size_note_at..size_note_at + 8].copy_from_slice(&past_end.to_le_bytes());
    let file = KdumpFile::open(bytes.as_slice()).unwrap();
    let problem = file.notes_error().expect("a notes problem");
    assert!(
        problem.message.contains("does not fit in the file"),
        "{problem}"
    );
    assert_eq!(problem.offset, Some(built.notes_offset));
    let error = file.notes_bytes().unwrap_err().to_string();
    assert!(error.contains("does not fit in the file"), "{error}");
    // Ending exactly at the end of the file, it fits (and is read: the bytes after the notes then do
    // not parse as notes, which is another problem).
    bytes[size_note_at..size_note_at + 8].copy_from_slice(&(past_end - 1).to_le_bytes());
    let file = KdumpFile::open(bytes.as_slice()).unwrap();
    assert_eq!(
        file.notes_bytes().unwrap().map(|notes| notes.len() as u64),
        Some(past_end - 1)
    );

    let over_limit = MAX_NOTES_SIZE + 1;
    bytes[size_note_at..size_note_at + 8].copy_from_slice(&over_limit.to_le_bytes());
    let large = ZeroExtended {
        bytes: &bytes,
        len: built.notes_offset + over_limit + 4096,
    };
    let file = KdumpFile::open(large).unwrap();
    let problem = file.notes_error().expect("a notes problem");
    assert!(
        problem
            .message
            .contains("exceeds the 67108864 bytes read into memory"),
        "{problem}"
    );
    let error = file.notes_bytes().unwrap_err().to_string();
    assert!(error.contains("exceeds the 67108864 bytes"), "{error}");
    // At the limit itself, the area is read.
    bytes[size_note_at..size_note_at + 8].copy_from_slice(&MAX_NOTES_SIZE.to_le_bytes());
    let large = ZeroExtended {
        bytes: &bytes,
        len: built.notes_offset + over_limit + 4096,
    };
    let file = KdumpFile::open(large).unwrap();
    assert_eq!(
        file.notes_bytes().unwrap().map(|notes| notes.len() as u64),
        Some(MAX_NOTES_SIZE)
    );
}

/// model/validate.rs `Layout::validate_bounds` (campaign 6: `||` → `&&`): a utsname field fits the
/// header's 65-byte field with its terminating NUL, so the model refuses one longer than 64 bytes and
/// one holding a NUL, each on its own; 64 bytes without a NUL is accepted.
#[test]
fn the_model_refuses_a_utsname_field_over_64_bytes_or_holding_a_nul() {
    use kdump_flat::model::gen::{layout_from_seed, SizeClass};
    let base = layout_from_seed(1, SizeClass::Small);
    base.validate().unwrap();
    for (machine, accepted) in [
        ("m".repeat(64), true),
        ("m".repeat(65), false),
        ("x86\0_64".to_owned(), false),
    ] {
        let mut layout = base.clone();
        layout.utsname.machine = machine.clone();
        assert_eq!(layout.validate().is_ok(), accepted, "{machine:?}");
    }
}

/// kdump/subheader.rs `KdumpSubHeader::pfn_range` (campaign 7: `>= 6` → `< 6`): from version 6 a split
/// part's range is its 64-bit `start_pfn_64`/`end_pfn_64`, whatever the older `start_pfn`/`end_pfn` say
/// (makedumpfile writes both; the old ones are `unsigned long`, 32 bits on a 32-bit writer); below
/// version 6 only the old ones exist. The second part of the corpus's makedumpfile split set, 64-bit:
/// `start_pfn` at sub-header + 16, `end_pfn` + 24, `start_pfn_64` + 80, `end_pfn_64` + 88.
#[test]
fn a_split_parts_pfn_range_is_its_64_bit_fields_from_version_6() {
    let mut second = corpus_split_set().remove(1);
    let sub = 4096;
    let field = |bytes: &[u8], at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let range_64 = (field(&second, sub + 80), field(&second, sub + 88));
    assert_eq!(
        (field(&second, sub + 16), field(&second, sub + 24)),
        range_64,
        "makedumpfile writes both"
    );
    let old = (range_64.0 + 1, range_64.1 - 1);
    second[sub + 16..sub + 24].copy_from_slice(&old.0.to_le_bytes());
    second[sub + 24..sub + 32].copy_from_slice(&old.1.to_le_bytes());
    let range = |bytes: &[u8]| {
        let file = KdumpFile::open(bytes).unwrap();
        file.sub_header().unwrap().pfn_range()
    };
    assert_eq!(range(&second), range_64, "version 6: the 64-bit fields");
    // header_version (an int after the 8-byte signature) 5: the old fields
    second[8..12].copy_from_slice(&5i32.to_le_bytes());
    assert_eq!(range(&second), old, "version 5: the old fields");
}
