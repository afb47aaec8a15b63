//! What the benchmarks share: running a command while measuring its wall time, CPU time and peak RSS, and
//! hashing an output file to compare tools' outputs, a temporary directory, and the guest page pattern.

// each benchmark includes this module and uses only part of it
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::Hasher;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of a command cost.
pub struct Measurement {
    /// Wall-clock time from spawn to exit.
    pub wall: Duration,
    /// User + system CPU time of the child.
    pub cpu: Duration,
    /// Peak resident set of the child (KiB).
    pub max_rss_kib: i64,
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
}

/// Runs `command` to completion, measuring wall time and the child's peak RSS; it must exit 0.
pub fn measure(command: Command) -> Measurement {
    measure_expecting(command, 0)
}

/// Runs `command` to completion, measuring wall time and the child's peak RSS; it must exit with
/// `expected_status` (1 for `cmp` and `diff` of files that differ).
pub fn measure_expecting(mut command: Command, expected_status: i32) -> Measurement {
    command.stdout(Stdio::null());
    let start = Instant::now();
    let child = command.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child; `status` and `usage` are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == expected_status,
        "{command:?} failed with status {status} (expected exit {expected_status})"
    );
    std::mem::forget(child);
    Measurement {
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
    }
}

/// Length and a hash of the file at `path`.
pub fn hash_file(path: &Path) -> (u64, u64) {
    let mut file = File::open(path).expect("open output");
    let mut buffer = vec![0u8; 1 << 20];
    let mut hasher = DefaultHasher::new();
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buffer).expect("read output");
        if n == 0 {
            break;
        }
        hasher.write(&buffer[..n]);
        len += n as u64;
    }
    (len, hasher.finish())
}

/// Checks that `tool` wrote the same file at `output` as the tools hashed before it (the first hash
/// becomes the reference: length and hash).
pub fn assert_same_output(reference: &mut Option<(u64, u64)>, output: &Path, tool: &str) {
    let hash = hash_file(output);
    match reference {
        None => *reference = Some(hash),
        Some(expected) => assert_eq!(hash, *expected, "{tool} output differs from kdump-flat's"),
    }
}

/// The measurements of one tool over several runs.
#[derive(Default)]
pub struct Timings {
    /// Wall times, one per run.
    pub walls: Vec<Duration>,
    /// CPU times (user + system), one per run.
    pub cpus: Vec<Duration>,
    /// Largest peak RSS of any run (KiB).
    pub max_rss_kib: i64,
}

impl Timings {
    /// Adds one run.
    pub fn record(&mut self, measurement: &Measurement) {
        self.walls.push(measurement.wall);
        self.cpus.push(measurement.cpu);
        self.max_rss_kib = self.max_rss_kib.max(measurement.max_rss_kib);
    }

    /// Shortest wall time.
    pub fn best(&self) -> Duration {
        self.walls.iter().min().copied().unwrap_or_default()
    }

    /// Median wall time.
    pub fn median(&self) -> Duration {
        let mut walls = self.walls.clone();
        walls.sort();
        walls.get(walls.len() / 2).copied().unwrap_or_default()
    }

    /// Smallest CPU time.
    pub fn best_cpu(&self) -> Duration {
        self.cpus.iter().min().copied().unwrap_or_default()
    }

    /// Peak RSS in MiB.
    pub fn max_rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }
}

/// Whether this is a real benchmark run (`cargo bench` passes `--bench`; `cargo test --all-targets` does
/// not), and the input size in MiB: the environment variable `size_var` if set, else `full` for a
/// benchmark run and `quick` for a correctness-only run.
pub fn run_size(size_var: &str, full: u64, quick: u64) -> (bool, u64) {
    let benchmark = std::env::args().any(|a| a == "--bench");
    let mib = std::env::var(size_var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benchmark { full } else { quick });
    (benchmark, mib)
}

/// A temporary directory for a benchmark's big files, in KDUMP_FLAT_BENCH_DIR or the system temp dir;
/// removed when dropped.
pub fn bench_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(
            std::env::var_os("KDUMP_FLAT_BENCH_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
        )
        .expect("temp dir")
}

/// The bytes of 4 KiB guest page `pfn`, by a fixed pattern: 30 % zero, 10 % incompressible, the rest
/// text-like (compresses about 4:1).
pub fn page_content(pfn: u64) -> Vec<u8> {
    let mut state = pfn.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    match pfn % 10 {
        0..=2 => vec![0u8; 4096],
        3 => (0..4096).map(|_| next() as u8).collect(),
        _ => {
            const WORDS: [&str; 8] = [
                "kernel ",
                "struct ",
                "page ",
                "0xffff8880 ",
                "task ",
                "mutex ",
                "NULL ",
                "\n\t",
            ];
            let mut page = Vec::with_capacity(4096);
            while page.len() < 4096 {
                let r = next();
                if r % 5 == 0 {
                    page.extend_from_slice(&r.to_le_bytes());
                } else {
                    page.extend_from_slice(WORDS[(r % 8) as usize].as_bytes());
                }
            }
            page.truncate(4096);
            page
        }
    }
}
