//! The two page bitmaps (1: page is memory, 2: page is dumped), read in bounded chunks, and a rank index
//! mapping a pfn to its descriptor index (the number of set bits of bitmap 2 before it).
//!
//! Bitmaps can be huge (max_mapnr 2^32 means 512 MiB per bitmap), so they are kept in memory only when
//! small; otherwise every lookup reads the bytes it needs. The rank index keeps one u64 per 4 KiB of bitmap 2
//! (a bitmap that was read completely, so its size is bounded by the file's).

use super::error::{read_structure, KInvariant, KdumpError};
use crate::readat::ReadAt;

/// Bitmaps at most this long (each) are kept in memory.
pub const IN_MEMORY_LIMIT: u64 = 32 << 20;
/// Bytes of bitmap 2 per rank entry.
pub const RANK_BLOCK: u64 = 4096;
/// Bytes read at once when scanning a bitmap.
pub const SCAN_CHUNK: usize = 1 << 20;

/// Which of the two bitmaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Bitmap 1: the page frame is memory.
    InMemory,
    /// Bitmap 2: the page is dumped (has a descriptor).
    Dumped,
}

/// Location and index of both bitmaps of one file.
#[derive(Debug, Clone)]
pub struct Bitmaps {
    /// File offset of bitmap 1.
    pub bitmap1_offset: u64,
    /// File offset of bitmap 2.
    pub bitmap2_offset: u64,
    /// Length of each bitmap in bytes.
    pub len: u64,
    /// Bytes of bitmap 2 present in the file: `len`, unless the file ends inside bitmap 2's tail after its
    /// last meaningful byte (the missing bytes read as zero; see [`Bitmaps::open`]).
    pub bitmap2_stored: u64,
    loaded: Option<(Vec<u8>, Vec<u8>)>,
    /// `rank[i]` = set bits of bitmap 2 in its bytes [0, i·RANK_BLOCK).
    rank: Vec<u64>,
}

impl Bitmaps {
    /// Reads (or indexes) bitmaps of `len` bytes each at `bitmap1_offset` and `bitmap1_offset + len`, of
    /// which the first `meaningful_len` bytes each hold the bits of real pfns (⌈max_mapnr/8⌉). The file may
    /// end inside bitmap 2 after its meaningful bytes: makedumpfile never writes the bitmaps' block-rounding
    /// tail in cyclic mode, so a `--split` part without pages ends there; the missing bytes read as zero.
    /// Fails with K12 if the file ends earlier.
    pub fn open<R: ReadAt + ?Sized>(
        reader: &R,
        bitmap1_offset: u64,
        len: u64,
        meaningful_len: u64,
        file_size: u64,
    ) -> Result<Bitmaps, KdumpError> {
        Self::open_keeping(
            reader,
            bitmap1_offset,
            len,
            meaningful_len,
            file_size,
            IN_MEMORY_LIMIT,
        )
    }

    /// [`Bitmaps::open`], keeping bitmaps of at most `in_memory_limit` bytes each in memory (the unit tests
    /// read small bitmaps lazily with a limit of 0).
    fn open_keeping<R: ReadAt + ?Sized>(
        reader: &R,
        bitmap1_offset: u64,
        len: u64,
        meaningful_len: u64,
        file_size: u64,
        in_memory_limit: u64,
    ) -> Result<Bitmaps, KdumpError> {
        let bitmap2_offset = bitmap1_offset.saturating_add(len);
        let needed_end = bitmap2_offset.saturating_add(meaningful_len.min(len));
        if needed_end > file_size {
            return Err(KdumpError::invalid(
                KInvariant::K12,
                Some(bitmap1_offset),
                None,
                format!(
                    "the bitmaps ({len:#x} bytes each at {bitmap1_offset:#x}, bits of real pfns up to \
                     {needed_end:#x}) run beyond the end of the file ({file_size:#x})"
                ),
            ));
        }
        let bitmap2_stored = file_size.saturating_sub(bitmap2_offset).min(len);
        let mut bitmaps = Bitmaps {
            bitmap1_offset,
            bitmap2_offset,
            len,
            bitmap2_stored,
            loaded: None,
            rank: Vec::new(),
        };
        if len <= in_memory_limit {
            let mut first = vec![0u8; len as usize];
            let mut second = vec![0u8; len as usize];
            read_structure(
                reader,
                bitmap1_offset,
                &mut first,
                KInvariant::K12,
                "bitmap 1",
            )?;
            read_structure(
                reader,
                bitmap2_offset,
                &mut second[..bitmap2_stored as usize],
                KInvariant::K12,
                "bitmap 2",
            )?;
            bitmaps.loaded = Some((first, second));
        }
        let mut rank = Vec::with_capacity((len / RANK_BLOCK + 1) as usize);
        let mut total = 0u64;
        bitmaps.scan(reader, Which::Dumped, 0, len, |start, bytes| {
            for (i, block) in bytes.chunks(RANK_BLOCK as usize).enumerate() {
                debug_assert_eq!(
                    (start + i as u64 * RANK_BLOCK) / RANK_BLOCK,
                    rank.len() as u64
                );
                rank.push(total);
                total += popcount(block);
            }
            Ok(())
        })?;
        rank.push(total);
        bitmaps.rank = rank;
        Ok(bitmaps)
    }

