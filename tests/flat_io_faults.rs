//! Fault-injecting I/O around the flattened format, written against the public API only (`reassemble`,
//! `reassemble_file`, `FlatReader`, `FlatSink`, `FlatIndex`), so that it holds for any implementation:
//! - a reader delivering the stream in arbitrary pieces, the bytes after the end marker arriving late;
//! - writers returning short writes and `EINTR` (in process for the sinks; for the reassembler's
//!   `pwritev`, through an `LD_PRELOAD` shim under the real binary);
//! - reassembly into an existing, longer file; more than IOV_MAX contiguous pieces in one buffer;
//! - `FlatSink` at offsets around 2^63 and with empty writes;
//! - record headers straddling the index's 1 MiB (and 4 KiB) header-scan windows at every alignment.
//!
//! Expected bytes come from a plain replay of the writes (later writes win, holes are zeros).

use crate::support::flat::StreamBuilder;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use kdump_flat::flat::index::FlatIndex;
use kdump_flat::flat::{
    reassemble, reassemble_file, FlatEvent, FlatInvariant, FlatReader, ParseMode, ReassembleOptions,
};
use kdump_flat::readat::ReadAt;
use kdump_flat::sink::{DumpSink, FlatSink, RawSink};
use proptest::prelude::*;

/// One write: offset and bytes.
type Write_ = (u64, Vec<u8>);

/// The byte model of the writes (support::flat::replay_writes).
fn replay(writes: &[Write_]) -> Vec<u8> {
    crate::support::flat::replay_writes(writes)
}

/// The flattened stream of the writes, built from the format definition (not by `FlatSink`).
fn stream_of(writes: &[Write_]) -> Vec<u8> {
    writes
        .iter()
        .fold(StreamBuilder::new(), |builder, (offset, data)| {
            builder.record(*offset as i64, data.len() as i64, data)
        })
        .end()
        .build()
}

/// Distinct, recognisable payload bytes for write `index`.
fn payload(index: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ (index as u8).wrapping_add(1))
        .collect()
}

/// A new file for reading and writing, empty.
fn new_file(path: &Path) -> File {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap()
}

fn file_bytes(file: &File) -> Vec<u8> {
    let mut bytes = vec![0u8; file.metadata().unwrap().len() as usize];
    file.read_exact_at(0, &mut bytes).unwrap();
    bytes
}

/// A reader that delivers `data` in the pieces given by `cuts` (positions where a `read` must stop), at
/// most `max` bytes per read, and returns `EINTR` before every third piece.
struct PieceReader {
    data: Vec<u8>,
    position: usize,
    cuts: Vec<usize>,
    max: usize,
    calls: u64,
}

impl PieceReader {
    fn new(data: Vec<u8>, mut cuts: Vec<usize>, max: usize) -> Self {
        cuts.sort_unstable();
        PieceReader {
            data,
            position: 0,
            cuts,
            max: max.max(1),
            calls: 0,
        }
    }
}

