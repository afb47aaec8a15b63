//! Benchmark of issue 3 item 8: `check` (all cores) against decompressing the same pages in one thread,
//! measured in one run.
//!
//! Generates a kdump-compressed file of 1 GiB of guest memory (262,144 pages of 4 KiB, zlib level 1 as
//! QEMU writes it; 30 % zero pages pointing at the shared zero page, 10 % incompressible pages stored raw,
//! the rest text-like pages that compress about 4:1), warms the page cache, then times, interleaved over
//! several runs: `kdump::check::check` on all cores, the same check on a one-thread pool, a plain
//! single-thread loop that reads the data in pieces of 256 pages and decompresses every stored page once
//! (the minimum single-thread work `check` has to do), and that same plain loop spread over all cores
//! (the machine's parallel ceiling at that moment: other processes share the 2 cores). Reports best and
//! median wall times, CPU times, the load average, and the ratio single-thread decompression / check.
//! The file is removed at the end.
//!
//! `cargo bench --bench check` — 1 GiB of guest memory (KDUMP_FLAT_BENCH_CHECK_MIB overrides it,
//! KDUMP_FLAT_BENCH_DIR the directory). Without `--bench` (as `cargo test --all-targets` runs it) it only
//! checks correctness on 16 MiB. KDUMP_FLAT_BENCH_KEEP=PATH keeps the generated dump at PATH.
//!
//! On a machine shared with other busy processes, the kernel's autogroup scheduling gives this process
//! the same CPU share whether it runs one thread or two, so no parallel speed-up can show ("parallel
//! ceiling" ≈ 1). To measure what `check` does with the cores, run it in its own raised-priority group:
//! `setsid bash -c 'echo -19 > /proc/$$/autogroup; exec nice -n -19 target/release/deps/check-* --bench'`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kdump_flat::compress::{compress, decompress_into, flags, Compression};
use kdump_flat::kdump::check::check;
use kdump_flat::kdump::walk::{is_zero_page_reference, shared_zero_page, walk_descriptors};
use kdump_flat::kdump::KdumpFile;
use kdump_flat::readat::ReadAt;
use rayon::prelude::*;

#[path = "support/mod.rs"]
mod support;
use support::{bench_dir, page_content, run_size};

const PAGE: u64 = 4096;
const RUNS: usize = 5;
const CHUNK_PAGES: u64 = 8192;

fn put(file: &File, at: u64, bytes: &[u8]) {
    file.write_all_at(bytes, at)
        .expect("write the benchmark dump");
}