    fn offset_of(&self, which: Which) -> u64 {
        match which {
            Which::InMemory => self.bitmap1_offset,
            Which::Dumped => self.bitmap2_offset,
        }
    }

    /// Fills `buf` with bytes of bitmap `which` from byte `start`; bytes past the bitmap read as zero.
    pub fn read<R: ReadAt + ?Sized>(
        &self,
        reader: &R,
        which: Which,
        start: u64,
        buf: &mut [u8],
    ) -> Result<(), KdumpError> {
        buf.fill(0);
        if start >= self.len {
            return Ok(());
        }
        let n = (self.len - start).min(buf.len() as u64) as usize;
        match &self.loaded {
            Some((first, second)) => {
                let src = if which == Which::InMemory {
                    first
                } else {
                    second
                };
                buf[..n].copy_from_slice(&src[start as usize..start as usize + n]);
                Ok(())
            }
            None => {
                let stored = match which {
                    Which::InMemory => self.len,
                    Which::Dumped => self.bitmap2_stored,
                };
                let present = stored.saturating_sub(start).min(n as u64) as usize;
                read_structure(
                    reader,
                    self.offset_of(which) + start,
                    &mut buf[..present],
                    KInvariant::K12,
                    "bitmap",
                )
            }
        }
    }

    /// Calls `visit(byte_offset, bytes)` for consecutive pieces (at most [`SCAN_CHUNK`] bytes, aligned to
    /// [`RANK_BLOCK`]) of bitmap `which` covering bytes [start, end).
    pub fn scan<R: ReadAt + ?Sized>(
        &self,
        reader: &R,
        which: Which,
        start: u64,
        end: u64,
        mut visit: impl FnMut(u64, &[u8]) -> Result<(), KdumpError>,
    ) -> Result<(), KdumpError> {
        let end = end.min(self.len);
        let mut at = start;
        let mut buf = Vec::new();
        while at < end {
            let n = (end - at).min(SCAN_CHUNK as u64) as usize;
            match &self.loaded {
                Some((first, second)) => {
                    let src = if which == Which::InMemory {
                        first
                    } else {
                        second
                    };
                    visit(at, &src[at as usize..at as usize + n])?;
                }
                None => {
                    buf.resize(n, 0);
                    self.read(reader, which, at, &mut buf)?;
                    visit(at, &buf)?;
                }
            }
            at += n as u64;
        }
        Ok(())
    }

    /// The bit of `pfn` in bitmap `which` (false beyond the bitmap).
    pub fn bit<R: ReadAt + ?Sized>(
        &self,
        reader: &R,
        which: Which,
        pfn: u64,
    ) -> Result<bool, KdumpError> {
        let mut byte = [0u8; 1];
        self.read(reader, which, pfn / 8, &mut byte)?;
        Ok(byte[0] >> (pfn % 8) & 1 == 1)
    }

    /// Number of set bits of bitmap 2 below `pfn`: the descriptor index of `pfn` in an unsplit file.
    pub fn rank_dumped<R: ReadAt + ?Sized>(&self, reader: &R, pfn: u64) -> Result<u64, KdumpError> {
        let byte = (pfn / 8).min(self.len);
        let block = byte / RANK_BLOCK;
        let Some(&base) = self.rank.get(block as usize) else {
            return Ok(self.rank.last().copied().unwrap_or(0));
        };
        let block_start = block * RANK_BLOCK;
        let mut count = base;
        if byte > block_start {
            let mut buf = vec![0u8; (byte - block_start) as usize];
            self.read(reader, Which::Dumped, block_start, &mut buf)?;
            count += popcount(&buf);
        }
        if byte < self.len && pfn % 8 != 0 {
            let mut last = [0u8; 1];
            self.read(reader, Which::Dumped, byte, &mut last)?;
            count += (last[0] & ((1u8 << (pfn % 8)) - 1)).count_ones() as u64;
        }
        Ok(count)
    }

    /// Total set bits of bitmap 2.
    pub fn dumped_total(&self) -> u64 {
        self.rank.last().copied().unwrap_or(0)
    }
}

