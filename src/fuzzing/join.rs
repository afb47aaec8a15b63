//! Fuzz target `join`: arbitrary bytes cut into up to four files, opened as one split set and joined
//! ([`crate::kdump::join()`]).
//!
//! Input ([`encode_parts`] writes it): byte 0 gives the number of parts, 1 + (byte % 4); then a u32
//! little-endian length for each part but the last; then the parts one after another, the last taking
//! what is left (lengths are clipped to what is there).
//!
//! Checks, beyond "no panic, no hang, no allocation sized by an input field":
//! - a join that fails names an existing part and reports invalid input (the in-memory output fails only
//!   past [`MAX_OUTPUT`] bytes: a part may point many descriptors at the same data);
//! - a join that succeeds wrote `output_len` bytes, and the joined file opens as one unsplit dump with the
//!   set's page count;
//! - when `check` calls the parts a valid split set, the joined file is valid as well and every page
//!   (the first [`MAX_PAGES_READ`]) reads from it as from the set.

use std::io;

use crate::kdump::check::check;
use crate::kdump::{join, JoinError, KdumpFile, KdumpSet};
use crate::readat::ReadAt;
use crate::sink::{DumpSink, RawSink};

/// Largest joined file kept in memory.
pub const MAX_OUTPUT: u64 = 32 << 20;
/// Pfns compared between the joined file and the set.
pub const MAX_PAGES_READ: u64 = 1 << 14;

/// Encodes `parts` as one input of this target (see the module documentation).
pub fn encode_parts(parts: &[&[u8]]) -> Vec<u8> {
    let count = parts.len().clamp(1, 4);
    let mut data = vec![(count - 1) as u8];
    for part in &parts[..count.saturating_sub(1).min(parts.len())] {
        data.extend_from_slice(&(part.len() as u32).to_le_bytes());
    }
    for part in parts.iter().take(count) {
        data.extend_from_slice(part);
    }
    data
}

/// Cuts an input into its parts (see the module documentation).
pub fn decode_parts(data: &[u8]) -> Vec<&[u8]> {
    let Some((&first, mut rest)) = data.split_first() else {
        return Vec::new();
    };
    let count = 1 + (first % 4) as usize;
    let mut lengths = Vec::with_capacity(count);
    for _ in 1..count {
        let (length, after) = rest.split_at(rest.len().min(4));
        let mut bytes = [0u8; 4];
        bytes[..length.len()].copy_from_slice(length);
        lengths.push(u32::from_le_bytes(bytes) as usize);
        rest = after;
    }
    let mut parts = Vec::with_capacity(count);
    for length in lengths {
        let (part, after) = rest.split_at(rest.len().min(length));
        parts.push(part);
        rest = after;
    }
    parts.push(rest);
    parts
}

/// An in-memory raw output that refuses to grow past [`MAX_OUTPUT`].
struct CappedSink(RawSink<io::Cursor<Vec<u8>>>);

impl DumpSink for CappedSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if offset.saturating_add(data.len() as u64) > MAX_OUTPUT {
            return Err(io::Error::other("the joined file would be too large"));
        }
        self.0.write_at(offset, data)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()
    }
}

/// Runs the target on one input; panics if a property fails.
pub fn run(data: &[u8]) {
    let parts = decode_parts(data);
    let Ok(files) = parts
        .iter()
        .map(|&part| KdumpFile::open(part))
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    let Ok(set) = KdumpSet::new(files) else {
        return;
    };
    let mut sink = CappedSink(RawSink::in_memory());
    let summary = match join(&set, &mut sink) {
        Ok(summary) => summary,
        Err(JoinError::Part { part, error }) => {
            assert!(part < parts.len(), "part {part} of {}", parts.len());
            assert!(error.is_invalid_input(), "not an input error: {error}");
            return;
        }
        Err(JoinError::Write(_)) => return,
    };
    sink.finish().expect("an in-memory sink finishes");
    let joined = sink.0.into_bytes();
    assert_eq!(summary.output_len, joined.len() as u64, "output_len");
    let dump = KdumpFile::open(joined.as_slice()).expect("the joined file opens");
    assert!(!dump.sub_header().is_some_and(|s| s.is_split()));
    assert_eq!(dump.max_pfn(), set.max_pfn());
    assert_eq!(dump.descriptor_count(), summary.pages);
    let readers: Vec<&dyn ReadAt> = parts.iter().map(|p| p as &dyn ReadAt).collect();
    if !check(&readers).is_valid() {
        return;
    }
    let report = check(&[&joined.as_slice() as &dyn ReadAt]);
    assert!(
        report.is_valid(),
        "a valid set joined into an invalid file: {:?}",
        report.violations.first()
    );
    for pfn in 0..set.max_pfn().min(MAX_PAGES_READ) {
        assert_eq!(
            dump.read_page(pfn).ok(),
            set.read_page(pfn).ok(),
            "pfn {pfn:#x}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::smoke::{overwrite_random_bytes, SmokeLoop};
    use rand::Rng;

    #[test]
    fn inputs_decode_into_the_parts_they_encode() {
        let parts: [&[u8]; 3] = [b"first", b"", b"third part"];
        assert_eq!(decode_parts(&encode_parts(&parts)), parts);
        assert_eq!(decode_parts(&encode_parts(&[b"alone"])), [b"alone"]);
        assert!(decode_parts(&[]).is_empty());
        // lengths beyond the data are clipped
        assert_eq!(
            decode_parts(&[1, 0xff, 0xff, 0, 0, b'x']),
            [&b"x"[..], &b""[..]]
        );
    }

    /// The committed seeds (corpus/join, README left out), sorted.
    fn seeds() -> Vec<Vec<u8>> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/join");
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .expect("corpus/join")
            .map(|e| e.unwrap().path())
            .filter(|path| path.extension().is_none_or(|e| e != "md"))
            .map(|path| std::fs::read(path).unwrap())
            .collect();
        seeds.sort();
        assert!(!seeds.is_empty());
        seeds
    }

    /// Every committed seed is a valid split set of several files that joins (so the fuzzer starts deep).
    #[test]
    fn the_seeds_are_valid_sets_that_join() {
        for seed in seeds() {
            let parts = decode_parts(&seed);
            assert!(parts.len() > 1);
            let readers: Vec<&dyn ReadAt> = parts.iter().map(|p| p as &dyn ReadAt).collect();
            assert!(check(&readers).is_valid());
            let files = parts.iter().map(|&p| KdumpFile::open(p).unwrap()).collect();
            let set = KdumpSet::new(files).unwrap();
            let summary = join(&set, &mut RawSink::in_memory()).unwrap();
            assert!(summary.pages > 0);
            run(&seed);
        }
    }

    /// The committed seeds (corpus/join: small sets by makedumpfile) with parts cut or a few bytes
    /// changed, so that the join goes deep.
    #[test]
    fn smoke() {
        let seeds = seeds();
        let smoke = SmokeLoop {
            target: "join",
            seed: 5,
            rounds: 120,
        };
        smoke.run(run, |rng, round| {
            let seed = &seeds[round % seeds.len()];
            let mut parts: Vec<Vec<u8>> = decode_parts(seed).iter().map(|p| p.to_vec()).collect();
            let victim = rng.gen_range(0..parts.len());
            if round % 3 == 0 {
                let len = rng.gen_range(0..=parts[victim].len());
                parts[victim].truncate(len);
            } else {
                overwrite_random_bytes(rng, &mut parts[victim], 1..6);
            }
            let slices: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
            vec![encode_parts(&slices)]
        });
    }
}
