//! Tests of the segment writer against an in-memory output that counts its system calls, cuts writes
//! short, records which blocks were written (sparseness) and can fail past an offset; whole batches go
//! through `gather` first, as in reassembly.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::flat::gather::Batch;
use crate::flat::RecordHeader;

const BLOCK: u64 = 4096;

/// An output file in memory, by blocks (the blocks ever written are its allocated blocks).
struct MemoryFile {
    blocks: RefCell<BTreeMap<u64, Box<[u8]>>>,
    len: Cell<u64>,
    /// Most bytes one `pwritev` writes (short writes below that).
    max_write: usize,
    readable: bool,
    /// Writes at or past this offset fail with EFBIG (a write across it is cut short there).
    limit: u64,
    writes: Cell<usize>,
    reads: Cell<usize>,
    /// The next this many reads fail with EINTR.
    interrupted_reads: Cell<usize>,
    /// Then the next this many reads fail with EIO.
    failed_reads: Cell<usize>,
    allocations: RefCell<Vec<(u64, u64)>>,
}

impl MemoryFile {
    fn new(max_write: usize) -> Self {
        MemoryFile {
            blocks: RefCell::default(),
            len: Cell::new(0),
            max_write,
            readable: true,
            limit: u64::MAX,
            writes: Cell::new(0),
            reads: Cell::new(0),
            interrupted_reads: Cell::new(0),
            failed_reads: Cell::new(0),
            allocations: RefCell::default(),
        }
    }

    fn syscalls(&self) -> usize {
        self.writes.get() + self.reads.get()
    }

    /// Writes `data` at `offset`, block by block.
    fn put(&self, mut offset: u64, mut data: &[u8]) {
        let mut blocks = self.blocks.borrow_mut();
        while !data.is_empty() {
            let block = blocks
                .entry(offset / BLOCK)
                .or_insert_with(|| vec![0u8; BLOCK as usize].into_boxed_slice());
            let at = (offset % BLOCK) as usize;
            let n = data.len().min(BLOCK as usize - at);
            block[at..at + n].copy_from_slice(&data[..n]);
            offset += n as u64;
            data = &data[n..];
        }
        self.len.set(self.len.get().max(offset));
    }
}