/// Number of set bits in `bytes`.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut total: u64 = 0;
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        total += u64::from_ne_bytes(word).count_ones() as u64;
    }
    total
        + chunks
            .remainder()
            .iter()
            .map(|b| b.count_ones() as u64)
            .sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_counts_bits_below_a_pfn() {
        let len = 3 * RANK_BLOCK;
        let mut file = vec![0u8; (2 * len) as usize];
        let bm2 = len as usize;
        let set = [0u64, 5, 7, 8, 32767, 32768, 40000, 98303];
        for pfn in set {
            file[bm2 + (pfn / 8) as usize] |= 1 << (pfn % 8);
        }
        let bitmaps = Bitmaps::open(&file, 0, len, len, file.len() as u64).unwrap();
        assert_eq!(bitmaps.dumped_total(), set.len() as u64);
        for pfn in [
            0u64,
            1,
            6,
            8,
            9,
            32767,
            32768,
            32769,
            40001,
            98303,
            98304,
            1 << 40,
        ] {
            let expected = set.iter().filter(|&&p| p < pfn).count() as u64;
            assert_eq!(
                bitmaps.rank_dumped(&file, pfn).unwrap(),
                expected,
                "pfn {pfn}"
            );
        }
    }

    /// Bitmaps read lazily (too big to keep) answer every question as loaded ones do: the bits of both
    /// bitmaps, ranks, ranges of bytes, including a bitmap 2 cut short in its tail. Both bitmaps sit at an
    /// offset of their own in the file, with different bytes, so that reading the wrong place shows.
    #[test]
    fn lazily_read_bitmaps_answer_as_loaded_ones() {
        let len = 3 * RANK_BLOCK;
        let at = 4096u64;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut file: Vec<u8> = (0..at + 2 * len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        file.truncate((at + len + 2 * RANK_BLOCK + 100) as usize); // bitmap 2 cut in its tail
        let size = file.len() as u64;
        let loaded = Bitmaps::open(&file, at, len, 2 * RANK_BLOCK, size).unwrap();
        let lazy = Bitmaps::open_keeping(&file, at, len, 2 * RANK_BLOCK, size, 0).unwrap();
        assert!(loaded.loaded.is_some() && lazy.loaded.is_none());
        assert_eq!(lazy.dumped_total(), loaded.dumped_total());
        for pfn in (0..8 * len + 9).step_by(7) {
            for which in [Which::InMemory, Which::Dumped] {
                assert_eq!(
                    lazy.bit(&file, which, pfn).unwrap(),
                    loaded.bit(&file, which, pfn).unwrap(),
                    "{which:?} pfn {pfn}"
                );
            }
            assert_eq!(
                lazy.rank_dumped(&file, pfn).unwrap(),
                loaded.rank_dumped(&file, pfn).unwrap(),
                "rank of pfn {pfn}"
            );
        }
        for which in [Which::InMemory, Which::Dumped] {
            let (mut a, mut b) = (vec![0u8; 5000], vec![0u8; 5000]);
            for start in [0, 1, RANK_BLOCK - 1, 2 * RANK_BLOCK + 90, len - 10, len + 5] {
                lazy.read(&file, which, start, &mut a).unwrap();
                loaded.read(&file, which, start, &mut b).unwrap();
                assert!(a == b, "{which:?} bytes from {start}");
            }
        }
        // against the file itself: bitmap 1 at `at`, bitmap 2 right behind it
        let mut first = vec![0u8; 16];
        lazy.read(&file, Which::InMemory, 0, &mut first).unwrap();
        assert_eq!(first, file[at as usize..at as usize + 16]);
        let mut second = vec![0u8; 16];
        lazy.read(&file, Which::Dumped, 0, &mut second).unwrap();
        assert_eq!(second, file[(at + len) as usize..(at + len) as usize + 16]);
    }

    #[test]
    fn bitmaps_past_the_end_are_a_k12_error_not_an_allocation() {
        let file = vec![0u8; 1 << 20];
        let err = Bitmaps::open(&file, 8192, 1 << 29, 1 << 29, file.len() as u64).unwrap_err();
        assert_eq!(err.invariant(), Some(KInvariant::K12));
    }

    #[test]
    fn a_file_may_end_in_bitmap_2s_tail_but_not_before_its_meaningful_bytes() {
        // bitmaps of 4096 bytes at 0, of which 100 bytes hold real pfns; bitmap 2 cut after 100 bytes
        let mut file = vec![0u8; 4096 + 100];
        file[0] = 0b11;
        file[4096] = 0b10;
        file[4096 + 99] = 0x80;
        let bitmaps = Bitmaps::open(&file, 0, 4096, 100, file.len() as u64).unwrap();
        assert_eq!(bitmaps.bitmap2_stored, 100);
        assert!(bitmaps.bit(&file, Which::Dumped, 1).unwrap());
        assert!(bitmaps.bit(&file, Which::Dumped, 99 * 8 + 7).unwrap());
        assert!(!bitmaps.bit(&file, Which::Dumped, 4095 * 8).unwrap());
        assert_eq!(bitmaps.dumped_total(), 2);
        assert_eq!(bitmaps.rank_dumped(&file, 4096 * 8 - 1).unwrap(), 2);
        let err = Bitmaps::open(&file, 0, 4096, 101, file.len() as u64).unwrap_err();
        assert_eq!(err.invariant(), Some(KInvariant::K12));
    }
}
