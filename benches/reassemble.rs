//! Benchmark of issue 14: `kdump-flat reassemble` against `makedumpfile -R` and `cp`, on six record orders
//! (`support/flat_orders.rs`), in one run.
//!
//! For each order: generates the flattened file, warms the page cache, then times the three tools
//! several times, interleaved, reporting median and best wall time, ratios, CPU time and peak RSS (wait4's
//! ru_maxrss of the child). Every output of kdump-flat and makedumpfile -R is hash-checked against the
//! first one (identical bytes), then removed.
//!
//! `cargo bench --bench reassemble` — 1 GiB of payload for the 4 KiB/64 KiB orders
//! (KDUMP_FLAT_BENCH_MIB overrides), 1M records for the one-byte orders (KDUMP_FLAT_BENCH_TINY_RECORDS),
//! 5 runs (KDUMP_FLAT_BENCH_RUNS), every order (KDUMP_FLAT_BENCH_ORDERS=qemu,shuffled-8,… selects);
//! files in KDUMP_FLAT_BENCH_DIR or the system temp dir (needs about 2 GiB free, and 4 GiB for the
//! one-byte records 4 KiB apart, whose output has a byte in every block). Without `--bench` (as run by
//! `cargo test --all-targets`) it only checks correctness: 16 MiB and 50,000 records, one run.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use kdump_flat::sink::{DumpSink, FlatSink};

#[path = "support/mod.rs"]
mod support;
use support::{assert_same_output, bench_dir, hash_file, measure, run_size, Timings};

#[path = "support/flat_orders.rs"]
mod flat_orders;
use flat_orders::Order;

/// Writes the flattened file of `order`; returns the number of records.
fn generate(path: &Path, order: Order, size: u64) -> u64 {
    let file = File::create(path).expect("create the input file");
    let mut sink = FlatSink::new(BufWriter::with_capacity(1 << 20, file));
    order.write(size, &mut sink).expect("write the input file");
    sink.finish().expect("finish the input file");
    let records = sink.records();
    sink.into_inner().flush().expect("flush the input file");
    records
}

/// The type of the file system holding `path`, as `stat -f` names the common ones.
fn file_system_of(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let Ok(name) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return "unknown file system".into();
    };
    // SAFETY: statfs is plain data; statfs fills it for a NUL-terminated path.
    let mut info: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statfs(name.as_ptr(), &mut info) } != 0 {
        return "unknown file system".into();
    }
    match info.f_type {
        0xef53 => "ext4".into(),
        0x5846_5342 => "xfs".into(),
        0x9123_683e => "btrfs".into(),
        0x0102_1994 => "tmpfs".into(),
        other => format!("file system type {other:#x}"),
    }
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
    /// Whether its output is the reassembled file (cp's is the flattened input).
    reassembles: bool,
}

