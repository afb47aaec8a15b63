//! One page of a layout: what it contains ([`PageContent`], a recipe expanded from a seed and the pfn by
//! `fill_page`'s small deterministic generators, so a layout file stays small), what the kernel used it
//! for ([`PageClass`]), and [`PageRef`], one page with its recipe, which gives the page's bytes.

use serde::{Deserialize, Serialize};

/// What a page (or a run of pages) contains. Contents are generated deterministically from the variant,
/// its seed and the pfn, so a layout file stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum PageContent {
    /// All zero bytes (writers point these at the shared zero page).
    Zero,
    /// Every byte equal to `byte` (a zero byte gives a zero page).
    Fill {
        /// The byte.
        byte: u8,
    },
    /// A short pattern, derived from the seed and the pfn, repeated over the page (compresses well).
    Pattern {
        /// Pattern length in bytes, 1..=64 after clamping.
        period: u8,
        /// Seed of the pattern bytes.
        seed: u32,
    },
    /// Text-like data: words from a small dictionary (compresses moderately).
    Text {
        /// Seed of the word sequence.
        seed: u32,
    },
    /// Pseudo-random bytes (incompressible: stored raw).
    Random {
        /// Seed of the generator.
        seed: u32,
    },
    /// A zero page except for one non-zero byte (must not be taken for a zero page).
    AlmostZero {
        /// Position of the byte (taken modulo the page size).
        at: u16,
        /// Its value (0 is read as 1).
        byte: u8,
    },
}

/// What the kernel used a page for, as makedumpfile's dump levels see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum PageClass {
    /// Kernel data: always dumped.
    #[default]
    Kernel,
    /// Page cache without private data: left out by dump level bit 2.
    Cache,
    /// Page cache with private data: left out by dump level bit 4.
    CachePrivate,
    /// User process data: left out by dump level bit 8.
    User,
    /// Free page: left out by dump level bit 16.
    Free,
}

impl PageClass {
    /// The `dump_level` bit that leaves this class out (0 = never left out).
    pub fn exclusion_bit(self) -> u8 {
        match self {
            PageClass::Kernel => 0,
            PageClass::Cache => 2,
            PageClass::CachePrivate => 4,
            PageClass::User => 8,
            PageClass::Free => 16,
        }
    }
}

/// One page of a layout, with the recipe of its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRef {
    /// Page frame number.
    pub pfn: u64,
    /// Content recipe.
    pub content: PageContent,
    /// Use class.
    pub class: PageClass,
    /// Bytes that are memory (< page size only for a partial last page; the rest is zero).
    pub valid_bytes: u64,
}

impl PageRef {
    /// The page's bytes (page-size long; bytes past `valid_bytes` are zero).
    pub fn bytes(&self, page_size: u64) -> Vec<u8> {
        let mut out = vec![0u8; page_size as usize];
        fill_page(
            &mut out[..self.valid_bytes as usize],
            self.content,
            self.pfn,
        );
        out
    }
}

const WORDS: [&str; 16] = [
    "kernel ", "page ", "struct ", "dump ", "the ", "of ", "memory ", "0x0000 ", "task ", "\n",
    "NULL ", "error: ", "init ", "sched ", "vmcore ", "= ",
];

/// Fills `out` with the content recipe for `pfn`.
fn fill_page(out: &mut [u8], content: PageContent, pfn: u64) {
    match content {
        PageContent::Zero => out.fill(0),
        PageContent::Fill { byte } => out.fill(byte),
        PageContent::Pattern { period, seed } => {
            let period = usize::from(period.clamp(1, 64));
            let mut state = mix(u64::from(seed), pfn);
            let pattern: Vec<u8> = (0..period).map(|_| next_byte(&mut state)).collect();
            for (i, b) in out.iter_mut().enumerate() {
                *b = pattern[i % period];
            }
        }
        PageContent::Text { seed } => {
            let mut state = mix(u64::from(seed), pfn);
            let mut i = 0;
            while i < out.len() {
                let word = WORDS[(next_byte(&mut state) & 15) as usize].as_bytes();
                let n = word.len().min(out.len() - i);
                out[i..i + n].copy_from_slice(&word[..n]);
                i += n;
            }
        }
        PageContent::Random { seed } => {
            let mut state = mix(u64::from(seed), pfn);
            for chunk in out.chunks_mut(8) {
                let word = next_u64(&mut state).to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
        }
        PageContent::AlmostZero { at, byte } => {
            out.fill(0);
            if !out.is_empty() {
                let at = usize::from(at) % out.len();
                out[at] = byte.max(1);
            }
        }
    }
}

fn mix(seed: u64, pfn: u64) -> u64 {
    let mut z = seed ^ pfn.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31) | 1
}

fn next_u64(state: &mut u64) -> u64 {
    // xorshift64*
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn next_byte(state: &mut u64) -> u8 {
    (next_u64(state) >> 56) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_recipes_depend_on_the_pfn() {
        let a = PageRef {
            pfn: 1,
            content: PageContent::Random { seed: 7 },
            class: PageClass::Kernel,
            valid_bytes: 4096,
        };
        let b = PageRef { pfn: 2, ..a };
        assert_ne!(a.bytes(4096), b.bytes(4096));
        assert_eq!(a.bytes(4096), a.bytes(4096));
    }

    #[test]
    fn an_almost_zero_page_has_one_non_zero_byte_where_it_says() {
        for (at, byte, index, value) in [(3u16, 7u8, 3usize, 7u8), (5000, 0, 5000 - 4096, 1)] {
            let page = PageRef {
                pfn: 9,
                content: PageContent::AlmostZero { at, byte },
                class: PageClass::Kernel,
                valid_bytes: 4096,
            }
            .bytes(4096);
            let non_zero: Vec<(usize, u8)> = page
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b != 0)
                .map(|(i, &b)| (i, b))
                .collect();
            assert_eq!(non_zero, [(index, value)], "at {at}, byte {byte}");
        }
    }
}
