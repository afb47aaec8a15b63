//! makedumpfile's write mode as a layout records it: the command-line choices that shape its write
//! sequence but not the dump's contents (bitmap mode, `--num-threads`, `-b`, `--split`), with the model's
//! bounds on them. How makedumpfile resolves them (its automatic cyclic buffer, the split ranges) is the
//! writer's policy: [`super::makedumpfile`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// makedumpfile's default block order (`-b`): caches of `page_size << 4` bytes.
pub const DEFAULT_BLOCK_ORDER: u32 = 4;

/// The largest number of files of a `--split` set a layout may ask for.
pub const MAX_SPLIT_FILES: u32 = 8;
/// The most cycles a layout's cyclic buffer may give (keeps one case fast).
pub const MAX_CYCLES: u64 = 4096;
/// The largest `-b` block order a layout may ask for (caches of `page_size << 12` bytes).
pub const MAX_BLOCK_ORDER: u32 = 12;
/// The most threads a layout may ask for (`--num-threads`; the file does not depend on the number).
pub const MAX_THREADS: u32 = 16;
/// The free memory [`CyclicMode::Automatic`] assumes when a layout does not say: plenty (1 GiB), so the
/// buffer is bounded by the bitmaps, not the memory.
pub const PLENTY_OF_FREE_MEMORY: u64 = 1 << 30;

/// makedumpfile's bitmap mode: how many pfns each cycle of its writer covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CyclicMode {
    /// The non-cyclic mode: both bitmaps whole, copied from a temporary file (what makedumpfile picks
    /// without `--cyclic-buffer` when its automatic buffer holds both bitmaps; never with `--split`).
    #[default]
    NonCyclic,
    /// No `--cyclic-buffer`: makedumpfile's own choice
    /// ([`automatic_cyclic_buffer`](super::makedumpfile::automatic_cyclic_buffer)) with `free_memory`
    /// bytes of MemFree: non-cyclic or cyclic, one cycle or several.
    Automatic {
        /// MemFree in bytes (60 % of it bounds the buffer).
        free_memory: u64,
    },
    /// A cyclic buffer of `bytes` bitmap bytes per cycle (`--cyclic-buffer K` gives `K·1024`; smaller
    /// buffers are what the automatic choice gives with little free memory): cycles of `8·bytes` pfns.
    Buffer {
        /// Bitmap bytes per cycle (≥ 1).
        bytes: u64,
    },
}

/// makedumpfile's `--split`: the dump written as `files` files, balanced in splitblocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SplitSpec {
    /// Number of files (2..=[`MAX_SPLIT_FILES`]).
    pub files: u32,
    /// Pages per splitblock (`--splitblock-size K` gives `K·1024 / page size`; makedumpfile's default is
    /// 1 GiB of pages).
    pub splitblock_pages: u64,
}

/// The makedumpfile command-line choices that shape its write sequence, not the dump's contents:
/// bitmap mode, `--num-threads`, `-b` and `--split`. QEMU has none of them (the default value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MakedumpfileMode {
    /// Bitmap mode (non-cyclic by default).
    #[serde(default)]
    pub cyclic: CyclicMode,
    /// `--num-threads N` (0: none).
    #[serde(default)]
    pub num_threads: u32,
    /// `-b ORDER`: caches of `page_size << ORDER` bytes.
    #[serde(default = "default_block_order")]
    pub block_order: u32,
    /// `--split`, if the dump is written as a set of files.
    #[serde(default)]
    pub split: Option<SplitSpec>,
}

fn default_block_order() -> u32 {
    DEFAULT_BLOCK_ORDER
}

impl Default for MakedumpfileMode {
    fn default() -> Self {
        MakedumpfileMode {
            cyclic: CyclicMode::NonCyclic,
            num_threads: 0,
            block_order: default_block_order(),
            split: None,
        }
    }
}

impl MakedumpfileMode {
    /// True for makedumpfile's default write sequence (non-cyclic, one thread, `-b 4`, one file).
    pub fn is_default(&self) -> bool {
        *self == MakedumpfileMode::default()
    }

    /// A short label of the bitmap mode: "non-cyclic", "automatic" or "buffer".
    pub fn cyclic_label(&self) -> &'static str {
        match self.cyclic {
            CyclicMode::NonCyclic => "non-cyclic",
            CyclicMode::Automatic { .. } => "automatic",
            CyclicMode::Buffer { .. } => "buffer",
        }
    }
}

impl fmt::Display for MakedumpfileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cyclic {
            CyclicMode::NonCyclic => f.write_str("non-cyclic")?,
            CyclicMode::Automatic { free_memory } => write!(f, "cyclic=auto({free_memory})")?,
            CyclicMode::Buffer { bytes } => write!(f, "cyclic={bytes}")?,
        }
        if self.num_threads > 0 {
            write!(f, " threads={}", self.num_threads)?;
        }
        if self.block_order != default_block_order() {
            write!(f, " b={}", self.block_order)?;
        }
        if let Some(split) = self.split {
            write!(f, " split={}x{}p", split.files, split.splitblock_pages)?;
        }
        Ok(())
    }
}
