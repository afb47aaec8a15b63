//! Benchmark of `kdump-flat join` against `makedumpfile --reassemble` (and `cat` of the parts, the floor of
//! any tool that reads every part once and writes one file), in one run.
//!
//! Writes a `makedumpfile --split` set of 4 parts with the model of makedumpfile's writer (checked byte for
//! byte against makedumpfile in tests/model_makedumpfile_oracle.rs): 1 GiB of guest memory (the pattern of
//! benches/check.rs), LZO, dump level 1, 64 MiB split blocks, cyclic mode with
//! makedumpfile's automatic buffer. Warms the page cache, then times each tool several times, interleaved,
//! reporting best and median wall time, CPU time, peak RSS and ratios. The outputs of join and makedumpfile
//! must be identical (same hash). Everything is removed at the end.
//!
//! `cargo bench --bench join` — KDUMP_FLAT_BENCH_JOIN_MIB overrides the guest memory size,
//! KDUMP_FLAT_BENCH_DIR the directory. Without `--bench` (as `cargo test --all-targets` runs it) it only
//! checks correctness on 16 MiB. Needs makedumpfile (scripts/install-test-tools.sh).

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kdump_flat::compress::Compression;
use kdump_flat::model::makedumpfile::{
    automatic_cyclic_buffer, split_ranges, write_makedumpfile_kdump_from, MakedumpfileOptions,
};
use kdump_flat::model::notes::{encode_note, NT_PRSTATUS};
use kdump_flat::model::{Endian, GuestBlock};
use kdump_flat::sink::RawSink;

#[path = "support/mod.rs"]
mod support;
use support::{assert_same_output, bench_dir, hash_file, measure, page_content, run_size, Timings};

const PAGE: u64 = 4096;
const PARTS: usize = 4;
/// `--splitblock-size` of 64 MiB, in pages.
const PAGES_PER_SPLITBLOCK: u64 = (64 << 20) / PAGE;
const RUNS: usize = 5;

/// Writes the split set of `mib` MiB of guest memory into `dir` as `vmcore.1` … `vmcore.N`.
fn generate(dir: &Path, mib: u64) {
    let pages = (mib << 20) / PAGE;
    let mut memory = vec![0u8; (pages * PAGE) as usize];
    for (pfn, page) in memory.chunks_mut(PAGE as usize).enumerate() {
        page.copy_from_slice(&page_content(pfn as u64));
    }
    let blocks = [GuestBlock {
        start: 0,
        len: pages * PAGE,
        data: &memory,
        data_offset: 0,
    }];
    let notes = encode_note(Endian::Little, "CORE", NT_PRSTATUS, &[0u8; 336]);
    let ranges = split_ranges(0..pages, pages, PARTS, PAGES_PER_SPLITBLOCK);
    ranges.iter().enumerate().for_each(|(i, &range)| {
        let options = MakedumpfileOptions {
            page_size: PAGE,
            compression: Compression::Lzo,
            dump_level: 1,
            cyclic_buffer: automatic_cyclic_buffer(pages, PARTS as u64, u64::MAX),
            split: Some(range),
            ..MakedumpfileOptions::default()
        };
        let path = dir.join(format!("vmcore.{}", i + 1));
        let file = File::create(&path).expect("create a part");
        let mut sink = RawSink::new(BufWriter::with_capacity(1 << 20, file));
        write_makedumpfile_kdump_from(&blocks, &|_| true, &notes, &options, &mut sink)
            .expect("write a part");
    });
}

/// Builds the command that joins PARTS into OUT.
type CommandBuilder = Box<dyn Fn(&[PathBuf], &Path) -> Command>;

struct Tool {
    name: &'static str,
    command: CommandBuilder,
    timings: Timings,
}

impl Tool {
    fn new(name: &'static str, command: CommandBuilder) -> Self {
        Tool {
            name,
            command,
            timings: Timings::default(),
        }
    }
}

