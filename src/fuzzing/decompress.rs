//! Fuzz target `decompress`: every codec of [`crate::compress`] on arbitrary input.
//!
//! Checks, beyond "no panic, no hang, no allocation sized by the input":
//! - a successful decompression yields exactly the expected length, and compressing that page again and
//!   decompressing it gives it back;
//! - zlib agrees with an independent streaming decoder (`flate2::read::ZlibDecoder`) on what it accepts;
//! - the input itself, taken as a page, round-trips through every codec.
//!
//! The first byte picks the expected length: a page size (4 KiB, 16 KiB, 64 KiB, 256 KiB) or, with its top
//! bit set, a length from the next two bytes (so the lengths around a page size are reached too).

use std::io::Read;

use crate::compress::{compress, decompress, Compression, ALL_COMPRESSIONS};

/// Page sizes the kdump format allows at the extremes and in between.
const PAGE_SIZES: [usize; 4] = [4096, 16384, 65536, 262144];

/// Runs every codec on `data`; panics if a check fails.
pub fn run(data: &[u8]) {
    let (expected, input) = match data {
        [selector, hi, lo, rest @ ..] if selector & 0x80 != 0 => {
            (usize::from(u16::from_be_bytes([*hi, *lo])), rest)
        }
        [selector, rest @ ..] => (PAGE_SIZES[usize::from(selector & 3)], rest),
        [] => (4096, data),
    };
    for method in ALL_COMPRESSIONS {
        match decompress(method, input, expected) {
            Ok(page) => {
                assert_eq!(page.len(), expected, "{method}: length");
                let packed = compress(method, &page);
                assert_eq!(
                    decompress(method, &packed, expected).as_deref(),
                    Ok(page.as_slice()),
                    "{method}: a decompressed page does not round-trip"
                );
                if method == Compression::Zlib {
                    let mut reference = Vec::new();
                    flate2::read::ZlibDecoder::new(input)
                        .take(expected as u64 + 1)
                        .read_to_end(&mut reference)
                        .expect("the reference zlib decoder rejects what ours accepts");
                    assert!(reference == page, "zlib: the reference decoder disagrees");
                }
            }
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains(method.name()),
                    "error names its codec: {text}"
                );
            }
        }
    }
    if input.len() <= 1 << 18 {
        for method in ALL_COMPRESSIONS {
            let packed = compress(method, input);
            assert_eq!(
                decompress(method, &packed, input.len()).as_deref(),
                Ok(input),
                "{method}: the input does not round-trip"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use crate::compress::{compress, ALL_COMPRESSIONS};
    use crate::fuzzing::smoke::{flip_random_bit, random_bytes, SmokeLoop};

    #[test]
    fn smoke() {
        let smoke = SmokeLoop {
            target: "decompress",
            seed: 13,
            rounds: 100,
        };
        smoke.run(super::run, |rng, round| {
            // Real compressed pages, cut or with a bit flipped, behind a length selector; and noise.
            let page: Vec<u8> = (0..4096u32)
                .map(|i| (i * round as u32 / 61) as u8)
                .collect();
            let method = ALL_COMPRESSIONS[round % ALL_COMPRESSIONS.len()];
            let mut data = vec![rng.gen_range(0..4u8)];
            let mut packed = compress(method, &page);
            if rng.gen_bool(0.5) && !packed.is_empty() {
                let len = packed.len();
                flip_random_bit(rng, &mut packed, 0..len);
            }
            packed.truncate(rng.gen_range(0..=packed.len()));
            data.extend_from_slice(&packed);
            vec![data, random_bytes(rng, 300)]
        });
    }
}
