//! Page compression as kdump-compressed dumps use it: zlib, LZO1X, snappy (raw block format) and zstd.
//!
//! Compression follows the writers: zlib like QEMU's `compress2(…, Z_BEST_SPEED)` through the system zlib
//! (byte-identical output), LZO1X-1, snappy's raw format, zstd level 1. Decompression must yield exactly the
//! expected length (a page); anything else is an error, and no allocation is sized by the input.

use std::fmt;

use flate2::{Decompress, FlushDecompress, Status};
use serde::{Deserialize, Serialize};

/// Flag bits of `disk_dump_header.status` and of page descriptors.
pub mod flags {
    /// `DUMP_DH_COMPRESSED_ZLIB`.
    pub const ZLIB: u32 = 0x1;
    /// `DUMP_DH_COMPRESSED_LZO`.
    pub const LZO: u32 = 0x2;
    /// `DUMP_DH_COMPRESSED_SNAPPY`.
    pub const SNAPPY: u32 = 0x4;
    /// `DUMP_DH_COMPRESSED_INCOMPLETE` (status only).
    pub const INCOMPLETE: u32 = 0x8;
    /// `DUMP_DH_EXCLUDED_VMEMMAP` (status only).
    pub const EXCLUDED_VMEMMAP: u32 = 0x10;
    /// `DUMP_DH_COMPRESSED_ZSTD`.
    pub const ZSTD: u32 = 0x20;
    /// All compression bits.
    pub const COMPRESSION_MASK: u32 = ZLIB | LZO | SNAPPY | ZSTD;
}

/// A page compression method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Pages stored as they are.
    None,
    /// zlib (`compress2`, level 1).
    Zlib,
    /// LZO1X-1.
    Lzo,
    /// snappy raw block format.
    Snappy,
    /// zstd.
    Zstd,
}

/// Every method, for generators and loops.
pub const ALL_COMPRESSIONS: [Compression; 5] = [
    Compression::None,
    Compression::Zlib,
    Compression::Lzo,
    Compression::Snappy,
    Compression::Zstd,
];

impl Compression {
    /// The status/descriptor flag bit of this method (0 for none).
    pub fn flag(self) -> u32 {
        match self {
            Compression::None => 0,
            Compression::Zlib => flags::ZLIB,
            Compression::Lzo => flags::LZO,
            Compression::Snappy => flags::SNAPPY,
            Compression::Zstd => flags::ZSTD,
        }
    }

    /// The method named by the compression bits of `flags`; `None` if more than one bit is set.
    pub fn from_flags(flags: u32) -> Option<Compression> {
        match flags & flags::COMPRESSION_MASK {
            0 => Some(Compression::None),
            flags::ZLIB => Some(Compression::Zlib),
            flags::LZO => Some(Compression::Lzo),
            flags::SNAPPY => Some(Compression::Snappy),
            flags::ZSTD => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// Lower-case name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zlib => "zlib",
            Compression::Lzo => "lzo",
            Compression::Snappy => "snappy",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Compresses one page. Returns the compressed bytes whatever their size: writers keep them only when
/// smaller than the page. `Compression::None` returns the input.
pub fn compress(method: Compression, page: &[u8]) -> Vec<u8> {
    match method {
        Compression::None => page.to_vec(),
        Compression::Zlib => {
            let mut engine = flate2::Compress::new(flate2::Compression::new(1), true);
            // compress2's bound: enough for any input, so one Finish call completes the stream.
            let mut out = Vec::with_capacity(page.len() + page.len() / 1000 + 64);
            loop {
                let status = engine
                    .compress_vec(page, &mut out, flate2::FlushCompress::Finish)
                    .expect("zlib compression of an in-memory buffer cannot fail");
                if status == Status::StreamEnd {
                    break;
                }
                out.reserve(out.capacity().max(64));
            }
            out
        }
        Compression::Lzo => lzo1x::compress(page, lzo1x::CompressLevel::new(3)),
        Compression::Snappy => snap::raw::Encoder::new()
            .compress_vec(page)
            .expect("snappy compression of a page cannot fail"),
        Compression::Zstd => zstd::bulk::compress(page, 1).expect("zstd compression cannot fail"),
    }
}

/// Why a compressed page could not be decompressed to exactly the expected length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    /// The codec rejected the input.
    #[error("{method} data is corrupt: {detail}")]
    Corrupt {
        /// The codec.
        method: Compression,
        /// The codec's own words.
        detail: String,
    },
    /// The data decompressed to a different length.
    #[error("{method} data decompresses to {actual}, expected {expected} bytes")]
    WrongLength {
        /// The codec.
        method: Compression,
        /// Expected length (the page size).
        expected: usize,
        /// What came out.
        actual: OutputLength,
    },
}

/// How long a page's decompressed data turned out to be, as far as the codec can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputLength {
    /// Exactly this many bytes.
    Exactly(usize),
    /// More than this many bytes (counting stopped there).
    MoreThan(usize),
    /// Not the expected length; the codec does not say which (LZO).
    Unknown,
}

impl std::fmt::Display for OutputLength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputLength::Exactly(n) => write!(f, "{n} bytes"),
            OutputLength::MoreThan(n) => write!(f, "more than {n} bytes"),
            OutputLength::Unknown => write!(f, "a different length (LZO does not say which)"),
        }
    }
}

