//! Reassembly whatever the record order (issue 14):
//! - proptest: write sequences in shuffled, descending, interleaved and overlapping orders, of one-byte to
//!   4 KiB records, contiguous or with gaps below and above a block, delivered in reads of any length (so
//!   the gathered batches end anywhere), reassembled equal the plain byte model and the `RawSink` output,
//!   and hold data only in blocks that some record writes into (SEEK_DATA/SEEK_HOLE);
//! - the real `makedumpfile -R` on every order of the benchmark (`benches/support/flat_orders.rs`) at small
//!   sizes that still cross the 1 MiB input buffers (more of them than circulate) and the gathering's bound
//!   of 16,384 pieces: identical bytes;
//! - a record the file system cannot hold (offset 2^62) is named with the offset it could not write; when
//!   it comes before an input error, the write failure is reported and reassembly stops there;
//! - later records win over bytes written many input buffers earlier, from a file and from a real pipe
//!   (the reading and the writing run on two threads).

use crate::support::flat as common;
use crate::support::flat_orders::Order;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use kdump_flat::flat::{reassemble, reassemble_file, ReassembleErrorKind, ReassembleOptions};
use kdump_flat::sink::{DumpSink, FlatSink, RawSink};
use proptest::prelude::*;

/// The block size the sparseness check assumes (ext4's).
const BLOCK: u64 = 4096;

/// One write: offset and bytes.
type Write_ = (u64, Vec<u8>);

fn read_write_file(path: &Path) -> File {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap()
}

fn flatten(writes: &[Write_]) -> Vec<u8> {
    let mut sink = FlatSink::new(Vec::new());
    for (offset, data) in writes {
        sink.write_at(*offset, data).unwrap();
    }
    sink.finish().unwrap();
    sink.into_inner()
}

/// The byte model of the writes (support::flat::replay_writes).
fn model(writes: &[Write_]) -> Vec<u8> {
    crate::support::flat::replay_writes(writes)
}

/// How the records of a generated sequence are ordered.
#[derive(Debug, Clone, Copy)]
enum Arrangement {
    /// Shuffled within windows of this many records.
    Shuffled(usize),
    /// Descending within windows of this many records (all of them: wholly descending).
    Descending(usize),
    /// This many ascending streams, one record of each in turn.
    Interleaved(usize),
}

/// A sequence: `count` records of `len` bytes, `stride` apart, arranged, then overwritten in places.
#[derive(Debug, Clone)]
struct Sequence {
    count: usize,
    len: usize,
    stride: u64,
    arrangement: Arrangement,
    /// (after which record, which record's range, shift, length): a later record over earlier bytes.
    overwrites: Vec<(usize, usize, i64, usize)>,
    seed: u64,
}

impl Sequence {
    fn writes(&self) -> Vec<Write_> {
        let mut order: Vec<usize> = (0..self.count).collect();
        let mut state = self.seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        match self.arrangement {
            Arrangement::Shuffled(window) => {
                for chunk in order.chunks_mut(window) {
                    for i in (1..chunk.len()).rev() {
                        chunk.swap(i, (next() % (i as u64 + 1)) as usize);
                    }
                }
            }
            Arrangement::Descending(window) => {
                for chunk in order.chunks_mut(window) {
                    chunk.reverse();
                }
            }
            Arrangement::Interleaved(streams) => {
                let per_stream = self.count.div_ceil(streams);
                order.sort_by_key(|&i| (i % per_stream, i / per_stream));
            }
        }
        let offset_of = |i: usize| i as u64 * self.stride;
        let mut writes = Vec::new();
        for (position, &i) in order.iter().enumerate() {
            let fill = (next() % 255) as u8 + 1;
            writes.push((offset_of(i), vec![fill; self.len]));
            for &(after, target, shift, len) in &self.overwrites {
                if after % self.count == position {
                    let offset = (offset_of(target % self.count) as i64 + shift).max(0) as u64;
                    let data: Vec<u8> = (0..len).map(|_| (next() % 255) as u8 + 1).collect();
                    writes.push((offset, data));
                }
            }
        }
        writes
    }
}

