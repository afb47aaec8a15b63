//! The two page bitmaps compared as pfn ranges: pfns in memory (bitmap 1) or dumped (bitmap 2) on one
//! side and not on the other, read in bounded chunks.

use super::report::{Collector, Difference, PfnDifference, RangeMerger, Structure};
use crate::kdump::{KdumpError, KdumpFile, Which};
use crate::readat::ReadAt;

/// Bitmap bytes compared at once.
const CHUNK: usize = 64 << 10;

/// Compares bitmap 1 (`in_memory`), then bitmap 2 (`dumped`), of `a` and `b` over every pfn below the
/// larger `max_pfn` (a pfn beyond a side's bitmaps is neither in memory nor dumped there). Each range
/// holds consecutive pfns set on one side only (`a` and `b` are the bits).
pub fn compare_bitmaps<R: ReadAt>(
    a: &KdumpFile<R>,
    b: &KdumpFile<R>,
    out: &mut Collector,
) -> Result<(), KdumpError> {
    let end_pfn = a.max_pfn().max(b.max_pfn());
    for (which, field) in [(Which::InMemory, "in_memory"), (Which::Dumped, "dumped")] {
        compare_one(a, b, which, field, end_pfn, out)?;
    }
    Ok(())
}

fn compare_one<R: ReadAt>(
    a: &KdumpFile<R>,
    b: &KdumpFile<R>,
    which: Which,
    field: &'static str,
    end_pfn: u64,
    out: &mut Collector,
) -> Result<(), KdumpError> {
    let end_byte = end_pfn.div_ceil(8);
    let mut merger = RangeMerger::new(true);
    let (mut bytes_a, mut bytes_b) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut at = 0u64;
    while at < end_byte {
        let n = (end_byte - at).min(CHUNK as u64) as usize;
        read_bits(a, which, at, &mut bytes_a[..n])?;
        read_bits(b, which, at, &mut bytes_b[..n])?;
        for (i, (&x, &y)) in bytes_a[..n].iter().zip(&bytes_b[..n]).enumerate() {
            let mut differing = x ^ y;
            while differing != 0 {
                let bit = differing.trailing_zeros();
                differing &= differing - 1;
                let pfn = (at + i as u64) * 8 + bit as u64;
                if pfn >= end_pfn {
                    break;
                }
                let in_a = x >> bit & 1 == 1;
                merger.add(
                    PfnDifference {
                        pfn,
                        key: in_a,
                        first: Difference::field(Structure::Bitmap, field, in_a, !in_a),
                    },
                    out,
                );
            }
        }
        at += n as u64;
    }
    merger.close(out);
    Ok(())
}

/// Bytes of bitmap `which` from byte `at`, zero beyond the side's `max_pfn`.
fn read_bits<R: ReadAt>(
    file: &KdumpFile<R>,
    which: Which,
    at: u64,
    buf: &mut [u8],
) -> Result<(), KdumpError> {
    file.bitmaps().read(file.reader(), which, at, buf)?;
    let max_pfn = file.max_pfn();
    for (i, byte) in buf.iter_mut().enumerate() {
        let base = (at + i as u64) * 8;
        if base >= max_pfn {
            *byte = 0;
        } else if base + 8 > max_pfn {
            *byte &= ((1u16 << (max_pfn - base)) - 1) as u8;
        }
    }
    Ok(())
}