impl Read for PieceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 3 == 0 {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let next_cut = self
            .cuts
            .iter()
            .copied()
            .find(|&cut| cut > self.position)
            .unwrap_or(self.data.len());
        let n = (next_cut - self.position)
            .min(self.max)
            .min(buf.len())
            .min(self.data.len() - self.position);
        buf[..n].copy_from_slice(&self.data[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

/// Writes with trailing bytes after the end marker: the reassembly (lenient) must equal the replay whatever
/// the pieces, in particular when the trailing bytes come in a later read than the end marker.
fn assert_lenient_reassembly_with_late_tail(
    writes: &[Write_],
    tail: &[u8],
    cuts: Vec<usize>,
    max: usize,
) {
    let mut stream = stream_of(writes);
    let marker_end = stream.len();
    stream.extend_from_slice(tail);
    let mut cuts = cuts;
    cuts.push(marker_end); // the trailing bytes never come with the end marker
    let dir = tempfile::tempdir().unwrap();
    let mut output = new_file(&dir.path().join("out"));
    let options = ReassembleOptions {
        mode: ParseMode::Lenient,
        ..Default::default()
    };
    let summary = reassemble(
        PieceReader::new(stream.clone(), cuts.clone(), max),
        &mut output,
        options,
    )
    .expect("lenient reassembly with trailing bytes");
    assert_eq!(file_bytes(&output), replay(writes), "reassembled bytes");
    assert_eq!(summary.input_bytes, stream.len() as u64);
    assert_eq!(summary.records, writes.len() as u64);
    let f12: Vec<_> = summary
        .warnings
        .iter()
        .filter(|w| w.0.invariant == FlatInvariant::F12)
        .collect();
    assert_eq!(f12.len(), 1, "one F12 warning: {:?}", summary.warnings);
    assert!(
        f12[0]
            .0
            .to_string()
            .contains(&format!("{} bytes follow", tail.len())),
        "{}",
        f12[0].0
    );

    // the streaming reader yields the same payload bytes
    let mut reader = FlatReader::with_chunk_size(
        PieceReader::new(stream, cuts, max),
        ParseMode::Lenient,
        4096,
    );
    let mut replayed = Vec::new();
    let mut ended = false;
    while let Some(event) = reader.next_event().unwrap() {
        match event {
            FlatEvent::Data { offset, bytes, .. } => replayed.push((offset, bytes.to_vec())),
            FlatEvent::End => ended = true,
            FlatEvent::Record(_) => {}
        }
    }
    assert!(ended);
    assert_eq!(replay(&replayed), replay(writes), "streamed payloads");
}

#[test]
fn lenient_trailing_bytes_arriving_after_the_end_marker_leave_the_payloads_intact() {
    let writes: Vec<Write_> = vec![
        (0, payload(0, 4096)),
        (8192, payload(1, 100)),
        (50, payload(2, 7)),
    ];
    // the whole stream up to the end marker in one read, then the tail
    assert_lenient_reassembly_with_late_tail(&writes, b"junk after the end", vec![], usize::MAX);
    // the tail one byte per read
    assert_lenient_reassembly_with_late_tail(&writes, &[0; 9], vec![], usize::MAX);
    // the stream in small pieces, with a cut just before and inside the end marker
    let len = stream_of(&writes).len();
    for before in [1, 8, 15, 16, 17] {
        assert_lenient_reassembly_with_late_tail(&writes, b"x", vec![len - before], 1000);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn lenient_trailing_bytes_in_any_pieces(
        sizes in prop::collection::vec((0u64..20_000, 1usize..5000), 1..8),
        tail_len in 1usize..3000,
        cuts in prop::collection::vec(0usize..60_000, 0..6),
        max in prop_oneof![Just(usize::MAX), 1usize..5000],
    ) {
        let mut writes: Vec<Write_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &(offset, len))| (offset, payload(i, len)))
            .collect();
        writes[0].0 = 0;
        let tail: Vec<u8> = (0..tail_len).map(|i| i as u8 | 1).collect();
        assert_lenient_reassembly_with_late_tail(&writes, &tail, cuts, max);
    }
}

/// More than IOV_MAX (1024) records that continue each other, all in one input buffer.
#[test]
fn more_than_iov_max_contiguous_pieces_in_one_buffer() {
    for count in [1023usize, 1024, 1025, 2049, 3000] {
        let writes: Vec<Write_> = (0..count)
            .map(|i| (i as u64 * 16, payload(i, 16)))
            .collect();
        let stream = stream_of(&writes);
        assert!(stream.len() < 1 << 20, "one buffer");
        let dir = tempfile::tempdir().unwrap();
        let mut output = new_file(&dir.path().join("out"));
        let summary = reassemble(&stream[..], &mut output, ReassembleOptions::default()).unwrap();
        assert_eq!(summary.records, count as u64);
        assert_eq!(file_bytes(&output), replay(&writes), "{count} pieces");
    }
}

/// The output file exists and is longer, with other bytes: nothing of it survives, holes read as zeros.
#[test]
fn reassembly_into_an_existing_longer_file_leaves_none_of_its_bytes() {
    let writes: Vec<Write_> = vec![
        (0, payload(0, 4096)),
        (3 << 20, payload(1, 4096)),
        (20_000, payload(2, 333)),
    ];
    let stream = stream_of(&writes);
    let dir = tempfile::tempdir().unwrap();
    let stream_path = dir.path().join("in.flat");
    std::fs::write(&stream_path, &stream).unwrap();
    for via_file in [false, true] {
        let path = dir.path().join(format!("out-{via_file}"));
        std::fs::write(&path, vec![0xa5u8; 5 << 20]).unwrap();
        let mut output = File::options().read(true).write(true).open(&path).unwrap();
        if via_file {
            let input = File::open(&stream_path).unwrap();
            reassemble_file(input, &mut output, ReassembleOptions::default()).unwrap();
        } else {
            reassemble(&stream[..], &mut output, ReassembleOptions::default()).unwrap();
        }
        assert_eq!(file_bytes(&output), replay(&writes), "via_file={via_file}");
    }
}

/// A writer that accepts at most a few bytes per call and returns `EINTR` on every other call.
struct StutteringWriter<W> {
    inner: W,
    calls: u64,
    max: usize,
}

impl<W: Write> Write for StutteringWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 0 {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let n = buf.len().min(1 + (self.calls as usize * 7) % self.max);
        self.inner.write(&buf[..n])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Seek> Seek for StutteringWriter<W> {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        self.inner.seek(position)
    }
}

fn stuttering<W>(inner: W) -> StutteringWriter<W> {
    StutteringWriter {
        inner,
        calls: 0,
        max: 37,
    }
}

#[test]
fn sinks_survive_short_writes_and_eintr() {
    let writes: Vec<Write_> = vec![
        (0, payload(0, 1000)),
        (5000, payload(1, 1)),
        (10, payload(2, 300)),
        (6000, Vec::new()),
    ];
    let mut flat = FlatSink::new(stuttering(Vec::new()));
    let mut raw = RawSink::new(stuttering(io::Cursor::new(Vec::new())));
    for (offset, data) in &writes {
        flat.write_at(*offset, data).unwrap();
        raw.write_at(*offset, data).unwrap();
    }
    flat.finish().unwrap();
    raw.finish().unwrap();
    assert_eq!(flat.into_inner().inner, stream_of(&writes));
    // the empty write at 6000 does not extend the raw file (it is no record of the replay's length either)
    let expected = replay(&writes[..3]);
    assert_eq!(raw.into_inner().inner.into_inner(), expected);
}

/// The record header bytes `FlatSink` writes for one write at `offset`.
fn flat_sink_record(offset: u64, data: &[u8]) -> io::Result<Vec<u8>> {
    let mut sink = FlatSink::new(Vec::new());
    sink.write_at(offset, data)?;
    sink.finish()?;
    Ok(sink.into_inner())
}

#[test]
fn flat_sink_offsets_from_2_pow_63_are_errors_not_negative_offsets() {
    for offset in [1u64 << 63, (1 << 63) + 1, u64::MAX] {
        let error = flat_sink_record(offset, b"x").expect_err("offset ≥ 2^63");
        assert!(error.to_string().contains("exceeds i64"), "{error}");
    }
    for offset in [(1u64 << 63) - 1, (1 << 63) - 2, 1 << 62, (1 << 32) + 1] {
        let stream = flat_sink_record(offset, b"x").unwrap();
        assert_eq!(
            stream,
            StreamBuilder::new()
                .record(offset as i64, 1, b"x")
                .end()
                .build()
        );
    }
}

#[test]
fn flat_sink_writes_an_empty_write_as_a_zero_size_record() {
    let mut sink = FlatSink::new(Vec::new());
    sink.write_at(0, b"ab").unwrap();
    sink.write_at(4096, &[]).unwrap();
    sink.write_at(1, b"c").unwrap();
    assert_eq!(sink.records(), 3);
    sink.finish().unwrap();
    sink.finish().unwrap(); // a second finish adds nothing
    let expected = StreamBuilder::new()
        .record(0, 2, b"ab")
        .record(4096, 0, b"")
        .record(1, 1, b"c")
        .end()
        .build();
    assert_eq!(sink.into_inner(), expected);
    let mut finished = FlatSink::new(Vec::new());
    finished.finish().unwrap();
    assert!(finished.write_at(0, b"x").is_err(), "a write after finish");
}

/// Records laid out so that a header starts `15 − k` bytes before a scan window ends, for every k: the
/// header straddles the window edge at every alignment (and also ends exactly at it, and starts at it).
fn straddling_writes(window: u64, large_payload_first: bool) -> Vec<Write_> {
    let mut writes: Vec<Write_> = Vec::new();
    let mut position = 4096u64; // where the next record header starts
    let mut window_start = position;
    let mut offset = 0u64;
    if large_payload_first {
        // a payload of at least 1 MiB makes the next window a small one
        let len = 1 << 20;
        writes.push((offset, payload(0, len)));
        offset += len as u64;
        position += 16 + len as u64;
        window_start = position;
    }
    for before_edge in (0..=17u64).rev() {
        // a record whose payload ends `before_edge` bytes before the window's end
        let next_header = window_start + window - before_edge;
        let len = next_header - position - 16;
        writes.push((offset, payload(writes.len(), len as usize)));
        offset += len;
        position = next_header;
        window_start = if before_edge < 16 {
            position
        } else {
            window_start
        };
        if before_edge >= 16 {
            // the header fits: one more small record to get to a fresh window
            writes.push((offset, payload(writes.len(), 1)));
            offset += 1;
            position += 17;
            window_start = position;
        }
        if large_payload_first {
            let len = 1 << 20;
            writes.push((offset, payload(writes.len(), len)));
            offset += len as u64;
            position += 16 + len as u64;
            window_start = position;
        }
    }
    writes
}

#[test]
fn index_reads_headers_straddling_every_scan_window_edge_at_every_alignment() {
    for (window, large) in [(1u64 << 20, false), (4096, true)] {
        let writes = straddling_writes(window, large);
        let stream = stream_of(&writes);
        let expected = replay(&writes);
        let index = FlatIndex::open(stream.as_slice()).unwrap();
        assert_eq!(index.len(), expected.len() as u64);
        let mut read = vec![0u8; expected.len()];
        index.read_exact_at(0, &mut read).unwrap();
        assert!(
            read == expected,
            "window {window}: reads differ from the replay"
        );
        // the writes continue each other: one extent per record, pointing at its payload
        let mut position = 4096u64;
        let expected_extents: Vec<(u64, u64, Option<u64>)> = writes
            .iter()
            .map(|(offset, data)| {
                position += 16 + data.len() as u64;
                (
                    *offset,
                    data.len() as u64,
                    Some(position - data.len() as u64),
                )
            })
            .collect();
        assert_eq!(index.extents().collect::<Vec<_>>(), expected_extents);
    }
}

/// A preloaded shim that makes `pwrite`/`pwritev` write at most 1000 bytes per call and fail with `EINTR`
/// on every third call; built with the system C compiler.
const SHORT_WRITE_SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/types.h>
#include <sys/uio.h>

static unsigned long calls;
static const size_t most = 1000;

static int interrupt(void) { return ++calls % 3 == 0; }

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t offset) {
    static ssize_t (*real)(int, const struct iovec *, int, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwritev");
    if (n > 1024) { errno = EINVAL; return -1; }
    if (interrupt()) { errno = EINTR; return -1; }
    struct iovec cut[1024];
    size_t total = 0;
    int used = 0;
    for (int i = 0; i < n && used < 1024 && total < most; i++) {
        cut[used] = iov[i];
        if (cut[used].iov_len > most - total) cut[used].iov_len = most - total;
        total += cut[used].iov_len;
        used++;
    }
    return real(fd, cut, used, offset);
}
ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t offset) {
    return pwritev(fd, iov, n, offset);
}
ssize_t pwrite(int fd, const void *buf, size_t len, off_t offset) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwrite");
    if (interrupt()) { errno = EINTR; return -1; }
    return real(fd, buf, len < most ? len : most, offset);
}
ssize_t pwrite64(int fd, const void *buf, size_t len, off_t offset) {
    return pwrite(fd, buf, len, offset);
}
"#;