/// Decompressed bytes counted, at most, when zlib data runs past the page (a page of zlib data inflates to
/// at most ~1032 times its size, so a 256 KiB page stays below this).
const ZLIB_COUNT_LIMIT: u64 = 1 << 30;

/// Counts what the rest of a zlib stream inflates to, after `engine` filled the page: the total output in
/// bytes (exact unless it exceeds [`ZLIB_COUNT_LIMIT`]), through a small scratch buffer.
fn zlib_total_length(
    engine: &mut Decompress,
    input: &[u8],
) -> Result<OutputLength, DecompressError> {
    let mut scratch = [0u8; 16 * 1024];
    loop {
        let consumed = engine.total_in() as usize;
        let before = engine.total_out();
        let status = engine
            .decompress(&input[consumed..], &mut scratch, FlushDecompress::Finish)
            .map_err(|e| DecompressError::Corrupt {
                method: Compression::Zlib,
                detail: e.to_string(),
            })?;
        let total = engine.total_out();
        if status == Status::StreamEnd || total == before {
            return Ok(OutputLength::Exactly(total as usize));
        }
        if total > ZLIB_COUNT_LIMIT {
            return Ok(OutputLength::MoreThan(ZLIB_COUNT_LIMIT as usize));
        }
    }
}

/// Decompresses `input` into `out`, which must be filled exactly.
pub fn decompress_into(
    method: Compression,
    input: &[u8],
    out: &mut [u8],
) -> Result<(), DecompressError> {
    let expected = out.len();
    let corrupt = |detail: String| DecompressError::Corrupt { method, detail };
    match method {
        Compression::None => {
            if input.len() != expected {
                return Err(DecompressError::WrongLength {
                    method,
                    expected,
                    actual: OutputLength::Exactly(input.len()),
                });
            }
            out.copy_from_slice(input);
        }
        Compression::Zlib => {
            let mut engine = Decompress::new(true);
            let status = engine
                .decompress(input, out, FlushDecompress::Finish)
                .map_err(|e| corrupt(e.to_string()))?;
            let produced = engine.total_out() as usize;
            match status {
                Status::StreamEnd if produced == expected => {}
                Status::StreamEnd => {
                    return Err(DecompressError::WrongLength {
                        method,
                        expected,
                        actual: OutputLength::Exactly(produced),
                    })
                }
                _ if produced == expected => {
                    // Output full but stream not ended: either more data follows or input is cut short.
                    let mut probe = [0u8; 1];
                    let rest = &input[engine.total_in() as usize..];
                    let more = engine
                        .decompress(rest, &mut probe, FlushDecompress::Finish)
                        .map_err(|e| corrupt(e.to_string()))?;
                    if engine.total_out() as usize > expected {
                        return Err(DecompressError::WrongLength {
                            method,
                            expected,
                            actual: zlib_total_length(&mut engine, input)?,
                        });
                    }
                    if more != Status::StreamEnd {
                        return Err(corrupt("stream truncated".into()));
                    }
                }
                _ => return Err(corrupt(format!("stream truncated after {produced} bytes"))),
            }
        }
        Compression::Lzo => lzo1x::decompress(input, out).map_err(|e| match e {
            lzo1x::DecompressError::OutputLength => DecompressError::WrongLength {
                method,
                expected,
                actual: OutputLength::Unknown,
            },
            other => corrupt(other.to_string()),
        })?,
        Compression::Snappy => {
            let len = snap::raw::decompress_len(input).map_err(|e| corrupt(e.to_string()))?;
            if len != expected {
                return Err(DecompressError::WrongLength {
                    method,
                    expected,
                    actual: OutputLength::Exactly(len),
                });
            }
            let n = snap::raw::Decoder::new()
                .decompress(input, out)
                .map_err(|e| corrupt(e.to_string()))?;
            if n != expected {
                return Err(DecompressError::WrongLength {
                    method,
                    expected,
                    actual: OutputLength::Exactly(n),
                });
            }
        }
        Compression::Zstd => {
            // A frame that states its content size (libzstd's writers do) is judged by it.
            if let Ok(Some(stated)) = zstd::zstd_safe::get_frame_content_size(input) {
                if stated != expected as u64 {
                    return Err(DecompressError::WrongLength {
                        method,
                        expected,
                        actual: OutputLength::Exactly(stated as usize),
                    });
                }
            }
            let mut decoder =
                zstd::bulk::Decompressor::new().map_err(|e| corrupt(e.to_string()))?;
            let n = decoder
                .decompress_to_buffer(input, out)
                .map_err(|e| corrupt(e.to_string()))?;
            if n != expected {
                return Err(DecompressError::WrongLength {
                    method,
                    expected,
                    actual: OutputLength::Exactly(n),
                });
            }
        }
    }
    Ok(())
}

