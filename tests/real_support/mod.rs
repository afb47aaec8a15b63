//! Helpers shared by the tests on real dumps (corpus/real): paths, the gzipped ELFs, the real tools
//! (makedumpfile -R, the libkdumpfile oracle) run as subprocesses with a time limit.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Page size of every dump in corpus/real (x86).
pub const PAGE_SIZE: u64 = 4096;

/// Path of a file in corpus/real.
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/real")
        .join(name)
}

/// Reads a file of corpus/real.
pub fn read_corpus(name: &str) -> Vec<u8> {
    let path = corpus(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Decompresses a gzipped ELF dump of corpus/real (`fw-q72.elf.gz` → the ELF bytes).
pub fn gunzip_corpus(name: &str) -> Vec<u8> {
    let gz = read_corpus(name);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{name}: bad gzip: {e}"));
    out
}

/// Runs a command to completion within `limit`, killing it on timeout. Returns its stdout.
pub fn run_with_limit(mut command: Command, stdin: Option<&Path>, limit: Duration) -> Vec<u8> {
    let description = format!("{command:?}");
    if let Some(path) = stdin {
        command.stdin(std::fs::File::open(path).unwrap());
    } else {
        command.stdin(Stdio::null());
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {description} (is the tool installed? see scripts/install-test-tools.sh): {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("{description} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap().unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).ok();
    }
    assert!(status.success(), "{description} failed: {status}\n{err}");
    out
}

/// `makedumpfile -R OUT < flat`: the real tool's reassembly of a flattened file, as bytes.
pub fn makedumpfile_reassemble(flat: &Path) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reassembled");
    let mut command = Command::new("makedumpfile");
    command.arg("-R").arg(&out);
    run_with_limit(command, Some(flat), Duration::from_secs(120));
    std::fs::read(&out).unwrap()
}

/// What libkdumpfile read from a dump (or a split set): tests/oracle/libkdumpfile_pages.py's JSON.
#[derive(Debug, serde::Deserialize)]
pub struct OracleReport {
    /// `file.format`.
    pub format: Option<String>,
    /// `arch.page_size`.
    pub page_size: u64,
    /// `max_pfn`.
    pub max_pfn: u64,
    /// `arch.name`.
    pub arch: Option<String>,
    /// VMCOREINFO OSRELEASE.
    pub osrelease: Option<String>,
    /// Runs [first, end) of `memory.pagemap`.
    pub pagemap: Vec<(u64, u64)>,
    /// (pfn, sha256 or None for NoDataException) for each pagemap pfn.
    pub pages: Vec<(u64, Option<String>)>,
    /// Reads at the edges of the gaps of the pagemap.
    pub outside: Vec<(u64, Option<String>)>,
}

/// Runs the libkdumpfile oracle (/usr/bin/python3 with python3-libkdumpfile) on raw kdump files.
pub fn libkdumpfile_pages(paths: &[&Path]) -> OracleReport {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/libkdumpfile_pages.py");
    let mut command = Command::new("/usr/bin/python3");
    command.arg(script).args(paths);
    let out = run_with_limit(command, None, Duration::from_secs(300));
    serde_json::from_slice(&out).expect("oracle output is JSON")
}

/// sha256 of a byte string, in hex (to compare with the oracle's hashlib.sha256).
pub fn sha256_hex(data: &[u8]) -> String {
    sha256::digest(data)
}

/// A small self-contained SHA-256 (FIPS 180-4), so the tests need no extra crate to compare with the oracle.
mod sha256 {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    pub fn digest(data: &[u8]) -> String {
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let mut msg = data.to_vec();
        let bit_len = (data.len() as u64).wrapping_mul(8);
        msg.push(0x80);
        while msg.len() % 64 != 56 {
            msg.push(0);
        }
        msg.extend_from_slice(&bit_len.to_be_bytes());
        for block in msg.chunks(64) {
            let mut w = [0u32; 64];
            for i in 0..16 {
                w[i] = u32::from_be_bytes([
                    block[4 * i],
                    block[4 * i + 1],
                    block[4 * i + 2],
                    block[4 * i + 3],
                ]);
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[i - 7])
                    .wrapping_add(s1);
            }
            let mut v = h;
            for i in 0..64 {
                let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
                let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
                let t1 = v[7]
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[i])
                    .wrapping_add(w[i]);
                let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
                let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
                let t2 = s0.wrapping_add(maj);
                v = [
                    t1.wrapping_add(t2),
                    v[0],
                    v[1],
                    v[2],
                    v[3].wrapping_add(t1),
                    v[4],
                    v[5],
                    v[6],
                ];
            }
            for (a, b) in h.iter_mut().zip(v) {
                *a = a.wrapping_add(b);
            }
        }
        h.iter().map(|x| format!("{x:08x}")).collect()
    }

    #[test]
    fn known_vectors() {
        assert_eq!(
            digest(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digest(&[0u8; 4096]),
            "ad7facb2586fc6e966c004d7d1d16b024f5805ff7cb47c7a85dabd8b48892ca7"
        );
        // Python's hashlib.sha256(bytes(range(256)) * 300): several blocks, all byte values.
        let data: Vec<u8> = (0..300).flat_map(|_| 0..=255u8).collect();
        assert_eq!(
            digest(&data),
            "f8b0585eb91f58c007a5634362c9f90d8543822c113f702523bc7b73408a9392"
        );
    }
}