/// Builds the preloadable shim `name` from C `source` with the system C compiler.
fn build_shim(dir: &Path, name: &str, source: &str) -> std::path::PathBuf {
    let source_path = dir.join(format!("{name}.c"));
    let library = dir.join(format!("{name}.so"));
    std::fs::write(&source_path, source).unwrap();
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&library)
        .arg(&source_path)
        .arg("-ldl")
        .status()
        .unwrap_or_else(|e| panic!("the C compiler `cc` (needed to build the {name} shim): {e}"));
    assert!(status.success(), "building the {name} shim");
    library
}

/// Runs `kdump-flat reassemble --force [options]` on `writes` (sent through the flattened format) with
/// `shim` preloaded and `env` set, and checks that it succeeds with the byte model's output.
fn reassemble_under_shim(
    dir: &Path,
    shim: &Path,
    writes: &[Write_],
    env: &[(&str, &Path)],
    options: &[&str],
) {
    let input = dir.join("in.flat");
    std::fs::write(&input, stream_of(writes)).unwrap();
    let output = dir.join("out");
    let result = Command::cargo_bin("kdump-flat")
        .unwrap()
        .env("LD_PRELOAD", shim)
        .envs(env.iter().copied())
        .args(["reassemble", "--force"])
        .args(options)
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        std::fs::read(&output).unwrap() == replay(writes),
        "reassembled bytes"
    );
}