/// Decompresses `input` into a new buffer of exactly `expected` bytes.
pub fn decompress(
    method: Compression,
    input: &[u8],
    expected: usize,
) -> Result<Vec<u8>, DecompressError> {
    let mut out = vec![0u8; expected];
    decompress_into(method, input, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_page() -> Vec<u8> {
        (0..4096u32).map(|i| (i / 7 % 251) as u8).collect()
    }

    #[test]
    fn every_method_round_trips_a_page() {
        let page = sample_page();
        for method in ALL_COMPRESSIONS {
            let packed = compress(method, &page);
            assert_eq!(
                decompress(method, &packed, page.len()).unwrap(),
                page,
                "{method}"
            );
        }
    }

    #[test]
    fn a_wrong_length_is_reported_as_it_is() {
        let page = sample_page();
        for (len, method) in [(8192, Compression::Zlib), (4 << 20, Compression::Zlib)] {
            let big: Vec<u8> = page.iter().copied().cycle().take(len).collect();
            let packed = compress(method, &big);
            let error = decompress(method, &packed, 4096).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("zlib data decompresses to {len} bytes, expected 4096 bytes")
            );
        }
        for method in [Compression::Snappy, Compression::Zstd, Compression::None] {
            let packed = compress(method, &page[..100]);
            let error = decompress(method, &packed, 4096).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("{method} data decompresses to 100 bytes, expected 4096 bytes")
            );
        }
        let packed = compress(Compression::Lzo, &page[..100]);
        let error = decompress(Compression::Lzo, &packed, 4096).unwrap_err();
        assert!(error.to_string().contains("LZO does not say"), "{error}");
    }

    #[test]
    fn a_wrong_expected_length_is_an_error() {
        let page = sample_page();
        for method in ALL_COMPRESSIONS {
            let packed = compress(method, &page);
            assert!(decompress(method, &packed, 4095).is_err(), "{method} short");
            assert!(decompress(method, &packed, 4097).is_err(), "{method} long");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for method in ALL_COMPRESSIONS {
            let _ = decompress(method, &[0xff; 37], 4096);
            let _ = decompress(method, &[], 4096);
        }
    }
}