fn tools() -> Vec<Tool> {
    let ours = env!("CARGO_BIN_EXE_kdump-flat");
    vec![
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
            reassembles: true,
        },
        Tool {
            name: "makedumpfile -R",
            command: Box::new(|input, output| {
                let mut c = Command::new("timeout");
                c.args(["900", "makedumpfile", "-R"]).arg(output);
                c.stdin(File::open(input).expect("open input"));
                c.stderr(Stdio::null());
                c
            }),
            reassembles: true,
        },
        Tool {
            name: "cp",
            command: Box::new(|input, output| {
                let mut c = Command::new("cp");
                c.arg(input).arg(output);
                c
            }),
            reassembles: false,
        },
    ]
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let (benchmark, mib) = run_size("KDUMP_FLAT_BENCH_MIB", 1024, 16);
    let tiny_records = env_u64("KDUMP_FLAT_BENCH_TINY_RECORDS").unwrap_or(if benchmark {
        1 << 20
    } else {
        50_000
    });
    let runs = env_u64("KDUMP_FLAT_BENCH_RUNS").unwrap_or(if benchmark { 5 } else { 1 }) as usize;
    let selected = std::env::var("KDUMP_FLAT_BENCH_ORDERS").ok();
    let orders: Vec<Order> = Order::ALL
        .into_iter()
        .filter(|o| {
            selected
                .as_deref()
                .is_none_or(|s| s.split(',').any(|name| name == o.name()))
        })
        .collect();
    let dir = bench_dir("kdump-flat-bench.");
    let input = dir.path().join("input.flat");
    let output = dir.path().join("output");
    println!(
        "reassembly benchmark: {runs} runs per tool, interleaved; load average at start: {}",
        fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "machine: {} CPUs, Linux {}; files in {} ({}); page cache warm, each output removed and `sync` \
         run before every run",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        dir.path().display(),
        file_system_of(dir.path())
    );
    println!(
        "targets (issue 14): each 1 GiB order >= 2.5x faster than makedumpfile -R and <= 1.2x the time \
         of cp (wall, medians); one-byte orders under 2 s and faster than makedumpfile -R; peak RSS <= 16 \
         MiB. kdump-flat reads and writes on two threads: its CPU time can exceed its wall time."
    );
    let mut summary = Vec::new();
    for order in orders {
        let size = if order.counts_records() {
            tiny_records
        } else {
            mib << 20
        };
        let started = Instant::now();
        let records = generate(&input, order, size);
        let input_len = fs::metadata(&input).expect("input").len();
        println!();
        println!(
            "## {}: {records} records, {input_len} bytes flattened (generated in {:.1} s)",
            order.description(),
            started.elapsed().as_secs_f64()
        );
        let mut tools = tools();
        let mut timings: Vec<Timings> = tools.iter().map(|_| Timings::default()).collect();
        // warm the page cache with the input
        let _ = hash_file(&input);
        let mut reference: Option<(u64, u64)> = None;
        for run in 0..runs {
            for (tool, timing) in tools.iter_mut().zip(&mut timings) {
                drop_output(&output);
                let measurement = measure((tool.command)(&input, &output));
                timing.record(&measurement);
                if run == 0 && tool.reassembles {
                    assert_same_output(&mut reference, &output, tool.name);
                }
            }
        }
        drop_output(&output);
        println!(
            "outputs of kdump-flat and makedumpfile -R identical ({} bytes)",
            reference.map(|r| r.0).unwrap_or(0)
        );
        println!();
        println!(
            "| tool | wall, median of {runs} (s) | wall, best (s) | median / kdump-flat | CPU, best (s) | \
             peak RSS (MiB) |"
        );
        println!("|---|---|---|---|---|---|");
        let ours = timings[0].median().as_secs_f64();
        for (tool, timing) in tools.iter().zip(&timings) {
            println!(
                "| {} | {:.3} | {:.3} | {:.2}× | {:.3} | {:.1} |",
                tool.name,
                timing.median().as_secs_f64(),
                timing.best().as_secs_f64(),
                timing.median().as_secs_f64() / ours,
                timing.best_cpu().as_secs_f64(),
                timing.max_rss_mib()
            );
        }
        let makedumpfile = timings[1].median().as_secs_f64();
        let cp = timings[2].median().as_secs_f64();
        let met = |ok: bool| if ok { "met" } else { "NOT met" };
        let verdict = if order.counts_records() {
            format!(
                "under 2 s and faster than makedumpfile -R: {}",
                met(ours < 2.0 && ours < makedumpfile)
            )
        } else {
            format!(
                ">= 2.5x makedumpfile -R: {}, <= 1.2x cp: {}",
                met(makedumpfile / ours >= 2.5),
                met(ours / cp <= 1.2)
            )
        };
        let line = format!(
            "{}: kdump-flat {ours:.3} s, {:.2}× faster than makedumpfile -R ({makedumpfile:.3} s), {:.2}× \
             the time of cp ({cp:.3} s), peak RSS {:.1} MiB; CPU (best) {:.2}× cp's; targets: {verdict}, \
             RSS <= 16 MiB: {}",
            order.name(),
            makedumpfile / ours,
            ours / cp,
            timings[0].max_rss_mib(),
            timings[0].best_cpu().as_secs_f64() / timings[2].best_cpu().as_secs_f64(),
            met(timings[0].max_rss_mib() <= 16.0)
        );
        println!();
        println!("{line}");
        summary.push(line);
    }
    drop(dir);
    println!();
    println!("## Summary (medians)");
    for line in summary {
        println!("{line}");
    }
    println!(
        "load average at the end: {}",
        fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
