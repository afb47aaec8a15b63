//! Fuzz target `parse_kdump`: arbitrary bytes opened as a kdump-compressed file, checked against K1–K18,
//! and every page read, both as a raw file and as a flattened one.
//!
//! Checks, beyond "no panic, no hang, no allocation sized by an input field":
//! - the outcome (open error, check report, every page's content or error) is the same whether the bytes
//!   are read as they are or through the index of a flattened file that holds them in scattered records
//!   (written back to front, in pieces), so the reader cannot depend on how the bytes are stored;
//! - a page read returns exactly one page; a page the check found valid reads without error;
//! - bytes that are themselves a flattened file are read through its index as well;
//! - and everything [`check_kdump`](super::check_kdump) asserts about one reading (report caps, reader and
//!   bitmaps agreeing, a valid file reading back, `info`'s counts equal to the checker's).

use crate::flat::index::FlatIndex;
use crate::kdump::check::check;
use crate::kdump::{KdumpFile, PageContent};
use crate::readat::ReadAt;
use crate::sink::{DumpSink, FlatSink};

/// Largest number of pfns whose pages are read per input (a page read is cheap, but a bitmap may name
/// millions of pfns).
const MAX_PAGES_READ: u64 = 1 << 16;
/// Record size used when storing the input as a flattened file.
const PIECE: usize = 1000;

/// Runs every check on `data`; panics if one fails.
pub fn run(data: &[u8]) {
    super::check_kdump(data);
    let raw = outcome(&data);
    if !data.is_empty() {
        let flat = flatten_scattered(data);
        let index =
            FlatIndex::open(flat.as_slice()).expect("a flattened copy of the input is valid");
        assert_eq!(index.len(), data.len() as u64);
        let through_index = outcome(&index);
        assert_eq!(
            raw, through_index,
            "raw and flattened forms of the same bytes read differently"
        );
    }
    if data.starts_with(b"makedumpfile") {
        if let Ok(index) = FlatIndex::open(data) {
            outcome(&index);
        }
    }
}

/// Everything a reader reports about `reader`, as text (open error, check report, per-page digest).
fn outcome<R: ReadAt>(reader: &R) -> String {
    let report = check(&[reader as &dyn ReadAt]);
    let mut text = serde_json::to_string(&report).expect("a report serializes");
    match KdumpFile::open(reader) {
        Err(e) => {
            assert!(
                !report.is_valid(),
                "the checker accepts a file that cannot be opened: {e}"
            );
            text.push_str(&format!("\nopen: {e}"));
        }
        Ok(dump) => {
            let page_size = dump.page_size();
            let (start, end) = dump.pfn_range();
            let mut digest = Fnv::default();
            let mut errors = 0u64;
            for pfn in start..end.min(start.saturating_add(MAX_PAGES_READ)) {
                match dump.read_page(pfn) {
                    Ok(PageContent::Data(page)) => {
                        assert_eq!(page.len() as u64, page_size, "page length at pfn {pfn:#x}");
                        digest.add(&pfn.to_le_bytes());
                        digest.add(&page);
                    }
                    Ok(PageContent::Excluded) => digest.add(b"excluded"),
                    Ok(PageContent::NotInMemory) => digest.add(b"absent"),
                    Err(e) => {
                        errors += 1;
                        digest.add(e.to_string().as_bytes());
                    }
                }
            }
            if report.is_valid() && report.io_errors.is_empty() {
                assert_eq!(
                    errors, 0,
                    "a page of a file the checker accepts fails to read"
                );
            }
            let mut probe = [0u8; 64];
            let phys = dump.read_phys(start.saturating_mul(page_size), &mut probe, true);
            text.push_str(&format!(
                "\npages {start}..{end}: digest {:#x}, {errors} errors; read_phys {:?}",
                digest.0,
                phys.map_err(|e| e.to_string())
            ));
        }
    }
    text
}

/// Stores `data` as a valid flattened file whose records are pieces of it, written last piece first.
fn flatten_scattered(data: &[u8]) -> Vec<u8> {
    let mut sink = FlatSink::new(Vec::new());
    let pieces = data.len().div_ceil(PIECE);
    for k in (0..pieces).rev() {
        let start = k * PIECE;
        let end = (start + PIECE).min(data.len());
        sink.write_at(start as u64, &data[start..end])
            .expect("writing to a Vec cannot fail");
    }
    sink.finish().expect("writing to a Vec cannot fail");
    sink.into_inner()
}

/// FNV-1a, a digest of the pages read (the outcome compares digests, not whole pages).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use crate::fuzzing::smoke::{overwrite_random_bytes, SmokeLoop};

    #[test]
    fn smoke() {
        let real = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpus/real/fw-q10.kdump-raw-zlib"
        ))
        .expect("corpus/real/fw-q10.kdump-raw-zlib");
        let smoke = SmokeLoop {
            target: "parse_kdump",
            seed: 11,
            rounds: 100,
        };
        smoke.run(super::run, |rng, _| {
            // A prefix of a real dump with a few bytes changed, so that the parsing goes deep.
            let len = rng.gen_range(0..=real.len().min(64 << 10));
            let mut data = real[..len].to_vec();
            overwrite_random_bytes(rng, &mut data, 0..4);
            vec![data]
        });
    }
}
