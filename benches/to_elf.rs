//! Benchmark of issue 16: `to-elf` of a 1 GiB guest against `check` of the same dump (the decompression
//! floor: `check` reads and decompresses every page on all cores and writes nothing), measured in one
//! run, interleaved, best and median of several runs.
//!
//! Generates QEMU's kdump-zlib file (raw) of a guest with 1 GiB of RAM in one block, written by the model
//! of QEMU's writer (`model::write_qemu_kdump`, zlib level 1) with the benchmarks' page pattern (30 % zero
//! pages, 10 % incompressible, the rest text-like), then times `kdump-flat check DUMP`, `kdump-flat
//! to-elf DUMP OUT` (a sparse file) and `kdump-flat to-elf DUMP -` (standard output to /dev/null, zero
//! pages written as zeros). The ELF output is checked: its length, and 4,096 pages spread over the guest
//! read back through the ELF reader equal the pattern. The files are removed at the end.
//!
//! `cargo bench --bench to_elf` — 1 GiB (KDUMP_FLAT_BENCH_TO_ELF_MIB overrides it, KDUMP_FLAT_BENCH_DIR
//! the directory). Without `--bench` (as `cargo test --all-targets` runs it) it only checks correctness
//! on 16 MiB.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use kdump_flat::compress::Compression;
use kdump_flat::elf::{guest_phys_read, ElfDump};
use kdump_flat::model::{write_qemu_kdump, Endian, GuestBlock, QemuDumpOptions};
use kdump_flat::readat::ReadAt;
use kdump_flat::sink::RawSink;

#[path = "support/mod.rs"]
mod support;
use support::{bench_dir, measure, page_content, run_size, Timings};

const PAGE: u64 = 4096;

/// Guest memory made of the benchmarks' page pattern.
struct PatternMemory {
    len: u64,
}

impl ReadAt for PatternMemory {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut done = 0;
        while done < buf.len() && offset + (done as u64) < self.len {
            let at = offset + done as u64;
            let page = page_content(at / PAGE);
            let within = (at % PAGE) as usize;
            let n = (buf.len() - done).min(PAGE as usize - within);
            buf[done..done + n].copy_from_slice(&page[within..within + n]);
            done += n;
        }
        Ok(done)
    }

    fn size(&self) -> std::io::Result<u64> {
        Ok(self.len)
    }
}

fn generate(path: &Path, mib: u64) {
    let memory = PatternMemory { len: mib << 20 };
    let blocks = [GuestBlock {
        start: 0,
        len: memory.len,
        data: &memory,
        data_offset: 0,
    }];
    let options = QemuDumpOptions {
        is_64bit: true,
        endian: Endian::Little,
        page_size: PAGE,
        compression: Compression::Zlib,
        nr_cpus: 1,
        phys_base: 0,
        uts_machine: "x86_64".into(),
    };
    let file = File::create(path).expect("create the dump");
    let mut sink = RawSink::new(BufWriter::with_capacity(1 << 20, file));
    write_qemu_kdump(&blocks, &[], &options, &mut sink).expect("write the dump");
}

fn verify(elf_path: &Path, mib: u64) {
    let file = File::open(elf_path).expect("the ELF output");
    let elf = ElfDump::parse(&file).expect("parse the ELF output");
    let pages = (mib << 20) / PAGE;
    let mut page = vec![0u8; PAGE as usize];
    for i in 0..4096u64 {
        let pfn = i * 7919 % pages;
        guest_phys_read(&elf, &file, pfn * PAGE, &mut page).expect("read a page");
        assert!(page == page_content(pfn), "pfn {pfn:#x} differs");
    }
}

fn main() {
    let (benchmark, mib) = run_size("KDUMP_FLAT_BENCH_TO_ELF_MIB", 1024, 16);
    let runs = if benchmark { 5 } else { 1 };
    let dir = bench_dir("kdump-flat-bench-to-elf.");
    let dump = dir.path().join("vmcore");
    let elf = dir.path().join("vmcore.elf");
    let started = Instant::now();
    generate(&dump, mib);
    let size = std::fs::metadata(&dump).expect("the dump").len();
    println!(
        "input: {mib} MiB of guest memory, QEMU kdump-zlib (raw) of {size} bytes, generated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Warm the page cache.
    std::io::copy(&mut File::open(&dump).unwrap(), &mut std::io::sink()).unwrap();

    let ours = env!("CARGO_BIN_EXE_kdump-flat");
    let check = || {
        let mut c = Command::new(ours);
        c.arg("check").arg(&dump).stderr(Stdio::null());
        c
    };
    let to_file = || {
        let mut c = Command::new(ours);
        c.arg("to-elf")
            .arg(&dump)
            .arg(&elf)
            .arg("--force")
            .stderr(Stdio::null());
        c
    };
    let to_stdout = || {
        let mut c = Command::new(ours);
        c.arg("to-elf").arg(&dump).arg("-").stderr(Stdio::null());
        c
    };
    let mut timings = [Timings::default(), Timings::default(), Timings::default()];
    for _ in 0..runs {
        timings[0].record(&measure(check()));
        timings[1].record(&measure(to_file()));
        timings[2].record(&measure(to_stdout()));
    }
    verify(&elf, mib);
    let elf_len = std::fs::metadata(&elf).unwrap().len();
    assert_eq!(elf_len, (mib << 20) + 0x130 + 11, "ELF length");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("runs: {runs}, load average: {}", load.trim());
    println!("| command | wall, best (s) | wall, median (s) | CPU (s) | peak RSS (MiB) |");
    println!("|---|---|---|---|---|");
    for (name, t) in [
        "kdump-flat check",
        "kdump-flat to-elf (sparse file)",
        "kdump-flat to-elf - (stdout)",
    ]
    .iter()
    .zip(&timings)
    {
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.1} |",
            t.best().as_secs_f64(),
            t.median().as_secs_f64(),
            t.best_cpu().as_secs_f64(),
            t.max_rss_mib()
        );
    }
    let floor = timings[0].best().as_secs_f64();
    println!(
        "to-elf / check: {:.2}x (file), {:.2}x (stdout)",
        timings[1].best().as_secs_f64() / floor,
        timings[2].best().as_secs_f64() / floor
    );
}