fn sequence_strategy() -> impl Strategy<Value = Sequence> {
    let len = prop_oneof![Just(1usize), 2usize..100, Just(4096), 3000usize..5000];
    let gap = prop_oneof![
        Just(0u64),
        1u64..64,
        Just(4095),
        4096u64..6000,
        100_000u64..200_000
    ];
    let arrangement = prop_oneof![
        (2usize..300).prop_map(Arrangement::Shuffled),
        prop_oneof![Just(usize::MAX), 2usize..300].prop_map(Arrangement::Descending),
        (2usize..5).prop_map(Arrangement::Interleaved),
    ];
    let overwrites = prop::collection::vec(
        (0usize..10_000, 0usize..10_000, -5000i64..5000, 1usize..6000),
        0..6,
    );
    (
        len,
        gap,
        arrangement,
        overwrites,
        1usize..1500,
        any::<u64>(),
    )
        .prop_map(|(len, gap, arrangement, overwrites, count, seed)| {
            // at most ~12 MiB of output
            let stride = len as u64 + gap;
            let count = count.min((12 << 20) / stride as usize).max(1);
            Sequence {
                count,
                len,
                stride,
                arrangement,
                overwrites,
                seed,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn any_order_reassembles_to_the_model_and_the_raw_sink(
        sequence in sequence_strategy(),
        read_size in prop_oneof![Just(usize::MAX), 1usize..70_000],
    ) {
        let mut writes = sequence.writes();
        // F16: a valid stream writes offset 0
        writes.insert(0, (0, vec![0xee; 3]));
        let flat = flatten(&writes);
        let dir = tempfile::tempdir().unwrap();
        let ours_path = dir.path().join("ours");
        let mut ours = read_write_file(&ours_path);
        let input = common::ShortReads::new(&flat, read_size, sequence.seed);
        let summary = reassemble(input, &mut ours, ReassembleOptions::default()).unwrap();
        prop_assert_eq!(summary.records, writes.len() as u64);
        let expected = model(&writes);
        prop_assert!(std::fs::read(&ours_path).unwrap() == expected, "differs from the model");

        let raw_path = dir.path().join("raw");
        let mut raw = RawSink::new(read_write_file(&raw_path));
        for (offset, data) in &writes {
            raw.write_at(*offset, data).unwrap();
        }
        raw.finish().unwrap();
        prop_assert!(std::fs::read(&raw_path).unwrap() == expected, "RawSink differs from the model");
        drop(raw);
        // holes stay holes: every 4 KiB block holding data is one that some record writes into
        let touched: BTreeSet<u64> = writes
            .iter()
            .flat_map(|(o, d)| o / BLOCK..(o + d.len() as u64).div_ceil(BLOCK))
            .collect();
        for block in data_blocks(&ours) {
            prop_assert!(touched.contains(&block), "block {} holds data that no record wrote", block);
        }
    }
}

/// The 4 KiB blocks of `file` that hold data (between SEEK_DATA and SEEK_HOLE).
fn data_blocks(file: &File) -> BTreeSet<u64> {
    use std::os::fd::AsRawFd;
    let len = file.metadata().unwrap().len() as i64;
    let mut blocks = BTreeSet::new();
    let mut position = 0i64;
    while position < len {
        // SAFETY: lseek on a live descriptor.
        let data = unsafe { libc::lseek(file.as_raw_fd(), position, libc::SEEK_DATA) };
        if data < 0 {
            break;
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(file.as_raw_fd(), data, libc::SEEK_HOLE) };
        let hole = if hole < 0 { len } else { hole };
        blocks.extend(data as u64 / BLOCK..(hole as u64).div_ceil(BLOCK));
        position = hole;
    }
    blocks
}

/// Runs the real `makedumpfile -R OUT < IN` under `timeout` (it spins forever on truncated input).
fn makedumpfile_r(input: &Path, output: &Path) {
    let status = Command::new("timeout")
        .args(["300", "makedumpfile", "-R"])
        .arg(output)
        .stdin(File::open(input).unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("makedumpfile must be installed (scripts/install-test-tools.sh)");
    assert!(status.success(), "makedumpfile -R failed: {status}");
}

/// Whether two files have the same bytes, read 1 MiB at a time.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (File::open(a).unwrap(), File::open(b).unwrap());
    if a.metadata().unwrap().len() != b.metadata().unwrap().len() {
        return false;
    }
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        if n == 0 {
            return true;
        }
        b.read_exact(&mut y[..n]).unwrap();
        if x[..n] != y[..n] {
            return false;
        }
    }
}

#[test]
fn every_benchmark_order_is_byte_identical_to_makedumpfile_r() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.flat");
    for order in Order::ALL {
        // past the three 1 MiB input buffers; past the bound of 16,384 gathered pieces (one-byte records)
        let size = match order {
            Order::OneByteDescending => 300_000,
            Order::OneByteSpaced4K => 40_000,
            _ => 6 << 20,
        };
        let mut sink = FlatSink::new(std::io::BufWriter::new(File::create(&input).unwrap()));
        order.write(size, &mut sink).unwrap();
        sink.finish().unwrap();
        sink.into_inner().flush().unwrap();

        let theirs = dir.path().join("theirs");
        makedumpfile_r(&input, &theirs);
        let ours = dir.path().join("ours");
        let mut output = read_write_file(&ours);
        reassemble_file(
            File::open(&input).unwrap(),
            &mut output,
            ReassembleOptions::default(),
        )
        .unwrap();
        assert!(
            same_bytes(&ours, &theirs),
            "{}: differs from makedumpfile -R",
            order.name()
        );
        std::fs::remove_file(&ours).unwrap();
        std::fs::remove_file(&theirs).unwrap();
    }
}

#[test]
fn a_record_the_file_system_cannot_hold_is_named_with_its_offset() {
    // a lone record at 2^62: ext4's largest file is 16 TiB (EFBIG)
    let flat = common::StreamBuilder::new()
        .data(1 << 62, 10, 7)
        .end()
        .build();
    let dir = tempfile::tempdir().unwrap();
    let mut output = read_write_file(&dir.path().join("out"));
    let options = ReassembleOptions {
        mode: kdump_flat::flat::ParseMode::Lenient, // offset 0 is never written (F16)
        ..ReassembleOptions::default()
    };
    let error = reassemble(&flat[..], &mut output, options).unwrap_err();
    assert!(error.kind.is_output_error());
    assert!(matches!(
        error.kind,
        ReassembleErrorKind::WriteRecord {
            offset: 0x4000_0000_0000_0000,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "cannot write the output at offset 0x4000000000000000 (record 0, header at stream position \
         0x1000): File too large (os error 27)"
    );
}

#[test]
fn the_command_names_the_record_it_could_not_write_and_leaves_nothing() {
    let flat = common::StreamBuilder::new()
        .data(0, 10, 1)
        .data(1 << 62, 10, 7)
        .end()
        .build();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.flat"), flat).unwrap();
    let result = assert_cmd::Command::cargo_bin("kdump-flat")
        .unwrap()
        .current_dir(dir.path())
        .args(["reassemble", "in.flat", "out"])
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    // The temporary file's name is random: the snapshot keeps the rest of the message.
    insta::with_settings!({filters => vec![(r"\(temporary file [^)]*\)", "(temporary file TEMP)")]}, {
        insta::assert_snapshot!(String::from_utf8_lossy(&result.stderr));
    });
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("in.flat")]);
}

/// `count` records of 4 KiB from output offset `base`, each filled with its own byte.
fn pages(base: u64, count: u64, fill: u8) -> Vec<Write_> {
    (0..count)
        .map(|i| (base + i * 4096, vec![fill.wrapping_add(i as u8) | 1; 4096]))
        .collect()
}

#[test]
fn a_write_failure_before_an_input_error_is_the_one_reported() {
    // record 1 cannot be written (2^62: EFBIG); 20 MiB of records follow, then the stream is cut short:
    // the write failure comes first in stream order, so it is the error, and reading stops near it
    let mut writes: Vec<Write_> = vec![(0, vec![0x5a; 10]), (1 << 62, vec![7; 10])];
    writes.extend(pages(1 << 20, 5120, 3));
    let mut flat = flatten(&writes);
    flat.truncate(flat.len() - 100);
    let dir = tempfile::tempdir().unwrap();
    let mut output = read_write_file(&dir.path().join("out"));
    let error = reassemble(&flat[..], &mut output, ReassembleOptions::default()).unwrap_err();
    assert!(
        matches!(
            error.kind,
            ReassembleErrorKind::WriteRecord {
                offset: 0x4000_0000_0000_0000,
                record: kdump_flat::flat::RecordHeader { index: 1, .. },
                ..
            }
        ),
        "{error}"
    );
    assert!(error.partial.records >= 2 && error.partial.records < writes.len() as u64);
    assert!(error.partial.input_bytes < flat.len() as u64);
    // what came before the failing record is in the output
    let mut head = [0u8; 10];
    std::os::unix::fs::FileExt::read_exact_at(&output, &mut head, 0).unwrap();
    assert_eq!(head, [0x5a; 10]);
}

#[test]
fn an_input_error_found_before_a_pending_write_fails_is_the_one_reported() {
    // the unwritable record and a record with a negative offset (F8) are in the same input buffer: the
    // stream is found invalid before the batch holding the unwritable record is written, so the invalid
    // record is reported, as a reassembly writing record by record after checking it would report it
    let flat = common::StreamBuilder::new()
        .data(0, 10, 0x5a)
        .data(1 << 62, 10, 7)
        .record(-4096, 16, &[1; 16])
        .end()
        .build();
    let dir = tempfile::tempdir().unwrap();
    let mut output = read_write_file(&dir.path().join("out"));
    let error = reassemble(&flat[..], &mut output, ReassembleOptions::default()).unwrap_err();
    assert!(
        matches!(error.kind, ReassembleErrorKind::Invalid(_)),
        "{error}"
    );
    assert_eq!(error.partial.records, 2);
}

/// Records overwriting bytes written one, four and twelve MiB of input earlier, among 4 KiB pages in
/// descending windows: more input buffers apart than reassembly keeps in circulation.
fn late_overwrites() -> Vec<Write_> {
    let mut writes: Vec<Write_> = vec![(0, vec![0x11; 65536])];
    for window in 0..12u64 {
        let mut batch = pages(1 << 20 | window << 20, 256, window as u8);
        batch.reverse();
        writes.extend(batch);
        match window {
            0 => writes.push((100, vec![0x22; 1000])),
            3 => writes.push(((1 << 20) + 4000, vec![0x33; 300])),
            11 => writes.push((0, vec![0x44; 1])),
            _ => {}
        }
    }
    writes.push(((1 << 20) + 10, vec![0x55; 5000]));
    writes
}

#[test]
fn later_records_win_over_bytes_written_many_buffers_earlier_from_a_file_and_a_pipe() {
    let writes = late_overwrites();
    let expected = model(&writes);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.flat");
    std::fs::write(&input, flatten(&writes)).unwrap();

    let from_file = dir.path().join("from-file");
    let mut output = read_write_file(&from_file);
    let summary = reassemble_file(
        File::open(&input).unwrap(),
        &mut output,
        ReassembleOptions::default(),
    )
    .unwrap();
    assert_eq!(summary.records, writes.len() as u64);
    assert!(
        std::fs::read(&from_file).unwrap() == expected,
        "from a file"
    );

    // a real pipe: `cat` writes the stream into it
    let mut cat = Command::new("cat")
        .arg(&input)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let from_pipe = dir.path().join("from-pipe");
    let mut output = read_write_file(&from_pipe);
    let pipe = cat.stdout.take().unwrap();
    reassemble(pipe, &mut output, ReassembleOptions::default()).unwrap();
    assert!(cat.wait().unwrap().success());
    assert!(
        std::fs::read(&from_pipe).unwrap() == expected,
        "from a pipe"
    );
}