/// The real binary, its `pwritev`s cut short and interrupted: the output is still the replay.
#[test]
fn reassemble_survives_short_pwritev_and_eintr() {
    let dir = tempfile::tempdir().unwrap();
    let shim = build_shim(dir.path(), "short-write", SHORT_WRITE_SHIM);
    // 5.6 MB of input: more buffers than reassembly keeps in circulation, so each is reused
    let writes: Vec<Write_> = (0..8000)
        .map(|i| (i as u64 * 700, payload(i, 700 + i % 5)))
        .chain([(10 << 20, payload(7, 5000)), (5, payload(8, 3))])
        .collect();
    reassemble_under_shim(dir.path(), &shim, &writes, &[], &[]);
}

/// A preloaded shim that counts the output system calls of the process (`pwritev`, `pwrite`, `write`,
/// `fallocate`, `pread`, `sync_file_range`) and writes the counts to `$SYSCALL_COUNTS` when the process
/// exits.
const COUNTING_SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/uio.h>

static unsigned long n_pwritev, n_pwrite, n_write, n_fallocate, n_pread, n_sync_file_range;

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("SYSCALL_COUNTS");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f) return;
    fprintf(f, "pwritev %lu\npwrite %lu\nwrite %lu\nfallocate %lu\npread %lu\nsync_file_range %lu\n",
            n_pwritev, n_pwrite, n_write, n_fallocate, n_pread, n_sync_file_range);
    fclose(f);
}

