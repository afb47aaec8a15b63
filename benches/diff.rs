//! Benchmark of `kdump-flat diff` against `cmp` of the reassembled files, in one run.
//!
//! Generates 1 GiB of guest memory (the page pattern of benches/check.rs: 30 % zero, 10 % incompressible,
//! the rest text-like) and writes it with the model of QEMU's writer (zlib, checked byte for byte against
//! QEMU in tests/model_qemu_oracle.rs): `a.flat` (flattened, QEMU's record order) and `a.raw` (raw), the
//! same memory with its last stored page changed in one byte (`b.flat`, `b.raw`), and a copy of `a.raw`
//! (`a2.raw`). Warms the page cache, then times, interleaved over several runs:
//!
//! - same bytes in two forms: `kdump-flat diff a.flat a.raw` (the flattened file read in place) against
//!   `cmp a.raw a2.raw` (the reassembled files);
//! - one page changed near the end: `kdump-flat diff a.flat b.flat`, `kdump-flat diff a.raw b.raw` and
//!   `kdump-flat diff --memory a.flat b.flat` (every page of both decompressed and compared) against
//!   `cmp a.raw b.raw` (which reads both files up to the changed page and stops).
//!
//! For reference, `kdump-flat check` of each raw file (every page decompressed on all cores) is timed in the
//! same run: `diff` of two dumps that differ has at least the work of checking both. Reports best and median
//! wall time, CPU time, peak RSS and the ratios; checks that `diff` finds exactly the changed pfn. Everything is removed at the end.
//!
//! `cargo bench --bench diff` — KDUMP_FLAT_BENCH_DIFF_MIB overrides the guest memory size,
//! KDUMP_FLAT_BENCH_DIR the directory. Without `--bench` (as `cargo test --all-targets` runs it) it only
//! checks correctness on 16 MiB.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use kdump_flat::compress::Compression;
use kdump_flat::model::notes::{encode_note, NT_PRSTATUS};
use kdump_flat::model::{write_qemu_kdump, Endian, GuestBlock, QemuDumpOptions};
use kdump_flat::sink::{DumpSink, FlatSink, RawSink};

#[path = "support/mod.rs"]
mod support;
use support::{bench_dir, measure_expecting, page_content, run_size, Timings};

const PAGE: u64 = 4096;
const RUNS: usize = 3;

/// The pfn whose page differs between a and b: the last one that is not a zero page.
fn changed_pfn(pages: u64) -> u64 {
    (0..pages)
        .rev()
        .find(|&pfn| page_content(pfn).iter().any(|&b| b != 0))
        .expect("a non-zero page")
}

fn write(memory: &[u8], sink: &mut dyn DumpSink) {
    let blocks = [GuestBlock {
        start: 0,
        len: memory.len() as u64,
        data: &memory,
        data_offset: 0,
    }];
    let notes = encode_note(Endian::Little, "CORE", NT_PRSTATUS, &[0u8; 336]);
    let options = QemuDumpOptions {
        is_64bit: true,
        endian: Endian::Little,
        page_size: PAGE,
        compression: Compression::Zlib,
        nr_cpus: 1,
        phys_base: 0,
        uts_machine: "x86_64".into(),
    };
    write_qemu_kdump(&blocks, &notes, &options, sink).expect("write the benchmark dump");
}

/// Writes a.flat, a.raw, a2.raw, b.flat and b.raw for `mib` MiB of guest memory into `dir`.
fn generate(dir: &Path, mib: u64) {
    let pages = (mib << 20) / PAGE;
    let mut memory = vec![0u8; (pages * PAGE) as usize];
    for (pfn, page) in memory.chunks_mut(PAGE as usize).enumerate() {
        page.copy_from_slice(&page_content(pfn as u64));
    }
    let both = |memory: &[u8], name: &str| {
        let flat = File::create(dir.join(format!("{name}.flat"))).expect("create");
        write(
            memory,
            &mut FlatSink::new(BufWriter::with_capacity(1 << 20, flat)),
        );
        let raw = File::create(dir.join(format!("{name}.raw"))).expect("create");
        write(
            memory,
            &mut RawSink::new(BufWriter::with_capacity(1 << 20, raw)),
        );
    };
    both(&memory, "a");
    std::fs::copy(dir.join("a.raw"), dir.join("a2.raw")).expect("copy a.raw");
    let changed = (changed_pfn(pages) * PAGE + 100) as usize;
    memory[changed] ^= 0xff;
    both(&memory, "b");
}

struct Case {
    name: &'static str,
    args: Vec<String>,
    expected_status: i32,
    timings: Timings,
}

/// A command: `program`, then `flags` as they are, then `files` in `dir`.
fn case(
    name: &'static str,
    program: &str,
    flags: &[&str],
    files: &[&str],
    dir: &Path,
    expected_status: i32,
) -> Case {
    let mut args = vec![program.to_string()];
    args.extend(flags.iter().map(|f| f.to_string()));
    args.extend(files.iter().map(|f| dir.join(f).display().to_string()));
    Case {
        name,
        args,
        expected_status,
        timings: Timings::default(),
    }
}