/// Writes a 64-bit little-endian, header-version-6, zlib kdump file of `pages` pages, every page memory
/// and dumped; returns the number of stored (non-zero) pages.
fn generate(path: &Path, pages: u64) -> u64 {
    let file = File::create(path).expect("create the benchmark dump");
    let bitmap_len = pages.div_ceil(8).div_ceil(PAGE) * PAGE;
    let mut header = vec![0u8; 464];
    header[..8].copy_from_slice(b"KDUMP   ");
    header[8..12].copy_from_slice(&6i32.to_le_bytes());
    header[12 + 4 * 65..12 + 4 * 65 + 6].copy_from_slice(b"x86_64");
    let fields: [u32; 5] = [
        flags::ZLIB,
        PAGE as u32,
        1,
        (2 * bitmap_len / PAGE) as u32,
        pages as u32,
    ];
    for (i, v) in fields.iter().enumerate() {
        header[424 + 4 * i..428 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    header[460..464].copy_from_slice(&2i32.to_le_bytes());
    put(&file, 0, &header);
    let mut sub = vec![0u8; 104];
    sub[8..12].copy_from_slice(&1i32.to_le_bytes());
    sub[48..56].copy_from_slice(&(PAGE + 104).to_le_bytes());
    sub[96..104].copy_from_slice(&pages.to_le_bytes());
    put(&file, PAGE, &sub);
    let bitmap1 = 2 * PAGE;
    let mut bitmap = vec![0u8; bitmap_len as usize];
    for pfn in 0..pages {
        bitmap[(pfn / 8) as usize] |= 1 << (pfn % 8);
    }
    put(&file, bitmap1, &bitmap);
    put(&file, bitmap1 + bitmap_len, &bitmap);
    let descriptors = bitmap1 + 2 * bitmap_len;
    let zero_page = descriptors + 24 * pages;
    put(&file, zero_page, &vec![0u8; PAGE as usize]);
    let mut data_at = zero_page + PAGE;
    let mut stored = 0;
    for chunk_start in (0..pages).step_by(CHUNK_PAGES as usize) {
        let chunk_end = (chunk_start + CHUNK_PAGES).min(pages);
        let packed: Vec<Option<(Vec<u8>, u32)>> = (chunk_start..chunk_end)
            .into_par_iter()
            .map(|pfn| {
                let page = page_content(pfn);
                if page.iter().all(|&b| b == 0) {
                    return None;
                }
                let z = compress(Compression::Zlib, &page);
                Some(if (z.len() as u64) < PAGE {
                    (z, flags::ZLIB)
                } else {
                    (page, 0)
                })
            })
            .collect();
        let mut descs = Vec::with_capacity(24 * packed.len());
        let mut data = Vec::new();
        let data_start = data_at;
        for item in &packed {
            let (offset, size, flags) = match item {
                None => (zero_page, PAGE as u32, 0),
                Some((bytes, flags)) => {
                    let offset = data_at;
                    data.extend_from_slice(bytes);
                    data_at += bytes.len() as u64;
                    stored += 1;
                    (offset, bytes.len() as u32, *flags)
                }
            };
            descs.extend_from_slice(&offset.to_le_bytes());
            descs.extend_from_slice(&size.to_le_bytes());
            descs.extend_from_slice(&flags.to_le_bytes());
            descs.extend_from_slice(&0u64.to_le_bytes());
        }
        put(&file, descriptors + 24 * chunk_start, &descs);
        put(&file, data_start, &data);
    }
    stored
}

/// The single-thread reference: every stored page read and decompressed once, the shared zero page
/// included, with the data read in pieces of 256 pages (as `check` reads it). Returns the number of pages
/// decompressed.
fn decompress_single_thread(reader: &dyn ReadAt) -> u64 {
    let dump = KdumpFile::open(reader).expect("open the benchmark dump");
    let zero_page = shared_zero_page(&dump).expect("zero page");
    let mut page = vec![0u8; PAGE as usize];
    let mut span = Vec::new();
    let mut done = 0u64;
    let mut zero_seen = false;
    walk_descriptors(&dump, |entries| {
        let mut jobs = Vec::with_capacity(entries.len());
        for e in entries {
            if is_zero_page_reference(&e.desc, zero_page, PAGE) {
                if zero_seen {
                    continue;
                }
                zero_seen = true;
            }
            jobs.push(e.desc);
        }
        for batch in jobs.chunks(256) {
            let start = batch.iter().map(|d| d.offset as u64).min().unwrap_or(0);
            let end = batch
                .iter()
                .map(|d| d.offset as u64 + d.size as u64)
                .max()
                .unwrap_or(start);
            span.resize((end - start) as usize, 0);
            reader.read_exact_at(start, &mut span).expect("read data");
            for d in batch {
                let at = (d.offset as u64 - start) as usize;
                let method = Compression::from_flags(d.flags).expect("one compression");
                decompress_into(method, &span[at..at + d.size as usize], &mut page)
                    .expect("page decompresses");
                done += 1;
            }
        }
        Ok(())
    })
    .expect("walk");
    done
}

/// The machine's own parallel ceiling: the same reads and decompressions as
/// [`decompress_single_thread`], spread over all cores with nothing else (no checks).
fn decompress_all_cores(reader: &dyn ReadAt) -> u64 {
    let dump = KdumpFile::open(reader).expect("open the benchmark dump");
    let zero_page = shared_zero_page(&dump).expect("zero page");
    let mut jobs = Vec::new();
    let mut zero_seen = false;
    walk_descriptors(&dump, |entries| {
        for e in entries {
            if is_zero_page_reference(&e.desc, zero_page, PAGE) {
                if zero_seen {
                    continue;
                }
                zero_seen = true;
            }
            jobs.push(e.desc);
        }
        Ok(())
    })
    .expect("walk");
    jobs.par_chunks(256)
        .map(|batch| {
            let mut page = vec![0u8; PAGE as usize];
            let start = batch.iter().map(|d| d.offset as u64).min().unwrap_or(0);
            let end = batch
                .iter()
                .map(|d| d.offset as u64 + d.size as u64)
                .max()
                .unwrap_or(start);
            let mut span = vec![0u8; (end - start) as usize];
            reader.read_exact_at(start, &mut span).expect("read data");
            for d in batch {
                let at = (d.offset as u64 - start) as usize;
                let method = Compression::from_flags(d.flags).expect("one compression");
                decompress_into(method, &span[at..at + d.size as usize], &mut page)
                    .expect("page decompresses");
            }
            batch.len() as u64
        })
        .sum()
}

/// CPU time (user + system) of this process so far.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Wall time, CPU time and result of `f`.
fn time<T>(f: impl FnOnce() -> T) -> (Duration, Duration, T) {
    let (start, cpu) = (Instant::now(), cpu_time());
    let value = f();
    (start.elapsed(), cpu_time() - cpu, value)
}

fn summary(times: &mut [Duration]) -> (f64, f64) {
    times.sort();
    (times[0].as_secs_f64(), times[times.len() / 2].as_secs_f64())
}

fn main() {
    let (bench, mib) = run_size("KDUMP_FLAT_BENCH_CHECK_MIB", 1024, 16);
    let temp = bench_dir("kdump-flat-bench-check.");
    // KDUMP_FLAT_BENCH_KEEP=PATH keeps the generated dump there (for profiling the CLI on it).
    let keep = std::env::var_os("KDUMP_FLAT_BENCH_KEEP").map(PathBuf::from);
    let path = keep.clone().unwrap_or_else(|| temp.path().join("vmcore"));
    let pages = mib * (1 << 20) / PAGE;
    let (gen_time, _, stored) = time(|| generate(&path, pages));
    let file = File::open(&path).expect("open");
    let size = file.metadata().expect("metadata").len();
    eprintln!(
        "generated {} MiB of guest memory ({pages} pages, {stored} stored, file {:.1} MiB) in {:.1} s",
        mib,
        size as f64 / (1 << 20) as f64,
        gen_time.as_secs_f64()
    );
    // Warm the page cache.
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < size {
        let n = FileExt::read_at(&file, &mut buf, at).expect("read");
        at += n.max(1) as u64;
    }
    let reader: &dyn ReadAt = &file;
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let runs = if bench { RUNS } else { 1 };
    let (mut all_cores, mut single, mut check_one) = (Vec::new(), Vec::new(), Vec::new());
    let mut plain_parallel = Vec::new();
    let (mut cpu_all, mut cpu_single) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..runs {
        let (t, cpu, report) = time(|| check(&[reader]));
        assert!(report.is_valid(), "{:#?}", report.violations);
        assert_eq!(report.stats.pages_decompressed, stored + 1);
        all_cores.push(t);
        cpu_all += cpu;
        let (t, cpu, done) = time(|| decompress_single_thread(reader));
        assert_eq!(done, stored + 1);
        single.push(t);
        cpu_single += cpu;
        let (t, _, report) = time(|| one_thread.install(|| check(&[reader])));
        assert!(report.is_valid());
        check_one.push(t);
        let (t, _, done) = time(|| decompress_all_cores(reader));
        assert_eq!(done, stored + 1);
        plain_parallel.push(t);
    }
    let (check_best, check_median) = summary(&mut all_cores);
    let (single_best, single_median) = summary(&mut single);
    let (one_best, one_median) = summary(&mut check_one);
    let (plain_best, plain_median) = summary(&mut plain_parallel);
    let threads = rayon::current_num_threads();
    println!(
        "check, {threads} threads:         best {check_best:.3} s, median {check_median:.3} s"
    );
    println!("check, 1 thread:           best {one_best:.3} s, median {one_median:.3} s");
    println!("decompress, 1 thread:      best {single_best:.3} s, median {single_median:.3} s");
    println!(
        "decompress, {threads} threads:    best {plain_best:.3} s, median {plain_median:.3} s \
         (the machine's parallel ceiling right now: {:.2}x)",
        single_best / plain_best
    );
    println!(
        "CPU time per run: check {:.3} s, single-thread decompression {:.3} s; load average {}",
        cpu_all.as_secs_f64() / runs as f64,
        cpu_single.as_secs_f64() / runs as f64,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("?")
    );
    println!(
        "speed-up of check over single-thread decompression: {:.2}x (best), {:.2}x (median); \
         check's own parallel speed-up {:.2}x",
        single_best / check_best,
        single_median / check_median,
        one_best / check_best
    );
    drop(file);
    drop(temp);
}
