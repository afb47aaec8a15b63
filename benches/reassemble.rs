//! Benchmark of item 9: `kdump-flat reassemble` against `makedumpfile -R` and `cp`, in one run.
//!
//! Generates a flattened file of 4 KiB records laid out the way QEMU writes a kdump dump (headers, the two
//! bitmaps alternating chunk by chunk, then page data at high offsets interleaved with descriptor flushes
//! at low offsets: a backward jump every 170 pages), warms the page cache, then times each tool
//! several times, interleaved, reporting the best and median wall time, ratios and peak RSS (wait4's
//! ru_maxrss of the child). Every output is checked against makedumpfile's (same hash) and removed.
//!
//! `cargo bench --bench reassemble` — 2 GiB of payload (KDUMP_FLAT_BENCH_MIB overrides the size,
//! KDUMP_FLAT_BENCH_DIR the directory, default the system temp dir; needs about twice the size free).
//! Without `--bench` (as run by `cargo test --all-targets`) it only checks correctness on 32 MiB.
//! KDUMP_FLAT_BENCH_GENERATE_ONLY=PATH writes the input file to PATH and stops (for profiling by hand).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use kdump_flat::sink::{DumpSink, FlatSink};

#[path = "support/mod.rs"]
mod support;
use support::{assert_same_output, bench_dir, hash_file, measure, run_size, Timings};

const PAGE: u64 = 4096;
/// Descriptors per 4 KiB descriptor record (24 bytes each, as in QEMU's page descriptors).
const DESCRIPTORS_PER_RECORD: u64 = 170;
const RUNS: usize = 5;

struct Layout {
    pages: u64,
    bitmap_len: u64,
    bitmap_start: u64,
    descriptors_start: u64,
    data_start: u64,
}

impl Layout {
    fn new(payload_bytes: u64) -> Self {
        let pages = payload_bytes / PAGE;
        let bitmap_len = pages.div_ceil(8).div_ceil(PAGE) * PAGE;
        let bitmap_start = 2 * PAGE;
        let descriptors_start = bitmap_start + 2 * bitmap_len;
        let data_start = descriptors_start + (pages * 24).div_ceil(PAGE) * PAGE;
        Layout {
            pages,
            bitmap_len,
            bitmap_start,
            descriptors_start,
            data_start,
        }
    }
}