#define FORWARD(ret, name, counter, params, args)                        \
    ret name params {                                                     \
        static ret (*real) params;                                        \
        if (!real) real = dlsym(RTLD_NEXT, #name);                        \
        __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);                \
        return real args;                                                 \
    }
FORWARD(ssize_t, pwritev, n_pwritev, (int fd, const struct iovec *iov, int n, off_t o), (fd, iov, n, o))
FORWARD(ssize_t, pwritev64, n_pwritev, (int fd, const struct iovec *iov, int n, off_t o), (fd, iov, n, o))
FORWARD(ssize_t, pwrite, n_pwrite, (int fd, const void *b, size_t l, off_t o), (fd, b, l, o))
FORWARD(ssize_t, pwrite64, n_pwrite, (int fd, const void *b, size_t l, off_t o), (fd, b, l, o))
FORWARD(ssize_t, write, n_write, (int fd, const void *b, size_t l), (fd, b, l))
FORWARD(int, fallocate, n_fallocate, (int fd, int m, off_t o, off_t l), (fd, m, o, l))
FORWARD(int, fallocate64, n_fallocate, (int fd, int m, off_t o, off_t l), (fd, m, o, l))
FORWARD(ssize_t, pread, n_pread, (int fd, void *b, size_t l, off_t o), (fd, b, l, o))
FORWARD(ssize_t, pread64, n_pread, (int fd, void *b, size_t l, off_t o), (fd, b, l, o))
FORWARD(int, sync_file_range, n_sync_file_range, (int fd, off_t o, off_t l, unsigned int f), (fd, o, l, f))
"#;

/// Output system calls of `kdump-flat reassemble [options]` on `writes` (sent through the flattened
/// format), by name, after checking the output against the byte model.
fn reassembly_syscalls(
    dir: &Path,
    shim: &Path,
    writes: &[Write_],
    options: &[&str],
) -> std::collections::BTreeMap<String, u64> {
    let counts = dir.join("counts");
    reassemble_under_shim(dir, shim, writes, &[("SYSCALL_COUNTS", &counts)], options);
    std::fs::read_to_string(&counts)
        .expect("the counting shim's report")
        .lines()
        .map(|line| {
            let (name, n) = line.split_once(' ').unwrap();
            (name.to_string(), n.parse().unwrap())
        })
        .collect()
}