impl OutputFile for MemoryFile {
    fn write_vectored_at(&self, slices: &[IoSlice<'_>], offset: u64) -> io::Result<usize> {
        self.writes.set(self.writes.get() + 1);
        assert!(slices.len() <= MAX_IOVECS, "{} iovecs", slices.len());
        if offset >= self.limit {
            return Err(io::Error::from_raw_os_error(libc::EFBIG));
        }
        let most = (self.max_write as u64).min(self.limit - offset);
        let mut at = offset;
        for slice in slices {
            let n = (slice.len() as u64).min(offset + most - at) as usize;
            self.put(at, &slice[..n]);
            at += n as u64;
        }
        Ok((at - offset) as usize)
    }

    fn read_at(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
        self.reads.set(self.reads.get() + 1);
        assert!(self.readable, "read from a write-only file");
        if self.interrupted_reads.get() > 0 {
            self.interrupted_reads.set(self.interrupted_reads.get() - 1);
            return Err(io::Error::from_raw_os_error(libc::EINTR));
        }
        if self.failed_reads.get() > 0 {
            self.failed_reads.set(self.failed_reads.get() - 1);
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        let available = self
            .len
            .get()
            .saturating_sub(offset)
            .min(buffer.len() as u64) as usize;
        let blocks = self.blocks.borrow();
        let mut done = 0;
        while done < available {
            let at = offset + done as u64;
            let within = (at % BLOCK) as usize;
            let n = (available - done).min(BLOCK as usize - within);
            match blocks.get(&(at / BLOCK)) {
                Some(block) => buffer[done..done + n].copy_from_slice(&block[within..within + n]),
                None => buffer[done..done + n].fill(0),
            }
            done += n;
        }
        Ok(available)
    }

    fn allocate(&self, offset: u64, len: u64) {
        self.allocations.borrow_mut().push((offset, len));
    }

    fn readable(&self) -> bool {
        self.readable
    }

    fn block_size(&self) -> u64 {
        BLOCK
    }
}

/// One record: output offset and payload.
type Write = (u64, Vec<u8>);

/// Sends `writes` through gather and the segment writer, `per_batch` records per batch (the input buffer
/// holds the payloads of one batch).
fn reassemble_into(
    file: &MemoryFile,
    writes: &[Write],
    per_batch: usize,
) -> Result<(), WriteFailure> {
    let mut writer = SegmentWriter::new(file);
    write_batches(&mut writer, file, writes, per_batch)
}

/// [`reassemble_into`] with a given writer (which knows what earlier batches wrote).
fn write_batches(
    writer: &mut SegmentWriter,
    file: &MemoryFile,
    writes: &[Write],
    per_batch: usize,
) -> Result<(), WriteFailure> {
    let mut batch = Batch::new(usize::MAX);
    for (batch_index, chunk) in writes.chunks(per_batch.max(1)).enumerate() {
        let mut buffer = Vec::new();
        for (i, (offset, data)) in chunk.iter().enumerate() {
            let record = RecordHeader {
                index: (batch_index * per_batch + i) as u64,
                position: 0,
                offset: *offset,
                size: data.len() as u64,
            };
            batch.add(&record, *offset, buffer.len()..buffer.len() + data.len());
            buffer.extend_from_slice(data);
        }
        let (segments, _) = batch.resolve();
        writer.write(file, &buffer, segments)?;
        batch.clear();
    }
    Ok(())
}

/// The model: later writes win; the blocks any write touches.
fn model(writes: &[Write]) -> (BTreeMap<u64, u8>, BTreeSet<u64>) {
    let mut bytes = BTreeMap::new();
    let mut blocks = BTreeSet::new();
    for (offset, data) in writes {
        for (i, &b) in data.iter().enumerate() {
            bytes.insert(offset + i as u64, b);
            blocks.insert((offset + i as u64) / BLOCK);
        }
    }
    (bytes, blocks)
}

fn assert_matches_model(file: &MemoryFile, writes: &[Write]) {
    let (expected, blocks) = model(writes);
    let written = file.blocks.borrow();
    // holes stay holes: no block is written that no record touches
    let written_blocks: BTreeSet<u64> = written.keys().copied().collect();
    assert_eq!(written_blocks, blocks, "written blocks");
    // every byte of the written blocks is the model's (zero where no record writes)
    for (block, bytes) in written.iter() {
        for (i, byte) in bytes.iter().enumerate() {
            let offset = block * BLOCK + i as u64;
            assert_eq!(
                *byte,
                expected.get(&offset).copied().unwrap_or(0),
                "byte at {offset:#x}"
            );
        }
    }
}

/// Offsets of one-byte records in the orders of the benchmark and worse, `n` records.
fn order(kind: u8, n: u64, stride: u64) -> Vec<u64> {
    let mut offsets: Vec<u64> = (0..n).map(|i| i * stride).collect();
    match kind {
        0 => {}
        1 => offsets.reverse(),
        2 => {
            // two interleaved ascending streams, one far above the other
            let half = offsets.split_off(n as usize / 2);
            offsets = half
                .iter()
                .zip(&offsets)
                .flat_map(|(&a, &b)| [a + (1 << 30), b])
                .collect();
        }
        _ => {
            // descending within windows of 7
            for window in offsets.chunks_mut(7) {
                window.reverse();
            }
        }
    }
    offsets
}

fn writes_strategy() -> impl Strategy<Value = Vec<Write>> {
    let write = (
        prop_oneof![Just(0u64), Just(40_000), Just(1 << 32)],
        0u64..20_000,
        prop_oneof![4 => 1usize..8, 4 => 1usize..700, 1 => 3000usize..9000],
        any::<u8>(),
    )
        .prop_map(|(base, offset, len, fill)| {
            let data = (0..len).map(|i| fill.wrapping_add(i as u8) | 1).collect();
            (base + offset, data)
        });
    prop::collection::vec(write, 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn any_writes_in_any_batches_give_the_model_with_short_writes(
        writes in writes_strategy(),
        per_batch in 1usize..30,
        max_write in prop_oneof![Just(usize::MAX), 1usize..5000],
    ) {
        let file = MemoryFile::new(max_write);
        reassemble_into(&file, &writes, per_batch).unwrap();
        assert_matches_model(&file, &writes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn tiny_records_in_any_order_give_the_model(
        kind in 0u8..4,
        n in 1u64..3000,
        stride in prop_oneof![Just(1u64), Just(2), Just(4095), Just(4096), Just(5000)],
        per_batch in 1usize..1500,
    ) {
        let writes: Vec<Write> =
            order(kind, n, stride).into_iter().map(|o| (o, vec![(o % 251) as u8 + 1])).collect();
        let file = MemoryFile::new(usize::MAX);
        reassemble_into(&file, &writes, per_batch).unwrap();
        assert_matches_model(&file, &writes);
    }
}

#[test]
fn a_write_only_output_is_never_read_back() {
    let writes: Vec<Write> = order(1, 5000, 100)
        .into_iter()
        .map(|o| (o, vec![7]))
        .collect();
    let mut file = MemoryFile::new(usize::MAX);
    file.readable = false;
    reassemble_into(&file, &writes, 1000).unwrap();
    assert_matches_model(&file, &writes);
    assert_eq!(file.reads.get(), 0);
}

/// System calls for one-byte records in one batch, on a fresh file.
fn syscalls_for(offsets: Vec<u64>, previous: &[Write]) -> (usize, MemoryFile) {
    let file = MemoryFile::new(usize::MAX);
    let mut writer = SegmentWriter::new(&file);
    write_batches(&mut writer, &file, previous, usize::MAX).unwrap();
    let before = file.syscalls();
    let writes: Vec<Write> = offsets.into_iter().map(|o| (o, vec![1])).collect();
    write_batches(&mut writer, &file, &writes, usize::MAX).unwrap();
    let mut all = previous.to_vec();
    all.extend(writes);
    assert_matches_model(&file, &all);
    (file.syscalls() - before, file)
}

#[test]
fn tiny_records_cost_a_fraction_of_a_system_call_each() {
    const N: u64 = 8 << 10;
    // contiguous, descending: one scratch copy, one pwrite
    assert_eq!(syscalls_for(order(1, N, 1), &[]).0, 1);
    // 4 KiB apart past everything written: zero-filled gaps, 2 iovecs per record
    let (calls, file) = syscalls_for(order(0, N, 4096), &[]);
    assert_eq!(
        calls,
        ((N - 1) * 4096 + 1).div_ceil(MAX_WRITE as u64) as usize
    );
    assert_eq!(file.reads.get(), 0);
    // one large span: its blocks allocated at once
    assert_eq!(file.allocations.borrow().len(), 1);
    // 4 KiB apart below what an earlier batch wrote: read back and written back 256 KiB at a time
    let earlier = [((N - 1) * 4096 + 100, vec![9u8])];
    let (calls, file) = syscalls_for(order(1, N, 4096), &earlier);
    assert_eq!(calls, 2 * (N * 4096).div_ceil(SCRATCH_SIZE as u64) as usize);
    assert!(file.allocations.borrow().len() <= 1);
    // 5000 apart: the gaps hold whole blocks, so one pwrite each (never two system calls)
    assert_eq!(syscalls_for(order(3, N, 5000), &[]).0, N as usize);
}

#[test]
fn large_records_in_any_order_within_a_batch_cost_one_pwritev_per_256_kib() {
    // 4 KiB records shuffled: after ordering, one contiguous span
    let mut writes: Vec<Write> = (0..1000u64)
        .map(|i| (i * 4096, vec![(i % 200) as u8 + 1; 4096]))
        .collect();
    writes.reverse();
    writes.swap(3, 700);
    let file = MemoryFile::new(usize::MAX);
    reassemble_into(&file, &writes, usize::MAX).unwrap();
    assert_matches_model(&file, &writes);
    assert_eq!(file.writes.get(), (1000 * 4096usize).div_ceil(MAX_WRITE));
    assert_eq!(*file.allocations.borrow(), vec![(0, 1000 * 4096)]);
    // small spans are never allocated
    let file = MemoryFile::new(usize::MAX);
    reassemble_into(&file, &writes[..10], usize::MAX).unwrap();
    assert!(file.allocations.borrow().is_empty());
}

#[test]
fn a_failed_write_names_the_first_offset_not_written() {
    let mut file = MemoryFile::new(usize::MAX);
    file.limit = 10_000;
    let writes: Vec<Write> = vec![(0, vec![1; 9000]), (9000, vec![2; 3000])];
    let failure = reassemble_into(&file, &writes, 10).unwrap_err();
    assert_eq!(failure.offset, 10_000);
    assert_eq!(failure.error.raw_os_error(), Some(libc::EFBIG));
}

#[test]
fn a_record_longer_than_one_write_goes_out_in_cuts_of_max_write() {
    let writes: Vec<Write> = vec![
        (0, vec![3; 5]),
        (5, (0..600_000).map(|i| (i % 253) as u8 + 1).collect()),
        (600_005, vec![4; 7]),
    ];
    let file = MemoryFile::new(usize::MAX);
    reassemble_into(&file, &writes, 10).unwrap();
    assert_matches_model(&file, &writes);
    assert_eq!(file.writes.get(), 600_012usize.div_ceil(MAX_WRITE));
}

/// Records 700 bytes apart, in one batch, below what an earlier batch wrote, the first `first_len` bytes
/// long and the others `len`: the (reads, writes) they cost.
fn calls_below_earlier_bytes(first_len: usize, len: usize, n: u64) -> (usize, usize) {
    let file = MemoryFile::new(usize::MAX);
    let mut writer = SegmentWriter::new(&file);
    let earlier = [(n * 5000, vec![9u8])];
    write_batches(&mut writer, &file, &earlier, usize::MAX).unwrap();
    let (reads, writes) = (file.reads.get(), file.writes.get());
    let records: Vec<Write> = (0..n)
        .map(|i| {
            (
                i * 700,
                vec![i as u8 | 1; if i == 0 { first_len } else { len }],
            )
        })
        .collect();
    write_batches(&mut writer, &file, &records, usize::MAX).unwrap();
    let mut all = earlier.to_vec();
    all.extend(records);
    assert_matches_model(&file, &all);
    (file.reads.get() - reads, file.writes.get() - writes)
}

/// Segments shorter than [`COPY_BELOW`] around gaps that earlier batches may have written are read back
/// and written back together (one read, one write); a segment of [`COPY_BELOW`] bytes or more is never
/// joined to them: it goes out on its own, and nothing is read back for it.
#[test]
fn only_segments_shorter_than_copy_below_are_read_back_around_gaps() {
    let n = 40;
    let small = COPY_BELOW - 1;
    assert_eq!(calls_below_earlier_bytes(small, small, n), (1, 1));
    assert_eq!(
        calls_below_earlier_bytes(small, COPY_BELOW, n),
        (0, n as usize)
    );
    assert_eq!(
        calls_below_earlier_bytes(COPY_BELOW, COPY_BELOW, n),
        (0, n as usize)
    );
}

/// A gap is read back only where earlier batches may have written it: a gap that starts at the end of
/// everything written so far is zeros, written without reading.
#[test]
fn a_gap_starting_where_earlier_writes_end_is_not_read_back() {
    let earlier = [(0, vec![9u8; 100])];
    // the first record ends at 100, the end of the earlier bytes: the gap 100..200 is new
    let (_, file) = syscalls_for(vec![99, 200], &earlier);
    assert_eq!((file.reads.get(), file.writes.get()), (0, 2));
    // one byte earlier, the gap 99..200 holds an earlier byte (at 99): read back (up to the file's
    // end), then one write
    let (_, file) = syscalls_for(vec![98, 200], &earlier);
    assert!(file.reads.get() > 0);
    assert_eq!(file.writes.get(), 2);
}

/// Reading back the output around small records continues after EINTR.
#[test]
fn an_interrupted_read_back_is_retried() {
    let file = MemoryFile::new(usize::MAX);
    let mut writer = SegmentWriter::new(&file);
    let earlier = [(0, vec![5u8; 10_000])];
    write_batches(&mut writer, &file, &earlier, usize::MAX).unwrap();
    file.interrupted_reads.set(3);
    let writes: Vec<Write> = (0..20).map(|i| (i * 300, vec![i as u8 | 1; 10])).collect();
    write_batches(&mut writer, &file, &writes, usize::MAX).unwrap();
    assert_eq!(file.interrupted_reads.get(), 0);
    let mut all = earlier.to_vec();
    all.extend(writes);
    assert_matches_model(&file, &all);
}

/// A read-back that fails (not EINTR) is the batch's failure, at the offset it could not read; it is not
/// retried, and nothing of the span is written.
#[test]
fn a_failed_read_back_is_reported_not_retried() {
    let file = MemoryFile::new(usize::MAX);
    let mut writer = SegmentWriter::new(&file);
    let earlier = [(0, vec![5u8; 10_000])];
    write_batches(&mut writer, &file, &earlier, usize::MAX).unwrap();
    let writes_before = file.writes.get();
    file.failed_reads.set(1);
    let writes: Vec<Write> = (0..20)
        .map(|i| (100 + i * 300, vec![i as u8 | 1; 10]))
        .collect();
    let failure = write_batches(&mut writer, &file, &writes, usize::MAX).unwrap_err();
    assert_eq!(failure.offset, 100);
    assert!(
        failure
            .error
            .to_string()
            .contains("reading back the output"),
        "{}",
        failure.error
    );
    assert_eq!(
        file.writes.get(),
        writes_before,
        "nothing written after the failed read"
    );
}

#[test]
fn records_a_gap_of_less_than_a_block_apart_share_one_write() {
    // BLOCK - 1 zero bytes between two records: one write with the gap filled
    assert_eq!(syscalls_for(vec![0, BLOCK], &[]).0, 1);
    // a whole block between them: a write each
    assert_eq!(syscalls_for(vec![0, BLOCK + 1], &[]).0, 2);
}

#[test]
fn small_records_are_copied_a_scratch_buffer_at_a_time() {
    // contiguous 400-byte records (copied, being shorter than COPY_BELOW): a write each time the scratch
    // buffer holds as many whole records as fit in it (descending: each record its own segment), the
    // scratch buffer never larger than SCRATCH_SIZE
    let per_scratch = SCRATCH_SIZE / 400;
    let writes: Vec<Write> = (0..3 * per_scratch as u64 + 7)
        .rev()
        .map(|i| (i * 400, vec![(i % 250) as u8 + 1; 400]))
        .collect();
    let file = MemoryFile::new(usize::MAX);
    let mut writer = SegmentWriter::new(&file);
    write_batches(&mut writer, &file, &writes, usize::MAX).unwrap();
    assert_matches_model(&file, &writes);
    assert_eq!(file.writes.get(), 4);
    // the scratch buffer never grew: the writer's memory is bounded whatever the span
    assert_eq!(writer.scratch.capacity(), SCRATCH_SIZE);
}

#[test]
fn a_scratch_buffer_filled_exactly_is_written_whole() {
    // 256-byte records divide SCRATCH_SIZE: the buffer is flushed when the next record does not fit,
    // not when it would merely fill it, so three buffers' worth of records take exactly three writes
    for descending in [false, true] {
        let count = 3 * (SCRATCH_SIZE / 256) as u64;
        let writes: Vec<Write> = (0..count)
            .map(|i| if descending { count - 1 - i } else { i })
            .map(|i| (i * 256, vec![(i % 250) as u8 + 1; 256]))
            .collect();
        let file = MemoryFile::new(usize::MAX);
        let mut writer = SegmentWriter::new(&file);
        write_batches(&mut writer, &file, &writes, usize::MAX).unwrap();
        assert_matches_model(&file, &writes);
        assert_eq!(file.writes.get(), 3, "descending: {descending}");
    }
}

#[test]
fn contiguous_records_below_earlier_bytes_are_not_read_back() {
    let earlier = [(1 << 20, vec![9u8])];
    // one-byte records, descending (a segment each), no gap: one scratch copy, one pwrite, no read
    let (calls, file) = syscalls_for(order(1, 100, 1), &earlier);
    assert_eq!((calls, file.reads.get()), (1, 0));
    // 4 KiB records, descending: one pwritev
    let writes: Vec<Write> = (0..10u64)
        .rev()
        .map(|i| (i * 4096, vec![i as u8 + 1; 4096]))
        .collect();
    let file = MemoryFile::new(usize::MAX);
    let mut writer = SegmentWriter::new(&file);
    write_batches(&mut writer, &file, &earlier, usize::MAX).unwrap();
    write_batches(&mut writer, &file, &writes, usize::MAX).unwrap();
    assert_eq!((file.writes.get(), file.reads.get()), (2, 0));
}