/// Writes the QEMU-like flattened file; returns the number of records and backward jumps.
fn generate(path: &Path, payload_bytes: u64) -> (u64, u64) {
    let layout = Layout::new(payload_bytes);
    let file = File::create(path).expect("create the input file");
    let mut sink = FlatSink::new(BufWriter::with_capacity(1 << 20, file));
    let mut last_offset = 0u64;
    let mut backward = 0u64;
    let mut write = |sink: &mut FlatSink<BufWriter<File>>, offset: u64, data: &[u8]| {
        if offset < last_offset {
            backward += 1;
        }
        last_offset = offset;
        sink.write_at(offset, data).expect("write the input file");
    };
    let mut page = vec![0u8; PAGE as usize];
    page[..8].copy_from_slice(b"KDUMP   ");
    write(&mut sink, 0, &page[..464]);
    write(&mut sink, PAGE, &page[..104]);
    page.fill(0xff);
    for chunk in 0..layout.bitmap_len / PAGE {
        write(&mut sink, layout.bitmap_start + chunk * PAGE, &page);
        write(
            &mut sink,
            layout.bitmap_start + layout.bitmap_len + chunk * PAGE,
            &page,
        );
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut descriptors = 0u64;
    for pfn in 0..layout.pages {
        for word in page.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        write(&mut sink, layout.data_start + pfn * PAGE, &page);
        if (pfn + 1) % DESCRIPTORS_PER_RECORD == 0 || pfn + 1 == layout.pages {
            let count = (pfn + 1) - descriptors;
            let offset = layout.descriptors_start + descriptors * 24;
            write(&mut sink, offset, &page[..(count * 24) as usize]);
            descriptors = pfn + 1;
        }
    }
    sink.finish().expect("finish the input file");
    let records = sink.records();
    sink.into_inner().flush().expect("flush the input file");
    (records, backward)
}

fn drop_output(path: &Path) {
    let _ = fs::remove_file(path);
    let _ = Command::new("sync").status();
}

/// Builds the command that copies INPUT to OUTPUT.
type CommandBuilder = Box<dyn Fn(&Path, &Path) -> Command>;

struct Tool {
    name: &'static str,
    command: CommandBuilder,
    timings: Timings,
}

fn main() {
    let (benchmark, mib) = run_size("KDUMP_FLAT_BENCH_MIB", 2048, 32);
    let dir = bench_dir("kdump-flat-bench.");
    if let Some(path) = std::env::var_os("KDUMP_FLAT_BENCH_GENERATE_ONLY") {
        // for profiling by hand: write the input file there and stop
        let (records, backward) = generate(Path::new(&path), mib << 20);
        println!("wrote {records} records, {backward} backward jumps");
        return;
    }
    let input = dir.path().join("input.flat");
    let output = dir.path().join("output");

    let started = Instant::now();
    let (records, backward) = generate(&input, mib << 20);
    let input_len = fs::metadata(&input).expect("input").len();
    println!(
        "input: {} MiB payload, {records} records of ≤4 KiB, {backward} backward jumps, {input_len} bytes \
         (generated in {:.1} s)",
        mib,
        started.elapsed().as_secs_f64()
    );

    let ours = env!("CARGO_BIN_EXE_kdump-flat");
    let mut tools = vec![
        Tool {
            name: "kdump-flat reassemble",
            command: Box::new(move |input, output| {
                let mut c = Command::new(ours);
                c.arg("reassemble")
                    .arg(input)
                    .arg(output)
                    .stderr(Stdio::null());
                c
            }),
            timings: Timings::default(),
        },
        Tool {
            name: "kdump-flat reassemble - (stdin)",
            command: Box::new(move |input, output| {
                let mut c = Command::new(ours);
                c.args(["reassemble", "-"])
                    .arg(output)
                    .stderr(Stdio::null());
                c.stdin(File::open(input).expect("open input"));
                c
            }),
            timings: Timings::default(),
        },
        Tool {
            name: "kdump-flat reassemble --sync",
            command: Box::new(move |input, output| {
                let mut c = Command::new(ours);
                c.args(["reassemble", "--sync"])
                    .arg(input)
                    .arg(output)
                    .stderr(Stdio::null());
                c
            }),
            timings: Timings::default(),
        },
        Tool {
            name: "makedumpfile -R",
            command: Box::new(|input, output| {
                let mut c = Command::new("timeout");
                c.args(["600", "makedumpfile", "-R"]).arg(output);
                c.stdin(File::open(input).expect("open input"));
                c
            }),
            timings: Timings::default(),
        },
        Tool {
            name: "cp",
            command: Box::new(|input, output| {
                let mut c = Command::new("cp");
                c.arg(input).arg(output);
                c
            }),
            timings: Timings::default(),
        },
    ];

    // warm the page cache with the input
    let _ = hash_file(&input);
    let mut reference: Option<(u64, u64)> = None;
    let runs = if benchmark { RUNS } else { 1 };
    for run in 0..runs {
        for tool in tools.iter_mut() {
            drop_output(&output);
            let measurement = measure((tool.command)(&input, &output));
            tool.timings.record(&measurement);
            if run == 0 && tool.name != "cp" {
                assert_same_output(&mut reference, &output, tool.name);
            }
        }
    }
    drop_output(&output);
    drop(dir);

    let best = |t: &Tool| t.timings.best();
    let median = |t: &Tool| t.timings.median();
    let best_cpu = |t: &Tool| t.timings.best_cpu();
    let ours_best = best(&tools[0]).as_secs_f64();
    let ours_cpu = best_cpu(&tools[0]).as_secs_f64();
    println!(
        "outputs of kdump-flat and makedumpfile -R identical ({} bytes)",
        reference.map(|r| r.0).unwrap_or(0)
    );
    println!();
    println!(
        "| tool | wall, best of {runs} (s) | wall, median (s) | wall / kdump-flat | CPU user+sys, best (s) | \
         CPU / kdump-flat | peak RSS (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for tool in &tools {
        println!(
            "| {} | {:.2} | {:.2} | {:.2}× | {:.2} | {:.2}× | {:.1} |",
            tool.name,
            best(tool).as_secs_f64(),
            median(tool).as_secs_f64(),
            best(tool).as_secs_f64() / ours_best,
            best_cpu(tool).as_secs_f64(),
            best_cpu(tool).as_secs_f64() / ours_cpu,
            tool.timings.max_rss_mib()
        );
    }
    let tool = |name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .expect("a measured tool")
    };
    let makedumpfile = best(tool("makedumpfile -R")).as_secs_f64();
    let cp = best(tool("cp")).as_secs_f64();
    let synced = best(tool("kdump-flat reassemble --sync")).as_secs_f64();
    println!();
    println!(
        "with fsync before the rename (--sync, which cp and makedumpfile -R do not do): {:.1}× faster than \
         makedumpfile -R, {:.2}× the time of cp",
        makedumpfile / synced,
        synced / cp
    );
    println!(
        "wall: kdump-flat is {:.1}× faster than makedumpfile -R (target ≥ 4×) and takes {:.2}× the time \
         of cp (target ≤ 1.2×); CPU: {:.1}× less than makedumpfile -R, {:.2}× cp; peak RSS {:.1} MiB \
         (target ≤ 16 MiB); load average during the run: {}",
        makedumpfile / ours_best,
        ours_best / cp,
        best_cpu(tool("makedumpfile -R")).as_secs_f64() / ours_cpu,
        ours_cpu / best_cpu(tool("cp")).as_secs_f64(),
        tools[0].timings.max_rss_mib(),
        fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
}