/// The reassembler's system calls, counted under the real binary (docs/reassembly.md): tiny records cost
/// a fraction of a call each whatever their order and spacing, 4 KiB records shuffled within windows of 8
/// go out in writes of about 256 KiB (about one write per 256 KiB of output in every case, plus a few
/// where input buffers end), and `fallocate` is only called for stretches of at least 256 KiB, never per
/// small record.
#[test]
fn reassembly_costs_few_system_calls_whatever_the_record_order() {
    let dir = tempfile::tempdir().unwrap();
    let shim = build_shim(dir.path(), "counting", COUNTING_SHIM);
    let writes_of =
        |counts: &std::collections::BTreeMap<String, u64>| counts["pwritev"] + counts["pwrite"];

    // one write per 256 KiB of output (docs/commands.md), plus up to 4 where each 1 MiB input buffer
    // (and its batch) ends, cutting the spans of records that continue in the next buffer
    let most_writes = |output_bytes: u64, input_bytes: u64| {
        output_bytes.div_ceil(256 << 10) + 4 * input_bytes.div_ceil(1 << 20) + 32
    };
    // fallocate only for spans of at least 256 KiB
    let most_fallocates = |output_bytes: u64| output_bytes / (256 << 10);

    // 200,000 adjacent one-byte records in descending order: 200 KB of output
    let descending: Vec<Write_> = (0..200_000u64)
        .rev()
        .map(|i| (i, vec![(i % 251) as u8]))
        .collect();
    let counts = reassembly_syscalls(dir.path(), &shim, &descending, &[]);
    assert!(
        writes_of(&counts) <= most_writes(200_000, 200_000 * 17),
        "one-byte records descending: {counts:?}"
    );
    assert_eq!(
        counts["fallocate"], 0,
        "one-byte records descending: {counts:?}"
    );

    // 4096 records of 4 KiB (16 MiB), shuffled within windows of 8
    let mut order: Vec<u64> = (0..4096).collect();
    for window in order.chunks_mut(8) {
        window.reverse();
        window.swap(1, 5);
    }
    let shuffled: Vec<Write_> = order
        .iter()
        .map(|&i| (i * 4096, payload(i as usize, 4096)))
        .collect();
    let counts = reassembly_syscalls(dir.path(), &shim, &shuffled, &[]);
    assert!(
        writes_of(&counts) <= most_writes(16 << 20, (16 << 20) + 4096 * 16),
        "4 KiB records shuffled: {counts:?}"
    );
    assert!(
        counts["fallocate"] <= most_fallocates(16 << 20),
        "4 KiB records shuffled: {counts:?}"
    );

    // 20,000 one-byte records 4 KiB apart, descending: the gaps (shorter than a block, never written)
    // are written as zeros, so these too go out one write per 256 KiB of output
    let spread: Vec<Write_> = (0..20_000u64)
        .rev()
        .map(|i| (i * 4096, vec![1 + (i % 250) as u8]))
        .collect();
    let counts = reassembly_syscalls(dir.path(), &shim, &spread, &[]);
    assert!(
        writes_of(&counts) <= most_writes(20_000 * 4096, 20_000 * 17),
        "one-byte records 4 KiB apart: {counts:?}"
    );
    assert!(
        counts["fallocate"] <= most_fallocates(20_000 * 4096),
        "one-byte records 4 KiB apart (80 MB of output): {counts:?}"
    );
}

/// `reassemble --sync` starts the disk's write-back (`sync_file_range`) once per 64 MiB of input, not
/// before the first 64 MiB, and without `--sync` never (`ReassembleOptions::write_behind`): counted
/// under the real binary.
#[test]
fn write_back_starts_every_64_mib_of_input_and_only_with_sync() {
    let dir = tempfile::tempdir().unwrap();
    let shim = build_shim(dir.path(), "counting", COUNTING_SHIM);
    let records = |count: usize| -> Vec<Write_> {
        (0..count)
            .map(|i| ((i as u64) << 20, payload(i, 1 << 20)))
            .collect()
    };
    let small = records(5);
    let counts = reassembly_syscalls(dir.path(), &shim, &small, &["--sync"]);
    assert_eq!(
        counts["sync_file_range"], 0,
        "5 MiB with --sync: {counts:?}"
    );
    // 66 records of 1 MiB: past 64 MiB of input once
    let large = records(66);
    let counts = reassembly_syscalls(dir.path(), &shim, &large, &["--sync"]);
    assert_eq!(
        counts["sync_file_range"], 1,
        "66 MiB with --sync: {counts:?}"
    );
    let counts = reassembly_syscalls(dir.path(), &shim, &large, &[]);
    assert_eq!(
        counts["sync_file_range"], 0,
        "66 MiB without --sync: {counts:?}"
    );
}

