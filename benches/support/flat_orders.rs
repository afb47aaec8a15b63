//! The record orders of the reassembly benchmark (issue 14), as write sequences into any [`DumpSink`]:
//! the benchmark times them at full size, `tests/flat_reassemble_orders.rs` checks them at small sizes
//! against `makedumpfile -R`.
//!
//! Page data is a deterministic pseudo-random pattern (incompressible, so no tool gains from zeros).

// included by the benchmark and by the tests, each using part of it
#![allow(dead_code)]

use std::io;

use kdump_flat::sink::DumpSink;

const PAGE: u64 = 4096;
/// Bytes of one page descriptor (`page_desc_t` on a 64-bit machine).
const DESCRIPTOR: u64 = 24;

/// A record order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// QEMU's: header, sub-header, the two bitmaps alternating 4 KiB chunk by chunk, then 4 KiB page-data
    /// records ascending at high offsets with a 4 KiB descriptor record at low offsets every 170 pages.
    Qemu,
    /// makedumpfile -F's (64 KiB caches): header, sub-header, the bitmaps in 4 KiB pieces (bitmap 1
    /// first), then 64 KiB page-data records, each followed by the descriptor record of its 16 pages.
    MakedumpfileF,
    /// 4 KiB records covering the file, shuffled within windows of 8 records.
    ShuffledWindows8,
    /// 4 KiB records covering the file, descending within windows of 256 records (1 MiB).
    DescendingWindows256,
    /// One-byte records, descending: offsets n-1, n-2, …, 0.
    OneByteDescending,
    /// One-byte records 4 KiB apart, ascending: offsets 0, 4096, 8192, …
    OneByteSpaced4K,
}

impl Order {
    /// Every order, in the benchmark's sequence.
    pub const ALL: [Order; 6] = [
        Order::Qemu,
        Order::MakedumpfileF,
        Order::ShuffledWindows8,
        Order::DescendingWindows256,
        Order::OneByteDescending,
        Order::OneByteSpaced4K,
    ];

    /// A short name (for tables and for selecting orders by environment variable).
    pub fn name(self) -> &'static str {
        match self {
            Order::Qemu => "qemu",
            Order::MakedumpfileF => "makedumpfile-F",
            Order::ShuffledWindows8 => "shuffled-8",
            Order::DescendingWindows256 => "descending-256",
            Order::OneByteDescending => "1-byte-descending",
            Order::OneByteSpaced4K => "1-byte-4k-apart",
        }
    }

    /// What the order is, in words.
    pub fn description(self) -> &'static str {
        match self {
            Order::Qemu => "QEMU's order (4 KiB records, a backward jump to the descriptors every 170 pages)",
            Order::MakedumpfileF => {
                "makedumpfile -F's order (64 KiB page-data records alternating with descriptor records)"
            }
            Order::ShuffledWindows8 => "4 KiB records shuffled within windows of 8",
            Order::DescendingWindows256 => "4 KiB records descending within windows of 256",
            Order::OneByteDescending => "one-byte records, descending",
            Order::OneByteSpaced4K => "one-byte records 4 KiB apart",
        }
    }

    /// Whether the size of this order counts records (one byte each) rather than payload bytes.
    pub fn counts_records(self) -> bool {
        matches!(self, Order::OneByteDescending | Order::OneByteSpaced4K)
    }

    /// Writes the order into `sink` (without finishing it): `size` is the payload in bytes for the 4 KiB
    /// orders (rounded down to pages, at least one) and the number of records for the one-byte orders.
    pub fn write(self, size: u64, sink: &mut impl DumpSink) -> io::Result<()> {
        let pages = (size / PAGE).max(1);
        let mut pattern = PagePattern::new();
        match self {
            Order::Qemu => write_dump_like(pages, 4096, sink, &mut pattern, true),
            Order::MakedumpfileF => write_dump_like(pages, 65536, sink, &mut pattern, false),
            Order::ShuffledWindows8 => {
                let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
                for window in (0..pages).collect::<Vec<_>>().chunks_mut(8) {
                    // Fisher–Yates
                    for i in (1..window.len()).rev() {
                        window.swap(i, (rng.next() % (i as u64 + 1)) as usize);
                    }
                    for &page in window.iter() {
                        sink.write_at(page * PAGE, pattern.page(page))?;
                    }
                }
                Ok(())
            }
            Order::DescendingWindows256 => {
                for window_start in (0..pages).step_by(256) {
                    for page in (window_start..(window_start + 256).min(pages)).rev() {
                        sink.write_at(page * PAGE, pattern.page(page))?;
                    }
                }
                Ok(())
            }
            Order::OneByteDescending => {
                for offset in (0..size).rev() {
                    sink.write_at(offset, &[byte_at(offset)])?;
                }
                Ok(())
            }
            Order::OneByteSpaced4K => {
                for index in 0..size {
                    sink.write_at(index * PAGE, &[byte_at(index)])?;
                }
                Ok(())
            }
        }
    }
}

