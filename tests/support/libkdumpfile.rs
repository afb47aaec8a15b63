//! The libkdumpfile oracle shared by the tests: runs tests/oracle/libkdumpfile_pages.py (python3-libkdumpfile
//! under /usr/bin/python3) and parses its JSON. A missing libkdumpfile is an error, so the tests that use this
//! FAIL then, never skip. A module of tests/support (support::real re-exports it).

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

/// Longest a run of the oracle may take (the `timeout` command kills it then).
const ORACLE_TIME_LIMIT_SECONDS: u64 = 300;

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
    /// Runs [first, end) of the page map ([`OraclePfns`] says which one; union over the files).
    pub pagemap: Vec<(u64, u64)>,
    /// (pfn, sha256 or None for NoDataException) for each pfn [`OraclePfns`] selects, ascending.
    pub pages: Vec<(u64, Option<String>)>,
    /// Reads at the edges of the gaps of the page map.
    pub outside: Vec<(u64, Option<String>)>,
}

/// Which pfns the oracle reads (and which libkdumpfile bitmap it reports as `pagemap`).
#[derive(Clone, Copy, Debug)]
pub enum OraclePfns {
    /// The pfns of `memory.pagemap`: what libkdumpfile says is in memory.
    MemoryPagemap,
    /// The pfns of `file.pagemap`: what libkdumpfile says is stored in the file(s).
    FilePagemap,
    /// Every pfn below the bound, whatever its state (`pagemap` is `memory.pagemap`).
    EveryPfnBelow(u64),
}

/// Runs the libkdumpfile oracle on raw kdump files (several = one split set); `Err` says why it failed
/// (libkdumpfile missing, a file it cannot open, a read error at a named pfn, the time limit).
pub fn try_libkdumpfile_report(paths: &[&Path], pfns: OraclePfns) -> Result<OracleReport, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/libkdumpfile_pages.py");
    let mut command = Command::new("timeout");
    command
        .arg(ORACLE_TIME_LIMIT_SECONDS.to_string())
        .arg("/usr/bin/python3")
        .arg(&script);
    match pfns {
        OraclePfns::MemoryPagemap => command.args(["--pagemap", "memory"]),
        OraclePfns::FilePagemap => command.args(["--pagemap", "file"]),
        OraclePfns::EveryPfnBelow(bound) => command.arg("--every-pfn-below").arg(bound.to_string()),
    };
    command.arg("--").args(paths);
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {command:?} (python3-libkdumpfile is required): {e}"))?;
    if !output.status.success() {
        let reason = if output.status.code() == Some(124) {
            format!("did not finish within {ORACLE_TIME_LIMIT_SECONDS} s")
        } else {
            format!("failed ({})", output.status)
        };
        return Err(format!(
            "libkdumpfile oracle on {paths:?} {reason}: {}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("libkdumpfile oracle on {paths:?}: output is not its JSON: {e}"))
}

/// Runs the libkdumpfile oracle on `memory.pagemap` of raw kdump files; panics if it fails.
pub fn libkdumpfile_pages(paths: &[&Path]) -> OracleReport {
    try_libkdumpfile_report(paths, OraclePfns::MemoryPagemap).unwrap_or_else(|e| panic!("{e}"))
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