fn command(args: &[String]) -> Command {
    let mut command = Command::new(&args[0]);
    command.args(&args[1..]).stderr(Stdio::null());
    command
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let (benchmark, mib) = run_size("KDUMP_FLAT_BENCH_DIFF_MIB", 1024, 16);
    if let Some(dir) = std::env::var_os("KDUMP_FLAT_BENCH_DIFF_GENERATE") {
        generate(Path::new(&dir), mib);
        return;
    }
    let dir = bench_dir("kdump-flat-bench-diff.");
    // Generated by a child process: the guest memory it holds would otherwise raise this process's peak
    // RSS, which every child measured later inherits through fork (Linux's ru_maxrss).
    let started = Instant::now();
    let status = Command::new(std::env::current_exe().expect("own path"))
        .env("KDUMP_FLAT_BENCH_DIFF_GENERATE", dir.path())
        .env("KDUMP_FLAT_BENCH_DIFF_MIB", mib.to_string())
        .status()
        .expect("run the generator");
    assert!(status.success(), "generating the dumps failed");
    let size = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .expect("a file")
            .len()
    };
    println!(
        "input: {mib} MiB of guest memory; a.flat {} bytes, a.raw {} bytes (generated in {:.1} s)",
        size("a.flat"),
        size("a.raw"),
        started.elapsed().as_secs_f64()
    );

    let ours = env!("CARGO_BIN_EXE_kdump-flat");
    let d = dir.path();
    // Correctness first: diff finds exactly the changed pfn.
    let pages = (mib << 20) / PAGE;
    let output = Command::new(ours)
        .args(["diff", "--json"])
        .arg(d.join("a.flat"))
        .arg(d.join("b.flat"))
        .output()
        .expect("run diff");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let pfn = changed_pfn(pages);
    assert_eq!(report["summary"]["pfns_differing"], 1, "{report}");
    assert_eq!(report["summary"]["pfns_compared"], pages);
    let page = report["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .find(|d| d["structure"] == "page")
        .expect("a page difference");
    assert_eq!(page["pfns"], serde_json::json!([pfn, pfn]));

    let mut cases = vec![
        case(
            "diff a.flat a.raw (same bytes)",
            ours,
            &["diff"],
            &["a.flat", "a.raw"],
            d,
            0,
        ),
        case(
            "cmp a.raw a2.raw (same bytes)",
            "cmp",
            &[],
            &["a.raw", "a2.raw"],
            d,
            0,
        ),
        case(
            "diff a.flat b.flat (1 page differs)",
            ours,
            &["diff"],
            &["a.flat", "b.flat"],
            d,
            1,
        ),
        case(
            "diff a.raw b.raw (1 page differs)",
            ours,
            &["diff"],
            &["a.raw", "b.raw"],
            d,
            1,
        ),
        case(
            "diff --memory a.flat b.flat",
            ours,
            &["diff", "--memory"],
            &["a.flat", "b.flat"],
            d,
            1,
        ),
        case(
            "cmp a.raw b.raw (1 page differs)",
            "cmp",
            &[],
            &["a.raw", "b.raw"],
            d,
            1,
        ),
        case(
            "check a.raw (a's pages decompressed)",
            ours,
            &["check"],
            &["a.raw"],
            d,
            0,
        ),
        case(
            "check b.raw (b's pages decompressed)",
            ours,
            &["check"],
            &["b.raw"],
            d,
            0,
        ),
    ];
    let runs = if benchmark { RUNS } else { 1 };
    // warm the page cache (in pieces: a whole file read would raise this process's peak RSS, which the
    // children inherit)
    let mut buffer = vec![0u8; 1 << 20];
    for name in ["a.flat", "a.raw", "a2.raw", "b.flat", "b.raw"] {
        let mut file = File::open(d.join(name)).expect("open");
        while std::io::Read::read(&mut file, &mut buffer).expect("read") > 0 {}
    }
    println!("load average before: {}", load_average());
    for _ in 0..runs {
        for case in &mut cases {
            let measurement = measure_expecting(command(&case.args), case.expected_status);
            case.timings.record(&measurement);
        }
    }
    println!("load average after: {}", load_average());
    println!(
        "{:<40} {:>10} {:>10} {:>9} {:>9}",
        "command", "best (s)", "median (s)", "CPU (s)", "RSS (MiB)"
    );
    for case in &cases {
        let t = &case.timings;
        println!(
            "{:<40} {:>10.3} {:>10.3} {:>9.3} {:>9.1}",
            case.name,
            t.best().as_secs_f64(),
            t.median().as_secs_f64(),
            t.best_cpu().as_secs_f64(),
            t.max_rss_mib()
        );
    }
    let best = |i: usize| cases[i].timings.best().as_secs_f64();
    println!(
        "same bytes: diff (flattened in place) / cmp of the reassembled files = {:.2}x",
        best(0) / best(1)
    );
    println!(
        "one page differs: diff flat / cmp = {:.2}x, diff raw / cmp = {:.2}x, diff --memory / cmp = {:.2}x",
        best(2) / best(5),
        best(3) / best(5),
        best(4) / best(5)
    );
    let cpu = |i: usize| cases[i].timings.best_cpu().as_secs_f64();
    println!(
        "diff raw / (check a + check b): wall {:.2}x, CPU {:.2}x (what decompressing both dumps costs)",
        best(3) / (best(6) + best(7)),
        cpu(3) / (cpu(6) + cpu(7))
    );
}