/// Offsets drawn at the edges on purpose: 2^k − 1, 2^k, 2^k + 1 around 2^31, 2^32 and (for the index,
/// which needs no file) just below 2^63, plus a small spread; sometimes anywhere below 64 KiB (so that
/// writes overlap).
fn edge_offset(with_2_pow_63: bool) -> impl Strategy<Value = u64> {
    let mut bases = vec![1u64 << 31, 1 << 32, 1 << 40];
    if with_2_pow_63 {
        bases.push((1 << 63) - (1 << 20));
    }
    prop_oneof![
        1 => 0u64..65_536,
        3 => (prop::sample::select(bases), 0u64..=2, prop_oneof![Just(0u64), 0u64..8192])
            .prop_map(|(base, edge, spread)| base - 1 + edge + spread),
    ]
}

/// Sizes at the edges on purpose (1, a record header ± 1, a page ± 1), else anything up to 9000.
fn edge_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        1 => prop::sample::select(vec![1usize, 15, 16, 17, 4095, 4096, 4097]),
        1 => 1usize..9000,
    ]
}

/// Edge-biased write sequences: the first write covers offset 0 (F16), the rest anywhere at the edges.
fn edge_writes(with_2_pow_63: bool) -> impl Strategy<Value = Vec<Write_>> {
    prop::collection::vec((edge_offset(with_2_pow_63), edge_len()), 1..10).prop_map(|writes| {
        let mut writes: Vec<Write_> = writes
            .into_iter()
            .enumerate()
            .map(|(i, (offset, len))| (offset, payload(i, len)))
            .collect();
        writes[0].0 = 0;
        writes
    })
}

/// The bytes the writes leave in `[start, end)`: later writes win, unwritten bytes are zero.
fn replay_range(writes: &[Write_], start: u64, end: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; (end - start) as usize];
    for (offset, data) in writes {
        let (from, to) = ((*offset).max(start), (offset + data.len() as u64).min(end));
        if from < to {
            bytes[(from - start) as usize..(to - start) as usize]
                .copy_from_slice(&data[(from - offset) as usize..(to - offset) as usize]);
        }
    }
    bytes
}

/// Compares `read(start, len)` with the replay around the start and the end of every write.
fn assert_reads_match_replay(writes: &[Write_], length: u64, read: impl Fn(u64, &mut [u8])) {
    for (offset, data) in writes {
        for at in [
            offset.saturating_sub(5),
            (offset + data.len() as u64).saturating_sub(5),
        ] {
            let end = (at + 10 + data.len().min(64) as u64).min(length);
            if at < end {
                let mut got = vec![0xaau8; (end - at) as usize];
                read(at, &mut got);
                assert_eq!(got, replay_range(writes, at, end), "bytes at {at:#x}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn edge_biased_writes_index_like_a_replay(writes in edge_writes(true)) {
        let stream = stream_of(&writes);
        let index = FlatIndex::open(stream.as_slice()).unwrap();
        let length = writes.iter().map(|(o, d)| o + d.len() as u64).max().unwrap();
        prop_assert_eq!(index.len(), length);
        assert_reads_match_replay(&writes, length, |at, buf| index.read_exact_at(at, buf).unwrap());
    }

    #[test]
    fn edge_biased_writes_reassemble_like_a_replay(writes in edge_writes(false)) {
        let stream = stream_of(&writes);
        let dir = tempfile::tempdir().unwrap();
        let mut output = new_file(&dir.path().join("out"));
        let summary = reassemble(&stream[..], &mut output, ReassembleOptions::default()).unwrap();
        let length = writes.iter().map(|(o, d)| o + d.len() as u64).max().unwrap();
        prop_assert_eq!(summary.output_len, length);
        prop_assert_eq!(output.metadata().unwrap().len(), length);
        assert_reads_match_replay(&writes, length, |at, buf| output.read_exact_at(at, buf).unwrap());
    }
}
