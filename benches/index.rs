//! Benchmark of the in-place index of flattened dumps (`cargo bench --bench index`).
//!
//! For flattened files of 50k, 200k and 1M records laid out like QEMU's kdump output (4 KiB data records at
//! high offsets, interleaved with 16368-byte descriptor flushes at low offsets after every 682 pages, the
//! bitmap chunks alternating between bitmap 1 and bitmap 2 before them), it times in one run:
//!
//! - **index build**: [`FlatIndex::open`] (header scan + sort + sweep), and the same record headers indexed
//!   as crash does (`store_flat_data_array`: an array grown by 100 entries, each new record insertion-sorted
//!   from the end by reassembled offset) and as libkdumpfile does (`flatmap_file_init` →
//!   `addrxlat_map_set`: a range map of consecutive lengths covering the address space, each insert found by
//!   a linear walk and made by shifting the array tail). crash's build reads the headers as crash does,
//!   one at a time (one `pread` each; real crash issues a `read` and an `lseek`); libkdumpfile's reads
//!   them with the same windowed scan as ours (its file cache reads whole blocks), so that its column
//!   compares the index algorithms.
//! - **10,000 random 4 KiB reads**: ours (binary search over extents + `pread`), crash's
//!   (`read_flattened_format`: binary search + `pread`) and libkdumpfile's (`flatmap_pread_flat`: linear
//!   walk + `pread`). The three must return the same bytes (checked by a checksum).
//!
//! The quadratic baselines are stopped after a time budget (`KDUMP_BENCH_BUDGET_SECS`, default 30 s per
//! phase) and then reported as "> X s (stopped)". Sizes can be chosen with `KDUMP_BENCH_SIZES=50000,200000`.
//! The generated files go to a temporary directory (`TMPDIR`), about 4.1 GiB for 1M records, and are deleted
//! after each size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kdump_flat::flat::index::FlatIndex;
use kdump_flat::readat::ReadAt;
use kdump_flat::sink::flat_header_bytes;
use rand::{Rng, SeedableRng};

/// Resident memory of this process in bytes: (current, peak since the last reset).
fn resident_bytes() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak resident size (VmHWM) to the current one.
fn reset_resident_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Builds the index of `path` once and prints the peak heap allocated and the peak resident growth during
/// the build (run in a child process, so that the allocator starts fresh and its settings do not affect
/// the timings).
fn measure_memory(path: &std::path::Path) {
    // Every block of 128 KiB or more comes from mmap and goes back on free (no dynamic threshold), so
    // that the resident-size growth measures the build.
    // SAFETY: mallopt only changes allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
    let file = File::open(path).unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    reset_resident_peak();
    let (resident_before, _) = resident_bytes();
    let index = FlatIndex::open(&file).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let resident = resident_bytes().1.saturating_sub(resident_before);
    println!("{peak} {resident} {}", index.len());
}

/// Runs [`measure_memory`] in a child process: (peak heap allocated, peak resident growth).
fn memory_in_child(path: &std::path::Path) -> (u64, u64) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--measure-memory")
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().unwrap());
    (fields.next().unwrap(), fields.next().unwrap())
}