fn main() {
    let (benchmark, mib) = run_size("KDUMP_FLAT_BENCH_JOIN_MIB", 1024, 16);
    let dir = bench_dir("kdump-flat-bench-join.");
    if let Some(dir) = std::env::var_os("KDUMP_FLAT_BENCH_JOIN_GENERATE") {
        generate(Path::new(&dir), mib);
        return;
    }
    // The set is written by a child process: the guest memory it holds would otherwise raise this
    // process's peak RSS, which every child measured later inherits through fork (Linux's ru_maxrss).
    let started = Instant::now();
    let status = Command::new(std::env::current_exe().expect("own path"))
        .env("KDUMP_FLAT_BENCH_JOIN_GENERATE", dir.path())
        .env("KDUMP_FLAT_BENCH_JOIN_MIB", mib.to_string())
        .status()
        .expect("run the generator");
    assert!(status.success(), "generating the split set failed");
    let parts: Vec<PathBuf> = (1..=PARTS)
        .map(|i| dir.path().join(format!("vmcore.{i}")))
        .collect();
    let sizes: Vec<u64> = parts
        .iter()
        .map(|p| fs::metadata(p).expect("a part").len())
        .collect();
    println!(
        "input: {mib} MiB of guest memory, {PARTS} parts of {:?} bytes (generated in {:.1} s)",
        sizes,
        started.elapsed().as_secs_f64()
    );
    let output = dir.path().join("joined");

    let ours = env!("CARGO_BIN_EXE_kdump-flat");
    let mut tools = vec![
        Tool::new(
            "kdump-flat join",
            Box::new(move |parts, out| {
                let mut c = Command::new(ours);
                c.arg("join").args(parts).arg(out).stderr(Stdio::null());
                c
            }),
        ),
        Tool::new(
            "makedumpfile --reassemble",
            Box::new(|parts, out| {
                let mut c = Command::new("timeout");
                c.args(["600", "makedumpfile", "--reassemble"])
                    .args(parts)
                    .arg(out)
                    .stderr(Stdio::null());
                c
            }),
        ),
        Tool::new(
            "cat (the parts into one file)",
            Box::new(|parts, out| {
                let mut c = Command::new("cat");
                c.args(parts)
                    .stdout(File::create(out).expect("cat's output"));
                c
            }),
        ),
    ];

    for part in &parts {
        let _ = hash_file(part); // warm the page cache
    }
    let mut reference: Option<(u64, u64)> = None;
    let runs = if benchmark { RUNS } else { 1 };
    for run in 0..runs {
        for tool in tools.iter_mut() {
            let _ = fs::remove_file(&output);
            let _ = Command::new("sync").status();
            let mut command = (tool.command)(&parts, &output);
            let measurement = if tool.name.starts_with("cat") {
                // `measure` sends stdout to /dev/null: spawn cat with its output file itself
                let start = Instant::now();
                let status = command.status().expect("cat");
                assert!(status.success());
                support::Measurement {
                    wall: start.elapsed(),
                    cpu: Duration::ZERO,
                    max_rss_kib: 0,
                }
            } else {
                measure(command)
            };
            tool.timings.record(&measurement);
            if run == 0 && !tool.name.starts_with("cat") {
                assert_same_output(&mut reference, &output, tool.name);
            }
        }
    }
    let _ = fs::remove_file(&output);
    drop(dir);

    println!(
        "outputs of kdump-flat join and makedumpfile --reassemble identical ({} bytes)",
        reference.map(|r| r.0).unwrap_or(0)
    );
    println!();
    println!(
        "| tool | wall, best of {runs} (s) | wall, median (s) | wall / kdump-flat | CPU user+sys, best (s) | \
         peak RSS (MiB) |"
    );
    println!("|---|---|---|---|---|---|");
    let ours_best = tools[0].timings.best().as_secs_f64();
    for tool in &tools {
        println!(
            "| {} | {:.3} | {:.3} | {:.2}× | {} | {} |",
            tool.name,
            tool.timings.best().as_secs_f64(),
            tool.timings.median().as_secs_f64(),
            tool.timings.best().as_secs_f64() / ours_best,
            if tool.name.starts_with("cat") {
                "—".to_string()
            } else {
                format!("{:.3}", tool.timings.best_cpu().as_secs_f64())
            },
            if tool.name.starts_with("cat") {
                "—".to_string()
            } else {
                format!("{:.1}", tool.timings.max_rss_mib())
            },
        );
    }
    println!();
    println!(
        "kdump-flat join is {:.2}× faster than makedumpfile --reassemble and takes {:.2}× the time of cat; \
         load average during the run: {}",
        tools[1].timings.best().as_secs_f64() / ours_best,
        ours_best / tools[2].timings.best().as_secs_f64(),
        fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
}