/// The byte a one-byte record writes (never zero, so a lost record shows).
fn byte_at(n: u64) -> u8 {
    (n % 255) as u8 + 1
}

/// A kdump-like layout of `pages` 4 KiB pages: header at 0, sub-header at 4096, two bitmaps, descriptors,
/// then page data. `record` is the page-data record size (4 KiB: QEMU, descriptors every 170 pages; 64 KiB:
/// makedumpfile, descriptors after every data record).
fn write_dump_like(
    pages: u64,
    record: u64,
    sink: &mut impl DumpSink,
    pattern: &mut PagePattern,
    qemu: bool,
) -> io::Result<()> {
    let bitmap_len = pages.div_ceil(8).div_ceil(PAGE) * PAGE;
    let bitmap_start = 2 * PAGE;
    let descriptors_start = bitmap_start + 2 * bitmap_len;
    let data_start = descriptors_start + (pages * DESCRIPTOR).div_ceil(PAGE) * PAGE;
    let mut header = vec![0u8; PAGE as usize];
    header[..8].copy_from_slice(b"KDUMP   ");
    sink.write_at(0, &header[..464])?;
    sink.write_at(PAGE, &header[..104])?;
    let bitmap = vec![0xffu8; PAGE as usize];
    let chunks = bitmap_len / PAGE;
    if qemu {
        for chunk in 0..chunks {
            sink.write_at(bitmap_start + chunk * PAGE, &bitmap)?;
            sink.write_at(bitmap_start + bitmap_len + chunk * PAGE, &bitmap)?;
        }
    } else {
        for chunk in 0..2 * chunks {
            sink.write_at(bitmap_start + chunk * PAGE, &bitmap)?;
        }
    }
    let pages_per_record = record / PAGE;
    let pages_per_descriptor_record = if qemu { 170 } else { pages_per_record };
    let mut data = Vec::with_capacity(record as usize);
    let mut descriptors_written = 0u64;
    let descriptors = vec![0x5au8; (pages_per_descriptor_record * DESCRIPTOR) as usize];
    for first in (0..pages).step_by(pages_per_record as usize) {
        let last = (first + pages_per_record).min(pages);
        data.clear();
        for page in first..last {
            data.extend_from_slice(pattern.page(page));
        }
        sink.write_at(data_start + first * PAGE, &data)?;
        let due = last == pages || last - descriptors_written >= pages_per_descriptor_record;
        if due {
            let count = last - descriptors_written;
            let offset = descriptors_start + descriptors_written * DESCRIPTOR;
            sink.write_at(offset, &descriptors[..(count * DESCRIPTOR) as usize])?;
            descriptors_written = last;
        }
    }
    Ok(())
}

/// Pseudo-random page contents, a function of the page number.
struct PagePattern {
    page: Vec<u8>,
}

impl PagePattern {
    fn new() -> Self {
        PagePattern {
            page: vec![0u8; PAGE as usize],
        }
    }

    fn page(&mut self, pfn: u64) -> &[u8] {
        let mut rng = XorShift(pfn.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        for word in self.page.chunks_exact_mut(8) {
            word.copy_from_slice(&rng.next().to_le_bytes());
        }
        &self.page
    }
}

/// xorshift64: deterministic and independent of the crate under test.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