/// Counts live heap bytes and their peak, to measure the index's memory during the build.
struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn note_growth(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_growth(layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as old + new while both may exist (glibc may move large blocks with mremap instead).
        note_growth(new_size);
        let new = System.realloc(ptr, layout, new_size);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const PAGE: u64 = 4096;
const DESCRIPTOR_SIZE: u64 = 24;
const DESCRIPTORS_PER_FLUSH: u64 = 682;
const READS: usize = 10_000;
const READ_SIZE: usize = 4096;

/// The record layout of a QEMU-like dump: (offset, size) in stream order, payloads not included.
fn qemu_like_records(total: u64) -> Vec<(u64, u64)> {
    // total = 3 header records + bitmap chunks + descriptor flushes + pages.
    let mut pages = total;
    loop {
        let chunks = 2 * pages.div_ceil(PAGE * 8);
        let flushes = pages.div_ceil(DESCRIPTORS_PER_FLUSH);
        let count = 3 + chunks + flushes + pages;
        if count <= total {
            pages += total - count;
            let chunks = 2 * pages.div_ceil(PAGE * 8);
            let flushes = pages.div_ceil(DESCRIPTORS_PER_FLUSH);
            if 3 + chunks + flushes + pages == total {
                break;
            }
            pages -= 1;
        } else {
            pages -= (count - total).max(1);
        }
    }
    let bitmap_len = (pages.div_ceil(8)).div_ceil(PAGE) * PAGE;
    let bitmap = 2 * PAGE;
    let descriptors = bitmap + 2 * bitmap_len;
    let data = descriptors + DESCRIPTOR_SIZE * pages;
    let mut records = vec![(0, 464), (PAGE, 104), (PAGE + 104, 624)];
    for chunk in 0..bitmap_len / PAGE {
        records.push((bitmap + chunk * PAGE, PAGE));
        records.push((bitmap + bitmap_len + chunk * PAGE, PAGE));
    }
    let mut flushed = 0;
    for page in 0..pages {
        records.push((data + page * PAGE, PAGE));
        let pending = page + 1 - flushed;
        if pending == DESCRIPTORS_PER_FLUSH || page + 1 == pages {
            records.push((
                descriptors + flushed * DESCRIPTOR_SIZE,
                pending * DESCRIPTOR_SIZE,
            ));
            flushed = page + 1;
        }
    }
    assert_eq!(records.len() as u64, total);
    records
}

/// Writes the flattened file: header, records with recognisable payloads, end marker.
fn write_flattened(path: &std::path::Path, records: &[(u64, u64)]) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    out.write_all(&flat_header_bytes()).unwrap();
    let mut payload = vec![0u8; 16368];
    for (i, &(offset, size)) in records.iter().enumerate() {
        out.write_all(&(offset as i64).to_be_bytes()).unwrap();
        out.write_all(&(size as i64).to_be_bytes()).unwrap();
        let bytes = &mut payload[..size as usize];
        bytes.fill(i as u8);
        bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
        out.write_all(bytes).unwrap();
    }
    out.write_all(&[0xff; 16]).unwrap();
    out.flush().unwrap();
}

/// A record header as the baselines store it.
#[derive(Clone, Copy)]
struct Header {
    offset: u64,
    size: u64,
    payload: u64,
}

/// Reads all record headers in 1 MiB windows (the same I/O pattern as the index's scan).
fn scan_headers(file: &File) -> Vec<Header> {
    let length = file.metadata().unwrap().len();
    let mut window = vec![0u8; 1 << 20];
    let (mut start, mut filled) = (0u64, 0usize);
    let mut position = 4096u64;
    let mut headers = Vec::new();
    loop {
        if position < start || position + 16 > start + filled as u64 {
            filled = (length - position).min(window.len() as u64) as usize;
            FileExt::read_exact_at(file, &mut window[..filled], position).unwrap();
            start = position;
        }
        let at = (position - start) as usize;
        let offset = i64::from_be_bytes(window[at..at + 8].try_into().unwrap());
        let size = i64::from_be_bytes(window[at + 8..at + 16].try_into().unwrap());
        if offset == -1 {
            break;
        }
        headers.push(Header {
            offset: offset as u64,
            size: size as u64,
            payload: position + 16,
        });
        position += 16 + size as u64;
    }
    headers
}

/// Reads the whole file in 1 MiB blocks without looking at it: the floor of any header scan that copies
/// the blocks holding the headers (with 4 KiB records every block holds headers). Returns the byte count.
fn read_whole_file(file: &File) -> u64 {
    let length = file.metadata().unwrap().len();
    let mut block = vec![0u8; 1 << 20];
    let mut position = 0u64;
    while position < length {
        let n = (length - position).min(block.len() as u64) as usize;
        FileExt::read_exact_at(file, &mut block[..n], position).unwrap();
        position += n as u64;
    }
    position
}

/// Reads all record headers one `pread` of 16 bytes at a time, as crash does (crash even issues a `read`
/// and an `lseek` per header).
fn scan_headers_one_by_one(file: &File) -> Vec<Header> {
    let mut position = 4096u64;
    let mut headers = Vec::new();
    let mut bytes = [0u8; 16];
    loop {
        FileExt::read_exact_at(file, &mut bytes, position).unwrap();
        let offset = i64::from_be_bytes(bytes[..8].try_into().unwrap());
        let size = i64::from_be_bytes(bytes[8..].try_into().unwrap());
        if offset == -1 {
            break;
        }
        headers.push(Header {
            offset: offset as u64,
            size: size as u64,
            payload: position + 16,
        });
        position += 16 + size as u64;
    }
    headers
}

/// crash's index: `struct flat_data` entries, insertion-sorted by reassembled offset.
struct CrashIndex {
    array: Vec<Header>,
}

impl CrashIndex {
    /// Builds as `store_flat_data_array` does; `None` if the budget ran out first (with the count done).
    fn build(headers: &[Header], budget: Duration) -> Result<Self, usize> {
        let started = Instant::now();
        let mut array: Vec<Header> = Vec::new();
        for (stored, header) in headers.iter().enumerate() {
            if array.capacity() <= stored {
                array.reserve_exact(100);
            }
            // Shift every entry with off_rearranged >= the new offset up by one, from the end.
            array.push(*header);
            let mut slot = stored;
            while slot > 0 && array[slot - 1].offset >= header.offset {
                array[slot] = array[slot - 1];
                slot -= 1;
            }
            array[slot] = *header;
            if stored % 1024 == 0 && started.elapsed() > budget {
                return Err(stored);
            }
        }
        Ok(CrashIndex { array })
    }

    /// `read_flattened_format`: binary search for the entry holding `offset`, holes as zeros.
    fn read(&self, file: &File, offset: u64, buf: &mut [u8]) {
        let (mut lo, mut hi) = (0usize, self.array.len());
        loop {
            let index = (lo + hi) / 2;
            let entry = self.array[index];
            let (start, end) = (entry.offset, entry.offset + entry.size);
            if start <= offset && offset < end {
                let here = ((end - offset) as usize).min(buf.len());
                FileExt::read_exact_at(file, &mut buf[..here], entry.payload + (offset - start))
                    .unwrap();
                if here < buf.len() {
                    self.read(file, offset + here as u64, &mut buf[here..]);
                }
                return;
            } else if index == lo && lo + 1 == hi {
                let next = self.array[hi].offset;
                let zeros = ((next - offset) as usize).min(buf.len());
                buf[..zeros].fill(0);
                if zeros < buf.len() {
                    self.read(file, offset + zeros as u64, &mut buf[zeros..]);
                }
                return;
            } else if offset < start {
                hi = index;
            } else {
                lo = index;
            }
        }
    }
}

/// libkdumpfile's index: consecutive ranges (length, segment) covering the whole address space.
struct LibkdumpfileIndex {
    ranges: Vec<(u64, u32)>,
    payload_minus_offset: Vec<u64>,
}

const NO_SEGMENT: u32 = u32::MAX;

impl LibkdumpfileIndex {
    /// Builds as `flatmap_file_init` + `addrxlat_map_set` do; `Err` with the count done past the budget.
    fn build(headers: &[Header], budget: Duration) -> Result<Self, usize> {
        let started = Instant::now();
        let mut map = LibkdumpfileIndex {
            ranges: vec![(u64::MAX, NO_SEGMENT)],
            payload_minus_offset: Vec::new(),
        };
        for (segment, header) in headers.iter().enumerate() {
            map.payload_minus_offset
                .push(header.payload.wrapping_sub(header.offset));
            map.set(header.offset, header.size, segment as u32);
            if segment % 1024 == 0 && started.elapsed() > budget {
                return Err(segment);
            }
        }
        Ok(map)
    }

    /// Maps [addr, addr + len) to `segment`: walk to the first and last affected ranges, replace them by
    /// the remainder before, the new range and the remainder after (shifting the tail of the array).
    fn set(&mut self, addr: u64, len: u64, segment: u32) {
        let end = addr + len;
        let mut first = 0;
        let mut first_start = 0u64;
        while first_start + self.ranges[first].0 <= addr {
            first_start += self.ranges[first].0;
            first += 1;
        }
        let mut last = first;
        let mut last_end = first_start + self.ranges[first].0;
        while last_end < end {
            last += 1;
            last_end += self.ranges[last].0;
        }
        let mut replacement = Vec::with_capacity(3);
        if first_start < addr {
            replacement.push((addr - first_start, self.ranges[first].1));
        }
        replacement.push((len, segment));
        if end < last_end {
            replacement.push((last_end - end, self.ranges[last].1));
        }
        self.ranges.splice(first..=last, replacement);
    }

    /// `flatmap_pread_flat`: walk the ranges from the start to `offset`, then copy or zero-fill.
    fn read(&self, file: &File, offset: u64, buf: &mut [u8]) {
        let mut range = 0;
        let mut within = offset;
        while range < self.ranges.len() && within >= self.ranges[range].0 {
            within -= self.ranges[range].0;
            range += 1;
        }
        let (mut done, mut at) = (0usize, offset);
        while range < self.ranges.len() && done < buf.len() {
            let (len, segment) = self.ranges[range];
            let n = ((len - within) as usize).min(buf.len() - done);
            if segment == NO_SEGMENT {
                buf[done..done + n].fill(0);
            } else {
                let position = at.wrapping_add(self.payload_minus_offset[segment as usize]);
                FileExt::read_exact_at(file, &mut buf[done..done + n], position).unwrap();
            }
            done += n;
            at += n as u64;
            range += 1;
            within = 0;
        }
        buf[done..].fill(0);
    }
}

/// Runs `read` for each offset (until the budget runs out) and returns (elapsed, reads done, checksum).
fn time_reads(
    offsets: &[u64],
    budget: Duration,
    mut read: impl FnMut(u64, &mut [u8]),
) -> (Duration, usize, u64) {
    let mut buf = vec![0u8; READ_SIZE];
    let mut checksum = 0u64;
    let started = Instant::now();
    for (done, &offset) in offsets.iter().enumerate() {
        if started.elapsed() > budget {
            return (started.elapsed(), done, checksum);
        }
        read(offset, &mut buf);
        checksum = buf.chunks(8).fold(checksum, |sum, word| {
            sum.wrapping_mul(31)
                .wrapping_add(word[0] as u64 ^ word[7] as u64)
        });
    }
    (started.elapsed(), offsets.len(), checksum)
}

/// Runs `measure` three times and keeps the fastest run's time and result.
fn best_of_3<T>(mut measure: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    let mut best = measure();
    for _ in 0..2 {
        let again = measure();
        if again.0 < best.0 {
            best = again;
        }
    }
    best
}

/// The 1-minute load average, to put the timings in context (the machine is shared).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_string())
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

fn main() {
    let budget = Duration::from_secs(
        std::env::var("KDUMP_BENCH_BUDGET_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30),
    );
    let sizes: Vec<u64> = std::env::var("KDUMP_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![50_000, 200_000, 1_000_000]);
    if let Some(path) = std::env::args()
        .skip_while(|a| a != "--measure-memory")
        .nth(1)
    {
        measure_memory(std::path::Path::new(&path));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    println!(
        "index benchmark: QEMU-like flattened files, 10,000 random 4 KiB reads, budget {} s per baseline \
         phase; ours, the scans and the fast reads best of 3; load average {}",
        budget.as_secs(),
        load_average()
    );
    let mut table = Vec::new();
    for &records in &sizes {
        let layout = qemu_like_records(records);
        let path = dir.path().join(format!("{records}.flat"));
        write_flattened(&path, &layout);
        drop(layout);
        let file = File::open(&path).unwrap();
        let flat_size = file.metadata().unwrap().len();
        // Warm the page cache, so that every method reads from memory.
        let _ = scan_headers(&file);

        // Ours: best of 3 builds, with the peak heap of the last one.
        let mut ours_build = Duration::MAX;
        let mut index = None;
        for _ in 0..3 {
            drop(index.take());
            let started = Instant::now();
            let built = FlatIndex::open(&file).unwrap();
            ours_build = ours_build.min(started.elapsed());
            index = Some(built);
        }
        let (peak_bytes, resident_peak) = memory_in_child(&path);
        let index = index.unwrap();
        let stats = index.stats();
        let length = index.len();

        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(records);
        let offsets: Vec<u64> = (0..READS)
            .map(|_| rng.gen_range(0..length - READ_SIZE as u64))
            .collect();
        let (ours_reads, ours_sum) = best_of_3(|| {
            let (time, _, sum) = time_reads(&offsets, Duration::MAX, |offset, buf| {
                index.read_exact_at(offset, buf).unwrap()
            });
            (time, sum)
        });

        let (scan, headers) = best_of_3(|| {
            let started = Instant::now();
            let headers = scan_headers(&file);
            (started.elapsed(), headers)
        });
        let (floor, _) = best_of_3(|| {
            let started = Instant::now();
            let bytes = read_whole_file(&file);
            (started.elapsed(), bytes)
        });
        let (crash_scan, _) = best_of_3(|| {
            let started = Instant::now();
            let count = scan_headers_one_by_one(&file).len();
            (started.elapsed(), count)
        });
        let started = Instant::now();
        let crash = CrashIndex::build(&headers, budget);
        let crash_insertion = started.elapsed();
        let crash_build = crash_scan + crash_insertion;
        let crash_reads = crash.as_ref().ok().map(|crash| {
            time_reads(&offsets, budget, |offset, buf| {
                crash.read(&file, offset, buf)
            })
        });
        let crash_status = crash.as_ref().map(|_| ()).map_err(|done| *done);
        drop(crash);
        let started = Instant::now();
        let libkdumpfile = LibkdumpfileIndex::build(&headers, budget);
        let libkdumpfile_build = scan + started.elapsed();
        let libkdumpfile_reads = libkdumpfile
            .as_ref()
            .ok()
            .map(|map| time_reads(&offsets, budget, |offset, buf| map.read(&file, offset, buf)));

        let build_cell = |result: &Result<(), usize>, time: Duration| match result {
            Ok(()) => (
                seconds(time),
                format!("{:.1}x", time.as_secs_f64() / ours_build.as_secs_f64()),
            ),
            Err(done) => (
                format!("> {} (stopped after {done} records)", seconds(time)),
                format!("> {:.0}x", time.as_secs_f64() / ours_build.as_secs_f64()),
            ),
        };
        let reads_cell = |reads: Option<(Duration, usize, u64)>| match reads {
            None => ("not run (build stopped)".to_string(), "-".to_string()),
            Some((time, done, sum)) if done == READS => {
                assert_eq!(sum, ours_sum, "a baseline read different bytes");
                (
                    seconds(time),
                    format!("{:.1}x", time.as_secs_f64() / ours_reads.as_secs_f64()),
                )
            }
            Some((time, done, _)) => (
                format!("> {} (stopped after {done} reads)", seconds(time)),
                format!("> {:.0}x", time.as_secs_f64() / ours_reads.as_secs_f64()),
            ),
        };
        let (crash_build_s, crash_build_ratio) = build_cell(&crash_status, crash_build);
        let (lib_build_s, lib_build_ratio) = build_cell(
            &libkdumpfile.as_ref().map(|_| ()).map_err(|d| *d),
            libkdumpfile_build,
        );
        let (crash_reads_s, crash_reads_ratio) = reads_cell(crash_reads);
        let (lib_reads_s, lib_reads_ratio) = reads_cell(libkdumpfile_reads);
        drop(libkdumpfile);

        println!(
            "\n{records} records (load average {}): flattened file {flat_size} bytes, reassembled length \
             {length}",
            load_average()
        );
        println!(
            "  ours: build {} (header scan alone {}; reading the whole file in 1 MiB blocks {}: build = \
             {:.2}x that floor), {} extents, index {} bytes = {:.1} bytes/record, \
             peak heap during build {} bytes = {:.1} bytes/record (allocations counted; a reallocation \
             counts old + new), peak resident growth {} bytes = {:.1} bytes/record",
            seconds(ours_build),
            seconds(scan),
            seconds(floor),
            ours_build.as_secs_f64() / floor.as_secs_f64(),
            stats.extents,
            stats.memory_bytes,
            stats.memory_bytes as f64 / records as f64,
            peak_bytes,
            peak_bytes as f64 / records as f64,
            resident_peak,
            resident_peak as f64 / records as f64
        );
        println!("  ours: 10,000 reads {}", seconds(ours_reads));
        println!(
            "  crash method: header scan one pread per header {}, insertion sort {} (on a windowed scan the \
             build would take {}, {:.1}x ours)",
            seconds(crash_scan),
            seconds(crash_insertion),
            seconds(scan + crash_insertion),
            (scan + crash_insertion).as_secs_f64() / ours_build.as_secs_f64()
        );
        println!("  crash method: build {crash_build_s} ({crash_build_ratio}), reads {crash_reads_s} ({crash_reads_ratio})");
        println!("  libkdumpfile method: build {lib_build_s} ({lib_build_ratio}), reads {lib_reads_s} ({lib_reads_ratio})");
        table.push(format!(
            "| {records} | {} ({:.2}x) | {crash_build_s} ({crash_build_ratio}) | {lib_build_s} ({lib_build_ratio}) | {} | {crash_reads_s} ({crash_reads_ratio}) | {lib_reads_s} ({lib_reads_ratio}) | {:.1} / {:.1} / {:.1} |",
            seconds(ours_build),
            ours_build.as_secs_f64() / floor.as_secs_f64(),
            seconds(ours_reads),
            stats.memory_bytes as f64 / records as f64,
            resident_peak as f64 / records as f64,
            peak_bytes as f64 / records as f64,
        ));
        drop(index);
        drop(file);
        std::fs::remove_file(&path).unwrap();
    }
    println!("\nload average at the end: {}", load_average());
    println!("\n| records | build: ours (x the time to read the whole file) | build: crash method (ratio) | build: libkdumpfile method (ratio) | 10k reads: ours | 10k reads: crash (ratio) | 10k reads: libkdumpfile (ratio) | bytes/record: index / build peak resident / build peak allocated |");
    println!("|---|---|---|---|---|---|---|---|");
    for row in table {
        println!("{row}");
    }
}
